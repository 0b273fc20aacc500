"""The channel intake API: each kind's payload becomes a ticket of the normal lifecycle (mapped by the city's
channel mappings, located, with its photos), exactly once per idempotency key; refused requests of every
kind store nothing (no ticket, no intake row, no file); a client reads back only its own tickets."""
from __future__ import annotations

import io
import json

import pytest

from tests.api.channel_support import (HTML, JPEG, PNG, URL, b64, location_of, new_client, payload, send,
                                       stored)

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified
KINDS = ("generic", "grid", "city_management")


@pytest.fixture
def admin(as_user, db):
    api = as_user("admin")
    api.set_clock("2025-11-03T09:00:00+08:00")
    return api


def created(client, key, body, idempotency="req-1"):
    response = send(client, key, body, idempotency)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Idempotent-Replayed"] == "false"
    return response.get_json()


def test_a_generic_request_runs_the_normal_lifecycle(admin, client, app, as_user):
    key = new_client(admin, "generic", name="web-portal")
    answer = created(client, key, payload("generic"))
    assert (answer["status"], answer["channel"], answer["request_type"], answer["category"], answer["replayed"]) == \
        ("dispatching", "web", "help", "urban_construction", False)
    assert answer["number"].startswith("NT20251103") and answer["status_name"] == "待派单"
    assert [(a["filename"], a["content_type"]) for a in answer["attachments"]] == [("路灯.jpg", "image/jpeg")]
    operator = as_user("operator")
    ticket = operator.get(f"/api/v1/tickets/{answer['ticket_id']}").get_json()
    assert (ticket["title"], ticket["citizen"]["phone"], ticket["address"]) == \
        ("小区门口路灯不亮", "13912345678", "崇川区和平桥小区南门")
    events = operator.get(f"/api/v1/tickets/{answer['ticket_id']}/events").get_json()["items"]
    first = events[0]
    assert first["type"] == "ticket_created" and first["actor"] == "channel:web-portal"
    received = next(e for e in events if e["type"] == "channel_request_received")
    assert received["data"]["reference"] == "WEB-2025-000871" and received["data"]["idempotency_key"] == "req-1"
    assert "task_created" in [e["type"] for e in events]       # the dispatch task: the normal path
    files = operator.get(f"/api/v1/tickets/{answer['ticket_id']}/attachments").get_json()["items"]
    assert operator.get(f"/api/v1/attachments/{files[0]['id']}").data == JPEG
    assert location_of(app, answer["ticket_id"]) == {"lat": 32.0146, "lng": 120.8642, "grid_code": "320602001003",
                                                     "external_category": None}


def test_a_grid_report_is_mapped_located_and_keeps_its_photos(admin, client, app, as_user):
    key = new_client(admin, "grid")
    answer = created(client, key, payload("grid"))
    # 0401 占道经营 → 城乡建设, a violation: 举报
    assert (answer["channel"], answer["category"], answer["request_type"]) == ("grid", "urban_construction", "report")
    assert [a["content_type"] for a in answer["attachments"]] == ["image/jpeg", "image/png"]
    ticket = as_user("operator").get(f"/api/v1/tickets/{answer['ticket_id']}").get_json()
    assert ticket["title"] == "占道经营（崇川区南大街88号）"
    assert "网格事件编号：WG-320602-20251103-0042" in ticket["content"] and "发现时间：2025-11-03 08:40" in ticket["content"]
    assert ticket["citizen"]["name"] == "李明"          # the grid worker who reported it
    assert location_of(app, answer["ticket_id"]) == {"lat": 32.0083, "lng": 120.8571, "grid_code": "320602001003",
                                                     "external_category": "0401"}


def test_a_city_management_case_maps_by_small_class_then_big_class(admin, client, app):
    key = new_client(admin, "city_management")
    parked = created(client, key, payload("city_management"))                     # event 0505 机动车乱停放
    assert (parked["category"], parked["request_type"], parked["received_at"]) == \
        ("transport", "report", "2025-11-03T08:55:00+08:00")
    stall = created(client, key, payload("city_management", small_class="99", case_no="CG2"), "req-2")
    assert (stall["category"], stall["request_type"]) == ("urban_construction", "report")   # event:05 街面秩序
    cover = created(client, key, payload("city_management", case_class="component", big_class="01",
                                         small_class="02", case_no="CG3", component_id="320602010200311"), "req-3")
    assert (cover["category"], cover["request_type"]) == ("urban_construction", "help")   # 污水井盖: a repair
    assert location_of(app, cover["ticket_id"])["external_category"] == "component:0102"


def test_an_unmapped_class_is_kept_uncategorised(admin, client, app):
    key = new_client(admin, "grid")
    answer = created(client, key, payload("grid", event_type_code="9901", event_type_name="其他事件"))
    assert (answer["category"], answer["request_type"], answer["status"]) == (None, "help", "dispatching")
    assert location_of(app, answer["ticket_id"])["external_category"] == "9901"


@pytest.mark.parametrize("kind", KINDS)
def test_a_resend_with_the_same_key_and_body_creates_nothing(kind, admin, client, app):
    key = new_client(admin, kind)
    first = created(client, key, payload(kind))
    before = stored(app)
    # The same data with its keys in another order and other whitespace is the same request.
    again = send(client, key, None, raw=json.dumps(dict(reversed(list(payload(kind).items()))), indent=2))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    body = again.get_json()
    assert body["replayed"] is True and (body["ticket_id"], body["number"]) == (first["ticket_id"], first["number"])
    assert [a["id"] for a in body["attachments"]] == [a["id"] for a in first["attachments"]]
    assert stored(app) == before


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_key_with_another_body_is_refused(kind, admin, client, app):
    key = new_client(admin, kind)
    first = created(client, key, payload(kind))
    before = stored(app)
    other = send(client, key, payload(kind, address="崇川区另一处"))
    assert other.status_code == 409
    error = other.get_json()["error"]
    assert error["code"] == "idempotency_key_reused" and error["details"] == {"ticket_number": first["number"]}
    assert stored(app) == before


def test_keys_belong_to_their_client(admin, client):
    grid_a, grid_b = new_client(admin, "grid", name="grid-a"), new_client(admin, "grid", name="grid-b")
    assert created(client, grid_a, payload("grid"))["ticket_id"] != created(client, grid_b, payload("grid"))["ticket_id"]


@pytest.mark.parametrize("header, status, code", [
    (None, 400, "idempotency_key_missing"), ("", 400, "idempotency_key_missing"),
    ("has space", 422, "idempotency_key_invalid"), ("x" * 121, 422, "idempotency_key_invalid"),
    ("幂等键", 422, "idempotency_key_invalid")])
def test_the_idempotency_key_is_required_and_checked(header, status, code, admin, client, app):
    key = new_client(admin, "grid")
    before = stored(app)
    response = send(client, key, payload("grid"), header, lang="en")
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert "Idempotency-Key" in response.get_json()["error"]["message"]
    assert stored(app) == before
    assert send(client, key, payload("grid"), "x" * 120).status_code == 201      # 120 visible characters are fine


@pytest.mark.parametrize("kind, overrides, field", [
    ("generic", {"colour": "red"}, "colour"),
    ("generic", {"title": "长" * 301}, "title"),
    ("generic", {"request_type": "gossip"}, "request_type"),
    ("generic", {"title": ...}, "title"),
    ("generic", {"location": {"lat": 91, "lng": 120.0}}, "location"),
    ("generic", {"category": "astrology"}, "category"),               # not a category of the city
    ("generic", {"emergency": {"agency": "999"}}, "emergency"),
    ("grid", {"lat": 32.0, "lng": 181}, "lng"),
    ("grid", {"lat": 32.0, "lng": ...}, "lng"),                       # a latitude needs its longitude
    ("grid", {"reporter": "李明"}, "reporter"),
    ("grid", {"event_no": ...}, "event_no"),
    ("grid", {"reported_at": "2025-11-04T09:00:00+08:00"}, "reported_at"),   # in the future
    ("grid", {"photos": [{"filename": "a.jpg", "content_base64": "not base64!"}]}, "photos"),
    ("grid", {"photos": [{"filename": "a.jpg", "content_base64": b64(JPEG)},
                         {"filename": "page.jpg", "content_base64": b64(HTML)}]}, "photos.1"),
    ("grid", {"photos": [{"filename": f"{i}.jpg", "content_base64": b64(JPEG)} for i in range(10)]}, "photos"),
    ("city_management", {"big_class": "5"}, "big_class"),
    ("city_management", {"case_class": "accident"}, "case_class"),
    ("city_management", {"cell_code": "B-12"}, "cell_code"),
    ("city_management", {"description": 42}, "description"),
    ("city_management", {"photos": [{"filename": "empty.png", "content_base64": ""}]}, "photos.0"),
])
def test_bad_payloads_of_each_kind_store_nothing(kind, overrides, field, admin, client, app):
    key = new_client(admin, kind)
    before = stored(app)
    response = send(client, key, payload(kind, **overrides))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["details"], error
    message = json.dumps(error["details"][field], ensure_ascii=False)
    assert "message_zh" in message and "message_en" in message
    assert stored(app) == before


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_requests_are_refused_with_a_code(kind, admin, client, app):
    key = new_client(admin, kind)
    before = stored(app)
    broken = send(client, key, None, raw='{"title": "缺少右括号"', lang="en")
    assert broken.status_code == 400 and broken.get_json()["error"]["code"] == "malformed_json"
    assert broken.get_json()["error"]["message"] == "The request body is not valid JSON"
    assert send(client, key, None, raw='{"lat": NaN}').get_json()["error"]["code"] == "malformed_json"
    assert send(client, key, None, raw="[1, 2]").status_code == 422
    text = send(client, key, payload(kind), content_type="text/plain")
    assert text.status_code == 415 and text.get_json()["error"]["code"] == "http_415"
    assert stored(app) == before


def test_wrong_or_missing_client_keys_are_401(admin, client, app):
    upstream = new_client(admin, "upstream", name="provincial", channel="provincial_platform")
    before = stored(app)
    for key in (None, "hk_not-a-key", "no-prefix", upstream):       # an upstream key cannot submit intake
        response = send(client, key, payload("grid"))
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "authentication_failed"
    assert stored(app) == before


def multipart(body: dict, *files, **extra) -> dict:
    data = {"payload": json.dumps(body, ensure_ascii=False), **extra}
    data["files[]"] = [(io.BytesIO(content), name) for name, content in files]
    return data


def test_multipart_carries_the_payload_and_files(admin, client, app):
    key = new_client(admin, "city_management")
    body = payload("city_management", photos=...)
    response = send(client, key, None, data=multipart(body, ("远景.jpg", JPEG), ("近景.png", PNG)))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert [a["filename"] for a in answer["attachments"]] == ["远景.jpg", "近景.png"]
    before = stored(app)
    again = send(client, key, None, data=multipart(body, ("远景.jpg", JPEG), ("近景.png", PNG)))
    assert again.status_code == 200 and again.get_json()["ticket_id"] == answer["ticket_id"]
    other_file = send(client, key, None, data=multipart(body, ("远景.jpg", JPEG), ("近景.png", JPEG)))
    assert other_file.status_code == 409 and other_file.get_json()["error"]["code"] == "idempotency_key_reused"
    assert stored(app) == before
    # The payload may also be a file part, and the key a form field (clients that cannot set headers).
    as_file = {"payload": (io.BytesIO(json.dumps(body).encode()), "payload.json"), "api_key": key,
               "files[]": [(io.BytesIO(JPEG), "one.jpg")]}
    third = send(client, None, None, "req-3", data=as_file)
    assert third.status_code == 201 and [a["filename"] for a in third.get_json()["attachments"]] == ["one.jpg"]


def test_multipart_refuses_bad_files_and_parts_and_keeps_nothing(admin, client, app):
    key = new_client(admin, "grid")
    body = payload("grid")                          # two good base64 photos, then a bad multipart file
    before = stored(app)
    bad = send(client, key, None, data=multipart(body, ("ok.jpg", JPEG), ("evil.jpg", b"MZ\x90\x00binary")))
    assert bad.status_code == 422 and "files.1" in bad.get_json()["error"]["details"]
    large = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)
    too_large = send(client, key, None, data=multipart(body, ("big.jpg", large)))
    assert too_large.status_code == 422 and too_large.get_json()["error"]["details"]["files.0"][0]["code"] == "too_large"
    stray = send(client, key, None, data=multipart(body, comment="hi"))
    assert stray.status_code == 422 and "comment" in stray.get_json()["error"]["details"]
    missing = send(client, key, None, data={"files[]": [(io.BytesIO(JPEG), "a.jpg")]})
    assert missing.status_code == 422 and "payload" in missing.get_json()["error"]["details"]
    assert stored(app) == before


def test_an_emergency_report_is_handed_to_its_agency(admin, client, as_user):
    key = new_client(admin, "grid")
    answer = created(client, key, payload("grid", event_type_code="0201", description="3号楼楼道冒烟，有焦味。",
                                          emergency={"agency": "119", "reason": "楼道冒烟"}))
    assert (answer["status"], answer["outcome"]) == ("closed", "emergency_transfer")
    transfer = as_user("operator").get(f"/api/v1/tickets/{answer['ticket_id']}/emergency-transfer").get_json()
    assert (transfer["agency"], transfer["reason"], transfer["requested_by"]) == ("119", "楼道冒烟", "channel:grid-test")
    missing = send(client, key, payload("grid", emergency={"reason": "着火"}), "req-2")
    assert missing.status_code == 422 and "emergency" in missing.get_json()["error"]["details"]


def test_a_client_reads_back_only_the_tickets_it_created(admin, client, as_user):
    grid, other = new_client(admin, "grid", name="grid-a"), new_client(admin, "grid", name="grid-b")
    answer = created(client, grid, payload("grid"))
    url = f"{URL}/{answer['number']}"
    mine = client.get(url, headers={"X-Api-Key": grid})
    assert mine.status_code == 200
    body = mine.get_json()
    assert (body["number"], body["status"], body["status_name"]) == (answer["number"], "dispatching", "待派单")
    assert client.get(url + "?lang=en", headers={"X-Api-Key": grid}).get_json()["status_name"] == "To dispatch"
    as_user("dispatcher").complete(answer["ticket_id"], "dispatch", {"unit": "nt_chongchuan"})
    progressed = client.get(url, headers={"X-Api-Key": grid}).get_json()
    assert progressed["status"] == "signing" and progressed["handle_due_at"]
    assert client.get(url, headers={"X-Api-Key": other}).status_code == 404
    assert client.get(url).status_code == 401
    by_phone = as_user("operator").post("/api/v1/tickets", json={
        "city": "nantong", "channel": "phone_12345", "request_type": "consult", "title": "咨询", "content": "咨询公积金",
        "citizen": {"name": "张三", "phone": "13800001111"}}).get_json()
    assert client.get(f"{URL}/{by_phone['number']}", headers={"X-Api-Key": grid}).status_code == 404
    assert client.get(f"{URL}/NT-guess", headers={"X-Api-Key": grid}).status_code == 404
