"""The administrator console and API: users and roles, the working calendar, units, channels; audited."""
from __future__ import annotations

from tests.api.escalation_support import start
from tests.api.test_pages import CSRF, Browser


def test_an_admin_creates_and_changes_a_user_who_can_then_sign_in(as_user, client):
    admin = as_user("admin")
    response = admin.post("/api/v1/admin/users", json={"username": "wang.li", "roles": ["handler"], "city": "nantong",
                                                       "unit": "nt_housing", "password": "s3cret-pass",
                                                       "display_name": "王立"})
    assert response.status_code == 200, response.get_json()
    assert client.post("/api/v1/auth/token", json={"username": "wang.li", "password": "s3cret-pass"}).status_code == 201
    # change the roles without touching the password
    changed = admin.post("/api/v1/admin/users", json={"username": "wang.li", "roles": ["handler", "leader"],
                                                      "city": "nantong", "unit": "nt_housing"}).get_json()
    assert changed["roles"] == ["handler", "leader"]
    assert client.post("/api/v1/auth/token", json={"username": "wang.li", "password": "s3cret-pass"}).status_code == 201
    deactivated = admin.post("/api/v1/admin/users", json={"username": "wang.li", "roles": ["handler"], "city": "nantong",
                                                          "unit": "nt_housing", "active": False}).get_json()
    assert deactivated["active"] is False
    assert client.post("/api/v1/auth/token", json={"username": "wang.li", "password": "s3cret-pass"}).status_code == 401
    log = admin.get("/api/v1/rules/log").get_json()["items"]
    assert [e["type"] for e in log[:3]] == ["user_changed", "user_changed", "user_created"]
    assert all("s3cret" not in str(e["data"]) for e in log)


def test_bad_users_are_refused_and_only_admins_may_manage(as_user):
    admin = as_user("admin")
    url = "/api/v1/admin/users"
    cases = [({"username": "x y", "roles": ["handler"], "password": "longenough"}, "username"),
             ({"username": "newbie", "roles": ["wizard"], "password": "longenough"}, "roles"),
             ({"username": "newbie", "roles": ["handler"], "city": "nantong", "password": "longenough"}, "unit"),
             ({"username": "newbie", "roles": ["handler"], "city": "nantong", "unit": "sz_yongqiao",
               "password": "longenough"}, "unit"),
             ({"username": "newbie", "roles": ["operator"]}, "password")]
    for payload, field in cases:
        response = admin.post(url, json=payload)
        assert response.status_code == 422 and field in response.get_json()["error"]["details"], (payload, response.get_json())
    assert admin.post(url, json={"username": "newbie", "roles": ["operator"], "password": "short"}).status_code == 422
    assert as_user("dispatcher").post(url, json={"username": "n2", "roles": ["operator"],
                                                 "password": "longenough"}).status_code == 403
    assert as_user("dispatcher").get(url).status_code == 403
    assert all(u["username"] != "newbie" for u in admin.get(url).get_json()["items"])


def test_a_holiday_entered_by_the_admin_moves_new_deadlines(as_user):
    admin, operator, dispatcher = as_user("admin"), as_user("operator"), as_user("dispatcher")
    response = admin.put("/api/v1/admin/calendar", json={"city": "nantong", "day": "2025-11-04", "is_working": False,
                                                         "note": "临时停工日"})
    assert response.status_code == 200, response.get_json()
    days = admin.get("/api/v1/admin/calendar?city=nantong&year=2025").get_json()["items"]
    assert [(d["day"], d["is_working"]) for d in days] == [("2025-11-04", False)]
    operator.set_clock("2025-11-03T16:30:00+08:00")
    ticket = start(operator)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["sign_due_at"] == "2025-11-05T09:30:00+08:00"       # 2 working hours skip the day off
    assert admin.delete("/api/v1/admin/calendar/nantong/2025-11-04").status_code == 204
    assert admin.delete("/api/v1/admin/calendar/nantong/2025-11-04").status_code == 404
    assert admin.delete("/api/v1/admin/calendar/nantong/tomorrow").status_code == 422
    assert admin.put("/api/v1/admin/calendar", json={"city": "atlantis", "day": "2025-11-04",
                                                     "is_working": False}).status_code == 404
    assert as_user("analyst").put("/api/v1/admin/calendar", json={"city": "nantong", "day": "2025-11-04",
                                                                  "is_working": False}).status_code == 403
    types = [e["type"] for e in admin.get("/api/v1/rules/log").get_json()["items"]]
    assert types[:2] == ["calendar_day_removed", "calendar_day_set"]


def test_the_city_overview_has_the_units_tree_channels_and_hours(as_user):
    overview = as_user("admin").get("/api/v1/admin/cities/nantong").get_json()
    assert overview["working_hours"] == ["08:30-12:00", "13:30-17:30"]
    centre = overview["units"][0]
    assert centre["code"] == "nt_centre" and any(u["code"] == "nt_chongchuan" for u in centre["children"])
    assert any(c["code"] == "early_warning" for c in overview["channels"])


def test_the_console_page(client, as_user):
    browser = Browser(client)
    browser.login("admin")
    page = client.get("/admin/?city=nantong").get_data(as_text=True)
    assert "系统管理" in page and "工作日历" in page and "用户与角色" in page and "崇川区人民政府" in page
    token = CSRF.search(page).group(1)
    response = client.post("/admin/calendar", data={"csrf_token": token, "city": "nantong", "scope": "*",
                                                    "day": "2027-01-01", "is_working": "false", "note": "元旦"})
    assert response.status_code == 302
    page = client.get("/admin/?city=nantong&year=2027").get_data(as_text=True)
    assert 'data-day="2027-01-01"' in page and "元旦" in page
    refused = client.post("/admin/users", data={"csrf_token": token, "city": "nantong", "username": "zhao",
                                                "roles": "handler", "display_name": "赵"})
    assert refused.status_code == 422 and "经办人和单位领导必须指定所属单位" in refused.get_data(as_text=True)
    assert 'value="zhao"' in refused.get_data(as_text=True)           # what was typed is kept
    created = client.post("/admin/users", data={"csrf_token": token, "city": "nantong", "username": "zhao",
                                                "roles": ["handler"], "unit": "nt_housing", "password": "longenough"})
    assert created.status_code == 302
    assert 'data-user="zhao"' in client.get("/admin/?city=nantong").get_data(as_text=True)
    english = client.get("/admin/?city=nantong&lang=en").get_data(as_text=True)
    assert "Administration" in english and "Working calendar" in english and "Users and roles" in english
    Browser(client).login("dispatcher")
    assert client.get("/admin/").status_code == 403
