"""Sign-off and handling deadlines of every city, on its real working calendar.

Expected deadlines are written out as literal Beijing times so that a change of limit, working hours
or calendar shows up as a failing row.  Instants A-E are described in city_harness.py (2025 National
Day: Oct 1-8 off, Sun Sep 28 and Sat Oct 11 worked; Spring Festival 2026: Feb 15-23 off, Sat Feb 14
and Sat Feb 28 worked).
"""
from __future__ import annotations

import pytest

from tests.rules.city_harness import CITIES, REQUEST_TYPES, A, B, C, D, E, Run, iso


# =========================================================================== events
# Nantong (and Suqian, Rugao: same limits) 08:30-12:00/13:30-17:30; sign 2 working hours,
# consult 3 / help 5 / suggestion 10 / complaint, report 15 / praise 5 working days.
_NT = [
    (A, "complaint", "2025-09-30T12:00", "2025-10-28T10:00"),
    (B, "complaint", "2025-09-30T17:00", "2025-10-28T15:00"),
    (C, "complaint", "2025-09-26T16:30", "2025-10-23T14:30"),
    (D, "complaint", "2026-02-14T09:00", "2026-03-12T16:00"),
    (E, "complaint", "2025-10-09T10:30", "2025-10-28T17:30"),
    (B, "consult", "2025-09-30T17:00", "2025-10-11T15:00"),
    (B, "help", "2025-09-30T17:00", "2025-10-14T15:00"),
    (B, "suggestion", "2025-09-30T17:00", "2025-10-21T15:00"),
    (B, "report", "2025-09-30T17:00", "2025-10-28T15:00"),
    (B, "praise", "2025-09-30T17:00", "2025-10-14T15:00"),
    (D, "consult", "2026-02-14T09:00", "2026-02-25T16:00"),
    (D, "suggestion", "2026-02-14T09:00", "2026-03-05T16:00"),
]
DEADLINES = [(city, *row) for city in ("nantong", "suqian", "rugao") for row in _NT] + [
    # Suzhou 08:30-12:00/14:00-17:30 (7 h); half-day sign-off; consult, help 1 / suggestion, praise 3 /
    # complaint, report 7 working days.
    ("suzhou_ah", A, "complaint", "2025-09-30T17:30", "2025-10-16T10:00"),
    ("suzhou_ah", B, "complaint", "2025-10-09T12:00", "2025-10-16T15:00"),
    ("suzhou_ah", C, "complaint", "2025-09-28T12:00", "2025-10-13T14:30"),
    ("suzhou_ah", D, "complaint", "2026-02-14T12:00", "2026-03-02T16:00"),
    ("suzhou_ah", E, "complaint", "2025-10-09T12:00", "2025-10-16T17:30"),
    ("suzhou_ah", A, "help", "2025-09-30T17:30", "2025-10-09T10:00"),
    ("suzhou_ah", B, "consult", "2025-10-09T12:00", "2025-10-09T15:00"),
    ("suzhou_ah", B, "help", "2025-10-09T12:00", "2025-10-09T15:00"),
    ("suzhou_ah", B, "suggestion", "2025-10-09T12:00", "2025-10-11T15:00"),
    ("suzhou_ah", B, "report", "2025-10-09T12:00", "2025-10-16T15:00"),
    ("suzhou_ah", B, "praise", "2025-10-09T12:00", "2025-10-11T15:00"),
    ("suzhou_ah", D, "consult", "2026-02-14T12:00", "2026-02-14T16:00"),
    ("suzhou_ah", D, "suggestion", "2026-02-14T12:00", "2026-02-25T16:00"),
    # Changzhou 08:30-12:00/13:30-17:30; sign 1 working hour; consult 3, everything else 5.
    ("changzhou", A, "complaint", "2025-09-30T11:00", "2025-10-14T10:00"),
    ("changzhou", B, "complaint", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", C, "complaint", "2025-09-26T15:30", "2025-10-10T14:30"),
    ("changzhou", D, "complaint", "2026-02-13T17:00", "2026-02-27T16:00"),
    ("changzhou", E, "complaint", "2025-10-09T09:30", "2025-10-14T17:30"),
    ("changzhou", B, "consult", "2025-09-30T16:00", "2025-10-11T15:00"),
    ("changzhou", B, "help", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", B, "suggestion", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", B, "report", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", B, "praise", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", D, "consult", "2026-02-13T17:00", "2026-02-25T16:00"),
    ("changzhou", D, "suggestion", "2026-02-13T17:00", "2026-02-27T16:00"),
]
LIMITS = {
    "nantong": dict(consult=3, help=5, suggestion=10, complaint=15, report=15, praise=5),
    "suzhou_ah": dict(consult=1, help=1, suggestion=3, complaint=7, report=7, praise=3),
    "changzhou": dict(consult=3, help=5, suggestion=5, complaint=5, report=5, praise=5),
}
LIMITS["suqian"] = LIMITS["rugao"] = LIMITS["nantong"]
SIGN = {"nantong": (2, "hours"), "rugao": (2, "hours"), "suqian": (2, "hours"), "changzhou": (1, "hours"),
        "suzhou_ah": (3.5, "half_day")}


@pytest.mark.parametrize("city, received, request_type, sign_due, handle_due", DEADLINES)
def test_sign_and_handle_deadlines(city, received, request_type, sign_due, handle_due):
    run = Run(city, received, request_type=request_type)
    assert run.data("dispatch")["kind"] == "event"
    d = run.dispatch()
    assert d["dispatched_at"] == iso(received)
    assert (d["sign_limit_hours"], d["sign_rule"]) == SIGN[city]
    assert d["handle_limit_days"] == LIMITS[city][request_type]
    assert d["sign_due_at"] == iso(sign_due)
    assert d["handle_due_at"] == iso(handle_due)


def test_deadline_table_covers_every_city_and_type():
    assert {row[0] for row in DEADLINES} == set(CITIES)
    for city in CITIES:
        assert {row[2] for row in DEADLINES if row[0] == city} == set(REQUEST_TYPES)


# Suzhou: dispatched on a working-day morning -> 17:30 the same day; otherwise -> 12:00 the next working day.
SUZHOU_HALF_DAY = [
    ("2025-09-29T09:00", "2025-09-29T17:30"),   # Monday morning
    ("2025-09-29T07:50", "2025-09-29T17:30"),   # before office hours is still that morning
    ("2025-09-29T11:59", "2025-09-29T17:30"),
    ("2025-09-29T12:00", "2025-09-30T12:00"),   # noon counts as afternoon
    ("2025-09-29T12:30", "2025-09-30T12:00"),   # lunch break
    ("2025-09-29T14:00", "2025-09-30T12:00"),   # Monday afternoon
    ("2025-09-29T20:00", "2025-09-30T12:00"),   # evening
    ("2025-10-17T15:00", "2025-10-20T12:00"),   # ordinary Friday afternoon -> Monday noon
    ("2025-09-26T14:30", "2025-09-28T12:00"),   # Friday afternoon -> make-up Sunday Sep 28
    ("2025-09-30T10:00", "2025-09-30T17:30"),   # last morning before National Day
    ("2025-09-30T15:00", "2025-10-09T12:00"),   # last afternoon before National Day -> Thu Oct 9
    ("2025-10-01T09:00", "2025-10-09T12:00"),   # holiday morning is not a working-day morning
    ("2025-10-10T15:00", "2025-10-11T12:00"),   # Friday afternoon -> make-up Saturday Oct 11
    ("2025-10-11T10:00", "2025-10-11T17:30"),   # make-up Saturday morning
    ("2025-10-11T15:00", "2025-10-13T12:00"),   # make-up Saturday afternoon -> Monday
    ("2026-02-13T16:00", "2026-02-14T12:00"),   # Friday before Spring Festival -> make-up Saturday Feb 14
    ("2026-02-14T15:00", "2026-02-24T12:00"),   # across the Spring Festival holiday
    ("2026-02-16T10:00", "2026-02-24T12:00"),   # inside the holiday
]


@pytest.mark.parametrize("dispatched, sign_due", SUZHOU_HALF_DAY)
def test_suzhou_sign_off_by_morning_or_afternoon(dispatched, sign_due):
    run = Run("suzhou_ah", dispatched)
    d = run.dispatch()
    assert d["sign_rule"] == "half_day"
    assert d["sign_due_at"] == iso(sign_due)


def test_suzhou_sign_timer_fires_at_noon_of_the_next_working_day():
    run = Run("suzhou_ah", "2025-09-26T14:30")          # Friday afternoon
    run.dispatch("sz_housing")
    run.move_to("2025-09-28T11:59")                       # make-up Sunday, before noon
    run.fire_due_timers()
    assert not run.completed("record_sign_overdue")
    run.move_to("2025-09-28T12:00:01")
    run.fire_due_timers()
    assert run.completed("end_sign_overdue")[0].data["sign_overdue"] is True
    assert run.ready_names() == ["sign"]                  # non-interrupting: the unit still signs
    run.sign()
    assert run.data("handle")["sign_overdue"] is True


def test_changzhou_one_working_hour_sign_off_crosses_lunch():
    run = Run("changzhou", "2025-10-13T11:30")
    assert run.dispatch()["sign_due_at"] == iso("2025-10-13T14:00")
    run.move_to("2025-10-13T13:59")
    run.sign()
    assert run.data("handle")["sign_overdue"] is False


# =========================================================================== directives
@pytest.mark.parametrize("city, handle_due", [
    ("nantong", "2025-10-14T10:00"),     # 南通：指令未载明期限兜底5个工作日
    ("rugao", "2025-10-14T10:00"),
    ("suqian", "2025-10-14T10:00"),      # 参照南通
    ("suzhou_ah", "2025-10-16T10:00"),   # 宿州：按诉求类型（投诉7个工作日）
    ("changzhou", "2025-10-14T10:00"),   # 常州：按诉求类型（非咨询5个工作日）
])
def test_directive_without_a_deadline_on_the_order(city, handle_due):
    run = Run(city, A, channel="leader_assigned")
    d = run.dispatch()
    assert d["kind"] == "directive"
    assert d["handle_due_at"] == iso(handle_due)
