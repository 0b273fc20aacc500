"""The centre's dashboard from a known history: every figure asserted (API), and the page renders."""
from __future__ import annotations

from datetime import date, timedelta

from tests.api.escalation_support import reply_and_review, start
from tests.api.test_pages import Browser


def board(api, **params):
    query = "&".join(f"{k}={v}" for k, v in {"city": "nantong", **params}.items())
    response = api.get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def history(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    t1, t2, t3, t4 = (start(operator) for _ in range(4))
    for ticket, unit in ((t1, "nt_chongchuan"), (t2, "nt_housing"), (t3, "nt_chongchuan")):
        dispatcher.complete(ticket["id"], "dispatch", {"unit": unit})
    operator.set_clock("2025-11-03T09:30:00+08:00")
    as_user("nt_chongchuan.handler").complete(t1["id"], "sign", {"decision": "accept"})
    as_user("nt_chongchuan.handler").complete(t3["id"], "sign", {"decision": "accept"})
    reply_and_review(as_user, t3["id"], "nt_chongchuan")
    as_user("callback").complete(t3["id"], "callback", {"satisfied": True})
    return t1, t2, t3, t4


def test_every_figure_of_the_board(as_user):
    history(as_user)
    supervisor = as_user("supervisor")
    supervisor.set_clock("2025-11-03T10:40:00+08:00")     # t2's sign-off (due 11:00) is past its yellow point
    b = board(supervisor)
    assert (b["intake_today"], b["open_total"]) == (4, 3)
    assert b["open_by_status"] == {"dispatching": 1, "signing": 1, "handling": 1}
    assert b["lights"] == {"green": 2, "yellow": 1, "red": 0}
    assert b["overdue_by_unit"] == {}
    supervisor.set_clock("2025-11-03T11:30:00+08:00")
    supervisor.tick()                                       # t2's sign-off timer fires
    b = board(supervisor, since="2025-11-01T00:00:00%2B08:00")
    assert b["lights"] == {"green": 2, "yellow": 0, "red": 1}
    assert b["overdue_by_unit"] == {"nt_housing": 1}
    rates = {r["unit"]: r for r in b["unit_rates"]}
    assert set(rates) == {"nt_chongchuan"}
    assert rates["nt_chongchuan"] == {
        "unit": "nt_chongchuan", "signed": 2, "signed_on_time": 2, "handled": 1, "handled_on_time": 1,
        "callbacks": 1, "satisfied": 1, "sign_rate": 1.0, "handle_rate": 1.0, "satisfaction_rate": 1.0}
    days = {d["day"]: d["intake"] for d in b["trend"]}
    assert len(days) == 14 and days["2025-11-03"] == 4
    assert days[(date(2025, 11, 3) - timedelta(days=13)).isoformat()] == 0 and sum(days.values()) == 4


def test_a_dissatisfied_callback_and_a_late_sign_off_lower_the_rates(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_housing"})
    operator.set_clock("2025-11-03T14:00:00+08:00")       # past 11:00
    as_user("nt_housing.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    reply_and_review(as_user, ticket["id"], "nt_housing")
    as_user("callback").complete(ticket["id"], "callback", {"satisfied": False, "unit_at_fault": False})
    rates = {r["unit"]: r for r in board(as_user("supervisor"))["unit_rates"]}
    assert (rates["nt_housing"]["sign_rate"], rates["nt_housing"]["handle_rate"],
            rates["nt_housing"]["satisfaction_rate"]) == (0.0, 1.0, 0.0)


def test_only_centre_roles_see_the_board(as_user, client):
    assert as_user("nt_chongchuan.handler").get("/api/v1/dashboard?city=nantong").status_code == 403
    assert as_user("supervisor").get("/api/v1/dashboard?city=atlantis").status_code == 404
    assert as_user("supervisor").get("/api/v1/dashboard").status_code == 422
    history(as_user)
    browser = Browser(client)
    browser.login("supervisor")
    html = client.get("/dashboard?city=nantong").get_data(as_text=True)
    assert "指挥中心看板" in html and 'data-figure="intake_today">4<' in html and "vendor/echarts/echarts.min.js" in html
    assert "崇川区人民政府" in html and "100.0%" in html
    html = client.get("/dashboard?city=nantong&lang=en").get_data(as_text=True)
    assert "Centre dashboard" in html and "Signed on time" in html
    Browser(client).login("nt_chongchuan.handler")
    assert client.get("/dashboard").status_code == 403
