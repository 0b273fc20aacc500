"""Emergency hand-off: marked at intake, transferred to 110/119/120/122 with time stamps, never dispatched."""
from __future__ import annotations

import pytest

from tests.api.test_pages import Browser
from tests.conftest import complaint

pytestmark = pytest.mark.replay_all

FIRE = {"scope": "emergency", "emergency_agency": "119", "emergency_reason": "楼道冒烟，有焦味",
        "title": "小区楼道起火", "content": "3号楼楼道冒烟，有人被困。", "request_type": "help"}


def start(api, status=201, **overrides):
    response = api.post("/api/v1/tickets", json=complaint(**{**FIRE, **overrides}))
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_an_emergency_gets_a_transfer_record_and_no_dispatch(as_user):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    assert ticket["outcome"] == "emergency_transfer" and ticket["status"] == "closed"
    assert operator.get(f"/api/v1/tickets/{ticket['id']}/tasks").get_json()["items"] == []
    transfer = operator.get(f"/api/v1/tickets/{ticket['id']}/emergency-transfer").get_json()
    assert transfer["agency"] == "119" and transfer["state"] == "requested"
    assert transfer["requested_at"] == "2025-11-03T09:00:00+08:00" and transfer["requested_by"] == "operator"
    assert transfer["reason"] == "楼道冒烟，有焦味"
    events = [e["type"] for e in operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]]
    assert "emergency_transfer_requested" in events and "task_created" not in events


def test_hand_over_and_acknowledge_are_stamped_in_order(as_user):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator, emergency_agency="120")
    operator.set_clock("2025-11-03T09:01:30+08:00")
    url = f"/api/v1/tickets/{ticket['id']}/emergency-transfer"
    handed = operator.post(url + "/handover", json={"note": "三方通话转120"}).get_json()
    assert handed["state"] == "handed_over" and handed["handed_over_at"] == "2025-11-03T09:01:30+08:00"
    assert operator.post(url + "/handover", json={}).status_code == 409          # only once
    operator.set_clock("2025-11-03T09:03:00+08:00")
    acked = operator.post(url + "/acknowledge", json={"agency_reference": "120-20251103-0042"}).get_json()
    assert acked["state"] == "acknowledged" and acked["acknowledged_at"] == "2025-11-03T09:03:00+08:00"
    assert acked["agency_reference"] == "120-20251103-0042"
    assert operator.post(url + "/acknowledge", json={"agency_reference": "x"}).status_code == 409
    listed = operator.get("/api/v1/emergency-transfers?state=acknowledged").get_json()["items"]
    assert [x["number"] for x in listed] == [ticket["number"]]
    assert operator.get("/api/v1/emergency-transfers?state=open").get_json()["items"] == []
    events = [e["type"] for e in operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]]
    assert events[-2:] == ["emergency_handed_over", "emergency_acknowledged"]


def test_an_emergency_without_an_agency_is_refused_and_nothing_is_stored(as_user):
    operator = as_user("operator")
    response = operator.post("/api/v1/tickets", json=complaint(**{**FIRE, "emergency_agency": None}))
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["emergency_agency"][0]["code"] == "agency_required"
    response = operator.post("/api/v1/tickets", json=complaint(**{**FIRE, "emergency_agency": "999"}))
    assert response.status_code == 422
    assert operator.get("/api/v1/tickets").get_json()["total"] == 0
    assert operator.get("/api/v1/emergency-transfers").get_json()["items"] == []


def test_acknowledge_needs_the_agency_reference_and_roles(as_user):
    operator = as_user("operator")
    ticket = start(operator)
    url = f"/api/v1/tickets/{ticket['id']}/emergency-transfer"
    response = operator.post(url + "/acknowledge", json={"agency_reference": "   "})
    assert response.status_code == 422 and response.get_json()["error"]["details"]["agency_reference"]
    assert as_user("nt_chongchuan.handler").post(url + "/handover", json={}).status_code == 403
    assert as_user("auditor").post(url + "/handover", json={}).status_code == 403
    assert as_user("auditor").get(url).status_code == 200
    normal = operator.post("/api/v1/tickets", json=complaint()).get_json()
    assert operator.get(f"/api/v1/tickets/{normal['id']}/emergency-transfer").status_code == 404


def test_the_operator_works_the_hand_off_on_the_page(app, as_user):
    operator = as_user("operator")
    ticket = start(operator, emergency_agency="110", title="有人持刀威胁")
    browser = Browser(app.test_client())
    assert browser.login("operator").status_code == 302
    web = browser.client

    def post(url, data):
        return web.post(url, data={**data, "csrf_token": browser.csrf("/emergency")})

    page = web.get("/emergency").get_data(as_text=True)
    assert "有人持刀威胁" in page and "公安110" in page and 'data-transfer-state="requested"' in page
    assert post(f"/emergency/{ticket['id']}/handover", {}).status_code == 302
    response = post(f"/emergency/{ticket['id']}/acknowledge", {"agency_reference": ""})
    assert response.status_code == 422 and "编号" in response.get_data(as_text=True)
    assert post(f"/emergency/{ticket['id']}/acknowledge", {"agency_reference": "110-778"}).status_code == 302
    page = web.get("/emergency?state=all").get_data(as_text=True)
    assert 'data-transfer-state="acknowledged"' in page and "110-778" in page
