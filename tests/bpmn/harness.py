"""Drive bpmn/ticket_lifecycle.bpmn with SpiffWorkflow 3.2.0: the one place tests start and step instances.

``LifecycleRun`` is the generic driver: it starts an instance from a parsed spec, a script engine
and the start data, and completes user tasks the way a form would.  tests/bpmn uses ``Run``, a
``LifecycleRun`` on the Nantong DMN tables parsed directly with ``SpiffBpmnParser`` and with simple
stand-ins for the script functions (calendar hours/days; the real working-time calendar lives
elsewhere).  tests/rules/city_harness.py builds its per-city ``Run`` on the same driver with the
project's restricted script engine and real calendars.

Times are in 2099 on purpose: SpiffWorkflow's timeDate timers compare their date with the real
wall clock, so a date in the future never fires on its own and the timer tests fire them
explicitly.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
BPMN_FILE = ROOT / "bpmn" / "ticket_lifecycle.bpmn"
RULES_DIR = ROOT / "rules" / "nantong"
PROCESS_ID = "ticket_lifecycle"

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

# The public contract: user task id -> (lane, role, unit_scoped)
USER_TASKS = {
    "dispatch": ("lane_centre", "dispatcher", "false"),
    "sign": ("lane_unit_handler", "handler", "true"),
    "approve_return": ("lane_unit_leader", "leader", "true"),
    "handle": ("lane_unit_handler", "handler", "true"),
    "approve_extension_unit": ("lane_unit_leader", "leader", "true"),
    "approve_extension": ("lane_centre", "dispatcher", "false"),
    "approve_reply": ("lane_unit_leader", "leader", "true"),
    "review_reply": ("lane_centre", "dispatcher", "false"),
    "callback": ("lane_callback", "callback", "false"),
}
# business-rule task id -> the decision it calls
DECISIONS = {
    "decide_kind": "ticket_kind",
    "check_scope": "scope_check",
    "sign_limit": "sign_limit",
    "handle_limit": "handle_limit",
    "return_policy": "return_policy",
    "extension_policy": "extension_policy",
    "callback_policy": "callback_policy",
}
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
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- the driver
class LifecycleRun:
    """A lifecycle instance plus the little helpers the tests need to step it like the forms do."""

    REPLY = "已现场处理并答复诉求人"     # the reply text of reply_and_pass()

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
        task = self.task(name)
        task.data.update(form)
        task.run()
        self.wf.do_engine_steps()
        return task

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


def parse(validator=None):
    """The lifecycle spec and its subprocess specs, with the Nantong DMN tables, straight from SpiffWorkflow."""
    parser = SpiffBpmnParser(validator=validator)
    parser.add_bpmn_str(BPMN_FILE.read_bytes(), filename=str(BPMN_FILE))
    for path in sorted(RULES_DIR.glob("*.dmn")):
        parser.add_dmn_str(path.read_bytes(), filename=str(path))
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


class Run(LifecycleRun):
    """A Nantong instance on the stand-in script functions and a ``Clock`` that starts at ``T0``."""

    def __init__(self, specs, **overrides):
        spec, subprocess_specs = specs
        self.clock = Clock()
        super().__init__(spec, subprocess_specs, make_engine(self.clock), start_data(**overrides))

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
