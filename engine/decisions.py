"""Standard DMN inside SpiffWorkflow's business-rule tasks.

SpiffWorkflow evaluates DMN cells as Python, so FEEL tables from dmn-js / Camunda Modeler would
silently never match, and it reads only the first decision of a file. We parse every DMN file with
our own standard engine (``engine/dmn.py``) and give SpiffWorkflow's parser one stub per decision
(same decision and table ids, no rules), then swap each business-rule task's engine for
``StandardDecisionEngine``. The decision trace (inputs,
matched rules, outputs of every decision evaluated, required ones included) is kept on the task for
the audit trail.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Mapping

from lxml import etree

from .dmn import Decision, DmnError, evaluate, parse_dmn

def parse_rule_files(dmn_files: Mapping[str, bytes]) -> dict[str, Decision]:
    decisions: dict[str, Decision] = {}
    for name, data in dmn_files.items():
        for decision_id, decision in parse_dmn(data, name).items():
            if decision_id in decisions:
                raise DmnError(f"决策 {decision_id} 在多个文件中重复定义", f"Decision {decision_id} is defined twice",
                               decision=decision_id)
            decisions[decision_id] = decision
    return decisions


_DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def spiff_stub(decision_id: str, name: str | None, table_id: str) -> etree._Element:
    """A one-decision, no-rule DMN document for SpiffWorkflow's parser, which reads only the first
    decision of a file and evaluates cells as Python. Its ids let business-rule tasks resolve their
    calledDecisionId; our engine does the evaluation."""
    root = etree.Element(f"{{{_DMN13}}}definitions", nsmap={None: _DMN13},
                         id=f"stub_{decision_id}", name=name or decision_id, namespace="urn:hotline:stub")
    decision = etree.SubElement(root, f"{{{_DMN13}}}decision", id=decision_id, name=name or decision_id)
    table = etree.SubElement(decision, f"{{{_DMN13}}}decisionTable", id=table_id, hitPolicy="FIRST")
    etree.SubElement(table, f"{{{_DMN13}}}output", id=f"{table_id}_stub_output", name="stub", typeRef="string")
    return root


def _json_safe(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def python_evaluator(script_engine):
    """Legacy SpiffWorkflow-style (Python) cells run through our restricted environment."""
    environment = script_engine.environment
    return lambda expression, context: environment.evaluate(expression, dict(context))


class StandardDecisionEngine:
    """Stands in for SpiffWorkflow's DMNEngine: ``result(task)`` returns the variables to merge."""

    def __init__(self, decision_id: str, decisions: Mapping[str, Decision], decision_table):
        self.decision_id = decision_id
        self.decisions = decisions
        self.decision_table = decision_table      # SpiffWorkflow's (stub) table, kept for its serializer

    def result(self, task) -> dict:
        outcome = evaluate(self.decisions, self.decision_id, task.data,
                           python_eval=python_evaluator(task.workflow.script_engine))
        task._set_internal_data(decision_trace=_json_safe([asdict(t) for t in outcome.trace]))
        return _json_safe(outcome.outputs)


def attach(task_specs, decisions: Mapping[str, Decision], decision_ids: Mapping[str, str]) -> None:
    """Swap the engine of every business-rule task (after parsing and after restoring a spec)."""
    for spec in task_specs:
        engine = getattr(spec, "dmnEngine", None)
        if engine is None:
            continue
        table = engine.decision_table
        decision_id = decision_ids.get(table.id, table.id)
        if decision_id not in decisions:
            raise DmnError(f"业务规则任务 {spec.name} 引用的决策 {decision_id} 不存在",
                           f"Business rule task {spec.name} refers to unknown decision {decision_id}",
                           decision=decision_id)
        spec.dmnEngine = StandardDecisionEngine(decision_id, decisions, table)


def evaluate_for_console(decisions: Mapping[str, Decision], decision_id: str, inputs: dict, script_engine) -> dict:
    """The decision test console: outputs, matched rules and the full trace for given inputs."""
    if decision_id not in decisions:
        raise DmnError(f"决策 {decision_id} 不存在", f"Unknown decision {decision_id}", decision=decision_id)
    outcome = evaluate(decisions, decision_id, inputs, python_eval=python_evaluator(script_engine))
    return {"decision": decision_id, "outputs": _json_safe(outcome.outputs), "matched_rules": outcome.matched_rules,
            "trace": _json_safe([asdict(t) for t in outcome.trace])}
