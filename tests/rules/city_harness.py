"""Helpers for tests/rules: a city's effective rule set and a lifecycle instance on the real engine pieces.

The diagram (bpmn/ticket_lifecycle.bpmn) is parsed with each city's DMN tables through
``engine.spiff.parse_diagrams`` and driven with the shared SpiffWorkflow driver of
tests/bpmn/harness.py (``LifecycleRun``), but with the project's restricted script engine, the real
working calendar of the city (``chinese_calendar`` holidays and make-up days, the city's working
hours) and a ``FixedClock`` that the tests move.  The engine's timers read that clock, so a timer
fires only once the clock has passed its date.

A rule set may extend another (``"extends"`` in city.json, e.g. Rugao extends Nantong).  The effective
rule set is the engine's: ``engine.cities.rule_files`` (DMN tables) and ``engine.cities.city_raw`` /
``load_city`` (city.json).  test_engine_loader_agrees_with_the_merge in test_city_loader.py checks
that merge once, independently, against a hand-merged Nantong + Rugao set.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from engine.calendar import WorkingCalendar
from engine.cities import city_raw, load_city, rule_files
from engine.clock import FixedClock
from engine.runtime import script_functions
from engine.scripting import make_script_engine
from engine.spiff import parse_diagrams
from tests.bpmn.harness import BPMN_FILE, DMN_NS, PROCESS_ID, LifecycleRun
from tests.bpmn.harness import DECISIONS as DECISION_OF_TASK
from tests.bpmn.harness import start_data as lifecycle_start_data

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# nantong (reference set), suzhou_ah 宿州 (Anhui), changzhou 常州, suqian 宿迁, rugao 如皋 (extends nantong and
# overrides only what differs)
CITIES = ("nantong", "suzhou_ah", "changzhou", "suqian", "rugao")
AUTHORED = ("suzhou_ah", "changzhou", "suqian")       # full rule sets written from their seeds
# ticket_kind, scope_check, ... callback_policy (the lifecycle's business-rule tasks), then the escalation
# decisions every city ships too: upgrade_policy (事件升级指令) and supervision_policy (督办分级)
ESCALATION_DECISIONS = ("upgrade_policy", "supervision_policy")
DECISIONS = tuple(dict.fromkeys([*DECISION_OF_TASK.values(), *ESCALATION_DECISIONS]))
REQUEST_TYPES = ("consult", "help", "suggestion", "complaint", "report", "praise")
PREFIX = {"nantong": "NT", "suzhou_ah": "SZ", "changzhou": "CZ", "suqian": "SQ", "rugao": "RG"}

# Instants: A Tue 2025-09-30 10:00 and B 15:00 (last working day before National Day, Oct 1-8 off,
# Sat Oct 11 worked); C Fri 2025-09-26 14:30 (next working day: make-up Sun Sep 28); D Fri 2026-02-13
# 16:00 (Sat Feb 14 worked, Spring Festival Feb 15-23 off, Sat Feb 28 worked); E Sat 2025-10-04 10:00
# (inside the holiday: counting starts at the next working instant, Thu Oct 9 08:30).
A, B, C, D, E = "2025-09-30T10:00", "2025-09-30T15:00", "2025-09-26T14:30", "2026-02-13T16:00", "2025-10-04T10:00"


# --------------------------------------------------------------------------- rule sets
def own_city_json(city: str) -> dict:
    """The city's own city.json as shipped (not merged with the rule set it extends)."""
    return json.loads((RULES_DIR / city / "city.json").read_text(encoding="utf-8"))


def lineage(city: str) -> list[str]:
    """The city and the rule sets it extends, parent first (as the engine's loader resolves them)."""
    return [*city_raw(city)["extends"], city]


def city_settings(city: str) -> dict:
    """The effective city.json (``engine.cities.city_raw``: merged along ``extends``)."""
    return city_raw(city)


@lru_cache(maxsize=None)
def parsed(city: str):
    return parse_diagrams({BPMN_FILE.name: BPMN_FILE.read_bytes()}, rule_files(city), PROCESS_ID)


def calendar(city: str) -> WorkingCalendar:
    return WorkingCalendar(load_city(city).working_hours)


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
    data = lifecycle_start_data(ticket_id=1, city=city, title="小区夜间施工噪音扰民", received_at=iso(received))
    data.update(overrides)
    return data


def first_unit(city: str, demo: bool = True) -> str:
    units = [u for u in city_settings(city)["units"] if u["type"] != "centre" and (u.get("demo") or not demo)]
    return units[0]["code"]


class Run(LifecycleRun):
    """One lifecycle instance of a city, created at ``received`` (also the clock's start)."""

    REPLY = "已联系诉求人并现场处理，诉求人表示满意"

    def __init__(self, city: str, received: str, **overrides):
        self.city = city
        spec = parsed(city)
        self.clock = FixedClock(at(received))
        engine = make_script_engine(script_functions(self.clock, calendar(city)))
        engine.clock = self.clock          # what the engine's timer events read (engine.spiff.engine_now)
        super().__init__(spec.spec, spec.subprocess_specs, engine, start_data(city, received, **overrides))

    # -- clock
    def move_to(self, when: str) -> None:
        assert at(when) >= self.clock.now(), "the clock only moves forward"
        self.clock.set(at(when))

    def fire_due_timers(self) -> None:
        self.refresh_timers()

    # -- common stretches (sign() and reply_and_pass() come from LifecycleRun)
    def dispatch(self, unit: str | None = None):
        self.complete("dispatch", unit=unit or first_unit(self.city))
        return self.data("sign")

    def request_return(self, reason="不属于本单位职责", suggested_unit=None):
        self.complete("sign", decision="return", reason=reason,
                      suggested_unit=suggested_unit or first_unit(self.city, demo=False))

    def request_extension(self, days: int, reason="需等待第三方检测报告"):
        self.complete("handle", action="extend", extension_days=days, extension_reason=reason)


# --------------------------------------------------------------------------- DMN reading
# Cells are literals that mean the same in FEEL and in Python (see the comment in every table).
_NUMBER = r"-?\d+(?:\.\d+)?"
_STRING = r'"[^"\\]*"'
INPUT_CELL = re.compile(rf"^(?:-|{_STRING}|{_NUMBER}|True|False|(?:<|<=|>|>=) {_NUMBER})$")
OUTPUT_CELL = re.compile(rf"^(?:{_STRING}|{_NUMBER}|True|False|handle_limit_days)$")
CJK = re.compile(r"[\u4e00-\u9fff]")          # Chinese text (annotations, notes)


def dmn_tables(city: str) -> dict:
    """decision id -> parsed DMN document of the city's effective rule set."""
    return {name[:-4]: etree.fromstring(data) for name, data in rule_files(city).items()}


def cell_texts(el, path: str) -> list[str]:
    return [(e.findtext("dmn:text", namespaces=DMN_NS) or "").strip() for e in el.findall(path, DMN_NS)]


def dmn_columns(tree, kind: str) -> list[tuple]:
    """(input expression, typeRef) of every input, or (name, typeRef) of every output."""
    table = tree.find("dmn:decision/dmn:decisionTable", DMN_NS)
    if kind == "input":
        return [(i.findtext("dmn:inputExpression/dmn:text", namespaces=DMN_NS).strip(),
                 i.find("dmn:inputExpression", DMN_NS).get("typeRef")) for i in table.findall("dmn:input", DMN_NS)]
    return [(o.get("name"), o.get("typeRef")) for o in table.findall("dmn:output", DMN_NS)]


def dmn_rules(tree) -> list:
    return tree.findall("dmn:decision/dmn:decisionTable/dmn:rule", DMN_NS)
