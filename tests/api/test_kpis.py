"""Unit KPIs through the HTTP API over tickets driven through the real lifecycle, and leaders' readings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from engine.clock import SHANGHAI
from engine.kpis import period_tickets
from engine.models import Ticket
from tests.api.escalation_support import REPLY, start, unit_users  # noqa: F401 (fixture)
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified


def _handled(as_user, dispatcher, unit="nt_housing", **overrides):
    ticket = start(dispatcher, **overrides)
    _through_callback(as_user, dispatcher, ticket, unit, True)
    return ticket


def _through_callback(as_user, dispatcher, ticket, unit, satisfied, at_fault=False):
    dispatcher.complete(ticket["id"], "dispatch", {"unit": unit})
    as_user(f"{unit}.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    as_user(f"{unit}.handler").complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    as_user(f"{unit}.leader").complete(ticket["id"], "approve_reply", {"approved": True})
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    as_user("callback").complete(ticket["id"], "callback", {"satisfied": satisfied, "unit_at_fault": at_fault})


def test_kpis_per_unit_from_the_event_log(as_user):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    first = _handled(as_user, dispatcher)
    returned = start(dispatcher, title="小区路灯不亮")
    dispatcher.complete(returned["id"], "dispatch", {"unit": "nt_chongchuan"})
    as_user("nt_chongchuan.handler").complete(returned["id"], "sign", {"decision": "return", "reason": "不属于本单位职责",
                                                                       "suggested_unit": "nt_housing"})
    as_user("nt_chongchuan.leader").complete(returned["id"], "approve_return", {"approved": True})
    dispatcher.complete(returned["id"], "dispatch", {"unit": "nt_housing"})
    reading = as_user("nt_housing.leader").post(f"/api/v1/tickets/{first['id']}/leader-readings",
                                                json={"comment": "请认真核实，举一反三"})
    assert reading.status_code == 201 and reading.get_json()["data"]["unit"] == "nt_housing"

    response = as_user("supervisor").get("/api/v1/kpis?city=nantong&from=2025-11-03&to=2025-11-03")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["tickets"] == 2 and body["period_rule"] == "received"
    rows = {r["unit"]: r for r in body["items"]}
    housing, chongchuan = rows["nt_housing"], rows["nt_chongchuan"]
    assert (housing["dispatched"], housing["handled"], housing["signed_on_time"], housing["sign_rate"]) == (2, 1, 1, 1.0)
    assert (housing["on_time_rate"], housing["satisfaction_rate"], housing["resolution_rate"]) == (1.0, 1.0, 1.0)
    assert housing["leader_read"] == 1 and housing["leader_reading_rate"] == 0.5
    assert housing["efficiency_index"] == 100.0 and housing["abnormal"] == []
    assert (chongchuan["returns"], chongchuan["return_rate"], chongchuan["handled"]) == (1, 1.0, 0)

    by_type = as_user("supervisor").get("/api/v1/kpis?city=nantong&from=2025-11-03&to=2025-11-03&by=request_type"
                                        "&unit=nt_housing").get_json()["items"]
    assert [(r["unit"], r["request_type"], r["dispatched"]) for r in by_type] == [("nt_housing", "complaint", 2)]


def test_who_may_see_kpis_and_bad_periods(as_user):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    _handled(as_user, dispatcher)
    _handled(as_user, dispatcher, unit="nt_chongchuan")
    own = as_user("nt_chongchuan.leader").get("/api/v1/kpis?city=nantong&from=2025-11-01&to=2025-11-30").get_json()
    assert [r["unit"] for r in own["items"]] == ["nt_chongchuan"]
    assert as_user("operator").get("/api/v1/kpis?city=nantong&from=2025-11-01&to=2025-11-30").status_code == 403
    bad = as_user("supervisor").get("/api/v1/kpis?city=nantong&from=2025-11-30&to=2025-11-01")
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["to"][0]["code"] == "before_from"
    long = as_user("supervisor").get("/api/v1/kpis?city=nantong&from=2024-01-01&to=2025-11-01")
    assert long.get_json()["error"]["details"]["to"][0]["code"] == "span_too_long"
    assert as_user("supervisor").get("/api/v1/kpis?city=nowhere&from=2025-11-01&to=2025-11-30").status_code == 404
    assert as_user("supervisor").get("/api/v1/kpis?city=nantong&from=x&to=2025-11-30").status_code == 422


def test_leader_reading_is_for_the_units_leaders_only(as_user):
    dispatcher = as_user("dispatcher")
    ticket = _handled(as_user, dispatcher)
    assert as_user("nt_housing.handler").post(f"/api/v1/tickets/{ticket['id']}/leader-readings",
                                              json={"comment": "阅"}).status_code == 403
    assert as_user("nt_chongchuan.leader").post(f"/api/v1/tickets/{ticket['id']}/leader-readings",
                                                json={"comment": "阅"}).status_code in (403, 404)
    assert as_user("nt_housing.leader").post(f"/api/v1/tickets/{ticket['id']}/leader-readings",
                                             json={"comment": ""}).status_code == 422


def test_the_closed_period_rule_takes_tickets_closed_in_the_period(as_user, db):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-10-30T09:00:00+08:00")
    october = _handled(as_user, dispatcher)                 # received and closed in October
    open_one = start(dispatcher)                             # received in October, closes in November
    with db.unit_of_work() as session:
        session.execute(update(Ticket).where(Ticket.id == open_one["id"]).values(
            closed_at=datetime(2025, 11, 5, 10, tzinfo=SHANGHAI), status="closed"))
    nov = (datetime(2025, 11, 1, tzinfo=SHANGHAI), datetime(2025, 12, 1, tzinfo=SHANGHAI))
    with db.unit_of_work() as session:
        assert [t.id for t in period_tickets(session, "nantong", *nov, "closed")] == [open_one["id"]]
        assert [t.id for t in period_tickets(session, "nantong", *nov, "received")] == []
        octo = (datetime(2025, 10, 1, tzinfo=SHANGHAI), nov[0])
        assert [t.id for t in period_tickets(session, "nantong", *octo, "closed")] == [october["id"]]


def test_the_kpi_page_and_the_reading_form(as_user, client):
    from tests.api.test_pages import Browser
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = _handled(as_user, dispatcher)
    late = start(dispatcher, title="夜间施工")
    dispatcher.complete(late["id"], "dispatch", {"unit": "nt_housing"})
    dispatcher.set_clock("2025-11-04T09:00:00+08:00")
    assert dispatcher.post("/api/v1/test/tick").status_code == 200          # the sign deadline passes unsigned
    browser = Browser(client)
    browser.login("nt_housing.leader")
    page = client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert "领导阅批" in page
    token = browser.csrf(f"/tickets/{ticket['id']}")
    response = client.post(f"/tickets/{ticket['id']}/leader-reading", data={"csrf_token": token, "comment": "请抓好整改"})
    assert response.status_code == 302
    refused = client.post(f"/tickets/{ticket['id']}/leader-reading", data={"csrf_token": token, "comment": " "})
    assert refused.status_code == 422 and "请填写阅批意见" in refused.get_data(as_text=True)
    page = client.get("/kpis?city=nantong&from=2025-11-03&to=2025-11-04").get_data(as_text=True)
    assert 'data-unit="nt_housing"' in page and 'data-unit="nt_chongchuan"' not in page     # a leader: own unit
    assert '<td data-kpi="leader_reading_rate">50.0%</td>' in page
    assert f'data-abnormal="{late["id"]}"' in page and "超时未签收" in page and "不作为" in page
    assert client.get("/kpis?city=nantong&from=2025-11-04&to=2025-11-03").status_code == 422


def test_suzhou_scores_each_deduction_with_its_tickets_and_manual_entries(as_user, unit_users):
    unit_users("suzhou_ah", "sz_housing")
    dispatcher, supervisor = as_user("dispatcher"), as_user("supervisor")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    late = start(dispatcher, city="suzhou_ah", channel="phone_12345")
    dispatcher.complete(late["id"], "dispatch", {"unit": "sz_housing"})
    dispatcher.set_clock("2025-11-04T09:00:00+08:00")        # the half-day sign-off deadline (17:30) has passed
    assert dispatcher.post("/api/v1/test/tick").status_code == 200
    entry = supervisor.post("/api/v1/scores/entries", json={
        "city": "suzhou_ah", "period": "2025-11", "unit": "sz_housing", "item": "organisation", "points": -1,
        "reason": "未明确专职人员", "evidence": "宿事速办办〔2025〕12号通报"})
    assert entry.status_code == 201, entry.get_json()
    supervisor.post("/api/v1/scores/entries", json={
        "city": "suzhou_ah", "period": "2025-11", "unit": "sz_housing", "item": "leader_endorsement", "points": 1,
        "reason": "市领导批示肯定", "evidence": "批示件 2025-11-20"})
    response = supervisor.get("/api/v1/scores?city=suzhou_ah&period=2025-11")
    assert response.status_code == 200, response.get_json()
    (housing,) = [u for u in response.get_json()["items"] if u["unit"] == "sz_housing"]
    items = {i["code"]: i for s in housing["sections"] for i in s["items"]}
    assert items["timely_sign"]["points"] == 1.5 and items["timely_sign"]["tickets"] == [late["id"]]
    assert items["organisation"]["points"] == 2 and items["organisation"]["entries"][0]["evidence"].startswith("宿事速办办")
    assert items["leader_reading"]["points"] == 0 and items["leader_reading"]["rate"] == 0.0   # 0 % < 50 %: all 3 lost
    # daily 80 − 0.5 − 1 − 3 = 75.5, key work absent (prorated to 100), +1 bonus: 75.5 × 1.25 + 1 = 95.375 → 95.38
    assert (housing["total"], housing["prorated"], housing["rank"]) == (95.38, True, 1)

    bad = supervisor.post("/api/v1/scores/entries", json={
        "city": "suzhou_ah", "period": "2025-11", "unit": "sz_housing", "item": "timely_sign", "points": 2,
        "reason": "加分", "evidence": "无"})
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["points"][0]["code"] == "not_a_deduction"
    missing = supervisor.post("/api/v1/scores/entries", json={
        "city": "suzhou_ah", "period": "2025-11", "unit": "nowhere", "item": "nothing", "points": -1,
        "reason": "扣分", "evidence": " "})
    assert set(missing.get_json()["error"]["details"]) == {"item", "unit", "evidence"}
    assert as_user("dispatcher").post("/api/v1/scores/entries", json={
        "city": "suzhou_ah", "period": "2025-11", "unit": "sz_housing", "item": "rules", "points": -1,
        "reason": "扣分", "evidence": "x"}).status_code == 403
    assert supervisor.get("/api/v1/scores?city=changzhou&period=2025-11").status_code == 404   # no method shipped
    assert supervisor.get("/api/v1/scores?city=suzhou_ah&period=2025-13").status_code == 422


def test_suqian_scores_provincial_and_city_tickets_separately_and_the_year_is_the_monthly_mean(as_user, unit_users):
    unit_users("suqian", "sq_housing")
    dispatcher, supervisor = as_user("dispatcher"), as_user("supervisor")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    city_ticket = start(dispatcher, city="suqian", channel="phone_12345")
    _through_callback(as_user, dispatcher, city_ticket, "sq_housing", True)
    provincial = start(dispatcher, city="suqian", channel="provincial_platform",
                       directive_due_at="2025-11-20T17:00:00+08:00")
    _through_callback(as_user, dispatcher, provincial, "sq_housing", False)     # dissatisfied, not at fault
    month = supervisor.get("/api/v1/scores?city=suqian&period=2025-11").get_json()
    (housing,) = [u for u in month["items"] if u["unit"] == "sq_housing"]
    # all tickets: 10 + 30 × 1 + 30 × 0.5 + 30 × 0.5; provincial: 10 + 30 + 0 + 0; city: 100
    assert (housing["total"], housing["scopes"]) == (70.0, {"provincial": 40.0, "city": 100.0})
    year = supervisor.get("/api/v1/scores?city=suqian&period=2025").get_json()
    (yearly,) = [u for u in year["items"] if u["unit"] == "sq_housing"]
    assert yearly["total"] == 70.0 and yearly["months"] == {"2025-11": 70.0}


def test_nantong_scores_dispatched_orders_from_the_log_and_the_abnormal_tickets(as_user):
    dispatcher, supervisor = as_user("dispatcher"), as_user("supervisor")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    _handled(as_user, dispatcher)
    unsigned = start(dispatcher)
    dispatcher.complete(unsigned["id"], "dispatch", {"unit": "nt_housing"})
    dispatcher.set_clock("2025-11-04T09:00:00+08:00")
    dispatcher.post("/api/v1/test/tick")
    body = supervisor.get("/api/v1/scores?city=nantong&period=2025-11").get_json()
    (housing,) = [u for u in body["items"] if u["unit"] == "nt_housing"]
    items = {i["code"]: i for s in housing["sections"] for i in s["items"]}
    assert [items[c]["points"] for c in ("timely_sign", "on_time", "satisfaction", "resolution")] == [10, 20, 15, 10]
    assert items["abnormal"]["points"] == 9 and items["abnormal"]["tickets"] == [unsigned["id"]]
    # 64 + 30 of the manual areas = 94 of 95 present (not stationed in the centre: 合理缺项) → × 100 / 95
    assert housing["prorated"] and housing["total"] == 98.95


def test_the_scores_page_shows_each_deduction_with_its_tickets(as_user, unit_users, client):
    from tests.api.test_pages import Browser
    unit_users("suzhou_ah", "sz_housing")
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    late = start(dispatcher, city="suzhou_ah", channel="phone_12345")
    dispatcher.complete(late["id"], "dispatch", {"unit": "sz_housing"})
    dispatcher.set_clock("2025-11-04T09:00:00+08:00")
    dispatcher.post("/api/v1/test/tick")
    Browser(client).login("supervisor")
    page = client.get("/scores?city=suzhou_ah&period=2025-11").get_data(as_text=True)
    # 80 − 0.5 (signed late) − 3 (no leader reading) = 76.5, key work absent: × 100 / 80 = 95.625 → 95.63
    assert 'data-unit="sz_housing"' in page and 'data-total="95.63"' in page and "合理缺项" in page
    row = page.split('data-item="timely_sign"', 1)[1].split("</tr>", 1)[0]
    assert f'data-ticket="{late["id"]}"' in row and "−0.50" in row
    assert "2025-13" not in page and client.get("/scores?city=suzhou_ah&period=2025-13").status_code == 422
