"""Paths through bpmn/supervision.bpmn (督办) with a city's supervision_policy, driven with SpiffWorkflow.

Routine supervision (tier 0) first; unresolved -> tier 1; an order that fails verification escalates one
tier; a failed tier-3 order, or one the verifier refers, goes to discipline inspection (001 附件3).  The
tier ladder is Suzhou's (宿州, where the three tiers come from); Nantong's table keeps an overdue item in
routine supervision and is used for the single-round paths.
"""
from __future__ import annotations

from tests.bpmn.harness import T0, SupervisionRun, plus


def decided(run):
    """(tier, owner_role, prior_tier, trigger) of every supervision_decided point (open_order), in order."""
    return [(t.data["tier"], t.data["owner_role"], t.data["prior_tier"], t.data["trigger"])
            for t in sorted(run.completed("open_order"), key=lambda t: t.last_state_change)]


def test_routine_supervision_resolved(supervision_specs):
    run = SupervisionRun(supervision_specs)
    assert run.ready_names() == ["routine_supervision"]
    d = run.data("routine_supervision")
    assert (d["tier"], d["owner_role"], d["order_limit_days"]) == (0, "supervisor", 1)
    assert d["order_due_at"] == plus(T0, days=1)
    assert d["method"] and d["owner"]
    run.complete("routine_supervision", method="phone", note="电话督促承办单位尽快办结", resolved=True)
    assert run.wf.is_completed()
    data = run.wf.data
    assert data["outcome"] == "resolved" and data["closed_at"] == T0
    assert data["method"] == "phone"
    assert run.completed("end_routine_resolved")


def test_dissatisfied_again_is_a_tier_one_order_in_nantong(supervision_specs):
    # 000 第十一条: dissatisfied again -> a supervision directive from the centre
    run = SupervisionRun(supervision_specs, trigger="dissatisfied_again")
    assert run.ready_names() == ["register_order"]
    d = run.data("register_order")
    assert (d["tier"], d["owner_role"]) == (1, "supervisor")
    run.register()
    assert run.ready_names() == ["supervision_feedback"]
    assert run.data("supervision_feedback")["order_due_at"] == plus(T0, days=d["order_limit_days"])
    run.feedback_round()
    run.complete("verify_supervision", passed=True, comment="现场复核已整改", refer=False)
    assert run.wf.is_completed() and run.wf.data["outcome"] == "resolved"
    assert run.completed("end_order_resolved")


def test_routine_unresolved_then_tier_one_order(suzhou_supervision_specs):
    run = SupervisionRun(suzhou_supervision_specs)
    run.complete("routine_supervision", method="phone", note="电话督办", resolved=False)
    assert run.ready_names() == ["register_order"]
    d = run.data("register_order")
    assert (d["routine_done"], d["prior_tier"], d["trigger"]) == (True, 0, "supervision_failed")
    assert decided(run) == [(0, "supervisor", -1, "overdue"), (1, "supervisor", 0, "supervision_failed")]
    # the order's own due date replaces the table's limit
    due = plus(T0, days=3)
    run.register(due_at=due)
    assert run.data("supervision_feedback")["order_due_at"] == due
    assert run.data("supervision_feedback")["content"] == "超期未办结，请限期办结并反馈"


def test_failed_verifications_climb_to_tier_three_then_referral(suzhou_supervision_specs):
    run = SupervisionRun(suzhou_supervision_specs, trigger="overdue", routine_done=True, prior_tier=0)
    for tier, role in ((1, "supervisor"), (2, "inspector"), (3, "city_leader")):
        d = run.data("register_order")
        assert (d["tier"], d["owner_role"]) == (tier, role), tier
        run.register()
        if tier == 2:
            # the principal leader sends the feedback back once; 二级督办: the deputy commits publicly
            assert run.data("supervision_feedback")["public_commitment"] == "deputy"
            run.feedback_round(approved=False)
            assert run.ready_names() == ["supervision_feedback"]
        run.feedback_round()
        run.complete("verify_supervision", passed=False, comment=f"{tier}级督办复核仍未整改", refer=False)
    assert run.wf.is_completed()
    data = run.wf.data
    assert (data["outcome"], data["refer_discipline"], data["tier"]) == ("referred", True, 3)
    assert data["trigger"] == "supervision_failed" and data["prior_tier"] == 3
    assert decided(run)[1:] == [(2, "inspector", 1, "supervision_failed"), (3, "city_leader", 2, "supervision_failed")]
    assert run.completed("end_referred")


def test_verifier_refers_a_tier_one_order(supervision_specs):
    run = SupervisionRun(supervision_specs, trigger="dissatisfied_again")
    run.register()
    run.feedback_round()
    run.complete("verify_supervision", passed=False, comment="涉嫌虚假办理", refer=True)
    assert run.wf.is_completed()
    data = run.wf.data
    assert (data["outcome"], data["refer_requested"], data["tier"]) == ("referred", True, 1)
    assert data["comment"] == "涉嫌虚假办理"


def test_feedback_timer_records_overdue_and_keeps_feedback_open(supervision_specs):
    run = SupervisionRun(supervision_specs, trigger="dissatisfied_again")
    run.register()
    timer = run.waiting("feedback_overdue_timer")
    assert timer.task_spec.cancel_activity is False
    run.fire("feedback_overdue_timer")
    assert run.completed("end_feedback_overdue")[0].data["feedback_overdue"] is True
    assert run.ready_names() == ["supervision_feedback"]
