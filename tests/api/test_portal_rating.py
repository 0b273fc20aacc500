"""The citizen rates the reply (市民自评): on the progress page or through the signed SMS link. Satisfied
completes the callback and the ticket closes; dissatisfied leaves the callback to the staff, who see the
rating on their task form. The scheduler's SMS job sends each round's link once, in working hours."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from engine.channel_models import CitizenRating
from engine.citizen_rating import rating_token, sweep_rating_links
from engine.clock import FixedClock
from engine.outbound import LoggingChannel, SmsGatewayChannel
from engine.testclock import engine_clock
from tests.api.escalation_support import events
from tests.api.portal_support import CSRF, Citizen, SmsGateway, submitted, text_of, ticket_of, to_callback
from tests.conftest import at

pytestmark = pytest.mark.replay_all
BASE = "https://12345.example.cn"


@pytest.fixture(autouse=True)
def working_day(as_user):
    as_user("operator").set_clock("2025-11-03T09:00:00+08:00")      # a Monday morning


def at_callback(app, as_user, **fields):
    citizen, number, code = submitted(app, **fields)
    ticket_id = ticket_of(as_user, number)["id"]
    to_callback(as_user, ticket_id)
    return citizen, number, ticket_id


def ratings(db, ticket_id):
    with db.unit_of_work() as s:
        return [(r.round, r.rating, r.via, r.comment) for r in
                s.scalars(select(CitizenRating).where(CitizenRating.ticket_id == ticket_id).order_by(CitizenRating.round))]


def sweep(app, channel, clock_for=None):
    settings = app.extensions["hotline_settings"]
    return sweep_rating_links(app.extensions["hotline_db"], clock_for or (lambda s: engine_clock(s, True)), channel,
                              secret=settings.secret_key, base_url=BASE)


def test_a_satisfied_rating_completes_the_callback_and_the_ticket_closes(app, as_user, db):
    citizen, number, ticket_id = at_callback(app, as_user)
    page = citizen.client.get(f"/portal/track/{number}")
    assert "请评价本次答复" in text_of(page) and "基本满意" in text_of(page)
    response = citizen.rate(f"/portal/track/{number}", "satisfied", "处理及时，联系我13800001111，谢谢")
    assert response.status_code == 302
    after = text_of(citizen.client.get(f"/portal/track/{number}"))
    assert "感谢您的评价，您的诉求已办结" in after and "已办结" in after and "您评价：满意" in after
    assert "请评价本次答复" not in after

    ticket = ticket_of(as_user, number)
    assert ticket["status"] == "closed" and ticket["outcome"] == "archived"
    log = events(as_user("operator"), ticket_id)
    rated = [e for e in log if e["type"] == "citizen_rated"]
    assert [(e["data"]["rating"], e["data"]["round"], e["data"]["via"]) for e in rated] == [("satisfied", 0, "portal")]
    assert "comment" not in rated[0]["data"]                   # the citizen's words stay out of the log
    callback = [e for e in log if e["type"] == "task_completed" and e["task_name"] == "callback"][0]
    assert callback["actor"] == "citizen:portal" and callback["data"]["form"]["satisfied"] is True
    assert callback["data"]["form"]["comment"] == "市民自评：满意。处理及时，联系我138****1111，谢谢"
    assert ratings(db, ticket_id) == [(0, "satisfied", "portal", "处理及时，联系我13800001111，谢谢")]
    assert as_user("callback").get("/api/v1/tasks?state=ready").get_json()["items"] == []


def test_a_dissatisfied_rating_leaves_the_callback_to_the_staff_who_see_it(app, as_user, db):
    citizen, number, ticket_id = at_callback(app, as_user)
    assert citizen.rate(f"/portal/track/{number}", "dissatisfied", "噪音依旧").status_code == 302
    assert "回访人员将核实" in text_of(citizen.client.get(f"/portal/track/{number}"))
    assert ticket_of(as_user, number)["status"] == "callback"
    again = citizen.client.post(f"/portal/track/{number}/rating", data={
        "csrf_token": citizen.csrf("/portal/track"), "rating": "satisfied"})
    assert again.status_code == 409 and "您已评价过本次答复" in text_of(again)    # one rating per round

    staff = app.test_client()
    token = CSRF.search(staff.get("/login").get_data(as_text=True)).group(1)
    staff.post("/login", data={"username": "callback", "password": "demo", "csrf_token": token})
    task = as_user("callback").ready_task(ticket_id, "callback")
    form = text_of(staff.get(f"/tasks/{task['id']}"))
    assert "市民自评" in form and "第1次答复 · 不满意 · 网上" in form and "噪音依旧" in form
    assert "请核实是否属承办单位原因" in form

    # The staff verify: the unit is at fault, so it handles again; the next reply is a new round.
    as_user("callback").complete(ticket_id, "callback", {"satisfied": False, "unit_at_fault": True, "comment": "核实属实"})
    to_callback(as_user, ticket_id, "已再次现场核查并停止夜间施工。", dispatch=False)
    assert "请评价本次答复" in text_of(citizen.client.get(f"/portal/track/{number}"))
    assert citizen.rate(f"/portal/track/{number}", "basically_satisfied").status_code == 302
    assert ticket_of(as_user, number)["status"] == "closed"
    assert [r[:2] for r in ratings(db, ticket_id)] == [(0, "dissatisfied"), (1, "basically_satisfied")]


def test_a_callback_claimed_by_staff_keeps_the_rating_for_them(app, as_user, db):
    citizen, number, ticket_id = at_callback(app, as_user)
    task = as_user("callback").ready_task(ticket_id, "callback")
    assert as_user("callback").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    assert citizen.rate(f"/portal/track/{number}", "satisfied").status_code == 302
    assert ticket_of(as_user, number)["status"] == "callback"          # the claimant completes it
    assert ratings(db, ticket_id) == [(0, "satisfied", "portal", None)]
    assert "callback" not in text_of(citizen.client.get(f"/portal/track/{number}"))   # no staff names


def test_no_rating_before_the_reply(app, as_user):
    citizen, number, _ = submitted(app)
    assert "请评价本次答复" not in text_of(citizen.client.get(f"/portal/track/{number}"))
    refused = citizen.client.post(f"/portal/track/{number}/rating", data={
        "csrf_token": citizen.csrf("/portal/track"), "rating": "satisfied"})
    assert refused.status_code == 409 and "不能评价" in text_of(refused)
    stranger = Citizen(app)                    # without the proved ticket in its session: back to the form
    response = stranger.client.post(f"/portal/track/{number}/rating", data={
        "csrf_token": stranger.csrf("/portal/track"), "rating": "satisfied"})
    assert response.status_code == 302 and "/portal/track?number=" in response.headers["Location"]


def test_the_sms_link_rates_without_the_code_and_expires_after_seven_days(app, as_user, db):
    _, number, ticket_id = at_callback(app, as_user)
    with SmsGateway() as gateway:
        assert sweep(app, SmsGatewayChannel(gateway.url)) == 1
    [sms] = gateway.received
    assert sms["to"] == "13800001111" and number in sms["text"]
    link = re.search(re.escape(BASE) + r"(/portal/rate/\S+)", sms["text"]).group(1)

    phone = Citizen(app)                       # the citizen's phone: no session, no query code
    page = text_of(phone.client.get(link))
    assert "请评价本次答复" in page and number in page
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    refused = phone.client.get(tampered)
    assert refused.status_code == 404 and "评价链接无效" in text_of(refused)
    as_user("operator").set_clock("2025-11-11T09:00:01+08:00")      # 8 days later
    expired = phone.client.get(link)
    assert expired.status_code == 404 and "评价链接已过期" in text_of(expired)
    assert phone.client.post(link, data={"csrf_token": phone.csrf(), "rating": "satisfied"}).status_code == 404

    as_user("operator").set_clock("2025-11-05T10:00:00+08:00")
    assert phone.rate(link, "basically_satisfied").status_code == 302
    assert "感谢您的评价" in text_of(phone.client.get(link))
    assert ratings(db, ticket_id) == [(0, "basically_satisfied", "sms", None)]
    assert ticket_of(as_user, number)["status"] == "closed"


def test_a_link_of_an_earlier_round_rates_nothing(app, as_user, db):
    citizen, number, ticket_id = at_callback(app, as_user)
    secret = app.extensions["hotline_settings"].secret_key
    first = "/portal/rate/" + rating_token(secret, FixedClock(at("2025-11-03T09:00:00")), ticket_id, 0)
    as_user("callback").complete(ticket_id, "callback", {"satisfied": False, "unit_at_fault": True})
    to_callback(as_user, ticket_id, "已再次到现场核查，施工单位已停止夜间施工。", dispatch=False)
    page = text_of(citizen.client.get(first))
    assert "这个链接对应的答复现在不能评价" in page and "请评价本次答复" not in page
    response = citizen.client.post(first, data={"csrf_token": citizen.csrf(), "rating": "satisfied"})
    assert response.status_code == 409 and ratings(db, ticket_id) == []


def test_the_sms_job_sends_once_per_round_in_working_hours(app, as_user, db):
    _, number, ticket_id = at_callback(app, as_user)
    _, landline, landline_id = at_callback(app, as_user, phone="0513-85551234", title="座机联系的诉求")
    with SmsGateway() as gateway:
        channel = SmsGatewayChannel(gateway.url)
        night = lambda s: FixedClock(at("2025-11-03T20:30:00"))  # noqa: E731
        assert sweep(app, channel, night) == 0 and gateway.received == []   # no texts at night
        assert sweep(app, channel) == 1 and sweep(app, channel) == 0
        assert [m["to"] for m in gateway.received] == ["13800001111"]
        as_user("callback").complete(ticket_id, "callback", {"satisfied": False, "unit_at_fault": True})
        to_callback(as_user, ticket_id, "第二次答复：已安排夜间巡查，施工已停止。", dispatch=False)
        assert sweep(app, channel) == 1 and sweep(app, channel) == 0
    assert len(gateway.received) == 2
    sent = events(as_user("operator"), ticket_id, "rating_sms_sent")
    assert [e["data"]["round"] for e in sent] == [0, 1] and all("13800001111" not in str(e) for e in sent)
    skipped = events(as_user("operator"), landline_id, "rating_sms_skipped")
    assert [e["data"]["reason"] for e in skipped] == ["no_mobile"]


def test_with_the_logging_channel_the_link_is_logged(app, as_user, caplog):
    at_callback(app, as_user)
    with caplog.at_level(logging.INFO, logger="hotline.outbound"):
        assert sweep(app, LoggingChannel()) == 1
    line = next(r.getMessage() for r in caplog.records if "citizen_text" in r.getMessage())
    assert BASE + "/portal/rate/" in line and "138****1111" in line and "13800001111" not in line


def test_a_failing_gateway_marks_nothing_and_the_next_sweep_retries(app, as_user):
    _, _, ticket_id = at_callback(app, as_user)
    assert sweep(app, SmsGatewayChannel("http://127.0.0.1:9/unreachable")) == 0
    assert events(as_user("operator"), ticket_id, "rating_sms_sent") == []
    with SmsGateway() as gateway:
        assert sweep(app, SmsGatewayChannel(gateway.url)) == 1
    assert len(gateway.received) == 1
