"""Paths through bpmn/ticket_lifecycle.bpmn + rules/nantong/*.dmn, driven directly with SpiffWorkflow 3.2.0.

Intake and scope check, ticket kinds and deadlines, returns, extensions, reply review and callback.
No project runtime is involved: ``Run`` (tests/bpmn/harness.py) uses simple stand-ins for the script
functions (calendar hours/days) and a clock that starts at ``T0``.
"""
from __future__ import annotations

import pytest

from tests.bpmn.harness import T0, Run, plus


def test_complaint_happy_path(specs):
    run = Run(specs)
    assert run.ready_names() == ["dispatch"]
    assert run.data("dispatch")["kind"] == "event"
    assert run.data("dispatch")["scope_outcome"] == "accept"

    run.complete("dispatch", unit="nt_chongchuan")
    d = run.data("sign")
    assert d["dispatched_at"] == T0
    assert d["dispatch_count"] == 1
    assert d["current_return_number"] == 1
    assert d["sign_limit_hours"] == 2
    assert d["sign_due_at"] == plus(T0, hours=2)
    assert d["handle_limit_days"] == 15
    assert d["handle_due_at"] == plus(T0, days=15)

    run.clock.advance(hours=1)
    run.complete("sign", decision="accept", reason=None, suggested_unit=None)
    assert run.data("handle")["signed_at"] == plus(T0, hours=1)
    assert run.data("handle")["sign_overdue"] is False

    run.clock.advance(days=3)
    run.reply_and_pass()
    assert run.data("callback")["replied_at"] == plus(T0, days=3, hours=1)
    run.complete("callback", satisfied=True, unit_at_fault=False, comment="满意")

    assert run.wf.is_completed()
    data = run.wf.data
    assert data["callback_outcome"] == "archive"
    assert data["outcome"] == "archived"
    assert data["closed_at"] == plus(T0, days=3, hours=1)
    assert data["handle_due_at"] == plus(T0, days=15)
    assert data["handle_overdue"] is False
    assert data["sign_overdue"] is False
    assert data["unit"] == "nt_chongchuan"
    assert len(run.completed("end_archived")) == 1


def test_litigation_is_rejected(specs):
    run = Run(specs, scope="litigation")
    assert run.wf.is_completed()
    assert run.ready() == []
    assert run.wf.data["outcome"] == "rejected"
    assert run.wf.data["scope_outcome"] == "reject"
    assert "诉讼" in run.wf.data["scope_reason"]
    assert run.completed("end_rejected")


def test_rejection_wins_over_direct_answer(specs):
    # gw_scope checks reject before the direct-answer branch (conditions are tested in the
    # order of their targets' y position, so this also guards the layout).
    run = Run(specs, scope="petition", request_type="consult", direct_answer="请咨询信访部门")
    assert run.wf.data["outcome"] == "rejected"


@pytest.mark.parametrize("scope", ["petition", "arbitration", "reconsideration", "discipline", "disclosure",
                                   "outside_jurisdiction", "secret_privacy", "invalid"])
def test_other_out_of_scope_matters_are_rejected_with_a_reason(specs, scope):
    run = Run(specs, scope=scope)
    assert run.wf.data["outcome"] == "rejected"
    assert run.wf.data["scope_reason"]


def test_emergency_is_transferred(specs):
    run = Run(specs, scope="emergency", request_type="help")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "emergency_transfer"
    assert run.wf.data["scope_outcome"] == "emergency"
    assert "110" in run.wf.data["scope_reason"]
    assert run.completed("end_emergency")


def test_direct_answer_consult_is_closed(specs):
    run = Run(specs, request_type="consult", direct_answer="公积金提取请携带身份证到服务大厅办理")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "answered"
    assert run.wf.data["closed_at"] == T0
    assert run.completed("end_direct_answer")


def test_consult_without_direct_answer_is_dispatched(specs):
    run = Run(specs, request_type="consult")
    run.complete("dispatch", unit="nt_hrss")
    assert run.data("sign")["handle_due_at"] == plus(T0, days=3)


def test_unknown_scope_falls_back_to_accept(specs):
    run = Run(specs, scope="something_new")
    assert run.ready_names() == ["dispatch"]


@pytest.mark.parametrize("request_type, days", [
    ("consult", 3), ("help", 5), ("suggestion", 10), ("complaint", 15), ("report", 15), ("praise", 5),
])
def test_event_handle_limits(specs, request_type, days):
    run = Run(specs, request_type=request_type)
    run.complete("dispatch", unit="nt_housing")
    d = run.data("sign")
    assert d["handle_limit_days"] == days
    assert d["handle_due_at"] == plus(T0, days=days)
    assert d["sign_limit_hours"] == 2


@pytest.mark.parametrize("channel", ["national_platform", "provincial_platform", "leader_assigned",
                                     "cross_unit_major", "early_warning"])
def test_directive_channels(specs, channel):
    run = Run(specs, channel=channel)
    assert run.data("dispatch")["kind"] == "directive"


@pytest.mark.parametrize("channel", ["phone_12345", "web", "app", "grid", "city_management", "river_chief",
                                     "mini_program", "mayor_mailbox", "emergency_platform", "unheard_of"])
def test_event_channels(specs, channel):
    run = Run(specs, channel=channel)
    assert run.data("dispatch")["kind"] == "event"


def test_directive_sign_limit_no_return_no_extension(specs):
    due = plus(T0, days=7)
    run = Run(specs, channel="provincial_platform", directive_due_at=due)
    run.complete("dispatch", unit="nt_ecology")
    d = run.data("sign")
    assert d["kind"] == "directive"
    assert d["sign_limit_hours"] == 1
    assert d["sign_due_at"] == plus(T0, hours=1)
    assert d["handle_due_at"] == due

    # a directive cannot be returned: the request is refused and the unit signs again
    run.complete("sign", decision="return", reason="不属本单位职责", suggested_unit="nt_housing")
    assert run.ready_names() == ["sign"]
    d = run.data("sign")
    assert d["return_allowed"] is False
    assert d["return_refused"] is True
    assert d["return_count"] == 0
    assert d["dispatch_count"] == 1

    run.complete("sign", decision="accept")
    # ... nor extended
    run.complete("handle", action="extend", extension_days=3, extension_reason="需协调多部门")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_allowed"] is False
    assert d["extension_ok"] is False
    assert d["extension_refused"] is True
    assert d["extension_count"] == 0
    assert d["handle_due_at"] == due


def test_directive_without_deadline_falls_back_to_five_days(specs):
    run = Run(specs, channel="leader_assigned")
    run.complete("dispatch", unit="nt_city_management")
    assert run.data("sign")["handle_due_at"] == plus(T0, days=5)


def test_event_returns_first_deputy_then_principal(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_housing")
    run.clock.advance(hours=3)
    run.complete("sign", decision="return", reason="属物业管理，应由街道处理", suggested_unit="nt_cc_xuetian")
    d = run.data("approve_return")
    assert d["return_allowed"] is True
    assert d["return_in_window"] is True
    assert d["return_approver"] == "deputy"
    assert d["return_window_days"] == 1

    run.complete("approve_return", approved=True, comment="同意退回")
    d = run.data("dispatch")
    assert d["return_count"] == 1
    assert d["returned_from"] == "nt_housing"
    assert d["return_reason"] == "属物业管理，应由街道处理"

    run.complete("dispatch", unit="nt_cc_xuetian")
    d = run.data("sign")
    assert d["dispatch_count"] == 2
    assert d["current_return_number"] == 2
    assert d["dispatched_at"] == plus(T0, hours=3)
    run.complete("sign", decision="return", reason="应由区住建局处理", suggested_unit="nt_chongchuan")
    assert run.data("approve_return")["return_approver"] == "principal"
    run.complete("approve_return", approved=True, comment="同意")
    assert run.ready_names() == ["dispatch"]
    assert run.data("dispatch")["return_count"] == 2
    assert run.data("dispatch")["returned_from"] == "nt_cc_xuetian"


def test_return_rejected_by_leader_goes_back_to_sign(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_housing")
    run.complete("sign", decision="return", reason="非本单位职责", suggested_unit="nt_ecology")
    run.complete("approve_return", approved=False, comment="属本单位职责，请签收")
    assert run.ready_names() == ["sign"]
    assert run.data("sign")["return_count"] == 0


def test_return_after_one_working_day_is_refused(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_housing")
    run.clock.advance(days=1, hours=1)
    run.complete("sign", decision="return", reason="非本单位职责", suggested_unit="nt_ecology")
    assert run.ready_names() == ["sign"]
    d = run.data("sign")
    assert d["return_allowed"] is True
    assert d["return_in_window"] is False
    assert d["return_refused"] is True


def test_extension_approved_moves_handle_due_at(specs):
    run = Run(specs)
    run.to_handle()
    run.clock.advance(days=5)
    run.complete("handle", action="extend", extension_days=10, extension_reason="需等待第三方检测报告")
    d = run.data("approve_extension_unit")
    assert d["extension_allowed"] is True
    assert d["extension_approver"] == "principal"
    assert d["extension_notice_days"] == 1
    assert d["extension_max_days"] == 15
    assert d["extension_in_time"] is True
    assert d["extension_ok"] is True
    run.complete("approve_extension_unit", approved=True, comment="同意延期")
    run.complete("approve_extension", approved=True, comment="中心同意")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_count"] == 1
    assert d["handle_due_at"] == plus(T0, days=25)
    # the new handle task's overdue timer uses the new deadline
    run.fire("handle_overdue_timer")
    assert run.completed("end_handle_overdue")[0].data["handle_due_at"] == plus(T0, days=25)


@pytest.mark.parametrize("unit_ok, centre_ok", [(False, None), (True, False)])
def test_extension_refused_by_an_approver(specs, unit_ok, centre_ok):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="extend", extension_days=5, extension_reason="客观原因")
    run.complete("approve_extension_unit", approved=unit_ok, comment="")
    if centre_ok is not None:
        run.complete("approve_extension", approved=centre_ok, comment="理由不充分")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_refused"] is True
    assert d["extension_count"] == 0
    assert d["handle_due_at"] == plus(T0, days=15)


def test_extension_longer_than_original_limit_is_refused(specs):
    run = Run(specs, request_type="suggestion")
    run.to_handle()
    run.complete("handle", action="extend", extension_days=11, extension_reason="")
    assert run.ready_names() == ["handle"]
    assert run.data("handle")["extension_ok"] is False
    assert run.data("handle")["extension_refused"] is True


def test_extension_requested_too_late_is_refused(specs):
    run = Run(specs, request_type="consult")  # due after 3 days
    run.to_handle()
    run.clock.advance(days=2, hours=1)  # less than 1 working day left
    run.complete("handle", action="extend", extension_days=2, extension_reason="")
    d = run.data("handle")
    assert d["extension_allowed"] is True
    assert d["extension_in_time"] is False
    assert d["extension_refused"] is True


def test_second_extension_request_upgrades_and_is_refused(specs):
    # 第二十条（二）: applying for an extension twice upgrades the event to a directive, and a directive
    # gets no extension (第二十四条): the second request is refused and the unit handles on the directive limit
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="extend", extension_days=2, extension_reason="第1次")
    run.complete("approve_extension_unit", approved=True)
    run.complete("approve_extension", approved=True)
    d = run.data("handle")
    assert (d["extension_requests"], d["extension_count"], d["kind"]) == (1, 1, "event")
    assert d["handle_due_at"] == plus(T0, days=17)
    run.complete("handle", action="extend", extension_days=2, extension_reason="第2次")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_requests"] == 2 and d["extension_count"] == 1
    assert (d["upgrade"], d["upgrade_trigger"], d["upgrade_point"]) == (True, "extension_twice", "extension")
    assert d["kind"] == "directive" and d["upgraded"] is True and d["upgraded_at"] == T0
    assert d["extension_allowed"] is False and d["extension_refused"] is True
    # the directive limit (5 working days from dispatch) is earlier than the extended deadline
    assert d["handle_limit_days"] == 5 and d["handle_due_at"] == plus(T0, days=5)
    assert run.completed("apply_upgrade_in_handling") and run.completed("handle_limit_after_upgrade")


def test_review_reply_rejected_goes_back_to_handle(specs):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="reply", reply="已处理")
    run.complete("approve_reply", approved=True, comment="")
    run.complete("review_reply", approved=False, comment="答复不具体，发回重办")
    assert run.ready_names() == ["handle"]
    run.reply_and_pass()


def test_approve_reply_rejected_goes_back_to_handle(specs):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="reply", reply="已处理")
    run.complete("approve_reply", approved=False, comment="请补充现场照片")
    assert run.ready_names() == ["handle"]


def test_callback_dissatisfied_rehandle_then_supervision(specs):
    run = Run(specs)
    run.to_handle()
    run.reply_and_pass()
    run.clock.advance(days=4)
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="问题未解决")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["callback_outcome"] == "rehandle"
    assert d["rehandle_count"] == 1
    assert d["handle_due_at"] == plus(T0, days=4 + 15)
    assert run.thrown() == []

    # 第十一条: dissatisfied again and the unit's fault -> a supervision directive; the ticket goes back to
    # the unit (handle) and the runtime opens a supervision order from the thrown message
    run.reply_and_pass()
    run.clock.advance(days=1)
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="仍未解决")
    assert not run.wf.is_completed()
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["callback_outcome"] == "supervise"
    assert d["supervised"] is True and d["supervision_trigger"] == "dissatisfied_again"
    assert d["rehandle_count"] == 2
    assert d["handle_due_at"] == plus(T0, days=5 + 15)
    assert d["outcome"] is None and "closed_at" not in d
    assert run.thrown() == [("supervision_request", {"trigger": "dissatisfied_again", "reason": None,
                                                      "unit": "nt_chongchuan", "kind": "event",
                                                      "origin": "normal"})]
    assert run.completed("request_supervision_dissatisfied")
    # a supervised item's reply is approved by the principal leader
    run.complete("handle", action="reply", reply=run.REPLY)
    assert run.data("approve_reply")["reply_approver"] == "principal"


def test_callback_dissatisfied_not_at_fault_is_archived(specs):
    run = Run(specs)
    run.to_handle()
    run.reply_and_pass()
    run.complete("callback", satisfied=False, unit_at_fault=False, comment="诉求不符合政策")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "archived"
