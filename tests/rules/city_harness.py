"""Helpers for tests/rules: a city's effective rule set and a lifecycle instance on the real engine pieces.

The diagram (bpmn/ticket_lifecycle.bpmn) is parsed with each city's DMN tables through
``engine.spiff.parse_diagrams`` and driven directly with SpiffWorkflow, like
tests/bpmn/test_lifecycle_diagram.py, but with the project's restricted script engine, the real
working calendar of the city (``chinese_calendar`` holidays and make-up days, the city's working
hours) and a ``FixedClock`` that the tests move.  The engine's timers read that clock, so a timer
fires only once the clock has passed its date.

A rule set may extend another (``"extends"`` in city.json, e.g. Rugao extends Nantong).  The merge is
done here, independently of ``engine.cities``: the parent's DMN files overlaid by the child's files of
the same name; city.json keys merged with the child winning (lists such as units/channels are
replaced wholesale).
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.calendar import WorkingCalendar, WorkingHours
from engine.clock import FixedClock
from engine.runtime import script_functions
from engine.scripting import make_script_engine
from engine.spiff import parse_diagrams

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
BPMN_FILE = ROOT / "bpmn" / "ticket_lifecycle.bpmn"
PROCESS_ID = "ticket_lifecycle"
SHANGHAI = ZoneInfo("Asia/Shanghai")

CITIES = ("nantong", "suzhou_ah", "changzhou", "suqian", "rugao")
AUTHORED = ("suzhou_ah", "changzhou", "suqian")       # full rule sets written from their seeds
DECISIONS = ("ticket_kind", "scope_check", "sign_limit", "handle_limit", "return_policy", "extension_policy",
             "callback_policy")
REQUEST_TYPES = ("consult", "help", "suggestion", "complaint", "report", "praise")


# --------------------------------------------------------------------------- rule sets
def own_city_json(city: str) -> dict:
    return json.loads((RULES_DIR / city / "city.json").read_text(encoding="utf-8"))


def lineage(city: str) -> list[str]:
    """The city and the rule sets it extends, parent first."""
    chain, current = [], city
    while current:
        assert current not in chain, f"{city}: extends loop {chain}"
        chain.append(current)
        current = own_city_json(current).get("extends")
    return chain[::-1]


def city_settings(city: str) -> dict:
    merged: dict = {}
    for name in lineage(city):
        merged.update({k: v for k, v in own_city_json(name).items() if k != "extends"})
    return merged


def rule_files(city: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name in lineage(city):
        files.update({p.name: p.read_bytes() for p in sorted((RULES_DIR / name).glob("*.dmn"))})
    return dict(sorted(files.items()))


@lru_cache(maxsize=None)
def parsed(city: str):
    return parse_diagrams({BPMN_FILE.name: BPMN_FILE.read_bytes()}, rule_files(city), PROCESS_ID)


def calendar(city: str) -> WorkingCalendar:
    return WorkingCalendar(WorkingHours.parse(city_settings(city)["working_hours"]))


# --------------------------------------------------------------------------- time
def at(text: str) -> datetime:
    """'2025-09-30T10:00' (Beijing time) or a full ISO string -> aware datetime in Asia/Shanghai."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(SHANGHAI)


def iso(text: str) -> str:
    """The ISO string the diagram stores for that instant (engine.clock.iso format)."""
    return at(text).isoformat()


# --------------------------------------------------------------------------- instances
def start_data(city: str, received: str, **overrides) -> dict:
    """What engine.facade.start_ticket hands to a new instance."""
    data = {
        "ticket_id": 1, "city": city, "channel": "phone_12345", "request_type": "complaint",
        "title": "小区夜间施工噪音扰民", "received_at": iso(received), "scope": "normal", "directive_due_at": None,
        "direct_answer": None, "dispatch_count": 0, "return_count": 0, "extension_count": 0, "rehandle_count": 0,
        "sign_overdue": False, "handle_overdue": False, "unit": None, "outcome": None,
    }
    data.update(overrides)
    return data


def first_unit(city: str, demo: bool = True) -> str:
    units = [u for u in city_settings(city)["units"] if u["type"] != "centre" and (u.get("demo") or not demo)]
    return units[0]["code"]


class Run:
    """One lifecycle instance of a city, created at ``received`` (also the clock's start)."""

    def __init__(self, city: str, received: str, **overrides):
        self.city = city
        spec = parsed(city)
        self.clock = FixedClock(at(received))
        engine = make_script_engine(script_functions(self.clock, calendar(city)))
        engine.clock = self.clock          # what the engine's timer events read (engine.spiff.engine_now)
        self.wf = BpmnWorkflow(spec.spec, spec.subprocess_specs, script_engine=engine)
        first = self.wf.get_next_task(state=TaskState.READY)
        assert first.task_spec.name == "Start"
        first.data.update(start_data(city, received, **overrides))
        self.wf.do_engine_steps()

    # -- clock
    def move_to(self, when: str) -> None:
        assert at(when) >= self.clock.now(), "the clock only moves forward"
        self.clock.set(at(when))

    def fire_due_timers(self) -> None:
        self.wf.refresh_timers()
        self.wf.do_engine_steps()

    # -- tasks
    def ready(self):
        return [t for t in self.wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]

    def ready_names(self) -> list[str]:
        return sorted(t.task_spec.name for t in self.ready())

    def task(self, name):
        tasks = [t for t in self.ready() if t.task_spec.name == name]
        assert len(tasks) == 1, f"{name} is not ready once; ready: {self.ready_names()}"
        return tasks[0]

    def data(self, name) -> dict:
        return self.task(name).data

    def complete(self, name, **form):
        task = self.task(name)
        task.data.update(form)
        task.run()
        self.wf.do_engine_steps()
        return task

    def completed(self, name):
        return [t for t in self.wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name == name]

    def waiting(self, name):
        return [t for t in self.wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name == name]

    # -- common stretches
    def dispatch(self, unit: str | None = None):
        self.complete("dispatch", unit=unit or first_unit(self.city))
        return self.data("sign")

    def sign(self):
        self.complete("sign", decision="accept", reason=None, suggested_unit=None)
        assert self.ready_names() == ["handle"]

    def request_return(self, reason="不属于本单位职责", suggested_unit=None):
        self.complete("sign", decision="return", reason=reason,
                      suggested_unit=suggested_unit or first_unit(self.city, demo=False))

    def request_extension(self, days: int, reason="需等待第三方检测报告"):
        self.complete("handle", action="extend", extension_days=days, extension_reason=reason)

    def reply_and_pass(self):
        self.complete("handle", action="reply", reply="已联系诉求人并现场处理，诉求人表示满意", extension_days=None,
                      extension_reason=None)
        self.complete("approve_reply", approved=True, comment="同意")
        self.complete("review_reply", approved=True, comment="认定通过")
        assert self.ready_names() == ["callback"]


# --------------------------------------------------------------------------- DMN reading
DMN_NS = {
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "dc": "http://www.omg.org/spec/DMN/20180521/DC/",
}

# Cells are literals that mean the same in FEEL and in Python (see the comment in every table).
_NUMBER = r"-?\d+(?:\.\d+)?"
_STRING = r'"[^"\\]*"'
INPUT_CELL = re.compile(rf"^(?:-|{_STRING}|{_NUMBER}|True|False|(?:<|<=|>|>=) {_NUMBER})$")
OUTPUT_CELL = re.compile(rf"^(?:{_STRING}|{_NUMBER}|True|False|handle_limit_days)$")
