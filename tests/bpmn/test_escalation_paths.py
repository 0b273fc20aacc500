"""Escalation paths through bpmn/ticket_lifecycle.bpmn + rules/nantong/*.dmn: event -> directive upgrade
(at dispatch, at the second extension request, by the centre's signal during handling), co-handling by
assisting units, the reply approver, the final reply, and the supervision requests the ticket throws.

Seeds: Nantong 000 第十一条 (supervision directive), 第二十条 (upgrade), 第二十二条 (directive reply by the
principal leader), 第三十条 (lead and assisting units); Suzhou 001 附件4 (assisting units); Suqian 004 四（四）
(final reply).
"""
from __future__ import annotations

import pytest
from SpiffWorkflow.exceptions import WorkflowException

from tests.bpmn.harness import T0, Run, plus

UNIT = "nt_chongchuan"


def return_once(run, unit):
    run.complete("dispatch", unit=unit)
    run.complete("sign", decision="return", reason="非本单位职责", suggested_unit="nt_housing")
    run.complete("approve_return", approved=True, comment="同意")
    assert run.ready_names() == ["dispatch"]


def upgrade_events(run):
    return [t.data for name in ("apply_upgrade_at_dispatch", "apply_upgrade_in_handling")
            for t in run.completed(name)]


# --------------------------------------------------------------------------- upgrade at dispatch
@pytest.mark.parametrize("form, trigger", [
    ({"upgrade": True, "upgrade_reason": "涉及群体性诉求，中心确认升级"}, "centre_decision"),    # 第二十条（四）
    ({"sensitivity": "high"}, "high_sensitivity"),                                          # 第二十条（三）
])
def test_dispatch_upgrades_the_event_to_a_directive(specs, form, trigger):
    run = Run(specs)
    run.complete("dispatch", unit=UNIT, **form)
    d = run.data("sign")
    assert d["upgrade_point"] == "dispatch" and d["upgrade_requested"] is bool(form.get("upgrade"))
    assert (d["upgrade"], d["upgrade_trigger"]) == (True, trigger)
    assert d["kind"] == "directive" and d["upgraded"] is True and d["upgraded_at"] == T0
    assert d["upgrade_reason"] == form.get("upgrade_reason")
    # the directive's limits: sign within 1 working hour, the directive row of handle_limit (no due date given)
    assert d["sign_limit_hours"] == 1 and d["sign_due_at"] == plus(T0, hours=1)
    assert d["handle_limit_days"] == 5 and d["handle_due_at"] == plus(T0, days=5)
    assert d["dispatch_count"] == 1
    assert len(upgrade_events(run)) == 1
    # a directive may not be returned
    run.complete("sign", decision="return", reason="非本单位职责", suggested_unit="nt_housing")
    assert run.data("sign")["return_refused"] is True


def test_fourth_dispatch_upgrades_after_three_units(specs):
    # 第二十条（一）: dispatched to three or more units and still not handled
    run = Run(specs)
    for n, unit in enumerate(("nt_housing", "nt_ecology", "nt_chongchuan"), start=1):
        return_once(run, unit)
        assert run.data("dispatch")["return_count"] == n
        assert run.data("dispatch")["kind"] == "event"
    run.complete("dispatch", unit="nt_city_management")
    d = run.data("sign")
    assert (d["upgrade"], d["upgrade_trigger"], d["kind"]) == (True, "dispatched_three_units", "directive")
    assert d["dispatch_count"] == 4
    assert upgrade_events(run)[0]["dispatch_count"] == 3        # the decision saw the dispatches before this one


def test_redispatch_to_the_returning_unit_is_marked(specs):
    run = Run(specs)
    return_once(run, "nt_housing")
    run.complete("dispatch", unit="nt_housing")
    assert run.data("sign")["redispatched_after_return"] is True
    assert run.data("sign")["returned_from"] == "nt_housing"


def test_plain_dispatch_and_directives_are_not_upgraded(specs):
    run = Run(specs)
    run.complete("dispatch", unit=UNIT)
    d = run.data("sign")
    assert (d["upgrade"], d["upgrade_trigger"], d["kind"], d["upgraded"]) == (False, "", "event", False)
    assert d["redispatched_after_return"] is False
    assert not run.completed("apply_upgrade_at_dispatch")

    run = Run(specs, channel="provincial_platform", directive_due_at=plus(T0, days=7))
    run.complete("dispatch", unit=UNIT, upgrade=True, upgrade_reason="重复")
    d = run.data("sign")
    assert (d["upgrade"], d["kind"], d["upgraded"]) == (False, "directive", False)
    assert d["handle_due_at"] == plus(T0, days=7)


# --------------------------------------------------------------------------- upgrade by the centre
def test_centre_signal_upgrades_during_handling_with_the_order_date(specs):
    run = Run(specs)
    run.to_handle()
    first = run.task("handle")
    run.clock.advance(days=2)
    due = plus(T0, days=4)
    run.send_signal("upgrade", {"reason": "媒体关注，中心确认升级", "sensitivity": "high", "due_at": due})
    assert run.ready_names() == ["handle"]
    assert run.task("handle") is not first                      # interrupted and handled anew
    d = run.data("handle")
    assert d["upgrade_request"] == {"reason": "媒体关注，中心确认升级", "sensitivity": "high", "due_at": due}
    assert (d["upgrade_point"], d["upgrade_requested"], d["upgrade_trigger"]) == ("centre", True, "centre_decision")
    assert d["upgrade_reason"] == "媒体关注，中心确认升级" and d["sensitivity"] == "high"
    assert d["kind"] == "directive" and d["upgraded_at"] == plus(T0, days=2)
    assert d["directive_due_at"] == due and d["handle_due_at"] == due
    # the new handle task's overdue timer uses the new deadline; the old one is gone
    run.fire("handle_overdue_timer")
    assert run.completed("end_handle_overdue")[0].data["handle_due_at"] == due
    # a directive's reply is approved by the principal leader (第二十二条)
    run.complete("handle", action="reply", reply=run.REPLY)
    assert run.data("approve_reply")["reply_approver"] == "principal"


def test_centre_signal_without_a_date_keeps_the_earlier_deadline(specs):
    run = Run(specs)                                            # complaint: 15 working days
    run.to_handle()
    run.send_signal("upgrade", {"reason": "中心确认", "sensitivity": None, "due_at": None})
    d = run.data("handle")
    assert d["kind"] == "directive" and d["sensitivity"] == "normal" and d["directive_due_at"] is None
    assert d["handle_limit_days"] == 5 and d["handle_due_at"] == plus(T0, days=5)

    run = Run(specs, request_type="consult")                    # 3 working days: earlier than the directive's 5
    run.to_handle()
    run.send_signal("upgrade", {"reason": "中心确认"})
    assert run.data("handle")["handle_due_at"] == plus(T0, days=3)


def test_centre_signal_on_a_directive_changes_nothing_but_the_request(specs):
    run = Run(specs, channel="leader_assigned")
    run.to_handle()
    run.send_signal("upgrade", {"reason": "再次确认"})
    d = run.data("handle")
    assert d["upgrade"] is False and d["upgraded"] is False and d["upgrade_point"] == "centre"
    assert d["handle_due_at"] == plus(T0, days=5)
    assert not run.completed("apply_upgrade_in_handling")


def test_signal_is_only_caught_while_handling(specs):
    run = Run(specs)
    run.complete("dispatch", unit=UNIT)
    with pytest.raises(WorkflowException):
        run.send_signal("upgrade", {"reason": "x"})
    assert run.ready_names() == ["sign"]


# --------------------------------------------------------------------------- co-handling
def test_lead_unit_with_two_assisting_units(specs):
    run = Run(specs)
    run.complete("dispatch", unit=UNIT, assisting_units=["nt_housing", "nt_ecology"], responsibility="first_asked",
                 assist_days=2)
    run.clock.advance(hours=1)
    run.complete("sign", decision="accept")
    assist = run.instances("assist")
    assert [t.task_spec.name for t in assist] == ["assist [child]"] * 2
    assert sorted(t.data["assist_unit"] for t in assist) == ["nt_ecology", "nt_housing"]
    assert {t.data["assist_due_at"] for t in assist} == {plus(T0, days=2, hours=1)}
    assert run.ready_names() == ["assist [child]", "assist [child]"]      # handle waits for both

    by_unit = {t.data["assist_unit"]: t for t in assist}
    run.complete_task(by_unit["nt_ecology"], assist_result={"unit": "nt_ecology", "opinion": "已出具检测意见"})
    assert run.ready_names() == ["assist [child]"]
    run.complete_task(by_unit["nt_housing"], assist_result={"unit": "nt_housing", "opinion": "已约谈物业"})
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["assist_results"] == [{"unit": "nt_ecology", "opinion": "已出具检测意见"},
                                   {"unit": "nt_housing", "opinion": "已约谈物业"}]
    assert d["unit"] == UNIT and d["responsibility"] == "first_asked"
    assert "assist_unit" not in d and "assist_result" not in d
    run.reply_and_pass()


def test_assist_deadline_is_capped_by_the_handle_deadline(specs):
    run = Run(specs, request_type="consult")                    # handle within 3 days
    run.complete("dispatch", unit=UNIT, assisting_units=["nt_housing"], assist_days=5)
    run.complete("sign", decision="accept")
    (task,) = run.instances("assist")
    assert task.data["assist_due_at"] == task.data["handle_due_at"] == plus(T0, days=3)


def test_no_assisting_units_goes_straight_to_handle(specs):
    run = Run(specs)
    run.to_handle()
    assert not run.completed("start_assist")
    assert run.data("handle")["assist_results"] == []


# --------------------------------------------------------------------------- reply approver, final reply
def test_event_reply_is_approved_by_the_deputy(specs):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="reply", reply=run.REPLY)
    d = run.data("approve_reply")
    assert d["final_reply"] is False and d["reply_approver"] == "deputy"


def test_final_reply_is_archived_after_the_callback(specs):
    # 004 四（四）: an unreasonable demand, the principal leader approves "此为最终答复"
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="final_reply", reply="经核实诉求不符合政策规定，此为最终答复",
                 final_reason="无理诉求", evidence="政策文件")
    d = run.data("approve_reply")
    assert d["final_reply"] is True and d["reply_approver"] == "principal"
    run.complete("approve_reply", approved=True, comment="同意")
    run.complete("review_reply", approved=True, comment="认定通过")
    run.clock.advance(days=1)
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="仍不满意")
    assert run.wf.is_completed()
    data = run.wf.data
    assert data["outcome"] == "final_reply" and data["closed_at"] == plus(T0, days=1)
    assert run.completed("end_final_reply") and not run.completed("callback_policy")
    assert run.thrown() == []


# --------------------------------------------------------------------------- supervision requests
def test_overdue_throws_a_supervision_request(specs):
    run = Run(specs, origin="leader")
    run.to_handle()
    run.fire("handle_overdue_timer")
    assert run.thrown() == [("supervision_request", {"trigger": "overdue", "reason": None, "unit": UNIT,
                                                      "kind": "event", "origin": "leader"})]
    end = run.completed("end_handle_overdue")[0].data
    assert end["handle_overdue"] is True and end["supervision_trigger"] == "overdue"
    assert run.ready_names() == ["handle"]                      # non-interrupting: the unit still handles
    run.reply_and_pass()
    assert run.data("callback")["supervised"] is False
