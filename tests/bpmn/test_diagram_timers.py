"""Timer boundary events of bpmn/ticket_lifecycle.bpmn, and an instance that survives serialization.

The timers' dates are in 2099 (see tests/bpmn/harness.py): SpiffWorkflow compares a timeDate with the
real wall clock, so these timers never fire on their own and ``Run.fire`` fires them explicitly.
"""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from tests.bpmn.harness import Run, make_engine


def test_sign_timer_records_overdue_and_keeps_sign_open(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_chongchuan")
    timer = run.waiting("sign_overdue_timer")
    assert timer.task_spec.cancel_activity is False
    run.fire("sign_overdue_timer")

    ends = run.completed("end_sign_overdue")
    assert len(ends) == 1 and ends[0].data["sign_overdue"] is True
    assert run.completed("record_sign_overdue")
    assert run.ready_names() == ["sign"]  # non-interrupting: the unit still has to sign

    # The timer branch's data does not flow into the main branch; signing late sets the flag there too.
    run.clock.advance(hours=3)
    run.complete("sign", decision="accept")
    assert run.data("handle")["sign_overdue"] is True
    run.reply_and_pass()
    run.complete("callback", satisfied=True, unit_at_fault=False)
    assert run.wf.is_completed()
    assert run.wf.data["sign_overdue"] is True


def test_handle_timer_records_overdue_and_keeps_handle_open(specs):
    run = Run(specs, request_type="consult")
    run.to_handle()
    run.waiting("handle_overdue_timer")
    run.fire("handle_overdue_timer")
    assert run.completed("end_handle_overdue")[0].data["handle_overdue"] is True
    assert run.ready_names() == ["handle"]
    run.clock.advance(days=4)
    run.reply_and_pass()
    assert run.data("callback")["handle_overdue"] is True


def test_timers_wait_until_fired(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_chongchuan")
    run.wf.refresh_timers()
    run.wf.do_engine_steps()
    assert run.waiting("sign_overdue_timer")
    assert not run.completed("record_sign_overdue")
    # signing cancels the pending timer
    run.complete("sign", decision="accept")
    assert [t for t in run.wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name == "sign_overdue_timer"] == []


def test_workflow_survives_serialization(specs):
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

    run = Run(specs)
    run.to_handle()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    dumped = serializer.serialize_json(run.wf)
    wf = serializer.deserialize_json(dumped)
    wf.script_engine = make_engine(run.clock)
    run.wf = wf
    run.reply_and_pass()
    run.complete("callback", satisfied=True, unit_at_fault=False)
    assert run.wf.is_completed() and run.wf.data["outcome"] == "archived"


def test_instances_with_parallel_tasks_survive_serialization(specs):
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    run = Run(specs)
    run.complete("dispatch", unit="nt_chongchuan", assisting_units=["nt_housing", "nt_ecology"])
    run.complete("sign", decision="accept")
    first = run.instances("assist")[0]
    run.complete_task(first, assist_result={"unit": first.data["assist_unit"], "opinion": "同意"})
    wf = serializer.deserialize_json(serializer.serialize_json(run.wf))
    wf.script_engine = make_engine(run.clock)
    run.wf = wf
    (second,) = run.instances("assist")
    run.complete_task(second, assist_result={"unit": second.data["assist_unit"], "opinion": "同意"})
    assert len(run.data("handle")["assist_results"]) == 2
    # the upgrade signal still reaches the restored instance
    run.send_signal("upgrade", {"reason": "中心确认"})
    assert run.data("handle")["kind"] == "directive"
