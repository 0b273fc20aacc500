"""Tokens, bad input and the OpenAPI document."""
from __future__ import annotations

from tests.conftest import complaint


def test_token_required_and_wrong_password_rejected(client):
    assert client.get("/api/v1/tickets").status_code == 401
    bad = client.post("/api/v1/auth/token", json={"username": "operator", "password": "wrong"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "authentication_failed"
    assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_revoked_token_stops_working(as_user):
    api = as_user("operator")
    assert api.post("/api/v1/auth/revoke").status_code == 204
    assert api.get("/api/v1/tickets").status_code == 401


def test_bad_ticket_payloads_are_422_and_store_nothing(as_user):
    api = as_user("operator")
    for payload in ({}, complaint(request_type="rant"), complaint(channel="carrier_pigeon"),
                    complaint(received_at="not a date"), complaint(unexpected=1), complaint(city="atlantis"),
                    complaint(received_at="2099-01-01T00:00:00+08:00")):
        response = api.post("/api/v1/tickets", json=payload)
        assert response.status_code in (404, 422), (payload, response.get_json())
        assert response.get_json()["error"]["message"]
    assert api.get("/api/v1/tickets").get_json()["total"] == 0
    assert api.client.post("/api/v1/tickets", data="x", headers={**api.headers, "Content-Type": "text/plain"}).status_code == 415


def test_roles_are_enforced(as_user):
    handler = as_user("nt_chongchuan.handler")
    response = handler.post("/api/v1/tickets", json=complaint())
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "permission_denied"


def test_ticket_list_filters_and_pages(as_user):
    api = as_user("operator")
    api.set_clock("2025-11-03T09:00:00+08:00")
    for i in range(5):
        api.post("/api/v1/tickets", json=complaint(title=f"工单{i}", request_type="help" if i % 2 else "complaint"))
    page = api.get("/api/v1/tickets?per_page=2&page=2").get_json()
    assert page["total"] == 5 and len(page["items"]) == 2
    helps = api.get("/api/v1/tickets?request_type=help").get_json()
    assert helps["total"] == 2 and all(t["request_type"] == "help" for t in helps["items"])
    assert api.get("/api/v1/tickets?status=dispatching").get_json()["total"] == 5
    assert api.get("/api/v1/tickets?q=工单3").get_json()["total"] == 1
    assert api.get("/api/v1/tickets?per_page=0").status_code == 422


def test_openapi_document_and_page(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/tasks/{task_id}/complete" in doc["paths"]
    assert "TicketCreate" in doc["components"]["schemas"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/tickets" in page.get_data(as_text=True)


def test_test_clock_is_off_unless_enabled(database_url, city):
    from app import create_app
    from engine.config import Settings
    app = create_app(Settings(database_url=database_url, secret_key="x", test_clock=False, scheduler_interval=1,
                              scheduler_batch=10, max_upload_bytes=1024 * 1024, default_language="zh"))
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo"}).get_json()["token"]
    response = client.put("/api/v1/test/clock", json={"now": "2025-01-01T00:00:00+08:00"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    app.extensions["hotline_db"].dispose()


def test_field_errors_come_in_both_languages(as_user):
    api = as_user("operator")
    body = api.post("/api/v1/tickets", json={"city": "nantong"}).get_json()["error"]
    assert body["details"]["title"][0] == {"code": "invalid", "message_zh": "缺少必填字段",
                                           "message_en": "Missing data for required field."}
    body = api.post("/api/v1/tickets", json=complaint(channel="carrier_pigeon")).get_json()["error"]
    assert body["details"]["channel"][0]["code"] == "unknown_channel"
    assert body["details"]["channel"][0]["message_zh"].startswith("未知渠道")
