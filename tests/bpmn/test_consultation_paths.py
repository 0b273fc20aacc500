"""Paths through bpmn/consultation.bpmn (会商（1+X）, 001 附件4), driven with SpiffWorkflow."""
from __future__ import annotations

from tests.bpmn.harness import T0, ConsultationRun, plus

ITEMS = [
    {"item": "规划审批开辟绿色通道", "unit": "nt_housing", "due_days": 5, "ticket_id": 11},
    {"item": "街道组织居民协商出资方案", "unit": "nt_chongchuan", "due_days": 10},
]


def confirm(run, approved=True):
    run.complete("confirm_topic", approved=approved, lead_unit="nt_housing", assisting_units=["nt_chongchuan"],
                 mode="1+X", comment="纳入本月会商主题")


def minutes(run, items):
    run.complete("convene", attendees="市住建局、崇川区", proceedings="逐项研究加装电梯问题",
                 agreed_items=items, division="住建局牵头，崇川区配合", no_solution_plan=None)


def test_consultation_with_two_agreed_items(consultation_specs):
    run = ConsultationRun(consultation_specs)
    assert run.ready_names() == ["confirm_topic"]
    confirm(run)
    d = run.data("convene")
    assert d["unit"] == "nt_housing" and d["minutes_due_at"] == plus(T0, days=5)
    run.clock.advance(days=2)
    minutes(run, ITEMS)
    tasks = run.instances("carry_out_action")
    assert run.ready_names() == ["carry_out_action [child]"] * 2
    actions = sorted((t.data["action"] for t in tasks), key=lambda a: a["unit"])
    assert actions == [
        {"item": "街道组织居民协商出资方案", "unit": "nt_chongchuan", "ticket_id": None, "due_at": plus(T0, days=12)},
        {"item": "规划审批开辟绿色通道", "unit": "nt_housing", "ticket_id": 11, "due_at": plus(T0, days=7)},
    ]
    for task in tasks:
        unit = task.data["action"]["unit"]
        run.complete_task(task, action_result={"unit": unit, "result": "已落实", "done": True})
    assert run.ready_names() == ["summarize_consultation"]
    d = run.data("summarize_consultation")
    assert sorted(r["unit"] for r in d["action_results"]) == ["nt_chongchuan", "nt_housing"]
    assert "action" not in d and len(d["actions"]) == 2
    run.complete("summarize_consultation", summary="两项议定事项均已落实，已汇总答复相关工单")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "concluded" and run.wf.data["closed_at"] == plus(T0, days=2)
    assert run.completed("end_concluded")


def test_minutes_without_agreed_items_go_to_the_summary(consultation_specs):
    run = ConsultationRun(consultation_specs)
    confirm(run)
    minutes(run, [])
    assert run.ready_names() == ["summarize_consultation"]
    assert run.data("summarize_consultation")["action_results"] == []


def test_rejected_topic(consultation_specs):
    run = ConsultationRun(consultation_specs)
    confirm(run, approved=False)
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "rejected" and run.wf.data["unit"] is None
    assert run.completed("end_rejected")
