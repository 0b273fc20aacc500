"""The periodic reports through the HTTP API over tickets driven through the real lifecycle: their figures,
the Excel and PDF downloads, issuing and sending, the scheduler's issuing, and who may read what."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from engine.clock import FixedClock, parse_iso
from engine.models import IssuedReport, Message
from engine.scheduler import issue_reports
from tests.api.escalation_support import REPLY, start
import pytest

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified


def _handled(as_user, dispatcher, unit="nt_housing", satisfied=True, **overrides):
    ticket = start(dispatcher, **overrides)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": unit, "category": "urban_construction"})
    as_user(f"{unit}.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    as_user(f"{unit}.handler").complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    as_user(f"{unit}.leader").complete(ticket["id"], "approve_reply", {"approved": True})
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    as_user("callback").complete(ticket["id"], "callback", {"satisfied": satisfied, "unit_at_fault": not satisfied})
    return ticket


def _section(report, key):
    return next(s for s in report["sections"] if s["key"] == key)


def _metric(report, key):
    return next(i["value"] for i in report["sections"][0]["items"] if i["key"] == key)


def test_the_monthly_report_and_its_excel_with_chinese_headers(as_user):
    dispatcher, supervisor = as_user("dispatcher"), as_user("supervisor")
    dispatcher.set_clock("2024-12-10T09:00:00+08:00")           # the coming month, a year before (往年次月)
    start(dispatcher, title="冬季供暖不热")
    dispatcher.set_clock("2025-10-20T09:00:00+08:00")
    start(dispatcher)
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    first = _handled(as_user, dispatcher)
    _handled(as_user, dispatcher, title="小区门口夜间施工噪音", satisfied=False)
    late = start(dispatcher, title="道路井盖缺失")
    dispatcher.complete(late["id"], "dispatch", {"unit": "nt_chongchuan"})
    dispatcher.set_clock("2025-11-05T09:00:00+08:00")
    dispatcher.tick()                                              # its sign deadline passes

    response = supervisor.get("/api/v1/reports/monthly?city=nantong&period=2025-11")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["kind"], report["period"], report["from"], report["to"]) == ("monthly", "2025-11", "2025-11-01", "2025-11-30")
    assert report["title"]["zh"] == "重点问题月报"
    assert (_metric(report, "received"), _metric(report, "previous"), _metric(report, "handled")) == (3, 1, 2)
    assert _metric(report, "change") == 2.0 and _metric(report, "on_time_rate") == 1.0
    units = {u["code"]: u for u in _section(report, "units")["rows"]}
    assert units["nt_housing"]["dispatched"] == 2 and units["nt_housing"]["satisfaction_rate"] == 0.5
    assert units["nt_chongchuan"]["handled"] == 0 and units["nt_chongchuan"]["abnormal"] == 1
    types = {r["name"]: r["count"] for r in _section(report, "by_request_type")["rows"]}
    assert types == {"投诉": 3}
    ahead = _section(report, "year_before_categories")
    assert "2024年12月" in ahead["title"]["zh"] and sum(r["count"] for r in ahead["rows"]) == 1
    assert first["id"] not in [t["id"] for r in _section(report, "key_issues")["rows"] for t in r["tickets"]]

    xlsx = supervisor.get("/api/v1/reports/monthly?city=nantong&period=2025-11&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert "monthly-nantong-2025-11.xlsx" in xlsx.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(xlsx.data))
    sheet = book["承办单位办理情况（分类通报）"[:31]]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["承办单位", "单位类别", "派单", "办结"] and "按时办结率" in headers
    english = load_workbook(io.BytesIO(supervisor.get(
        "/api/v1/reports/monthly?city=nantong&period=2025-11&format=xlsx&lang=en").data))
    assert any(c.value == "On time" for ws in english.worksheets for c in ws[1])
    pdf = supervisor.get("/api/v1/reports/monthly?city=nantong&period=2025-11&format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_the_daily_and_weekly_reports(as_user):
    dispatcher, supervisor = as_user("dispatcher"), as_user("supervisor")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    for phone in ("13800000001", "13800000002", "13800000003"):
        start(dispatcher, title="某小区电梯故障困人", content="小区3号楼电梯经常故障，多次困人，物业不处理。",
              citizen={"name": "王五", "phone": phone}, address="崇川区某某花园3号楼")
    start(dispatcher, title="路灯不亮", citizen={"name": "王五", "phone": "13800000001"})
    dispatcher.set_clock("2025-11-10T09:00:00+08:00")
    start(dispatcher, title="某小区电梯故障")

    daily = supervisor.get("/api/v1/reports/daily?city=nantong&period=2025-11-03").get_json()
    assert _metric(daily, "received") == 4
    words = [r["term"] for r in _section(daily, "hot_words")["rows"]]
    assert "电梯" in words
    many = _section(daily, "many_people_one_issue")["rows"]
    assert many and many[0]["count"] == 3 and many[0]["citizens"] == 3
    one = _section(daily, "one_person_many_tickets")["rows"]
    assert one and one[0]["citizen"] == "138****0001" and one[0]["count"] == 2

    weekly = supervisor.get("/api/v1/reports/weekly?city=nantong&period=2025-W46").get_json()
    assert (weekly["from"], weekly["to"]) == ("2025-11-10", "2025-11-16")
    assert (_metric(weekly, "received"), _metric(weekly, "previous")) == (1, 4)
    per_day = _section(weekly, "per_day")["rows"]
    assert per_day[0] == {"day": "2025-11-10", "received": 1, "closed": 0, "previous": 4}


def test_supervision_consultation_and_chokepoint_reports(as_user):
    dispatcher, supervisor = as_user("dispatcher"), as_user("supervisor")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(dispatcher)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    opened = supervisor.post(f"/api/v1/tickets/{ticket['id']}/supervisions",
                             json={"trigger": "media_exposure", "reason": "经媒体曝光后仍未处理"})
    assert opened.status_code == 201, opened.get_json()
    second = start(dispatcher, title="同一工地夜间施工")
    dispatcher.complete(second["id"], "dispatch", {"unit": "nt_chongchuan"})
    proposed = as_user("nt_chongchuan.handler").post("/api/v1/consultations", json={
        "ticket_ids": [second["id"]], "topic": "某工地夜间施工反复投诉", "description": "涉及多部门",
        "lead_unit": "nt_chongchuan", "assisting_units": ["nt_housing"]})
    assert proposed.status_code == 201, proposed.get_json()
    for n in range(3):                       # one citizen, one field, three times, unresolved
        start(dispatcher, title=f"噪音扰民第{n + 1}次", citizen={"name": "赵六", "phone": "13900000009"})

    sup = supervisor.get("/api/v1/reports/supervision_monthly?city=nantong&period=2025-11").get_json()
    assert _metric(sup, "orders") == 1
    (order,) = _section(sup, "orders")["rows"]
    assert order["tier"] >= 1 and order["unit"] == "崇川区人民政府" and order["tickets"][0]["id"] == ticket["id"]
    con = supervisor.get("/api/v1/reports/consultation_monthly?city=nantong&period=2025-11").get_json()
    (row,) = _section(con, "this_month")["rows"]
    assert row["topic"] == "某工地夜间施工反复投诉" and row["status"] == "进行中" and row["lead_unit"] is None
    choke = supervisor.get("/api/v1/reports/chokepoint?city=nantong&period=2025-11").get_json()
    people = _section(choke, "same_person")["rows"]
    assert [(p["citizen"], p["count"], p["unresolved"]) for p in people] == [("139****0009", 3, 3)]


def test_report_errors_and_who_may_read(as_user):
    supervisor = as_user("supervisor")
    assert supervisor.get("/api/v1/reports/yearly?city=nantong").status_code == 404
    bad = supervisor.get("/api/v1/reports/monthly?city=nantong&period=2025-13")
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["period"][0]["code"] == "invalid_period"
    assert supervisor.get("/api/v1/reports/weekly?city=nantong&period=2025-11").status_code == 422
    assert supervisor.get("/api/v1/reports/monthly?city=nowhere&period=2025-11").status_code == 404
    assert supervisor.get("/api/v1/reports/monthly?city=nantong&period=2025-11&format=doc").status_code == 422
    assert as_user("operator").get("/api/v1/reports/monthly?city=nantong&period=2025-11").status_code == 403
    leader = as_user("nt_housing.leader")
    assert leader.get("/api/v1/reports/monthly?city=nantong&period=2025-11").status_code == 200
    assert leader.get("/api/v1/reports/chokepoint?city=nantong&period=2025-11").status_code == 403


def test_issuing_sends_to_the_recipients_once(as_user, db):
    supervisor = as_user("supervisor")
    supervisor.set_clock("2025-12-03T10:00:00+08:00")
    assert as_user("dispatcher").post("/api/v1/reports/monthly/issue", json={"city": "nantong"}).status_code == 403
    issued = supervisor.post("/api/v1/reports/monthly/issue", json={"city": "nantong"})
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert body["period"] == "2025-11" and "city_leader" in body["recipients"] and "nt_housing.leader" in body["recipients"]
    assert "nt_housing.handler" not in body["recipients"]
    assert supervisor.post("/api/v1/reports/monthly/issue", json={"city": "nantong"}).status_code == 409
    listed = supervisor.get("/api/v1/reports?city=nantong").get_json()["items"]
    assert [(r["kind"], r["period"]) for r in listed] == [("monthly", "2025-11")]
    again = supervisor.get(f"/api/v1/reports/issued/{body['id']}").get_json()
    assert again["title"]["zh"] == "重点问题月报"
    inbox = as_user("city_leader").get("/api/v1/messages").get_json()["items"]
    (message,) = [m for m in inbox if m["kind"] == "report"]
    assert message["title"] == "【重点问题月报】南通市 2025-11"


def test_the_scheduler_issues_what_is_due_once(db, city):
    clock = FixedClock(parse_iso("2025-12-03T10:00:00+08:00"))
    assert issue_reports(db, lambda _s: clock) == 6      # the latest due period of each kind
    assert issue_reports(db, lambda _s: clock) == 0
    with db.unit_of_work() as session:
        issued = {(r.kind, r.period) for r in session.query(IssuedReport)}
        assert issued == {("daily", "2025-12-02"), ("weekly", "2025-W48"), ("monthly", "2025-11"),
                          ("chokepoint", "2025-10"), ("supervision_monthly", "2025-11"),
                          ("consultation_monthly", "2025-11")}     # due on the 25th of its own month
        # the city leaders get all but the daily report, which goes to the units' leaders
        assert session.query(Message).filter(Message.kind == "report", Message.username == "city_leader").count() == 5
        assert session.query(Message).filter(Message.kind == "report", Message.username == "nt_housing.leader").count() == 3
