"""The DMN tables of every city's rule set (rules/<city>/*.dmn, as merged along ``extends``).

The authored sets (Suzhou, Changzhou, Suqian) follow Nantong's conventions: same decisions, outputs
and inputs, ids, a Chinese annotation citing the seed clause on every rule and a catch-all last rule.
Every cell is a literal that means the same in FEEL and in Python, and inputs only read variables the
task data holds when the business-rule task runs.
"""
from __future__ import annotations

import re

import pytest
from lxml import etree

from tests.rules.city_harness import (AUTHORED, CITIES, CJK, DMN_NS, INPUT_CELL, OUTPUT_CELL, cell_texts,
                                     dmn_columns, dmn_rules, dmn_tables)


@pytest.mark.parametrize("city", AUTHORED)
def test_authored_tables_follow_the_nantong_conventions(city):
    nantong = dmn_tables("nantong")
    for decision, tree in dmn_tables(city).items():
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
        assert dmn_columns(tree, "output") == dmn_columns(nantong[decision], "output"), where
        # Nantong's inputs are kept (a table may add inputs, e.g. Changzhou's return window by request_type);
        # inputs that only one city's own clause reads are left out of the comparison
        base = [c for c in dmn_columns(nantong[decision], "input") if c[0] not in CITY_SPECIFIC_INPUTS]
        own = [c for c in dmn_columns(tree, "input") if c[0] not in CITY_SPECIFIC_INPUTS]
        assert own[:len(base)] == base, where
        shape = tree.find("dmndi:DMNDI/dmndi:DMNDiagram/dmndi:DMNShape", DMN_NS)
        assert shape is not None and shape.get("dmnElementRef") == decision, where
        assert shape.find("dc:Bounds", DMN_NS) is not None, where
        assert decisions[0].findtext("dmn:description", namespaces=DMN_NS).strip(), where


# return_policy inputs read by one city's clause only: Nantong 第三十条 (designated / fallback units may not
# return) and Suqian 三（四） (no second return after an unjustified one was re-dispatched to the same unit)
CITY_SPECIFIC_INPUTS = {"responsibility", "redispatched_after_return"}


CLAUSE = re.compile(r"第[一二三四五六七八九十百]+条|[一二三四五六七八九十]（[一二三四五六七八九十]+）|附件\d")


@pytest.mark.parametrize("city", AUTHORED)
def test_every_rule_is_annotated_in_chinese_citing_its_seed_clause(city):
    for decision, tree in dmn_tables(city).items():
        rules = dmn_rules(tree)
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
    for decision, tree in dmn_tables(city).items():
        rules = dmn_rules(tree)
        for rule in rules:
            for cell in cell_texts(rule, "dmn:inputEntry"):
                assert INPUT_CELL.match(cell), f"{city}/{decision}: input cell {cell!r}"
            for cell in cell_texts(rule, "dmn:outputEntry"):
                assert OUTPUT_CELL.match(cell), f"{city}/{decision}: output cell {cell!r}"
        assert all(c == "-" for c in cell_texts(rules[-1], "dmn:inputEntry")), f"{city}/{decision}: no catch-all"
        assert cell_texts(rules[-1], "dmn:outputEntry"), f"{city}/{decision}: catch-all has no outputs"


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
    "category_unit": _START | {"category"},
    "handle_limit": _AT_DISPATCH | {"sign_limit_hours", "sign_rule"},
    "return_policy": _AT_SIGN | {"responsibility", "redispatched_after_return"},     # set at dispatch
    "extension_policy": _AT_HANDLE,
    "callback_policy": _AT_HANDLE | {"approved", "comment", "replied_at", "satisfied", "unit_at_fault"},
    # escalation decisions (event -> directive upgrade, supervision tiers); their inputs are set by the
    # diagram and forms at the points where they are evaluated
    "upgrade_policy": _AT_DISPATCH | {"upgrade_point", "extension_requests", "sensitivity", "upgrade_requested"},
    "supervision_policy": {"trigger", "origin", "prior_tier", "routine_done"},
}


@pytest.mark.parametrize("city", CITIES)
def test_inputs_read_only_variables_present_in_the_task_data(city):
    for decision, tree in dmn_tables(city).items():
        for expression, _type in dmn_columns(tree, "input"):
            assert expression in KNOWN_INPUTS[decision], f"{city}/{decision} reads {expression!r}"
        for rule in dmn_rules(tree):
            for cell in cell_texts(rule, "dmn:outputEntry"):
                if cell == "handle_limit_days":
                    assert decision == "extension_policy"


@pytest.mark.parametrize("city", AUTHORED)
def test_booleans_are_spelled_the_python_way(city):
    for decision, tree in dmn_tables(city).items():
        cells = [c for rule in dmn_rules(tree) for c in cell_texts(rule, "dmn:inputEntry") + cell_texts(rule, "dmn:outputEntry")]
        assert not {"true", "false"} & set(cells), f"{city}/{decision}"
