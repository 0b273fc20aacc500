"""Drive the diagrams in bpmn/ with SpiffWorkflow 3.2.0: the one place tests start and step instances.

``LifecycleRun`` is the generic driver: it starts an instance from a parsed spec, a script engine
and the start data, and completes user tasks the way a form would (also the parallel instances of
a multi-instance task), sends signals and collects thrown messages.  tests/bpmn uses ``Run`` (the
ticket lifecycle), ``SupervisionRun`` and ``ConsultationRun``: instances on a city's DMN tables
(Nantong unless told otherwise) parsed directly with ``SpiffBpmnParser`` and with simple stand-ins
for the script functions (calendar hours/days; the real working-time calendar lives elsewhere).
tests/rules/city_harness.py builds its per-city ``Run`` on the same driver with the project's
restricted script engine and real calendars.

Times are in 2099 on purpose: SpiffWorkflow's timeDate timers compare their date with the real
wall clock, so a date in the future never fires on its own and the timer tests fire them
explicitly.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

# The diagrams' contract tables live in tests/bpmn/contract.py; re-exported here, where tests/rules looks.
from tests.bpmn.contract import (CONTRACTS, DECISIONS, MESSAGES, MULTI_INSTANCE, SCRIPT_EVENTS,  # noqa: F401
                                 SIGNALS, THROWS, USER_TASK_EXTRAS, USER_TASKS)

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
BPMN_FILE = BPMN_DIR / "ticket_lifecycle.bpmn"
RULES_ROOT = ROOT / "rules"
RULES_DIR = RULES_ROOT / "nantong"
PROCESS_ID = "ticket_lifecycle"
# process id -> its diagram file
PROCESS_FILES = {
    "ticket_lifecycle": BPMN_FILE,
    "supervision": BPMN_DIR / "supervision.bpmn",
    "consultation": BPMN_DIR / "consultation.bpmn",
}

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DMN_NS = {
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "dc": "http://www.omg.org/spec/DMN/20180521/DC/",
}

T0 = "2099-03-02T09:00:00+08:00"

FUNCTIONS = ("now", "add_working_hours", "add_working_days", "working_hours_between", "is_before",
             "half_day_deadline")


# --------------------------------------------------------------------------- start data
def start_data(**overrides):
    """What the runtime hands to a new instance (the start contract); ``overrides`` replace keys."""
    data = {
        "ticket_id": "NT-2099-000001",
        "city": "nantong",
        "channel": "phone_12345",
        "request_type": "complaint",
        "title": "小区噪声扰民",
        "received_at": T0,
        "scope": "normal",
        "directive_due_at": None,
        "direct_answer": None,
        "dispatch_count": 0,
        "return_count": 0,
        "extension_count": 0,
        "rehandle_count": 0,
        "sign_overdue": False,
        "handle_overdue": False,
        "unit": None,
        "outcome": None,
        "category": None,
        "recommended_unit": None,
        # escalation: event -> directive upgrade, co-handling, supervision, final reply
        "sensitivity": "normal",
        "origin": "normal",
        "extension_requests": 0,
        "upgraded": False,
        "upgrade_trigger": "",
        "upgrade_reason": None,
        "upgrade_requested": False,
        "upgrade_point": "",
        "assisting_units": [],
        "responsibility": "duty",
        "returned_from": None,
        "redispatched_after_return": False,
        "supervised": False,
        "supervision_trigger": None,
        "supervision_reason": None,
        "final_reply": False,
        "assist_days": 2,
        "assist_results": [],
    }
    data.update(overrides)
    return data


def supervision_start_data(**overrides):
    """What the runtime hands to a new supervision order."""
    data = {
        "parent_ticket_id": 1,
        "parent_number": "NT-2099-000001",
        "title": "小区噪声扰民",
        "unit": "nt_chongchuan",
        "kind": "event",
        "origin": "normal",
        "trigger": "overdue",
        "reason": None,
        "requested_by": "system",
        "prior_tier": -1,
        "routine_done": False,
        "tier": None,
        "refer_requested": False,
    }
    data.update(overrides)
    return data


def consultation_start_data(**overrides):
    """What the runtime hands to a new consultation."""
    data = {
        "topic": "老旧小区加装电梯协调",
        "description": "多名居民反映加装电梯涉及规划、住建、街道等多个部门，长期未解决",
        "proposer": "nt_chongchuan.handler",
        "proposer_unit": "nt_chongchuan",
        "ticket_ids": [11, 12],
        "lead_unit": "nt_housing",
        "assisting_units": ["nt_chongchuan"],
        "mode": "1+X",
        "unit": None,
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- the driver
class LifecycleRun:
    """A lifecycle instance plus the little helpers the tests need to step it like the forms do."""

    REPLY = "已现场处理并答复诉求人"     # the reply text of reply_and_pass()
    # Fields a form always writes (its defaults) when the test does not give them.  The dispatch
    # form's sensitivity starts from the ticket's, so it is not among them.
    FORM_DEFAULTS = {
        "dispatch": {"assisting_units": [], "responsibility": "duty", "upgrade": False, "upgrade_reason": None,
                     "assist_days": 2},
    }

    def __init__(self, spec, subprocess_specs, script_engine, data):
        self.wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        # The first READY task is the synthetic 'Start' task; its data is inherited by everything after it.
        first = self.wf.get_next_task(state=TaskState.READY)
        assert first.task_spec.name == "Start"
        first.data.update(data)
        self.wf.do_engine_steps()

    # -- tasks
    def ready(self):
        return [t for t in self.wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]

    def ready_names(self):
        return sorted(t.task_spec.name for t in self.ready())

    def task(self, name):
        tasks = [t for t in self.ready() if t.task_spec.name == name]
        assert tasks, f"{name} is not ready; ready: {self.ready_names()}"
        assert len(tasks) == 1, f"{name} is not ready once; ready: {self.ready_names()}"
        return tasks[0]

    def data(self, name):
        """Data of the READY user task `name` (what the form would be shown)."""
        return self.task(name).data

    def complete(self, name, **form):
        return self.complete_task(self.task(name), **form)

    def complete_task(self, task, **form):
        task.data.update(self.FORM_DEFAULTS.get(task.task_spec.name, {}))
        task.data.update(form)
        task.run()
        self.wf.do_engine_steps()
        return task

    # -- multi-instance tasks, signals, messages
    def instances(self, bpmn_id):
        """The READY instances of the multi-instance user task ``bpmn_id`` (spec name "<id> [child]")."""
        return [t for t in self.ready() if t.task_spec.bpmn_id == bpmn_id and t.task_spec.name != bpmn_id]

    def send_signal(self, name, payload):
        self.wf.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        self.wf.do_engine_steps()

    def thrown(self):
        """(name, payload) of the events thrown since the last call that the workflow did not catch."""
        return [(e.event_definition.name, e.payload) for e in self.wf.get_events()]

    def completed(self, name):
        return [t for t in self.wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name == name]

    def waiting_tasks(self, name):
        return [t for t in self.wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name == name]

    def refresh_timers(self):
        """Let every waiting timer check whether it is due, then run what became ready."""
        self.wf.refresh_timers()
        self.wf.do_engine_steps()

    # -- common stretches of the flow
    def sign(self):
        self.complete("sign", decision="accept", reason=None, suggested_unit=None)
        assert self.ready_names() == ["handle"]

    def reply_and_pass(self):
        self.complete("handle", action="reply", reply=self.REPLY, extension_days=None,
                      extension_reason=None)
        self.complete("approve_reply", approved=True, comment="同意")
        self.complete("review_reply", approved=True, comment="认定通过")
        assert self.ready_names() == ["callback"]


# --------------------------------------------------------------------------- tests/bpmn flavour
def _dt(iso):
    return datetime.fromisoformat(iso)


def _iso(dt):
    return dt.isoformat()


def plus(iso, days=0, hours=0):
    return _iso(_dt(iso) + timedelta(days=days, hours=hours))


class Clock:
    def __init__(self, iso=T0):
        self.iso = iso

    def advance(self, days=0, hours=0):
        self.iso = plus(self.iso, days=days, hours=hours)


def make_engine(clock):
    return PythonScriptEngine(environment=TaskDataEnvironment({
        "now": lambda: clock.iso,
        "add_working_hours": lambda iso, hours: plus(iso, hours=hours),
        "add_working_days": lambda iso, days: plus(iso, days=days),
        "working_hours_between": lambda a, b: (_dt(b) - _dt(a)).total_seconds() / 3600,
        "is_before": lambda a, b: _dt(a) <= _dt(b),
        "half_day_deadline": lambda iso: plus(iso, hours=8),
    }))


def parse(validator=None, process_id=PROCESS_ID, city="nantong"):
    """A process's spec and its subprocess specs, with a city's DMN tables (rules/<city>/*.dmn),
    straight from SpiffWorkflow."""
    path = PROCESS_FILES[process_id]
    parser = SpiffBpmnParser(validator=validator)
    parser.add_bpmn_str(path.read_bytes(), filename=str(path))
    for dmn in sorted((RULES_ROOT / city).glob("*.dmn")):
        parser.add_dmn_str(dmn.read_bytes(), filename=str(dmn))
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


class Run(LifecycleRun):
    """A Nantong instance on the stand-in script functions and a ``Clock`` that starts at ``T0``."""

    START = staticmethod(start_data)

    def __init__(self, specs, **overrides):
        spec, subprocess_specs = specs
        self.clock = Clock()
        super().__init__(spec, subprocess_specs, make_engine(self.clock), self.START(**overrides))

    def waiting(self, name):
        tasks = self.waiting_tasks(name)
        assert len(tasks) == 1, [t.task_spec.name for t in self.wf.get_tasks(state=TaskState.WAITING)]
        return tasks[0]

    def fire(self, timer_name):
        """Fire a WAITING timer boundary event as if its date had passed."""
        self.waiting(timer_name)._set_internal_data(event_fired=True)
        self.refresh_timers()

    def to_handle(self, unit="nt_chongchuan"):
        self.complete("dispatch", unit=unit)
        self.sign()


class SupervisionRun(Run):
    """A supervision order (bpmn/supervision.bpmn) on the stand-in script functions."""

    START = staticmethod(supervision_start_data)

    def feedback_round(self, approved=True):
        self.complete("supervision_feedback", feedback="已组织现场处置并反馈诉求人", commitment=None)
        self.complete("approve_supervision_feedback", approved=approved, comment="同意")

    def register(self, due_at=None):
        self.complete("register_order", content="超期未办结，请限期办结并反馈", opinion=None, due_at=due_at,
                      assisting_units=[])


class ConsultationRun(Run):
    """A consultation (bpmn/consultation.bpmn) on the stand-in script functions."""

    START = staticmethod(consultation_start_data)
