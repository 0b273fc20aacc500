"""Every city's rule set (rules/<city>/) parsed with bpmn/ticket_lifecycle.bpmn and driven directly.

The instances run on the project's restricted script engine, the city's real working calendar
(2025 National Day: Oct 1-8 off, Sun Sep 28 and Sat Oct 11 worked; Spring Festival 2026: Feb 15-23
off, Sat Feb 14 and Sat Feb 28 worked) and a fixed clock; see city_harness.py.  Expected deadlines
are written out as literal Beijing times so that a change of limit, working hours or calendar shows
up as a failing row.

Cities: nantong (reference set), suzhou_ah 宿州 (Anhui), changzhou 常州, suqian 宿迁, rugao 如皋
(extends nantong and overrides only what differs).
"""
from __future__ import annotations

import json
import re

import pytest
from lxml import etree

from engine.calendar import WorkingHours

from tests.rules.city_harness import (AUTHORED, CITIES, DECISIONS, DMN_NS, INPUT_CELL, OUTPUT_CELL,
                                     REQUEST_TYPES, RULES_DIR, Run, at, city_settings, iso, lineage,
                                     own_city_json, parsed, rule_files)

PREFIX = {"nantong": "NT", "suzhou_ah": "SZ", "changzhou": "CZ", "suqian": "SQ", "rugao": "RG"}
NAME = {"nantong": "南通市", "suzhou_ah": "宿州市", "changzhou": "常州市", "suqian": "宿迁市", "rugao": "如皋市"}


def _tables(city):
    return {name[:-4]: etree.fromstring(data) for name, data in rule_files(city).items()}


def _texts(el, path):
    return [(e.findtext("dmn:text", namespaces=DMN_NS) or "").strip() for e in el.findall(path, DMN_NS)]


def _columns(tree, kind):
    table = tree.find("dmn:decision/dmn:decisionTable", DMN_NS)
    if kind == "input":
        return [(i.findtext("dmn:inputExpression/dmn:text", namespaces=DMN_NS).strip(),
                 i.find("dmn:inputExpression", DMN_NS).get("typeRef")) for i in table.findall("dmn:input", DMN_NS)]
    return [(o.get("name"), o.get("typeRef")) for o in table.findall("dmn:output", DMN_NS)]


def _rules(tree):
    return tree.findall("dmn:decision/dmn:decisionTable/dmn:rule", DMN_NS)


# =========================================================================== rule-set structure
def test_every_city_has_a_rule_set():
    assert sorted(p.parent.name for p in RULES_DIR.glob("*/city.json")) == sorted(CITIES)


@pytest.mark.parametrize("city", CITIES)
def test_full_rule_set_parses_with_the_diagram(city):
    assert sorted(name[:-4] for name in rule_files(city)) == sorted(DECISIONS)
    spec = parsed(city)
    for task_id in ("decide_kind", "check_scope", "sign_limit", "handle_limit", "return_policy",
                    "extension_policy", "callback_policy"):
        assert spec.spec.task_specs[task_id].extensions["calledDecisionId"] in DECISIONS
    assert set(spec.decision_ids.values()) == set(DECISIONS)


@pytest.mark.parametrize("city", AUTHORED)
def test_authored_tables_follow_the_nantong_conventions(city):
    nantong = _tables("nantong")
    for decision, tree in _tables(city).items():
        where = f"{city}/{decision}.dmn"
        assert etree.QName(tree).namespace == DMN_NS["dmn"], where
        assert tree.get("id") == f"definitions_{decision}", where
        assert tree.get("namespace") == f"urn:hotline12345:rules:{city}", where
        assert tree.get("name") == nantong[decision].get("name"), where
        decisions = tree.findall("dmn:decision", DMN_NS)
        assert [d.get("id") for d in decisions] == [decision], where
        table = decisions[0].find("dmn:decisionTable", DMN_NS)
        assert table.get("id") == f"{decision}_table" and table.get("hitPolicy") == "FIRST", where
        # the outputs are the diagram's contract: same names, typeRefs and order as Nantong
        assert _columns(tree, "output") == _columns(nantong[decision], "output"), where
        # Nantong's inputs are kept (a table may add inputs, e.g. Changzhou's return window by request_type)
        base = _columns(nantong[decision], "input")
        assert _columns(tree, "input")[:len(base)] == base, where
        shape = tree.find("dmndi:DMNDI/dmndi:DMNDiagram/dmndi:DMNShape", DMN_NS)
        assert shape is not None and shape.get("dmnElementRef") == decision, where
        assert shape.find("dc:Bounds", DMN_NS) is not None, where
        assert decisions[0].findtext("dmn:description", namespaces=DMN_NS).strip(), where


CLAUSE = re.compile(r"第[一二三四五六七八九十百]+条|[一二三四五六七八九十]（[一二三四五六七八九十]+）|附件\d")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("city", AUTHORED)
def test_every_rule_is_annotated_in_chinese_citing_its_seed_clause(city):
    for decision, tree in _tables(city).items():
        rules = _rules(tree)
        assert len(rules) >= 2
        for n, rule in enumerate(rules, 1):
            assert rule.get("id") == f"{decision}_rule_{n}"
            text = (rule.findtext("dmn:description", namespaces=DMN_NS) or "").strip()
            assert CJK.search(text), f"{city}/{decision} rule {n}: no Chinese annotation"
            if n == len(rules):
                assert text.startswith("兜底"), f"{city}/{decision}: last rule should be annotated as the catch-all"
            else:
                assert CLAUSE.search(text), f"{city}/{decision} rule {n} cites no clause: {text}"


@pytest.mark.parametrize("city", CITIES)
def test_cells_are_literals_valid_in_feel_and_python_and_last_rule_is_a_catch_all(city):
    for decision, tree in _tables(city).items():
        rules = _rules(tree)
        for rule in rules:
            for cell in _texts(rule, "dmn:inputEntry"):
                assert INPUT_CELL.match(cell), f"{city}/{decision}: input cell {cell!r}"
            for cell in _texts(rule, "dmn:outputEntry"):
                assert OUTPUT_CELL.match(cell), f"{city}/{decision}: output cell {cell!r}"
        assert all(c == "-" for c in _texts(rules[-1], "dmn:inputEntry")), f"{city}/{decision}: no catch-all"
        assert _texts(rules[-1], "dmn:outputEntry"), f"{city}/{decision}: catch-all has no outputs"


# Variables present in the task data when each business-rule task runs (start data, forms, scripts
# and the outputs of the decisions before it).
_START = {"ticket_id", "city", "channel", "request_type", "title", "received_at", "scope", "directive_due_at",
          "direct_answer", "dispatch_count", "return_count", "extension_count", "rehandle_count", "sign_overdue",
          "handle_overdue", "unit", "outcome"}
_AT_DISPATCH = _START | {"kind", "scope_outcome", "scope_reason", "dispatch_note", "dispatched_at",
                         "current_return_number"}
_AT_SIGN = _AT_DISPATCH | {"sign_limit_hours", "sign_rule", "handle_limit_days", "sign_due_at", "handle_due_at",
                           "decision", "reason", "suggested_unit"}
_AT_HANDLE = _AT_SIGN | {"signed_at", "action", "reply", "extension_days", "extension_reason"}
KNOWN_INPUTS = {
    "ticket_kind": _START, "scope_check": _START | {"kind"}, "sign_limit": _AT_DISPATCH,
    "handle_limit": _AT_DISPATCH | {"sign_limit_hours", "sign_rule"}, "return_policy": _AT_SIGN,
    "extension_policy": _AT_HANDLE,
    "callback_policy": _AT_HANDLE | {"approved", "comment", "replied_at", "satisfied", "unit_at_fault"},
}


@pytest.mark.parametrize("city", CITIES)
def test_inputs_read_only_variables_present_in_the_task_data(city):
    for decision, tree in _tables(city).items():
        for expression, _type in _columns(tree, "input"):
            assert expression in KNOWN_INPUTS[decision], f"{city}/{decision} reads {expression!r}"
        for rule in _rules(tree):
            for cell in _texts(rule, "dmn:outputEntry"):
                if cell == "handle_limit_days":
                    assert decision == "extension_policy"


@pytest.mark.parametrize("city", AUTHORED)
def test_booleans_are_spelled_the_python_way(city):
    for decision, tree in _tables(city).items():
        cells = [c for rule in _rules(tree) for c in _texts(rule, "dmn:inputEntry") + _texts(rule, "dmn:outputEntry")]
        assert not {"true", "false"} & set(cells), f"{city}/{decision}"


# =========================================================================== city.json
NANTONG_KEYS = {"city", "name", "timezone", "number_prefix", "working_hours", "lights", "channels", "units"}
UNIT_TYPES = {"centre", "district", "department", "utility", "street"}


@pytest.mark.parametrize("city", CITIES)
def test_city_settings(city):
    settings = city_settings(city)
    assert NANTONG_KEYS <= set(settings)
    assert settings["city"] == city and settings["name"] == NAME[city] and settings["number_prefix"] == PREFIX[city]
    assert settings["timezone"] == "Asia/Shanghai"
    assert 0 < settings["lights"]["yellow_at"] < 1
    WorkingHours.parse(settings["working_hours"])

    codes = [c["code"] for c in settings["channels"]]
    assert len(codes) == len(set(codes)) and all(c["name"] for c in settings["channels"])
    assert {"phone_12345", "web", "provincial_platform"} <= set(codes)
    kind_table = _tables(city)["ticket_kind"]
    named = {c.strip('"') for rule in _rules(kind_table) for c in _texts(rule, "dmn:inputEntry") if c != "-"}
    if city == "rugao":
        # inherits Nantong's ticket_kind: its own new channels fall to the catch-all ("事件")
        assert named >= set(codes) - {"enterprise_line", "one_number_answer", "foreign_line", "public_opinion",
                                      "online_station"}
    else:
        assert named == set(codes), "every channel of the city is classified, and only those"


@pytest.mark.parametrize("city", CITIES)
def test_units_form_a_tree_with_three_demo_units(city):
    units = city_settings(city)["units"]
    assert len(units) >= 15
    by_code = {u["code"]: u for u in units}
    assert len(by_code) == len(units)
    roots = [u for u in units if u["parent"] is None]
    assert len(roots) == 1 and roots[0]["type"] == "centre"
    for u in units:
        assert set(u) <= {"code", "name", "type", "parent", "demo"}
        assert u["type"] in UNIT_TYPES and u["name"] and u["code"].isascii()
        assert u["code"].startswith(PREFIX[city].lower() + "_")
        seen, cur = set(), u
        while cur["parent"] is not None:
            assert cur["code"] not in seen and cur["parent"] in by_code
            seen.add(cur["code"])
            cur = by_code[cur["parent"]]
    demo = [u for u in units if u.get("demo")]
    assert len(demo) == 3 and all(u["demo"] is True for u in demo)
    assert not any(u["type"] == "centre" for u in demo)


def test_unit_codes_are_unique_across_cities():
    # demo user names are "<unit code>.handler", and user names are global
    codes = [u["code"] for city in CITIES for u in city_settings(city)["units"]]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("city", AUTHORED + ("rugao",))
def test_assumptions_are_written_down(city):
    notes = own_city_json(city)["notes"]
    assert notes and all(CJK.search(n) for n in notes)


# =========================================================================== Rugao inherits Nantong
def test_rugao_extends_nantong_and_holds_only_its_differences():
    assert lineage("rugao") == ["nantong", "rugao"]
    own = own_city_json("rugao")
    assert own["extends"] == "nantong"
    assert set(own) <= {"city", "extends", "name", "number_prefix", "working_hours", "channels", "units", "notes"}
    for path in (RULES_DIR / "rugao").iterdir():
        if path.name in ("city.json", "responsibility_matrix.json"):
            continue
        assert path.suffix == ".dmn", f"unexpected file {path.name}"
        parent = RULES_DIR / "nantong" / path.name
        assert parent.is_file(), f"{path.name} replaces no Nantong table"
        assert path.read_bytes() != parent.read_bytes(), f"{path.name} is identical to Nantong's: delete it"
    # the effective DMN set is Nantong's with Rugao's overrides on top
    overrides = {p.name for p in (RULES_DIR / "rugao").glob("*.dmn")}
    for name, data in rule_files("rugao").items():
        source = RULES_DIR / ("rugao" if name in overrides else "nantong") / name
        assert data == source.read_bytes()


def test_rugao_settings_override_nantong():
    rugao, nantong = city_settings("rugao"), city_settings("nantong")
    assert rugao["lights"] == nantong["lights"] and rugao["timezone"] == nantong["timezone"]   # inherited
    assert rugao["name"] == "如皋市" and rugao["number_prefix"] == "RG"
    units = rugao["units"]
    assert not {u["code"] for u in units} & {u["code"] for u in nantong["units"]}          # replaced wholesale
    centre = next(u for u in units if u["type"] == "centre")
    towns = [u for u in units if u["parent"] == centre["code"] and u["type"] == "street"]
    assert len(towns) == 14                                       # 14 镇级指挥中心, the second tier
    assert any("长江镇" in u["name"] for u in towns)               # the one the seed names
    assert any(u["type"] == "department" for u in units)


def test_rugao_responsibility_matrix_if_present():
    path = RULES_DIR / "rugao" / "responsibility_matrix.json"
    if not path.exists():
        pytest.skip("the Rugao seed names no concrete matter with lead/host/assisting units")
    units = {u["code"] for u in city_settings("rugao")["units"]}
    for row in json.loads(path.read_text(encoding="utf-8")):
        assert set(row) <= {"matter", "lead", "host", "assisting"} and row["matter"]
        assert row["lead"] in units and all(a in units for a in row["assisting"])


def test_engine_loader_agrees_with_the_merge():
    from engine.cities import load_city
    from engine.cities import rule_files as engine_rule_files
    assert engine_rule_files("rugao") == rule_files("rugao")
    settings = load_city("rugao")
    assert settings.name == "如皋市" and settings.number_prefix == "RG"
    assert [u["code"] for u in settings.units] == [u["code"] for u in city_settings("rugao")["units"]]
    assert [c["code"] for c in settings.channels] == [c["code"] for c in city_settings("rugao")["channels"]]


# =========================================================================== deadlines
# Instants: A Tue 2025-09-30 10:00 and B 15:00 (last working day before National Day, Oct 1-8 off,
# Sat Oct 11 worked); C Fri 2025-09-26 14:30 (next working day: make-up Sun Sep 28); D Fri 2026-02-13
# 16:00 (Sat Feb 14 worked, Spring Festival Feb 15-23 off, Sat Feb 28 worked); E Sat 2025-10-04 10:00
# (inside the holiday: counting starts at the next working instant, Thu Oct 9 08:30).
A, B, C, D, E = "2025-09-30T10:00", "2025-09-30T15:00", "2025-09-26T14:30", "2026-02-13T16:00", "2025-10-04T10:00"

# Nantong (and Suqian, Rugao: same limits) 08:30-12:00/13:30-17:30; sign 2 working hours,
# consult 3 / help 5 / suggestion 10 / complaint, report 15 / praise 5 working days.
_NT = [
    (A, "complaint", "2025-09-30T12:00", "2025-10-28T10:00"),
    (B, "complaint", "2025-09-30T17:00", "2025-10-28T15:00"),
    (C, "complaint", "2025-09-26T16:30", "2025-10-23T14:30"),
    (D, "complaint", "2026-02-14T09:00", "2026-03-12T16:00"),
    (E, "complaint", "2025-10-09T10:30", "2025-10-28T17:30"),
    (B, "consult", "2025-09-30T17:00", "2025-10-11T15:00"),
    (B, "help", "2025-09-30T17:00", "2025-10-14T15:00"),
    (B, "suggestion", "2025-09-30T17:00", "2025-10-21T15:00"),
    (B, "report", "2025-09-30T17:00", "2025-10-28T15:00"),
    (B, "praise", "2025-09-30T17:00", "2025-10-14T15:00"),
    (D, "consult", "2026-02-14T09:00", "2026-02-25T16:00"),
    (D, "suggestion", "2026-02-14T09:00", "2026-03-05T16:00"),
]
DEADLINES = [(city, *row) for city in ("nantong", "suqian", "rugao") for row in _NT] + [
    # Suzhou 08:30-12:00/14:00-17:30 (7 h); half-day sign-off; consult, help 1 / suggestion, praise 3 /
    # complaint, report 7 working days.
    ("suzhou_ah", A, "complaint", "2025-09-30T17:30", "2025-10-16T10:00"),
    ("suzhou_ah", B, "complaint", "2025-10-09T12:00", "2025-10-16T15:00"),
    ("suzhou_ah", C, "complaint", "2025-09-28T12:00", "2025-10-13T14:30"),
    ("suzhou_ah", D, "complaint", "2026-02-14T12:00", "2026-03-02T16:00"),
    ("suzhou_ah", E, "complaint", "2025-10-09T12:00", "2025-10-16T17:30"),
    ("suzhou_ah", A, "help", "2025-09-30T17:30", "2025-10-09T10:00"),
    ("suzhou_ah", B, "consult", "2025-10-09T12:00", "2025-10-09T15:00"),
    ("suzhou_ah", B, "help", "2025-10-09T12:00", "2025-10-09T15:00"),
    ("suzhou_ah", B, "suggestion", "2025-10-09T12:00", "2025-10-11T15:00"),
    ("suzhou_ah", B, "report", "2025-10-09T12:00", "2025-10-16T15:00"),
    ("suzhou_ah", B, "praise", "2025-10-09T12:00", "2025-10-11T15:00"),
    ("suzhou_ah", D, "consult", "2026-02-14T12:00", "2026-02-14T16:00"),
    ("suzhou_ah", D, "suggestion", "2026-02-14T12:00", "2026-02-25T16:00"),
    # Changzhou 08:30-12:00/13:30-17:30; sign 1 working hour; consult 3, everything else 5.
    ("changzhou", A, "complaint", "2025-09-30T11:00", "2025-10-14T10:00"),
    ("changzhou", B, "complaint", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", C, "complaint", "2025-09-26T15:30", "2025-10-10T14:30"),
    ("changzhou", D, "complaint", "2026-02-13T17:00", "2026-02-27T16:00"),
    ("changzhou", E, "complaint", "2025-10-09T09:30", "2025-10-14T17:30"),
    ("changzhou", B, "consult", "2025-09-30T16:00", "2025-10-11T15:00"),
    ("changzhou", B, "help", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", B, "suggestion", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", B, "report", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", B, "praise", "2025-09-30T16:00", "2025-10-14T15:00"),
    ("changzhou", D, "consult", "2026-02-13T17:00", "2026-02-25T16:00"),
    ("changzhou", D, "suggestion", "2026-02-13T17:00", "2026-02-27T16:00"),
]
LIMITS = {
    "nantong": dict(consult=3, help=5, suggestion=10, complaint=15, report=15, praise=5),
    "suzhou_ah": dict(consult=1, help=1, suggestion=3, complaint=7, report=7, praise=3),
    "changzhou": dict(consult=3, help=5, suggestion=5, complaint=5, report=5, praise=5),
}
LIMITS["suqian"] = LIMITS["rugao"] = LIMITS["nantong"]
SIGN = {"nantong": (2, "hours"), "rugao": (2, "hours"), "suqian": (2, "hours"), "changzhou": (1, "hours"),
        "suzhou_ah": (3.5, "half_day")}


@pytest.mark.parametrize("city, received, request_type, sign_due, handle_due", DEADLINES)
def test_sign_and_handle_deadlines(city, received, request_type, sign_due, handle_due):
    run = Run(city, received, request_type=request_type)
    assert run.data("dispatch")["kind"] == "event"
    d = run.dispatch()
    assert d["dispatched_at"] == iso(received)
    assert (d["sign_limit_hours"], d["sign_rule"]) == SIGN[city]
    assert d["handle_limit_days"] == LIMITS[city][request_type]
    assert d["sign_due_at"] == iso(sign_due)
    assert d["handle_due_at"] == iso(handle_due)


def test_deadline_table_covers_every_city_and_type():
    assert {row[0] for row in DEADLINES} == set(CITIES)
    for city in CITIES:
        assert {row[2] for row in DEADLINES if row[0] == city} == set(REQUEST_TYPES)


# Suzhou: dispatched on a working-day morning -> 17:30 the same day; otherwise -> 12:00 the next working day.
SUZHOU_HALF_DAY = [
    ("2025-09-29T09:00", "2025-09-29T17:30"),   # Monday morning
    ("2025-09-29T07:50", "2025-09-29T17:30"),   # before office hours is still that morning
    ("2025-09-29T11:59", "2025-09-29T17:30"),
    ("2025-09-29T12:00", "2025-09-30T12:00"),   # noon counts as afternoon
    ("2025-09-29T12:30", "2025-09-30T12:00"),   # lunch break
    ("2025-09-29T14:00", "2025-09-30T12:00"),   # Monday afternoon
    ("2025-09-29T20:00", "2025-09-30T12:00"),   # evening
    ("2025-10-17T15:00", "2025-10-20T12:00"),   # ordinary Friday afternoon -> Monday noon
    ("2025-09-26T14:30", "2025-09-28T12:00"),   # Friday afternoon -> make-up Sunday Sep 28
    ("2025-09-30T10:00", "2025-09-30T17:30"),   # last morning before National Day
    ("2025-09-30T15:00", "2025-10-09T12:00"),   # last afternoon before National Day -> Thu Oct 9
    ("2025-10-01T09:00", "2025-10-09T12:00"),   # holiday morning is not a working-day morning
    ("2025-10-10T15:00", "2025-10-11T12:00"),   # Friday afternoon -> make-up Saturday Oct 11
    ("2025-10-11T10:00", "2025-10-11T17:30"),   # make-up Saturday morning
    ("2025-10-11T15:00", "2025-10-13T12:00"),   # make-up Saturday afternoon -> Monday
    ("2026-02-13T16:00", "2026-02-14T12:00"),   # Friday before Spring Festival -> make-up Saturday Feb 14
    ("2026-02-14T15:00", "2026-02-24T12:00"),   # across the Spring Festival holiday
    ("2026-02-16T10:00", "2026-02-24T12:00"),   # inside the holiday
]


@pytest.mark.parametrize("dispatched, sign_due", SUZHOU_HALF_DAY)
def test_suzhou_sign_off_by_morning_or_afternoon(dispatched, sign_due):
    run = Run("suzhou_ah", dispatched)
    d = run.dispatch()
    assert d["sign_rule"] == "half_day"
    assert d["sign_due_at"] == iso(sign_due)


def test_suzhou_sign_timer_fires_at_noon_of_the_next_working_day():
    run = Run("suzhou_ah", "2025-09-26T14:30")          # Friday afternoon
    run.dispatch("sz_housing")
    run.move_to("2025-09-28T11:59")                       # make-up Sunday, before noon
    run.fire_due_timers()
    assert not run.completed("record_sign_overdue")
    run.move_to("2025-09-28T12:00:01")
    run.fire_due_timers()
    assert run.completed("end_sign_overdue")[0].data["sign_overdue"] is True
    assert run.ready_names() == ["sign"]                  # non-interrupting: the unit still signs
    run.sign()
    assert run.data("handle")["sign_overdue"] is True


def test_changzhou_one_working_hour_sign_off_crosses_lunch():
    run = Run("changzhou", "2025-10-13T11:30")
    assert run.dispatch()["sign_due_at"] == iso("2025-10-13T14:00")
    run.move_to("2025-10-13T13:59")
    run.sign()
    assert run.data("handle")["sign_overdue"] is False


# =========================================================================== returns
# Changzhou: consult within 1 working day, non-consult within 2.  Dispatched Tue Sep 30 15:00:
# the 1-day window ends Thu Oct 9 15:00 and the 2-day window Fri Oct 10 15:00 (Oct 1-8 off).
CHANGZHOU_RETURNS = [
    ("consult", 1, "2025-10-09T15:00", True),
    ("consult", 1, "2025-10-09T15:01", False),
    ("consult", 1, "2025-10-10T14:00", False),
    ("complaint", 2, "2025-10-10T14:00", True),
    ("complaint", 2, "2025-10-10T15:00", True),
    ("complaint", 2, "2025-10-10T15:01", False),
    ("help", 2, "2025-10-10T14:59", True),
    ("suggestion", 2, "2025-10-10T14:59", True),
    ("report", 2, "2025-10-10T15:30", False),
    ("praise", 2, "2025-10-09T16:00", True),
]


@pytest.mark.parametrize("request_type, window_days, returned_at, in_window", CHANGZHOU_RETURNS)
def test_changzhou_return_window_by_request_type(request_type, window_days, returned_at, in_window):
    run = Run("changzhou", "2025-09-30T15:00", request_type=request_type)
    run.dispatch("cz_housing")
    run.move_to(returned_at)
    run.request_return(suggested_unit="cz_tianning")
    if in_window:
        d = run.data("approve_return")
        assert d["return_approver"] == "deputy"
    else:
        assert run.ready_names() == ["sign"]
        d = run.data("sign")
        assert d["return_refused"] is True
    assert d["return_allowed"] is True
    assert d["return_window_days"] == window_days
    assert d["return_in_window"] is in_window


# Complaint dispatched Mon 2025-10-13 09:00: a 1-working-day window ends Tue 09:00, Changzhou's
# 2-day window Wed 09:00.
RETURN_WINDOWS = [
    ("nantong", "2025-10-14T09:00", True), ("nantong", "2025-10-14T09:01", False),
    ("suzhou_ah", "2025-10-14T09:00", True), ("suzhou_ah", "2025-10-14T09:01", False),
    ("changzhou", "2025-10-15T09:00", True), ("changzhou", "2025-10-15T09:01", False),
    ("suqian", "2025-10-14T09:00", True), ("suqian", "2025-10-14T09:01", False),
    ("rugao", "2025-10-14T09:00", True), ("rugao", "2025-10-14T09:01", False),
]


@pytest.mark.parametrize("city, returned_at, in_window", RETURN_WINDOWS)
def test_complaint_return_window(city, returned_at, in_window):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.move_to(returned_at)
    run.request_return()
    assert run.ready_names() == (["approve_return"] if in_window else ["sign"])


# (city, second return allowed, approver of the first, approver of the second)
SECOND_RETURN = [
    ("nantong", True, "deputy", "principal"),
    ("rugao", True, "deputy", "principal"),
    ("suzhou_ah", True, "deputy", "deputy"),
    ("changzhou", True, "deputy", "deputy"),
    ("suqian", False, "deputy", None),
]


@pytest.mark.parametrize("same_unit", [True, False], ids=["redispatched_to_same_unit", "to_another_unit"])
@pytest.mark.parametrize("city, allowed, first_approver, second_approver", SECOND_RETURN)
def test_second_return(city, allowed, first_approver, second_approver, same_unit):
    units = [u["code"] for u in city_settings(city)["units"] if u.get("demo")]
    run = Run(city, "2025-10-13T09:00")
    run.dispatch(units[0])
    run.move_to("2025-10-13T10:00")
    run.request_return(suggested_unit=units[1])
    assert run.data("approve_return")["return_approver"] == first_approver
    run.complete("approve_return", approved=True, comment="同意退回")
    assert run.data("dispatch")["return_count"] == 1

    run.move_to("2025-10-13T11:00")
    d = run.dispatch(units[0] if same_unit else units[1])      # 二次派单
    assert d["current_return_number"] == 2 and d["dispatch_count"] == 2
    assert d["dispatched_at"] == iso("2025-10-13T11:00")
    run.move_to("2025-10-13T11:30")
    run.request_return(suggested_unit=units[2])
    if allowed:
        d = run.data("approve_return")
        assert d["return_allowed"] is True and d["return_approver"] == second_approver
    else:
        # Suqian 三（四）: an unjustified return is re-dispatched once and may not be returned again
        assert run.ready_names() == ["sign"]
        d = run.data("sign")
        assert d["return_allowed"] is False and d["return_refused"] is True
        assert d["return_count"] == 1
        run.sign()                                             # the unit has to handle it


# =========================================================================== directives
DIRECTIVE_CHANNELS = {
    "nantong": {"national_platform", "provincial_platform", "leader_assigned", "cross_unit_major", "early_warning"},
    "rugao": {"national_platform", "provincial_platform", "leader_assigned", "cross_unit_major", "early_warning"},
    "suzhou_ah": {"provincial_platform", "leader_assigned"},
    "changzhou": {"national_platform", "provincial_platform", "leader_assigned"},
    "suqian": {"provincial_platform", "leader_assigned"},
}
CHANNEL_CASES = [(city, c["code"]) for city in CITIES for c in city_settings(city)["channels"]]


@pytest.mark.parametrize("city, channel", CHANNEL_CASES)
def test_channel_kind(city, channel):
    run = Run(city, A, channel=channel)
    assert run.data("dispatch")["kind"] == ("directive" if channel in DIRECTIVE_CHANNELS[city] else "event")


def test_unknown_channel_is_an_event_everywhere():
    for city in CITIES:
        assert Run(city, A, channel="unheard_of").data("dispatch")["kind"] == "event"


# A provincial-platform directive received Tue 2025-09-30 10:00, due 2025-10-15 17:30 by the order.
# (city, sign rule, sign due, return allowed, extension allowed, extension approver, notice days, max days)
DIRECTIVES = [
    ("nantong", "hours", "2025-09-30T11:00", False, False, "", 1, 0),
    ("rugao", "hours", "2025-09-30T11:00", False, False, "", 1, 0),
    ("suzhou_ah", "half_day", "2025-09-30T17:30", True, True, "principal", 1, 7),
    ("changzhou", "hours", "2025-09-30T11:00", True, True, "deputy", 0, 5),
    ("suqian", "hours", "2025-09-30T11:00", True, True, "deputy", 0, 5),
]


@pytest.mark.parametrize("city, sign_rule, sign_due, return_ok, extension_ok, approver, notice, max_days", DIRECTIVES)
def test_directive_handling(city, sign_rule, sign_due, return_ok, extension_ok, approver, notice, max_days):
    due = iso("2025-10-15T17:30")
    run = Run(city, A, channel="provincial_platform", directive_due_at=due)
    d = run.dispatch()
    assert d["kind"] == "directive" and d["sign_rule"] == sign_rule
    assert d["sign_due_at"] == iso(sign_due)
    assert d["handle_due_at"] == due                     # the order's own deadline wins

    run.move_to("2025-09-30T10:30")
    run.request_return()
    if return_ok:
        assert run.data("approve_return")["return_approver"] == "deputy"
        run.complete("approve_return", approved=False, comment="请先核实")   # refused by the leader: sign again
    else:
        assert run.data("sign")["return_allowed"] is False and run.data("sign")["return_refused"] is True
    assert run.ready_names() == ["sign"]
    run.sign()

    run.move_to("2025-10-09T10:00")
    run.request_extension(2)
    if extension_ok:
        d = run.data("approve_extension_unit")
        assert (d["extension_approver"], d["extension_notice_days"], d["extension_max_days"]) == (approver, notice,
                                                                                                   max_days)
        run.complete("approve_extension_unit", approved=True)
        run.complete("approve_extension", approved=True)
        assert run.data("handle")["handle_due_at"] == iso("2025-10-17T17:30")   # + 2 working days
    else:
        d = run.data("handle")
        assert d["extension_allowed"] is False and d["extension_refused"] is True
        assert d["handle_due_at"] == due


@pytest.mark.parametrize("city, handle_due", [
    ("nantong", "2025-10-14T10:00"),     # 南通：指令未载明期限兜底5个工作日
    ("rugao", "2025-10-14T10:00"),
    ("suqian", "2025-10-14T10:00"),      # 参照南通
    ("suzhou_ah", "2025-10-16T10:00"),   # 宿州：按诉求类型（投诉7个工作日）
    ("changzhou", "2025-10-14T10:00"),   # 常州：按诉求类型（非咨询5个工作日）
])
def test_directive_without_a_deadline_on_the_order(city, handle_due):
    run = Run(city, A, channel="leader_assigned")
    d = run.dispatch()
    assert d["kind"] == "directive"
    assert d["handle_due_at"] == iso(handle_due)


# =========================================================================== extensions
# Complaint dispatched Mon 2025-10-13 09:00.
# (city, due, request at, days, new due, approver, notice, max)
FIRST_EXTENSION = [
    ("nantong", "2025-11-03T09:00", "2025-10-20T10:00", 5, "2025-11-10T09:00", "principal", 1, 15),
    ("rugao", "2025-11-03T09:00", "2025-10-20T10:00", 5, "2025-11-10T09:00", "principal", 1, 15),
    ("suzhou_ah", "2025-10-22T09:00", "2025-10-15T10:00", 7, "2025-10-31T09:00", "principal", 1, 7),
    ("changzhou", "2025-10-20T09:00", "2025-10-20T08:45", 5, "2025-10-27T09:00", "deputy", 0, 5),
    ("suqian", "2025-11-03T09:00", "2025-11-03T08:45", 15, "2025-11-24T09:00", "deputy", 0, 15),
]


@pytest.mark.parametrize("city, due, requested, days, new_due, approver, notice, max_days", FIRST_EXTENSION)
def test_extension_is_granted(city, due, requested, days, new_due, approver, notice, max_days):
    run = Run(city, "2025-10-13T09:00")
    assert run.dispatch()["handle_due_at"] == iso(due)
    run.sign()
    run.move_to(requested)
    run.request_extension(days)
    d = run.data("approve_extension_unit")
    assert d["extension_ok"] is True and d["extension_in_time"] is True
    assert (d["extension_approver"], d["extension_notice_days"], d["extension_max_days"]) == (approver, notice,
                                                                                               max_days)
    run.complete("approve_extension_unit", approved=True, comment="同意")
    run.complete("approve_extension", approved=True, comment="中心同意")
    d = run.data("handle")
    assert d["extension_count"] == 1 and d["handle_due_at"] == iso(new_due)


# A request 15 minutes before the deadline: Changzhou and Suqian only require it before expiry;
# Nantong, Rugao and Suzhou require 1 working day's notice.
@pytest.mark.parametrize("city, due, in_time", [
    ("nantong", "2025-11-03T09:00", False), ("rugao", "2025-11-03T09:00", False),
    ("suzhou_ah", "2025-10-22T09:00", False),
    ("changzhou", "2025-10-20T09:00", True), ("suqian", "2025-11-03T09:00", True),
])
def test_extension_notice(city, due, in_time):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to(at(due).replace(hour=8, minute=45).isoformat())
    run.request_extension(2)
    if in_time:
        assert run.ready_names() == ["approve_extension_unit"]
    else:
        assert run.ready_names() == ["handle"]
        d = run.data("handle")
        assert d["extension_in_time"] is False and d["extension_refused"] is True


@pytest.mark.parametrize("city, days, ok", [
    ("suzhou_ah", 7, True), ("suzhou_ah", 8, False),      # at most the original limit (complaint 7)
    ("changzhou", 5, True), ("changzhou", 6, False),
    ("suqian", 15, True), ("suqian", 16, False),
])
def test_extension_at_most_the_original_limit(city, days, ok):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to("2025-10-14T09:00")
    run.request_extension(days)
    assert run.ready_names() == (["approve_extension_unit"] if ok else ["handle"])


@pytest.mark.parametrize("city, granted", [("suzhou_ah", 1), ("changzhou", 2), ("suqian", 2), ("nantong", 2),
                                           ("rugao", 2)])
def test_number_of_extensions(city, granted):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to("2025-10-14T09:00")
    for n in range(granted):
        run.request_extension(1, reason=f"第{n + 1}次")
        run.complete("approve_extension_unit", approved=True)
        run.complete("approve_extension", approved=True)
        assert run.data("handle")["extension_count"] == n + 1
    run.request_extension(1, reason="再次申请")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_allowed"] is False and d["extension_refused"] is True


# =========================================================================== scope
SCOPES = [
    ("nantong", "litigation", "reject"), ("nantong", "invalid", "reject"), ("nantong", "discipline", "reject"),
    ("rugao", "litigation", "reject"), ("rugao", "disclosure", "reject"), ("rugao", "emergency", "emergency"),
    ("suzhou_ah", "litigation", "reject"), ("suzhou_ah", "arbitration", "reject"),
    ("suzhou_ah", "discipline", "reject"), ("suzhou_ah", "reconsideration", "reject"),
    ("suzhou_ah", "disclosure", "reject"), ("suzhou_ah", "petition", "reject"),
    ("suzhou_ah", "secret_privacy", "reject"), ("suzhou_ah", "public_order", "reject"),
    ("suzhou_ah", "repeat", "reject"), ("suzhou_ah", "outside_jurisdiction", "reject"),
    ("suzhou_ah", "invalid", "accept"), ("suzhou_ah", "emergency", "emergency"),
    ("changzhou", "outside_jurisdiction", "reject"), ("changzhou", "petition", "reject"),
    ("changzhou", "arbitration", "reject"), ("changzhou", "reconsideration", "reject"),
    ("changzhou", "litigation", "reject"), ("changzhou", "secret_privacy", "reject"),
    ("changzhou", "invalid", "reject"), ("changzhou", "emergency", "emergency"),
    ("changzhou", "discipline", "accept"), ("changzhou", "disclosure", "accept"),
    ("suqian", "litigation", "accept"), ("suqian", "petition", "accept"), ("suqian", "arbitration", "accept"),
    ("suqian", "reconsideration", "accept"), ("suqian", "discipline", "reject"), ("suqian", "disclosure", "reject"),
    ("suqian", "outside_jurisdiction", "reject"), ("suqian", "secret_privacy", "reject"),
    ("suqian", "invalid", "reject"), ("suqian", "emergency", "emergency"),
] + [(city, scope, "accept") for city in CITIES for scope in ("normal", "something_new")]


@pytest.mark.parametrize("city, scope, outcome", SCOPES)
def test_scope_check(city, scope, outcome):
    run = Run(city, A, scope=scope)
    if outcome == "accept":
        assert run.ready_names() == ["dispatch"]
        assert run.data("dispatch")["scope_outcome"] == "accept"
        return
    assert run.wf.is_completed()
    data = run.wf.data
    assert data["scope_outcome"] == outcome and data["scope_reason"]
    assert data["outcome"] == ("rejected" if outcome == "reject" else "emergency_transfer")


def test_emergency_reasons_name_the_local_emergency_lines():
    assert "122" in Run("suzhou_ah", A, scope="emergency").wf.data["scope_reason"]
    assert "水上救援" in Run("changzhou", A, scope="emergency").wf.data["scope_reason"]


def test_suqian_dispatches_procedural_matters_with_a_hint_to_guide_the_citizen():
    run = Run("suqian", A, scope="litigation")
    assert "引导" in run.data("dispatch")["scope_reason"]


@pytest.mark.parametrize("city", CITIES)
def test_consult_answered_directly_is_closed(city):
    run = Run(city, A, request_type="consult", direct_answer="请携带身份证到政务服务大厅办理")
    assert run.wf.is_completed() and run.wf.data["outcome"] == "answered"
    assert run.wf.data["closed_at"] == iso(A)


# =========================================================================== callback
# Complaint dispatched Mon 2025-10-13 09:00, replied Tue 10:00, first callback Wed 2025-10-15 10:00:
# the re-handling deadline is the city's complaint limit counted from the callback.
@pytest.mark.parametrize("city, rehandle_due", [
    ("nantong", "2025-11-05T10:00"), ("rugao", "2025-11-05T10:00"), ("suqian", "2025-11-05T10:00"),
    ("suzhou_ah", "2025-10-24T10:00"), ("changzhou", "2025-10-22T10:00"),
])
def test_dissatisfied_rehandle_then_supervision(city, rehandle_due):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.move_to("2025-10-14T10:00")
    run.reply_and_pass()
    run.move_to("2025-10-15T10:00")
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="问题未解决")
    d = run.data("handle")
    assert d["callback_outcome"] == "rehandle" and d["rehandle_count"] == 1
    assert d["handle_due_at"] == iso(rehandle_due)
    run.reply_and_pass()
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="仍未解决")
    assert run.wf.is_completed()
    assert run.wf.data["callback_outcome"] == "supervise" and run.wf.data["outcome"] == "supervision"
    assert run.wf.data["supervision_required"] is True


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("satisfied, at_fault", [(True, False), (False, False), (None, None)],
                         ids=["satisfied", "not_the_units_fault", "no_evaluation"])
def test_callback_archives(city, satisfied, at_fault):
    run = Run(city, "2025-10-13T09:00")
    run.dispatch()
    run.sign()
    run.reply_and_pass()
    run.complete("callback", satisfied=satisfied, unit_at_fault=at_fault, comment="")
    assert run.wf.is_completed()
    assert run.wf.data["callback_outcome"] == "archive" and run.wf.data["outcome"] == "archived"


# =========================================================================== deployment
@pytest.mark.parametrize("city", CITIES)
def test_city_loads_and_deploys(db, clock, city):
    """The shipped rule set passes the deployment checks (restricted compiler, forms, roles)."""
    from engine import setup
    from engine.deployments import active_deployment
    with db.unit_of_work() as session:
        summary = setup.load_city_into_db(session, clock, city)
        assert summary["units"] == len(city_settings(city)["units"]) and summary["deployment"] == 1
        files = active_deployment(session, city).files
        assert {n for n in files if n.endswith(".dmn")} == set(rule_files(city))
        assert all(files[n] == data.decode("utf-8") for n, data in rule_files(city).items())


# The conftest clock stands at Fri 2025-09-26 09:00: the demo tickets are dispatched then.
@pytest.mark.parametrize("city, sign_due, handle_due", [
    ("nantong", "2025-09-26T11:00", "2025-09-30T09:00"),     # web consult: 3 working days (Sun Sep 28 worked)
    ("rugao", "2025-09-26T11:00", "2025-09-30T09:00"),
    ("suqian", "2025-09-26T11:00", "2025-09-30T09:00"),
    ("changzhou", "2025-09-26T10:00", "2025-09-30T09:00"),
    ("suzhou_ah", "2025-09-26T17:30", "2025-09-28T09:00"),   # morning -> 17:30; consult 1 working day
])
def test_demo_load_runs_tickets_on_the_city_rules(db, clock, city, sign_due, handle_due):
    """setup.load_demo (make run / flask demo load --city) works for every city, on its own calendar."""
    from sqlalchemy import select

    from engine import setup
    from engine.models import Ticket
    with db.unit_of_work() as session:
        summary = setup.load_demo(session, clock, city)
        assert summary["tickets"] == 5
        tickets = session.scalars(select(Ticket).where(Ticket.city == city).order_by(Ticket.id)).all()
        assert all(t.number.startswith(PREFIX[city] + "20250926") for t in tickets)
        consult = tickets[1]
        assert (consult.request_type, consult.status) == ("consult", "signing")
        assert consult.unit_code in {u["code"] for u in city_settings(city)["units"] if u.get("demo")}
        assert consult.sign_due_at == at(sign_due) and consult.handle_due_at == at(handle_due)
