"""Everything that touches SpiffWorkflow's parser and serializer lives here.

- Diagrams are parsed with ``SpiffBpmnParser`` (plain BpmnParser rejects businessRuleTask), XML as bytes,
  with entity expansion and network access disabled.
- Timer events are swapped for subclasses that read the *engine* clock (through the script engine)
  instead of ``datetime.now()``, so the test clock, replay and the scheduler agree on what is due.
- A stored instance never contains its spec: the spec is serialized once per deployment and
  re-inserted when an instance is loaded; the restricted script engine is attached on every load.
"""
from __future__ import annotations

import json
from copy import deepcopy
from datetime import datetime
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (DurationTimerEventDefinition,
                                                              TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.version import __version__ as SPIFF_VERSION

from .clock import parse_iso
from .decisions import attach, parse_rule_files, spiff_stub

__all__ = ["SERIALIZER_VERSION", "SPIFF_VERSION", "parse_diagrams", "serialize_spec", "WorkflowCodec",
           "engine_now"]

SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True)


def engine_now(my_task) -> datetime:
    """The engine clock as seen from a task: our script engine carries it."""
    clock = getattr(my_task.workflow.script_engine, "clock", None)
    if clock is None:
        raise RuntimeError("workflow has no engine clock attached")
    return clock.now()


class EngineTimeDateEventDefinition(TimeDateEventDefinition):
    """A timeDate timer that fires when the engine clock passes its ISO value."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if not isinstance(event_value, str):
                raise ValueError(f"timer expression {self.expression!r} must return an ISO string")
            my_task._set_internal_data(event_value=event_value)
        if parse_iso(event_value) <= engine_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class EngineDurationTimerEventDefinition(DurationTimerEventDefinition):
    """A duration timer measured from the engine clock (calendar time, not working time)."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            duration = TimerEventDefinition.parse_iso_duration(expression)
            start = engine_now(my_task)
            event_value = (start + TimerEventDefinition.get_timedelta_from_start(duration, start)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if parse_iso(event_value) <= engine_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


_ENGINE_TIMERS = {TimeDateEventDefinition: EngineTimeDateEventDefinition,
                  DurationTimerEventDefinition: EngineDurationTimerEventDefinition}


def _serializer_registry():
    config = deepcopy(SPIFF_CONFIG)
    for subclass in _ENGINE_TIMERS.values():
        config[subclass] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer.configure(config)


_SERIALIZER = BpmnWorkflowSerializer(_serializer_registry())


class ParsedDiagrams:
    def __init__(self, process_id, spec, subprocess_specs, decision_ids, decisions, dmn_texts, others=None):
        self.process_id = process_id
        self.spec = spec
        self.subprocess_specs = subprocess_specs
        # The deployment's other top-level processes (supervision, consultation): id -> (spec, subprocess specs)
        self.others = others or {}
        # decision table id -> decision id (SpiffWorkflow keeps only the table), for the audit trail
        self.decision_ids = decision_ids
        self.decisions = decisions          # our standard-DMN models, by decision id
        self.dmn_texts = dmn_texts


def _iter_task_specs(spec, subprocess_specs, others=None):
    for process_spec in [spec, *subprocess_specs.values()]:
        yield from process_spec.task_specs.values()
    for other_spec, other_subs in (others or {}).values():
        for process_spec in [other_spec, *other_subs.values()]:
            yield from process_spec.task_specs.values()


def parse_diagrams(bpmn_files: dict[str, bytes], dmn_files: dict[str, bytes], process_id: str,
                   decisions: dict | None = None) -> ParsedDiagrams:
    """Parse untrusted XML; raises lxml/SpiffWorkflow errors for the caller to report. ``decisions``
    are the already parsed DMN files, when the caller has them."""
    parser = SpiffBpmnParser()
    if decisions is None:
        decisions = parse_rule_files(dmn_files)
    decision_ids = {}
    for decision_id, decision in decisions.items():
        table_id = decision.table_id or f"{decision_id}_literal"
        decision_ids[table_id] = decision_id
        # SpiffWorkflow only needs the ids to bind business-rule tasks; our engine evaluates the cells.
        parser.add_dmn_xml(spiff_stub(decision_id, decision.name, table_id), filename=decision.file)
    for name, data in bpmn_files.items():
        parser.add_bpmn_xml(etree.fromstring(data, SAFE_XML), filename=name)
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    others = {pid: (parser.get_spec(pid), parser.get_subprocess_specs(pid))
              for pid in parser.get_process_ids() if pid != process_id and pid not in subprocess_specs}
    for task_spec in _iter_task_specs(spec, subprocess_specs, others):
        definition = getattr(task_spec, "event_definition", None)
        engine_class = _ENGINE_TIMERS.get(type(definition))
        if engine_class is not None:
            definition.__class__ = engine_class   # same state, clock-aware behaviour
    attach(_iter_task_specs(spec, subprocess_specs, others), decisions, decision_ids)
    return ParsedDiagrams(process_id, spec, subprocess_specs, decision_ids, decisions,
                          {name: data.decode("utf-8") for name, data in dmn_files.items()}, others)


def iter_task_specs(parsed: ParsedDiagrams):
    return _iter_task_specs(parsed.spec, parsed.subprocess_specs, parsed.others)


def serialize_spec(parsed: ParsedDiagrams) -> str:
    registry = _SERIALIZER.registry
    return json.dumps({
        "spec": registry.convert(parsed.spec),
        "subprocess_specs": {name: registry.convert(s) for name, s in parsed.subprocess_specs.items()},
        "processes": {pid: {"spec": registry.convert(spec),
                            "subprocess_specs": {name: registry.convert(s) for name, s in subs.items()}}
                      for pid, (spec, subs) in parsed.others.items()},
        "decision_ids": parsed.decision_ids,
        "dmn": parsed.dmn_texts,
    })


class WorkflowCodec:
    """Turns a deployment's stored spec plus an instance's stored state into a live workflow and back.

    Specs are restored once per deployment and shared by every instance (they are immutable), so
    loading an instance only rebuilds its task tree.
    """

    def __init__(self, spec_json: str):
        spec_dicts = json.loads(spec_json)
        registry = _SERIALIZER.registry
        self.spec = registry.restore(spec_dicts["spec"])
        self.subprocess_specs = {name: registry.restore(s) for name, s in spec_dicts["subprocess_specs"].items()}
        self.others = {pid: (registry.restore(p["spec"]),
                             {name: registry.restore(s) for name, s in p["subprocess_specs"].items()})
                       for pid, p in spec_dicts.get("processes", {}).items()}
        self.decision_ids = spec_dicts.get("decision_ids", {})
        self.decisions = parse_rule_files({n: t.encode("utf-8") for n, t in spec_dicts.get("dmn", {}).items()})
        attach(_iter_task_specs(self.spec, self.subprocess_specs, self.others), self.decisions, self.decision_ids)
        self._converter = registry.convert_to_dict[registry.typenames[BpmnWorkflow]].args[1].__self__

    def has_process(self, process: str | None) -> bool:
        return process is None or process == self.spec.name or process in self.others

    def _specs(self, process: str | None):
        if process is None or process == self.spec.name:
            return self.spec, self.subprocess_specs
        if process not in self.others:
            raise KeyError(process)
        return self.others[process]

    def new_workflow(self, script_engine: PythonScriptEngine, process: str | None = None) -> BpmnWorkflow:
        spec, subprocess_specs = self._specs(process)
        return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)

    def dump(self, workflow: BpmnWorkflow) -> str:
        conv = self._converter
        # The base WorkflowConverter.to_dict: task tree and attributes, without the spec.
        state = super(type(conv), conv).to_dict(workflow)
        state["subprocesses"] = conv.mapping_to_dict(workflow.subprocesses)
        state["bpmn_events"] = conv.registry.convert(workflow.bpmn_events)
        state[_SERIALIZER.VERSION_KEY] = SERIALIZER_VERSION
        return json.dumps(state, default=str, ensure_ascii=False)

    def load(self, state_json: str, script_engine: PythonScriptEngine, process: str | None = None) -> BpmnWorkflow:
        state = json.loads(state_json)
        version = state.pop(_SERIALIZER.VERSION_KEY, None)
        if version != SERIALIZER_VERSION:
            # A reader of another serializer version silently misreads instances: refuse instead.
            raise ValueError(f"instance written by serializer {version}; this reader is {SERIALIZER_VERSION}")
        conv = self._converter
        spec, subprocess_specs = self._specs(process)
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = conv.mapping_from_dict(state["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(state["root"]))
        conv.set_default_attributes(workflow, state)
        conv.subprocesses_from_dict(state["subprocesses"], workflow)
        workflow.bpmn_events = conv.registry.restore(state.get("bpmn_events", []))
        # A deserialized workflow would otherwise run with the library's unrestricted default engine.
        workflow.script_engine = script_engine
        for sub in workflow.subprocesses.values():
            sub.script_engine = script_engine
        return workflow


_CODECS: dict[str, WorkflowCodec] = {}


def codec_for(deployment) -> WorkflowCodec:
    """Parsed specs are immutable per deployment content, so each process keeps them in memory;
    the (deferred) spec column is read only on a cache miss."""
    codec = _CODECS.get(deployment.content_hash)
    if codec is None:
        codec = _CODECS[deployment.content_hash] = WorkflowCodec(deployment.spec_json)
    return codec
