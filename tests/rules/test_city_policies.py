"""Return, extension and callback policies of every city, for events and directives.

Each instance starts at a literal Beijing time and the clock is moved to the moment of the request,
so the windows are counted on the city's working calendar (see city_harness.py).
"""
from __future__ import annotations

import pytest

from tests.rules.city_harness import CITIES, A, Run, at, city_settings, iso


# =========================================================================== returns
# Changzhou: consult within 1 working day, non-consult within 2.  Dispatched Tue Sep 30 15:00:
# the 1-day window ends Thu Oct 9 15:00 and the 2-day window Fri Oct 10 15:00 (Oct 1-8 off).
CHANGZHOU_RETURNS = [
    ("consult", 1, "2025-10-09T15:00", True),
    ("consult", 1, "2025-10-09T15:01", False),
    ("consult", 1, "2025-10-10T14:00", False),
    ("complaint", 2, "2025-10-10T14:00", True),
    ("complaint", 2, "2025-10-10T15:00", True),
    ("complaint", 2, "2025-10-10T15:01", False),
    ("help", 2, "2025-10-10T14:59", True),
    ("suggestion", 2, "2025-10-10T14:59", True),
    ("report", 2, "2025-10-10T15:30", False),
    ("praise", 2, "2025-10-09T16:00", True),
]


@pytest.mark.parametrize("request_type, window_days, returned_at, in_window", CHANGZHOU_RETURNS)
def test_changzhou_return_window_by_request_type(request_type, window_days, returned_at, in_window):
    run = Run("changzhou", "2025-09-30T15:00", request_type=request_type)
    run.dispatch("cz_housing")
    run.move_to(returned_at)
    run.request_return(suggested_unit="cz_tianning")
    if in_window:
        d = run.data("approve_return")
        assert d["return_approver"] == "deputy"
    else:
        assert run.ready_names() == ["sign"]
        d = run.data("sign")
        assert d["return_refused"] is True
    assert d["return_allowed"] is True
    assert d["return_window_days"] == window_days
    assert d["return_in_window"] is in_window


# Complaint dispatched Mon 2025-10-13 09:00: a 1-working-day window ends Tue 09:00, Changzhou's
# 2-day window Wed 09:00.
RETURN_WINDOWS = [
    ("nantong", "2025-10-14T09:00", True), ("nantong", "2025-10-14T09:01", False),
    ("suzhou_ah", "2025-10-14T09:00", True), ("suzhou_ah", "2025-10-14T09:01", False),
    ("changzhou", "2025-10-15T09:00", True), ("changzhou", "2025-10-15T09:01", False),
    ("suqian", "2025-10-14T09:00", True), ("suqian", "2025-10-14T09:01", False),
    ("rugao", "2025-10-14T09:00", True), ("rugao", "2025-10-14T09:01", False),
]


@pytest.mark.parametrize("city, returned_at, in_window", RETURN_WINDOWS)
def test_complaint_return_window(city, returned_at, in_window):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.move_to(returned_at)
    run.request_return()
    assert run.ready_names() == (["approve_return"] if in_window else ["sign"])


# (city, second return allowed, approver of the first, approver of the second)
SECOND_RETURN = [
    ("nantong", True, "deputy", "principal"),
    ("rugao", True, "deputy", "principal"),
    ("suzhou_ah", True, "deputy", "deputy"),
    ("changzhou", True, "deputy", "deputy"),
    ("suqian", False, "deputy", None),
]


@pytest.mark.parametrize("same_unit", [True, False], ids=["redispatched_to_same_unit", "to_another_unit"])
@pytest.mark.parametrize("city, allowed, first_approver, second_approver", SECOND_RETURN)
def test_second_return(city, allowed, first_approver, second_approver, same_unit):
    units = [u["code"] for u in city_settings(city)["units"] if u.get("demo")]
    run = Run(city, "2025-10-13T09:00")
    run.dispatch(units[0])
    run.move_to("2025-10-13T10:00")
    run.request_return(suggested_unit=units[1])
    assert run.data("approve_return")["return_approver"] == first_approver
    run.complete("approve_return", approved=True, comment="同意退回")
    assert run.data("dispatch")["return_count"] == 1

    run.move_to("2025-10-13T11:00")
    d = run.dispatch(units[0] if same_unit else units[1])      # 二次派单
    assert d["current_return_number"] == 2 and d["dispatch_count"] == 2
    assert d["dispatched_at"] == iso("2025-10-13T11:00")
    run.move_to("2025-10-13T11:30")
    run.request_return(suggested_unit=units[2])
    if allowed:
        d = run.data("approve_return")
        assert d["return_allowed"] is True and d["return_approver"] == second_approver
    else:
        # Suqian 三（四）: an unjustified return is re-dispatched once and may not be returned again
        assert run.ready_names() == ["sign"]
        d = run.data("sign")
        assert d["return_allowed"] is False and d["return_refused"] is True
        assert d["return_count"] == 1
        run.sign()                                             # the unit has to handle it


# =========================================================================== directives
# A provincial-platform directive received Tue 2025-09-30 10:00, due 2025-10-15 17:30 by the order.
# (city, sign rule, sign due, return allowed, extension allowed, extension approver, notice days, max days)
DIRECTIVES = [
    ("nantong", "hours", "2025-09-30T11:00", False, False, "", 1, 0),
    ("rugao", "hours", "2025-09-30T11:00", False, False, "", 1, 0),
    ("suzhou_ah", "half_day", "2025-09-30T17:30", True, True, "principal", 1, 7),
    ("changzhou", "hours", "2025-09-30T11:00", True, True, "deputy", 0, 5),
    ("suqian", "hours", "2025-09-30T11:00", True, True, "deputy", 0, 5),
]


@pytest.mark.parametrize("city, sign_rule, sign_due, return_ok, extension_ok, approver, notice, max_days", DIRECTIVES)
def test_directive_handling(city, sign_rule, sign_due, return_ok, extension_ok, approver, notice, max_days):
    due = iso("2025-10-15T17:30")
    run = Run(city, A, channel="provincial_platform", directive_due_at=due)
    d = run.dispatch()
    assert d["kind"] == "directive" and d["sign_rule"] == sign_rule
    assert d["sign_due_at"] == iso(sign_due)
    assert d["handle_due_at"] == due                     # the order's own deadline wins

    run.move_to("2025-09-30T10:30")
    run.request_return()
    if return_ok:
        assert run.data("approve_return")["return_approver"] == "deputy"
        run.complete("approve_return", approved=False, comment="请先核实")   # refused by the leader: sign again
    else:
        assert run.data("sign")["return_allowed"] is False and run.data("sign")["return_refused"] is True
    assert run.ready_names() == ["sign"]
    run.sign()

    run.move_to("2025-10-09T10:00")
    run.request_extension(2)
    if extension_ok:
        d = run.data("approve_extension_unit")
        assert (d["extension_approver"], d["extension_notice_days"], d["extension_max_days"]) == (approver, notice,
                                                                                                   max_days)
        run.complete("approve_extension_unit", approved=True)
        run.complete("approve_extension", approved=True)
        assert run.data("handle")["handle_due_at"] == iso("2025-10-17T17:30")   # + 2 working days
    else:
        d = run.data("handle")
        assert d["extension_allowed"] is False and d["extension_refused"] is True
        assert d["handle_due_at"] == due


# =========================================================================== extensions
# Complaint dispatched Mon 2025-10-13 09:00.
# (city, due, request at, days, new due, approver, notice, max)
FIRST_EXTENSION = [
    ("nantong", "2025-11-03T09:00", "2025-10-20T10:00", 5, "2025-11-10T09:00", "principal", 1, 15),
    ("rugao", "2025-11-03T09:00", "2025-10-20T10:00", 5, "2025-11-10T09:00", "principal", 1, 15),
    ("suzhou_ah", "2025-10-22T09:00", "2025-10-15T10:00", 7, "2025-10-31T09:00", "principal", 1, 7),
    ("changzhou", "2025-10-20T09:00", "2025-10-20T08:45", 5, "2025-10-27T09:00", "deputy", 0, 5),
    ("suqian", "2025-11-03T09:00", "2025-11-03T08:45", 15, "2025-11-24T09:00", "deputy", 0, 15),
]


@pytest.mark.parametrize("city, due, requested, days, new_due, approver, notice, max_days", FIRST_EXTENSION)
def test_extension_is_granted(city, due, requested, days, new_due, approver, notice, max_days):
    run = Run(city, "2025-10-13T09:00")
    assert run.dispatch()["handle_due_at"] == iso(due)
    run.sign()
    run.move_to(requested)
    run.request_extension(days)
    d = run.data("approve_extension_unit")
    assert d["extension_ok"] is True and d["extension_in_time"] is True
    assert (d["extension_approver"], d["extension_notice_days"], d["extension_max_days"]) == (approver, notice,
                                                                                               max_days)
    run.complete("approve_extension_unit", approved=True, comment="同意")
    run.complete("approve_extension", approved=True, comment="中心同意")
    d = run.data("handle")
    assert d["extension_count"] == 1 and d["handle_due_at"] == iso(new_due)


# A request 15 minutes before the deadline: Changzhou and Suqian only require it before expiry;
# Nantong, Rugao and Suzhou require 1 working day's notice.
@pytest.mark.parametrize("city, due, in_time", [
    ("nantong", "2025-11-03T09:00", False), ("rugao", "2025-11-03T09:00", False),
    ("suzhou_ah", "2025-10-22T09:00", False),
    ("changzhou", "2025-10-20T09:00", True), ("suqian", "2025-11-03T09:00", True),
])
def test_extension_notice(city, due, in_time):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to(at(due).replace(hour=8, minute=45).isoformat())
    run.request_extension(2)
    if in_time:
        assert run.ready_names() == ["approve_extension_unit"]
    else:
        assert run.ready_names() == ["handle"]
        d = run.data("handle")
        assert d["extension_in_time"] is False and d["extension_refused"] is True


@pytest.mark.parametrize("city, days, ok", [
    ("suzhou_ah", 7, True), ("suzhou_ah", 8, False),      # at most the original limit (complaint 7)
    ("changzhou", 5, True), ("changzhou", 6, False),
    ("suqian", 15, True), ("suqian", 16, False),
])
def test_extension_at_most_the_original_limit(city, days, ok):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to("2025-10-14T09:00")
    run.request_extension(days)
    assert run.ready_names() == (["approve_extension_unit"] if ok else ["handle"])


# Nantong (and Rugao) allow more than one extension in their extension table, but 第二十条（二） upgrades an
# event whose unit asks a second time to a directive, and a directive gets no extension.
@pytest.mark.parametrize("city, granted", [("suzhou_ah", 1), ("changzhou", 2), ("suqian", 2), ("nantong", 1),
                                           ("rugao", 1)])
def test_number_of_extensions(city, granted):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to("2025-10-14T09:00")
    for n in range(granted):
        run.request_extension(1, reason=f"第{n + 1}次")
        run.complete("approve_extension_unit", approved=True)
        run.complete("approve_extension", approved=True)
        assert run.data("handle")["extension_count"] == n + 1
    run.request_extension(1, reason="再次申请")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_allowed"] is False and d["extension_refused"] is True
    assert d["kind"] == ("directive" if city in ("nantong", "rugao") else "event")


# =========================================================================== callback
# Complaint dispatched Mon 2025-10-13 09:00, replied Tue 10:00, first callback Wed 2025-10-15 10:00:
# the re-handling deadline is the city's complaint limit counted from the callback.
@pytest.mark.parametrize("city, rehandle_due", [
    ("nantong", "2025-11-05T10:00"), ("rugao", "2025-11-05T10:00"), ("suqian", "2025-11-05T10:00"),
    ("suzhou_ah", "2025-10-24T10:00"), ("changzhou", "2025-10-22T10:00"),
])
def test_dissatisfied_rehandle_then_supervision(city, rehandle_due):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to("2025-10-14T10:00")
    run.reply_and_pass()
    run.move_to("2025-10-15T10:00")
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="问题未解决")
    d = run.data("handle")
    assert d["callback_outcome"] == "rehandle" and d["rehandle_count"] == 1
    assert d["handle_due_at"] == iso(rehandle_due)
    run.reply_and_pass()
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="仍未解决")
    # a supervision request is thrown (the engine opens the supervision case) and the unit handles again
    assert not run.wf.is_completed() and run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["callback_outcome"] == "supervise" and d["supervised"] is True
    assert d["supervision_trigger"] == "dissatisfied_again" and d["rehandle_count"] == 2
    assert [(e.event_definition.name, e.payload["trigger"]) for e in run.wf.get_events()] == \
        [("supervision_request", "dissatisfied_again")]


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("satisfied, at_fault", [(True, False), (False, False), (None, None)],
                         ids=["satisfied", "not_the_units_fault", "no_evaluation"])
def test_callback_archives(city, satisfied, at_fault):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.reply_and_pass()
    run.complete("callback", satisfied=satisfied, unit_at_fault=at_fault, comment="")
    assert run.wf.is_completed()
    assert run.wf.data["callback_outcome"] == "archive" and run.wf.data["outcome"] == "archived"
