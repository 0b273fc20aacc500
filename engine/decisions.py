"""Standard DMN inside SpiffWorkflow's business-rule tasks.

SpiffWorkflow evaluates DMN cells as Python, so FEEL tables from dmn-js / Camunda Modeler would
silently never match. We parse every DMN file with our own standard engine (``engine/dmn.py``) and
give SpiffWorkflow's parser only a stub of each file (same decision and table ids, empty cells), then
swap each business-rule task's engine for ``StandardDecisionEngine``. The decision trace (inputs,
matched rules, outputs of every decision evaluated, required ones included) is kept on the task for
the audit trail.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Mapping

from lxml import etree

from .dmn import Decision, DmnError, evaluate, parse_dmn

_CELL_TAGS = ("inputEntry", "outputEntry", "defaultOutputEntry")


def parse_rule_files(dmn_files: Mapping[str, bytes]) -> dict[str, Decision]:
    decisions: dict[str, Decision] = {}
    for name, data in dmn_files.items():
        for decision_id, decision in parse_dmn(data, name).items():
            if decision_id in decisions:
                raise DmnError(f"决策 {decision_id} 在多个文件中重复定义", f"Decision {decision_id} is defined twice",
                               decision=decision_id)
            decisions[decision_id] = decision
    return decisions


def spiff_stub(root) -> None:
    """Blank every cell in place so SpiffWorkflow's Python-only DMN parser accepts FEEL files."""
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in _CELL_TAGS:
            for child in element:
                if isinstance(child.tag, str) and etree.QName(child).localname == "text":
                    child.text = "-" if etree.QName(element).localname == "inputEntry" else "None"


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
