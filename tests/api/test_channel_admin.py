"""Channel administration: administrators create clients (the key shown once, stored hashed), list and
revoke them through the JSON API and the page /admin/channels; every change is in the admin log; a revoked
key is refused at once; nobody else may do any of it."""
from __future__ import annotations

import json
import re

import pytest

from tests.api.channel_support import new_client, payload, send
from tests.api.test_pages import CSRF, Browser

CLIENTS = "/api/v1/admin/channel-clients"
GRID = {"city": "nantong", "name": "grid-chongchuan", "channel": "grid", "kind": "grid"}


@pytest.fixture
def admin(as_user):
    api = as_user("admin")
    api.set_clock("2025-11-03T09:00:00+08:00")
    return api


def admin_log(admin, type_):
    return [e for e in admin.get("/api/v1/rules/log?city=nantong").get_json()["items"] if e["type"] == type_]


def test_an_admin_creates_a_client_and_sees_its_key_only_once(admin, client):
    response = admin.post(CLIENTS, json=GRID)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    key = made["key"]
    assert key.startswith("hk_") and len(key) > 40 and made["key_hint"] == key[:10]
    assert (made["name"], made["channel"], made["kind"], made["active"], made["created_by"]) == \
        ("grid-chongchuan", "grid", "grid", True, "admin")
    assert made["last_used_at"] is None and made["webhook_secret"] is None
    listed = admin.get(f"{CLIENTS}?city=nantong")
    assert listed.status_code == 200 and key not in listed.get_data(as_text=True)
    assert [c["name"] for c in listed.get_json()["items"]] == ["grid-chongchuan"]
    assert "key" not in listed.get_json()["items"][0]
    assert send(client, key, payload("grid")).status_code == 201          # the key works
    used = admin.get(CLIENTS).get_json()["items"][0]
    assert used["last_used_at"] is not None
    logged = admin_log(admin, "channel_client_created")
    assert [(e["actor"], e["data"]["client"], e["data"]["key_hint"]) for e in logged] == \
        [("admin", "grid-chongchuan", key[:10])]
    assert key not in json.dumps(logged)


def test_an_upstream_client_gets_its_webhook_secret_once(admin):
    made = admin.post(CLIENTS, json={"city": "nantong", "name": "provincial-12345", "channel": "provincial_platform",
                                     "kind": "upstream", "webhook_url": "https://12345.jiangsu.example/hook"}).get_json()
    assert made["webhook_url"] == "https://12345.jiangsu.example/hook" and len(made["webhook_secret"]) > 20
    assert made["webhook_secret"] not in json.dumps(admin.get(CLIENTS).get_json())


def test_a_revoked_key_is_refused_at_once(admin, client):
    key = new_client(admin, "grid")
    client_id = admin.get(CLIENTS).get_json()["items"][0]["id"]
    revoked = admin.post(f"{CLIENTS}/{client_id}/revoke")
    assert revoked.status_code == 200
    assert revoked.get_json()["active"] is False and revoked.get_json()["revoked_at"] == "2025-11-03T09:00:00+08:00"
    refused = send(client, key, payload("grid"))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "authentication_failed"
    assert admin.post(f"{CLIENTS}/{client_id}/revoke").status_code == 200      # revoking again changes nothing
    assert len(admin_log(admin, "channel_client_revoked")) == 1
    assert admin.post(f"{CLIENTS}/999999/revoke").status_code == 404


@pytest.mark.parametrize("change, status, field", [
    ({"kind": "fax"}, 422, "kind"), ({"channel": "carrier_pigeon"}, 422, "channel"),
    ({"city": "atlantis"}, 422, "city"), ({"name": "Grid Chongchuan"}, 422, "name"),
    ({"webhook_url": "ftp://example.cn/hook"}, 422, "webhook_url"), ({"colour": "red"}, 422, "colour")])
def test_bad_client_data_is_refused(change, status, field, admin):
    response = admin.post(CLIENTS, json={**GRID, **change})
    assert response.status_code == status and field in response.get_json()["error"]["details"]
    assert admin.get(CLIENTS).get_json()["items"] == []


def test_a_name_is_unique_in_its_city(admin):
    assert admin.post(CLIENTS, json=GRID).status_code == 201
    assert admin.post(CLIENTS, json=GRID).status_code == 409


@pytest.mark.parametrize("username", ["operator", "dispatcher", "supervisor", "analyst", "auditor",
                                      "nt_chongchuan.leader"])
def test_only_administrators_manage_clients(username, admin, as_user, app):
    new_client(admin, "grid")
    client_id = admin.get(CLIENTS).get_json()["items"][0]["id"]
    other = as_user(username)
    assert other.get(CLIENTS).status_code == 403
    assert other.post(CLIENTS, json={**GRID, "name": "sneaky"}).status_code == 403
    assert other.post(f"{CLIENTS}/{client_id}/revoke").status_code == 403
    assert admin.get(CLIENTS).get_json()["items"][0]["active"] is True
    browser = Browser(app.test_client())
    browser.login(username)
    assert browser.client.get("/admin/channels").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(CLIENTS).status_code == 401
    assert anonymous.get("/admin/channels").status_code == 302


def test_the_page_creates_lists_and_revokes_clients(admin, app, client):
    browser = Browser(app.test_client())
    browser.login("admin")
    page = browser.client.get("/admin/channels?city=nantong")
    assert page.status_code == 200 and "渠道接入管理" in page.get_data(as_text=True)
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    form = {"city": "nantong", "name": "cm-nantong", "channel": "city_management", "kind": "city_management"}
    assert browser.client.post("/admin/channels", data=form).status_code == 400          # no CSRF token
    made = browser.client.post("/admin/channels", data={**form, "csrf_token": token})
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    key = re.search(r"<code data-key>(hk_[^<]+)</code>", html).group(1)
    assert "只显示这一次" in html and 'data-client="cm-nantong" data-active="true"' in html
    assert send(client, key, payload("city_management")).status_code == 201
    listed = browser.client.get("/admin/channels?city=nantong").get_data(as_text=True)
    assert key not in listed and key[:10] in listed and "从未" not in listed       # used: no longer "never"
    again = browser.client.post("/admin/channels", data={**form, "csrf_token": token})
    assert again.status_code == 409 and "已存在" in again.get_data(as_text=True)
    client_id = admin.get(CLIENTS).get_json()["items"][0]["id"]
    revoked = browser.client.post(f"/admin/channels/{client_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200 and 'data-client="cm-nantong" data-active="false"' in revoked.get_data(as_text=True)
    assert send(client, key, payload("city_management"), "req-2").status_code == 401
    english = browser.client.get("/admin/channels?city=nantong&lang=en").get_data(as_text=True)
    assert "Channel clients" in english and "Revoked" in english
    assert [e["data"]["client"] for e in admin_log(admin, "channel_client_revoked")] == ["cm-nantong"]
