"""Every JSON form definition loads, and the forms other engineers rely on have the agreed fields."""
from __future__ import annotations

import pytest

from forms.definitions import form_names, load_form

UNITS = {"nt_chongchuan", "nt_housing", "nt_ecology"}
UNIT_OPTIONS = [{"value": "nt_housing", "label": "市住建局"}, {"value": "nt_ecology", "label": "市生态环境局"}]

EXPECTED = {
    "dispatch": ["unit", "category", "dispatch_note", "assisting_units", "responsibility", "sensitivity", "upgrade",
                 "upgrade_reason", "assist_days"],
    "handle": ["action", "reply", "final_reason", "evidence", "extension_days", "extension_reason"],
    "assist": ["opinion", "actions_taken", "contact"],
    "routine_supervision": ["method", "note", "resolved"],
    "register_order": ["content", "opinion", "due_at", "assisting_units"],
    "supervision_feedback": ["feedback", "commitment"],
    "approve_supervision_feedback": ["approved", "comment"],
    "verify_supervision": ["passed", "comment", "refer"],
    "confirm_topic": ["approved", "lead_unit", "assisting_units", "mode", "comment"],
    "convene": ["attendees", "proceedings", "agreed_items", "division", "no_solution_plan"],
    "carry_out_action": ["result", "done"],
    "summarize_consultation": ["summary"],
}


@pytest.mark.parametrize("name", form_names())
def test_every_definition_loads_and_describes(name):
    form = load_form(name)
    described = form.describe(UNIT_OPTIONS)
    assert described["name"] == name and described["title"] and described["title_en"]
    assert [f["name"] for f in described["fields"]] == form.field_names()
    for f in described["fields"]:
        assert f["label"] and f["label_en"], (name, f["name"])
    # an empty submission never crashes, whatever the form
    form.validate({}, UNITS)


@pytest.mark.parametrize("name, fields", EXPECTED.items())
def test_agreed_field_names(name, fields):
    assert load_form(name).field_names() == fields


def test_wraps():
    assert load_form("assist").wrap == "assist_result" and load_form("carry_out_action").wrap == "action_result"
    assert {n for n in form_names() if load_form(n).wrap} == {"assist", "carry_out_action"}


def test_describe_new_types():
    dispatch = {f["name"]: f for f in load_form("dispatch").describe(UNIT_OPTIONS)["fields"]}
    assert dispatch["assisting_units"]["type"] == "units" and dispatch["assisting_units"]["options"] == UNIT_OPTIONS
    assert dispatch["unit"]["options"] == UNIT_OPTIONS and "help" in dispatch["assisting_units"]
    assert [o["value"] for o in dispatch["responsibility"]["options"]] == ["duty", "first_asked", "designated", "fallback"]
    assert dispatch["upgrade_reason"]["required_when"] == {"field": "upgrade", "equals": True}
    register = {f["name"]: f for f in load_form("register_order").describe(UNIT_OPTIONS)["fields"]}
    assert register["due_at"]["type"] == "datetime" and register["due_at"]["required"] is False
    convene = {f["name"]: f for f in load_form("convene").describe(UNIT_OPTIONS)["fields"]}
    rows = convene["agreed_items"]
    assert rows["type"] == "rows" and rows["max_rows"] == 10
    assert [c["name"] for c in rows["columns"]] == ["item", "unit", "due_days", "ticket_id"]
    columns = {c["name"]: c for c in rows["columns"]}
    assert columns["unit"]["options"] == UNIT_OPTIONS and columns["unit"]["required"] is True
    assert (columns["due_days"]["min"], columns["due_days"]["max"]) == (1, 60)
    assert columns["ticket_id"]["type"] == "ticket" and columns["ticket_id"]["required"] is False
    assert convene["no_solution_plan"]["required_when_empty"] == "agreed_items"
    handle = {f["name"]: f for f in load_form("handle").describe()["fields"]}
    assert handle["reply"]["required_when"] == {"field": "action", "in": ["reply", "final_reply"]}
    assert handle["reply"]["must_contain_when"]["text"] == "此为最终答复"
    assert load_form("handle").describe()["wrap"] is None


def test_dispatch_rules():
    form = load_form("dispatch")
    cleaned, errors = form.validate({"unit": "nt_housing"}, UNITS)
    assert errors == [] and cleaned == {"unit": "nt_housing", "category": None, "dispatch_note": None, "assisting_units": [],
                                        "responsibility": None, "sensitivity": None, "upgrade": False,
                                        "upgrade_reason": None, "assist_days": None}
    errors = form.validate({"unit": "nt_housing", "upgrade": "true", "assist_days": "31"}, UNITS)[1]
    assert {e.field: e.code for e in errors} == {"upgrade_reason": "required", "assist_days": "too_large"}
    errors = form.validate({"unit": "nt_housing", "upgrade_reason": "长" * 501, "sensitivity": "high"}, UNITS)[1]
    assert {e.field: e.code for e in errors} == {"upgrade_reason": "too_long"}


def test_handle_final_reply():
    form = load_form("handle")
    errors = form.validate({"action": "final_reply", "reply": "经核实，该诉求缺乏政策依据。"})[1]
    assert {e.field: e.code for e in errors} == {"reply": "must_contain", "final_reason": "required",
                                                 "evidence": "required"}
    cleaned, errors = form.validate({"action": "final_reply", "reply": "经核实，该诉求缺乏政策依据，此为最终答复。",
                                     "final_reason": "诉求超出政策范围", "evidence": "市政府〔2025〕12号文"})
    assert errors == [] and cleaned["action"] == "final_reply"
    assert form.validate({"action": "reply", "reply": "已安排人员修复路灯并电话告知诉求人。"})[1] == []
    assert {e.field for e in form.validate({"action": "extend"})[1]} == {"extension_days", "extension_reason"}


def test_supervision_and_consultation_forms():
    assert {e.field: e.code for e in load_form("assist").validate({"opinion": "同意"})[1]} == {"opinion": "too_short"}
    assert {e.field for e in load_form("routine_supervision").validate({"method": "phone"})[1]} == {"note", "resolved"}
    assert load_form("register_order").validate({"content": "限期整改", "due_at": "2026-12-01T17:30"})[0]["due_at"] == \
        "2026-12-01T17:30:00+08:00"
    assert {e.code for e in load_form("supervision_feedback").validate({"feedback": "已整改"})[1]} == {"too_short"}
    assert {e.field for e in load_form("approve_supervision_feedback").validate({"approved": "false"})[1]} == {"comment"}
    cleaned, errors = load_form("verify_supervision").validate({"passed": "true"})
    assert errors == [] and cleaned["refer"] is False
    topic = load_form("confirm_topic")
    assert {e.field for e in topic.validate({"approved": "true"}, UNITS)[1]} == {"lead_unit", "mode"}
    cleaned, errors = topic.validate({"approved": "true", "lead_unit": "nt_housing", "mode": "1+X",
                                      "assisting_units": ["nt_ecology"]}, UNITS)
    assert errors == [] and cleaned["assisting_units"] == ["nt_ecology"]
    assert topic.validate({"approved": "false"}, UNITS)[1] == []
    convene = load_form("convene")
    base = {"attendees": "住建局、城管局", "proceedings": "现场会商", "division": "住建局牵头"}
    assert [e.field for e in convene.validate(base, UNITS)[1]] == ["no_solution_plan"]
    cleaned, errors = convene.validate({**base, "agreed_items": [{"item": "修复路灯", "unit": "nt_housing",
                                                                  "due_days": 5, "ticket_id": 7}]}, UNITS)
    assert errors == [] and cleaned["agreed_items"][0]["ticket_id"] == 7 and cleaned["no_solution_plan"] is None
    assert {e.field for e in load_form("carry_out_action").validate({"result": "已完成"})[1]} == {"done"}
    assert {e.code for e in load_form("summarize_consultation").validate({"summary": "已办"})[1]} == {"too_short"}
