"""The administrator console and API: users and roles, the working calendar, units, channels; audited."""
from __future__ import annotations

from tests.api.escalation_support import start
from tests.conftest import complaint
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


def test_working_hours_set_by_the_admin_count_for_new_deadlines(as_user):
    admin, operator, dispatcher = as_user("admin"), as_user("operator"), as_user("dispatcher")
    url = "/api/v1/admin/cities/nantong/working-hours"
    assert admin.put(url, json={"working_hours": ["09:00-12:00", "11:00-17:00"]}).status_code == 422   # overlap
    assert admin.put(url, json={"working_hours": ["9-12"]}).status_code == 422
    assert as_user("analyst").put(url, json={"working_hours": ["08:00-12:00"]}).status_code == 403
    assert admin.put(url, json={"working_hours": ["08:00-12:00", "14:00-18:00"]}).status_code == 200
    operator.set_clock("2025-11-03T11:00:00+08:00")
    ticket = start(operator)
    ticket = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert ticket["sign_due_at"] == "2025-11-03T15:00:00+08:00"      # 1 h before noon, 1 h after 14:00
    assert admin.get("/api/v1/admin/cities/nantong").get_json()["working_hours"] == ["08:00-12:00", "14:00-18:00"]


def test_channels_and_units_changed_by_the_admin(as_user, db, clock):
    admin, operator, dispatcher = as_user("admin"), as_user("operator"), as_user("dispatcher")
    channels = admin.get("/api/v1/admin/cities/nantong").get_json()["channels"]
    response = admin.put("/api/v1/admin/cities/nantong/channels",
                         json={"channels": [*channels, {"code": "hotline_video", "name": "视频受理"}]})
    assert response.status_code == 200
    assert admin.put("/api/v1/admin/cities/nantong/channels",
                     json={"channels": [{"code": "Bad Code", "name": "x"}]}).status_code == 422
    operator.set_clock("2025-11-03T09:00:00+08:00")
    assert operator.post("/api/v1/tickets", json=complaint(channel="hotline_video")).status_code == 201
    # a new unit, dispatchable at once; retiring it removes it from the dispatch choices
    unit = admin.post("/api/v1/admin/cities/nantong/units", json={"code": "nt_data_bureau", "name": "市数据局",
                                                                   "type": "department", "parent": "nt_centre"})
    assert unit.status_code == 200, unit.get_json()
    assert admin.post("/api/v1/admin/cities/nantong/units", json={"code": "x", "name": "x", "type": "castle"}).status_code == 422
    assert admin.post("/api/v1/admin/cities/nantong/units",
                      json={"code": "y", "name": "y", "type": "department", "parent": "nowhere"}).status_code == 422
    ticket = start(operator)
    task = dispatcher.ready_task(ticket["id"], "dispatch")
    options = {o["value"] for o in dispatcher.get(f"/api/v1/tasks/{task['id']}").get_json()["form"]["fields"][0]["options"]}
    assert "nt_data_bureau" in options
    dispatched = dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_data_bureau"})
    assert dispatched["unit"] == "nt_data_bureau"
    admin.post("/api/v1/admin/cities/nantong/units", json={"code": "nt_ecology", "name": "市生态环境局（更名）",
                                                           "type": "department", "parent": "nt_centre", "active": False})
    other = start(operator)
    task = dispatcher.ready_task(other["id"], "dispatch")
    response = dispatcher.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"unit": "nt_ecology"}})
    assert response.status_code == 422                               # retired
    # loading the rule set again keeps the administrator's changes
    from engine import setup
    with db.unit_of_work() as session:
        setup.load_city_into_db(session, clock, "nantong")
    tree = admin.get("/api/v1/admin/cities/nantong").get_json()["units"][0]["children"]
    ecology = next(u for u in tree if u["code"] == "nt_ecology")
    assert (ecology["name"], ecology["active"], ecology["source"]) == ("市生态环境局（更名）", False, "admin")
    assert any(u["code"] == "nt_data_bureau" for u in tree)
    types = [e["type"] for e in admin.get("/api/v1/rules/log").get_json()["items"]][:3]
    assert types == ["unit_changed", "unit_added", "channels_set"]


def test_city_settings_from_the_console_page(client, as_user):
    browser = Browser(client)
    browser.login("admin")
    page = client.get("/admin/?city=nantong").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    assert 'id="working-hours"' in page and "phone_12345 12345热线电话" in page
    refused = client.post("/admin/settings", data={"csrf_token": token, "city": "nantong", "_action": "working_hours",
                                                   "working_hours": "12:00-08:00"})
    assert refused.status_code == 422 and "工作时间有误" in refused.get_data(as_text=True)
    done = client.post("/admin/settings", data={"csrf_token": token, "city": "nantong", "_action": "working_hours",
                                                "working_hours": "08:00-12:00，14:00-18:00"})
    assert done.status_code == 302
    added = client.post("/admin/settings", data={"csrf_token": token, "city": "nantong", "_action": "unit",
                                                 "code": "nt_data_bureau", "name": "市数据局", "type": "department",
                                                 "parent": "nt_centre", "active": "true"})
    assert added.status_code == 302
    channels = client.post("/admin/settings", data={"csrf_token": token, "city": "nantong", "_action": "channels",
                                                    "channels": "phone_12345 12345热线电话\nweb 网站"})
    assert channels.status_code == 302
    page = client.get("/admin/?city=nantong").get_data(as_text=True)
    assert 'value="08:00-12:00, 14:00-18:00"' in page and 'data-unit="nt_data_bureau"' in page
    assert as_user("admin").get("/api/v1/admin/cities/nantong").get_json()["channels"] == [
        {"code": "phone_12345", "name": "12345热线电话"}, {"code": "web", "name": "网站"}]
