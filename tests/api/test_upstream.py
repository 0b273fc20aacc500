"""Directives pushed down by an upstream platform over HTTP: a push becomes a directive with the platform's
deadline, a resend is the same ticket, another record under the same number is a conflict, bad payloads are
refused in both languages and store nothing; the administrator's file import (JSON array, JSON Lines with bad
lines) and the CLI import."""
from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace

import pytest

from engine.accounts import Principal
from engine.facade import Hotline

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

ADMIN = Principal("admin", frozenset({"admin"}))
URL = "/api/v1/upstream/tickets"
IMPORTS = "/api/v1/admin/upstream/imports"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


def record(external_id="JS20250926000123", **overrides) -> dict:
    return {"external_id": external_id, "platform": "江苏12345在线", "sender": "省12345热线办",
            "title": "小区门口道路积水", "content": "连续多日积水，居民出行困难。", "request_type": "help",
            "citizen": {"name": "李四", "phone": "13900002222"}, "address": "崇川区某小区",
            "received_at": "2025-09-26T08:30:00+08:00", "due_at": "2025-10-10T17:30:00+08:00", **overrides}


def make_client(db, clock, name, kind="upstream", channel="provincial_platform"):
    with db.unit_of_work() as session:
        client, key = Hotline(session, clock).create_channel_client(ADMIN, city="nantong", name=name, channel=channel,
                                                                    kind=kind)
        return SimpleNamespace(id=client.id, key=key, name=name)


@pytest.fixture
def platform(db, clock, city, as_user):
    as_user("admin").set_clock("2025-09-26T09:00:00+08:00")
    return make_client(db, clock, "jiangsu-12345")


def push(client, platform, payload, **kw):
    return client.post(URL, json=payload, headers={"X-Api-Key": platform.key}, **kw)


def ticket_count(as_user) -> int:
    return as_user("admin").get("/api/v1/tickets").get_json()["total"]


def test_a_pushed_record_starts_a_directive_with_the_platforms_deadline(client, platform, as_user):
    response = push(client, platform, record())
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert out["created"] is True and out["external_id"] == "JS20250926000123"
    assert (out["kind"], out["status"], out["city"]) == ("directive", "dispatching", "nantong")
    assert out["number"].startswith("NT20250926")
    ticket = as_user("dispatcher").complete(out["ticket_id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["kind"] == "directive" and ticket["channel"] == "provincial_platform"
    assert ticket["handle_due_at"] == "2025-10-10T17:30:00+08:00"          # the platform's deadline
    assert ticket["sign_due_at"] == "2025-09-26T10:00:00+08:00"            # a directive: 1 working hour
    assert ticket["received_at"] == "2025-09-26T08:30:00+08:00"
    events = as_user("admin").get(f"/api/v1/tickets/{out['ticket_id']}/events").get_json()["items"]
    received = [e for e in events if e["type"] == "upstream_received"]
    assert received[0]["actor"] == "channel:jiangsu-12345"
    assert received[0]["data"]["external_id"] == "JS20250926000123" and received[0]["data"]["platform"] == "江苏12345在线"


def test_the_same_record_again_is_the_same_ticket(client, platform, as_user):
    first = push(client, platform, record()).get_json()
    again = push(client, platform, record())
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["ticket_id"] == first["ticket_id"]
    # the same record in another key order and time zone is still the same record
    shuffled = dict(reversed(list(record(due_at="2025-10-10T09:30:00Z").items())))
    assert push(client, platform, shuffled).status_code == 200
    assert ticket_count(as_user) == 1


def test_another_record_under_the_same_number_is_a_conflict(client, platform, db, clock, as_user):
    first = push(client, platform, record()).get_json()
    changed = push(client, platform, record(title="另一件事"))
    assert changed.status_code == 409
    error = changed.get_json()["error"]
    assert error["code"] == "conflict" and "JS20250926000123" in error["message"] and "已导入" in error["message"]
    assert error["details"]["ticket_id"] == first["ticket_id"]
    english = push(client, platform, record(title="另一件事"), query_string={"lang": "en"}).get_json()["error"]
    assert "already imported with different content" in english["message"]
    assert ticket_count(as_user) == 1
    assert as_user("admin").get(f"/api/v1/tickets/{first['ticket_id']}").get_json()["title"] == "小区门口道路积水"
    # the same number from another platform is that platform's own ticket
    national = make_client(db, clock, "guowuyuan-duban", channel="national_platform")
    assert push(client, national, record(title="另一件事")).status_code == 201
    assert ticket_count(as_user) == 2


def test_bad_payloads_are_refused_in_both_languages_and_store_nothing(client, platform, as_user):
    without_due = record()
    del without_due["due_at"]
    cases = [
        (without_due, "due_at", "invalid"),
        (record(due_at="2025-09-26T08:00:00+08:00"), "due_at", "before_received"),
        (record(request_type="gossip"), "request_type", "invalid"),
        (record(received_at="2025-09-27T09:00:00+08:00"), "received_at", "in_future"),
        (record(category="no_such_category"), "category", "not_an_option"),
        (record(priority="high"), "priority", "invalid"),
        (record(external_id="JS 123"), "external_id", "invalid"),
        (record(attachments=[{"filename": "a.png", "content_base64": "%%%not base64"}]), "attachments", "invalid_base64"),
        (record(attachments=[{"filename": "a.txt", "content_base64": base64.b64encode(b"hello").decode()}]),
         "attachments", "type_not_allowed"),
    ]
    for payload, field, code in cases:
        response = push(client, platform, payload)
        assert response.status_code == 422, (field, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "validation_failed" and field in error["details"], (field, error)
        assert error["details"][field][0]["code"] == code, (field, error)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])          # Chinese by default
        english = push(client, platform, payload, query_string={"lang": "en"}).get_json()["error"]
        assert english["message"].isascii() and english["details"][field][0]["message_en"]
    assert client.post(URL, data={"title": "x"}, headers={"X-Api-Key": platform.key}).status_code == 415
    assert ticket_count(as_user) == 0


def test_only_upstream_client_keys_may_push(client, platform, db, clock, as_user):
    assert client.post(URL, json=record()).status_code == 401
    assert client.post(URL, json=record(), headers=as_user("operator").headers).status_code == 401
    generic = make_client(db, clock, "web-portal", kind="generic", channel="web")
    refused = push(client, generic, record())
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "authentication_failed"
    with db.unit_of_work() as session:
        Hotline(session, clock).revoke_channel_client(ADMIN, platform.id)
    assert push(client, platform, record()).status_code == 401
    assert ticket_count(as_user) == 0


def test_attachments_come_with_the_ticket(client, platform, as_user):
    payload = record(attachments=[{"filename": "现场照片.png", "content_base64": base64.b64encode(PNG).decode()}])
    out = push(client, platform, payload).get_json()
    files = as_user("admin").get(f"/api/v1/tickets/{out['ticket_id']}/attachments").get_json()["items"]
    assert [(f["filename"], f["content_type"], f["size"]) for f in files] == [("现场照片.png", "image/png", len(PNG))]


def upload(admin, client_id, content: bytes, filename="records.json", **query):
    return admin.client.post(IMPORTS, headers=admin.headers, query_string=query, content_type="multipart/form-data",
                             data={"client_id": str(client_id), "file": (io.BytesIO(content), filename)})


def test_an_admin_imports_a_json_array_file(client, platform, as_user):
    admin = as_user("admin")
    pushed = push(client, platform, record("JS-D")).get_json()
    bad = record("JS-C")
    del bad["title"]
    content = json.dumps([record("JS-A"), record("JS-B", request_type="complaint"), bad, record("JS-D")],
                         ensure_ascii=False, indent=2).encode()
    response = upload(admin, platform.id, content)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["total"], report["created"], report["already_imported"], report["refused"]) == (4, 2, 1, 1)
    rows = report["records"]
    assert [(r["external_id"], r["result"]) for r in rows] == [("JS-A", "created"), ("JS-B", "created"),
                                                              ("JS-C", "refused"), ("JS-D", "already_imported")]
    starts = [i + 1 for i, line in enumerate(content.decode().splitlines()) if line == "  {"]
    assert [r["line"] for r in rows] == starts                 # the line each record starts on
    assert rows[2]["error"]["code"] == "validation_failed" and "title" in rows[2]["error"]["details"]
    assert rows[2]["error"]["message"] == "提交的数据不符合要求" and rows[2]["ticket_id"] is None
    assert rows[3]["ticket_id"] == pushed["ticket_id"]
    assert ticket_count(as_user) == 3
    log = admin.get("/api/v1/rules/log").get_json()["items"]
    assert log[0]["type"] == "upstream_file_imported" and log[0]["data"]["refused_lines"] == [rows[2]["line"]]


def test_a_json_lines_file_with_bad_lines_imports_the_good_ones(client, platform, as_user):
    lines = [json.dumps(record("JS-1"), ensure_ascii=False), '{"external_id": "JS-2", "title": ',
             json.dumps(record("JS-3"), ensure_ascii=False), "[1, 2]", "",
             json.dumps(record("JS-6", due_at="2025-09-01T00:00:00+08:00"), ensure_ascii=False)]
    response = upload(as_user("admin"), platform.id, "\n".join(lines).encode(), "records.jsonl", lang="en")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["created"], report["refused"]) == (2, 3)
    assert [(r["line"], r["result"]) for r in report["records"]] == [
        (1, "created"), (2, "refused"), (3, "created"), (4, "refused"), (6, "refused")]
    assert report["records"][1]["error"]["details"]["line"][0]["code"] == "invalid_json"
    assert report["records"][3]["error"]["details"]["record"][0]["code"] == "not_an_object"
    assert report["records"][4]["external_id"] == "JS-6"
    assert report["records"][4]["error"]["details"]["due_at"][0]["code"] == "before_received"
    assert report["records"][4]["error"]["message"] == "The submitted data is invalid"
    assert ticket_count(as_user) == 2


def test_file_imports_that_cannot_start_store_nothing(client, platform, db, clock, as_user):
    admin, content = as_user("admin"), json.dumps([record()]).encode()
    assert upload(as_user("dispatcher"), platform.id, content).status_code == 403
    missing = admin.client.post(IMPORTS, headers=admin.headers, data={"client_id": str(platform.id)})
    assert missing.status_code == 422 and "file" in missing.get_json()["error"]["details"]
    broken = upload(admin, platform.id, b'[{"external_id": "JS-1"},\n  {oops}]')
    assert broken.status_code == 422 and broken.get_json()["error"]["details"]["file"][0]["code"] == "invalid_json"
    assert "第2行" in broken.get_json()["error"]["details"]["file"][0]["message_zh"]
    assert upload(admin, platform.id, b"\xff\xfe not utf-8").status_code == 422
    generic = make_client(db, clock, "web-portal", kind="generic", channel="web")
    wrong = upload(admin, generic.id, content)
    assert wrong.status_code == 422 and "client_id" in wrong.get_json()["error"]["details"]
    no_client = admin.client.post(IMPORTS, headers=admin.headers,
                                  data={"file": (io.BytesIO(content), "r.json")}, content_type="multipart/form-data")
    assert no_client.status_code == 422 and "client_id" in no_client.get_json()["error"]["details"]
    assert ticket_count(as_user) == 0


def test_the_cli_imports_a_file_line_by_line(app, client, platform, tmp_path, as_user):
    path = tmp_path / "province.jsonl"
    path.write_text("\n".join([json.dumps(record("JS-CLI-1"), ensure_ascii=False), "not json",
                               json.dumps(record("JS-CLI-2"), ensure_ascii=False)]), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["upstream", "import", "--client", "jiangsu-12345", str(path)])
    assert result.exit_code == 1, result.output          # one line refused
    assert "line 1: created JS-CLI-1 -> NT20250926" in result.output
    assert "line 2: refused" in result.output and "不是有效的JSON" in result.output
    assert "3 records: 2 created, 0 already imported, 1 refused" in result.output
    again = runner.invoke(args=["upstream", "import", "--client", "jiangsu-12345", "--city", "nantong", str(path)])
    assert "0 created, 2 already imported" in again.output
    unknown = runner.invoke(args=["upstream", "import", "--client", "nobody", str(path)])
    assert unknown.exit_code != 0 and "没有该上级平台接入方" in unknown.output
    assert ticket_count(as_user) == 2
