"""Standard DMN executed through SpiffWorkflow's business-rule tasks (engine.decisions + engine.spiff)."""
from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.clock import FixedClock, parse_iso
from engine.scripting import make_script_engine
from engine.spiff import WorkflowCodec, parse_diagrams, serialize_spec

DMN_DIR = Path(__file__).parent / "dmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def rule_task(task_id, decision, incoming, outgoing):
    return (f'<bpmn:businessRuleTask id="{task_id}"><bpmn:extensionElements><spiffworkflow:calledDecisionId>'
            f'{decision}</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
            f'<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:businessRuleTask>')


BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="{SPIFF_NS}" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rate"/>
    {rule_task("rate", "discount_rate", "f1", "f2")}
    <bpmn:sequenceFlow id="f2" sourceRef="rate" targetRef="total"/>
    {rule_task("total", "fees_sum", "f2", "f3")}
    <bpmn:sequenceFlow id="f3" sourceRef="total" targetRef="wait"/>
    <bpmn:userTask id="wait"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="again"/>
    {rule_task("again", "discount_rate", "f4", "f5")}
    <bpmn:sequenceFlow id="f5" sourceRef="again" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.fixture(scope="module")
def codec():
    dmn = {name: (DMN_DIR / name).read_bytes() for name in ("chain.dmn", "collect.dmn")}
    return WorkflowCodec(serialize_spec(parse_diagrams({"p.bpmn": BPMN}, dmn, "p")))


def engine():
    script_engine = make_script_engine({})
    script_engine.clock = FixedClock(parse_iso("2025-11-03T09:00:00+08:00"))
    return script_engine


def start(codec, **data):
    workflow = codec.new_workflow(engine())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    return workflow


def test_feel_tables_with_required_decisions_and_collect_sum_run_in_business_rule_tasks(codec):
    workflow = start(codec, points=1500, kind="a")
    [wait] = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    assert wait.data["discount_rate"] == 0.1        # customer_level (required) -> "gold" -> 0.1
    assert wait.data["fee"] == 16                   # COLLECT SUM over rules 1, 2 and 3
    trace = next(t for t in workflow.get_tasks() if t.task_spec.name == "rate")._get_internal_data("decision_trace")
    assert [step["decision"] for step in trace] == ["customer_level", "discount_rate"]
    assert trace[0]["matched_rules"] == [1]


def test_decisions_still_run_after_the_instance_is_stored_and_reloaded(codec):
    workflow = start(codec, points=10, kind="z")
    reloaded = codec.load(codec.dump(workflow), engine())
    [wait] = [t for t in reloaded.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    wait.data["points"] = 5000
    wait.run()
    reloaded.do_engine_steps()
    assert reloaded.is_completed() and reloaded.data["discount_rate"] == 0.1


def test_a_value_no_rule_covers_is_an_error_not_a_missing_variable(codec):
    with pytest.raises(SpiffWorkflowException, match="no rule matched|没有匹配"):
        start(codec, points=None, kind="a")
