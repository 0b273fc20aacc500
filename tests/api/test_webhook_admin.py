"""The administrator's webhook dead-letter list: the JSON list and retry, the page /admin/webhooks with its
retry button (CSRF), and that only administrators reach either. Deliveries really go to a local receiver."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.accounts import Principal
from engine.facade import Hotline
from engine.testclock import engine_clock
from engine.webhooks import deliver_due_webhooks
from tests.api.test_pages import CSRF, Browser
from tests.engine.test_webhooks import receiver  # noqa: F401  (the local webhook receiver fixture, shared)

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

ADMIN = Principal("admin", frozenset({"admin"}))
LIST = "/api/v1/admin/webhooks"


@pytest.fixture
def dead_letter(app, client, db, clock, as_user, receiver):
    """One upstream ticket whose first report died: the receiver answered 500 and one attempt is allowed."""
    as_user("admin").set_clock("2025-09-26T09:00:00+08:00")
    with db.unit_of_work() as session:
        platform, key = Hotline(session, clock).create_channel_client(
            ADMIN, city="nantong", name="jiangsu-12345", channel="provincial_platform", kind="upstream",
            webhook_url=receiver.url)
    pushed = client.post("/api/v1/upstream/tickets", headers={"X-Api-Key": key}, json={
        "external_id": "JS-DEAD-1", "title": "路灯损坏", "content": "夜间出行不便", "request_type": "help",
        "received_at": "2025-09-26T08:30:00+08:00", "due_at": "2025-10-10T17:30:00+08:00"})
    assert pushed.status_code == 201, pushed.get_json()
    receiver.statuses = [500]
    assert deliver(app, max_attempts=1)["dead"] == 1
    return SimpleNamespace(ticket=pushed.get_json(), client_id=platform.id)


def deliver(app, **kw) -> dict:
    return deliver_due_webhooks(app.extensions["hotline_db"], lambda session: engine_clock(session, True), **kw)


def test_the_dead_letter_list_and_its_retry(app, as_user, dead_letter, receiver):
    admin = as_user("admin")
    listed = admin.get(f"{LIST}?state=dead")
    assert listed.status_code == 200, listed.get_json()
    (item,) = listed.get_json()["items"]
    assert (item["external_id"], item["number"], item["client"], item["city"]) == (
        "JS-DEAD-1", dead_letter.ticket["number"], "jiangsu-12345", "nantong")
    assert (item["event"], item["state"], item["attempts"]) == ("status", "dead", 1)
    assert item["last_error"].startswith("HTTP 500") and item["payload"]["stage"] == "accepted"
    assert listed.get_json()["counts"]["by_state"] == {"pending": 0, "delivered": 0, "dead": 1}
    assert admin.get(f"{LIST}?state=pending").get_json()["items"] == []
    assert admin.get(f"{LIST}?client_id={dead_letter.client_id}").get_json()["items"][0]["id"] == item["id"]
    assert admin.get(f"{LIST}?state=lost").status_code == 422

    retried = admin.post(f"{LIST}/{item['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["state"], retried.get_json()["attempts"]) == ("pending", 0)
    assert retried.get_json()["next_attempt_at"] == "2025-09-26T09:00:00+08:00"
    counts = admin.get(LIST).get_json()["counts"]
    assert counts["pending_by_client"] == {"jiangsu-12345": 1} and counts["by_state"]["dead"] == 0
    again = admin.post(f"{LIST}/{item['id']}/retry")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert admin.post(f"{LIST}/{item['id'] + 99}/retry").status_code == 404

    assert deliver(app)["delivered"] == 1 and len(receiver.requests) == 2
    (delivered,) = admin.get(f"{LIST}?state=delivered").get_json()["items"]
    assert delivered["id"] == item["id"] and delivered["delivered_at"] and delivered["last_error"] is None
    assert admin.post(f"{LIST}/{item['id']}/retry").status_code == 409
    assert admin.get("/api/v1/rules/log").get_json()["items"][0]["type"] == "webhook_requeued"


def test_only_administrators_see_or_retry_deliveries(client, as_user, dead_letter):
    item = as_user("admin").get(LIST).get_json()["items"][0]
    for username in ("dispatcher", "supervisor", "auditor", "nt_chongchuan.leader"):
        assert as_user(username).get(LIST).status_code == 403
        assert as_user(username).post(f"{LIST}/{item['id']}/retry").status_code == 403
    assert client.get(LIST).status_code == 401
    assert client.post(f"{LIST}/{item['id']}/retry").status_code == 401
    assert as_user("admin").get(f"{LIST}?state=dead").get_json()["items"][0]["state"] == "dead"   # nothing changed


def test_the_page_shows_the_dead_letters_and_requeues_one(app, client, dead_letter, receiver):
    assert client.get("/admin/webhooks").status_code == 302           # sign in first
    browser = Browser(client)
    browser.login("dispatcher")
    assert client.get("/admin/webhooks").status_code == 403
    browser.login("admin")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "上级平台回传" in page and "投递失败（死信）" in page and "HTTP 500" in page
    assert dead_letter.ticket["number"] in page and "JS-DEAD-1" in page
    assert 'data-state-count="dead"' in page and 'data-delivery-state="dead"' in page
    token = CSRF.search(page).group(1)
    delivery_id = int(page.split('data-delivery="')[1].split('"')[0])
    assert client.post(f"/admin/webhooks/{delivery_id}/retry").status_code == 400          # no CSRF token
    done = client.post(f"/admin/webhooks/{delivery_id}/retry", data={"csrf_token": token})
    assert done.status_code == 302
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已重新加入发送队列" in after and 'data-delivery-state="dead"' not in after
    pending = client.get("/admin/webhooks?state=pending").get_data(as_text=True)
    assert f'data-delivery="{delivery_id}"' in pending and 'data-client="jiangsu-12345"' in pending
    refused = client.post(f"/admin/webhooks/{delivery_id}/retry", data={"csrf_token": token})
    assert refused.status_code == 409 and "该推送已在发送队列中" in refused.get_data(as_text=True)
    english = client.get("/admin/webhooks?state=pending&lang=en").get_data(as_text=True)
    assert "Upstream webhooks" in english and "Pending per client" in english
    assert deliver(app)["delivered"] == 1
    delivered = client.get("/admin/webhooks?state=delivered").get_data(as_text=True)
    assert f'data-delivery="{delivery_id}"' in delivered and "送达时间" in delivered
