"""Unit KPIs from known event histories (table-driven): each measure to the point, per city formula."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.calendar import WorkingCalendar
from engine.cities import load_city
from engine.clock import SHANGHAI
from engine.kpis import KpiSettings, _unit_kpis
from engine.ticket_facts import improper_returns, ticket_facts
from engine.models import Event, Ticket

CAL = WorkingCalendar(load_city("nantong").working_hours)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def ticket(id_=1, phone="13800000001", outcome="archived", received="2025-11-03T08:00") -> Ticket:
    return Ticket(id=id_, number=f"NT{id_}", city="nantong", request_type="complaint", citizen_phone=phone,
                  received_at=at(received), closed_at=None, outcome=outcome)


def ev(type_, when, task=None, **data) -> Event:
    return Event(type=type_, at=at(when), task_name=task, data=data)


def dispatch(when, unit):
    return ev("task_completed", when, "dispatch", form={"unit": unit})


def done(task, when, **form):
    return ev("task_completed", when, task, form=form)


HAPPY = [dispatch("2025-11-03T09:00", "A"), done("sign", "2025-11-03T10:00", decision="accept"),
         ev("reply_recorded", "2025-11-04T09:00", handle_overdue=False), done("callback", "2025-11-04T10:00", satisfied=True)]
LATE = [dispatch("2025-11-03T09:00", "A"), ev("timer_fired", "2025-11-03T11:00", "sign_overdue_timer"),
        done("sign", "2025-11-03T13:30", decision="accept"), done("approve_extension", "2025-11-10T09:00", approved=True),
        done("approve_extension", "2025-11-12T09:00", approved=True),
        ev("reply_recorded", "2025-11-20T09:00", handle_overdue=True),
        done("callback", "2025-11-20T10:00", satisfied=False, unit_at_fault=True),
        ev("reply_recorded", "2025-11-21T09:00", handle_overdue=True),
        done("callback", "2025-11-21T10:00", satisfied=False, unit_at_fault=True),
        ev("supervision_decided", "2025-11-21T10:00", tier=1)]
RETURNED_TO_SAME = [dispatch("2025-11-03T09:00", "A"), done("sign", "2025-11-03T09:30", decision="return"),
                    done("approve_return", "2025-11-03T10:00", approved=True), dispatch("2025-11-03T11:00", "B"),
                    done("sign", "2025-11-03T11:10", decision="return"), done("approve_return", "2025-11-03T11:20", approved=True),
                    dispatch("2025-11-03T13:30", "A"), done("sign", "2025-11-03T14:00", decision="accept"),
                    done("review_reply", "2025-11-05T09:00", approved=False),
                    ev("reply_recorded", "2025-11-06T09:00", handle_overdue=False), ev("leader_read", "2025-11-04T09:00", unit="A")]
NEVER_SIGNED = [dispatch("2025-11-03T09:00", "A"), ev("timer_fired", "2025-11-03T11:00", "sign_overdue_timer")]


def kpis_of(histories, city="nantong", unit="A", earlier=None):
    facts = [ticket_facts(ticket(i + 1, outcome=o), evs) for i, (evs, o) in enumerate(histories)]
    return _unit_kpis(unit, None, facts, KpiSettings(city), CAL, earlier or {})


@pytest.mark.parametrize("histories, expected", [
    # Monday 09:00 → Tuesday 09:00 in Nantong hours (08:30–12:00, 13:30–17:30) is 3 + 4 + 0.5 = 7.5 h
    ([(HAPPY, "archived")], dict(dispatched=1, signed=1, signed_on_time=1, sign_rate=1.0, handled=1, on_time_rate=1.0,
                                 avg_handling_hours=7.5, satisfaction_rate=1.0, resolution_rate=1.0, returns=0,
                                 efficiency_index=100.0)),
    ([(HAPPY, "archived"), (LATE, "closed")],
     dict(dispatched=2, signed=2, signed_on_time=1, sign_rate=0.5, handled=2, on_time=1, on_time_rate=0.5,
          extensions=2, satisfaction_rate=0.5, second_evaluation_dissatisfied=1, resolved=1, resolution_rate=0.5,
          reopened=1, supervision_by_tier={"1": 1}, efficiency_index=50.0)),
    ([(RETURNED_TO_SAME, "archived")],
     dict(dispatched=1, returns=1, return_rate=1.0, improper_returns=1, leader_read=1, leader_reading_rate=1.0,
          handled=1, on_time_rate=1.0, satisfaction_rate=None, resolution_rate=1.0)),
    ([(NEVER_SIGNED, None)], dict(dispatched=1, signed=0, sign_rate=None, handled=0, on_time_rate=None,
                                  efficiency_index=None)),
])
def test_nantong_measures(histories, expected):
    result = kpis_of(histories)
    assert {k: result[k] for k in expected} == expected


def test_average_handling_time_counts_working_hours_only():
    # dispatched Friday 16:30, replied Monday 09:30: 1 h on Friday + 1 h on Monday
    history = [dispatch("2025-11-07T16:30", "A"), done("sign", "2025-11-07T16:40", decision="accept"),
               ev("reply_recorded", "2025-11-10T09:30", handle_overdue=False)]
    assert kpis_of([(history, "archived")])["avg_handling_hours"] == 2.0


def test_suzhou_satisfaction_is_one_minus_second_evaluation_dissatisfied_over_handled():
    only_first_dissatisfied = [dispatch("2025-11-03T09:00", "A"), done("sign", "2025-11-03T09:10", decision="accept"),
                               ev("reply_recorded", "2025-11-04T09:00", handle_overdue=False),
                               done("callback", "2025-11-04T10:00", satisfied=False)]
    unanswered = [dispatch("2025-11-03T09:00", "A"), done("sign", "2025-11-03T09:10", decision="accept"),
                  ev("reply_recorded", "2025-11-04T09:00", handle_overdue=False)]
    histories = [(HAPPY, "archived"), (LATE, "closed"), (only_first_dissatisfied, "archived"), (unanswered, "archived")]
    # 4 handled, 1 dissatisfied at the second evaluation; no answer and a first-time "no" count as satisfied
    assert kpis_of(histories, city="suzhou_ah")["satisfaction_rate"] == 0.75
    # Nantong's formula: satisfied first callbacks over answered first callbacks = 1 / 3
    assert kpis_of(histories)["satisfaction_rate"] == round(1 / 3, 4)


def test_abnormal_cases_name_inaction_slowness_and_misconduct():
    result = kpis_of([(HAPPY, "archived"), (LATE, "closed"), (RETURNED_TO_SAME, "archived"), (NEVER_SIGNED, None)])
    found = {(c["ticket_id"], c["kind"], c["reason"]) for c in result["abnormal"]}
    assert found == {(2, "slow", "replied_late"), (2, "slow", "repeated_extensions"),
                     (3, "misconduct", "improper_return"), (3, "misconduct", "reply_sent_back"),
                     (4, "inaction", "sign_overdue")}


def test_a_unit_that_returned_a_ticket_rightly_has_no_improper_return():
    facts = ticket_facts(ticket(), RETURNED_TO_SAME)
    assert improper_returns(facts, "A") == 1 and improper_returns(facts, "B") == 0
    assert kpis_of([(RETURNED_TO_SAME, "archived")], unit="B")["handled"] == 0


def test_repeat_complaints_are_earlier_tickets_of_the_same_citizen_with_the_unit():
    earlier = {("13800000001", "A"): [at("2025-10-20T09:00")]}
    assert kpis_of([(HAPPY, "archived")], earlier=earlier)["repeat_complaints"] == 1
    assert kpis_of([(HAPPY, "archived")], earlier={("13800000001", "A"): [at("2025-09-01T09:00")]})["repeat_complaints"] == 0


def test_changzhou_counts_tickets_in_the_period_they_closed():
    assert KpiSettings("changzhou").period_rule == "closed" and KpiSettings("nantong").period_rule == "received"
    assert KpiSettings("suzhou_ah").satisfaction == "second_evaluation"


def test_late_returns_and_handling_days_against_the_limit():
    """实时退单: a return asked more than one working day (Nantong: 7.5 working hours) after the dispatch is
    late; the handling time and the prescribed limit are averaged in working days."""
    late = [dispatch("2025-11-03T09:00", "A"), done("sign", "2025-11-04T09:00", decision="return")]    # 7.5 h: in time
    later = [dispatch("2025-11-03T09:00", "A"), done("sign", "2025-11-04T09:30", decision="return")]   # 8 h: late
    handled = [dispatch("2025-11-03T09:00", "A"),
               ev("task_created", "2025-11-03T09:30", "handle", due_at="2025-11-10T09:00:00+08:00"),
               done("sign", "2025-11-03T09:30", decision="accept"),
               ev("reply_recorded", "2025-11-05T09:00", handle_overdue=False)]
    result = kpis_of([(late, None), (later, None), (handled, "archived")])
    assert result["late_returns"] == 1 and result["evidence"]["late_return"] == [2]
    assert result["avg_handling_days"] == 2.0 and result["avg_limit_days"] == 5.0
