"""The new field types and constraints of forms.definitions: units, datetime, rows, required_when "in",
required_when_empty, must_contain_when, and the definition checks done when a form is loaded."""
from __future__ import annotations

import pytest

from forms.definitions import DefinitionError, FormDefinition

UNITS = {"nt_chongchuan", "nt_housing", "nt_ecology"}


def form(*fields, **extra) -> FormDefinition:
    return FormDefinition("t", {"title": "测试", "title_en": "Test", "fields": list(fields), **extra})


def codes(errors) -> dict:
    return {e.field: e.code for e in errors}


# -- units -----------------------------------------------------------------------------------------
UNITS_FIELD = {"name": "assisting_units", "type": "units", "label": "协办单位", "label_en": "Assisting units",
               "max_items": 2}


def test_units_keeps_order_and_drops_duplicates_and_blanks():
    cleaned, errors = form(UNITS_FIELD).validate({"assisting_units": ["nt_housing", " nt_chongchuan", "nt_housing", ""]},
                                                 UNITS)
    assert errors == [] and cleaned["assisting_units"] == ["nt_housing", "nt_chongchuan"]


@pytest.mark.parametrize("raw", ["nt_ecology, nt_housing", "nt_ecology，nt_housing", "nt_ecology、nt_housing,"])
def test_units_accepts_a_comma_separated_string(raw):
    cleaned, errors = form(UNITS_FIELD).validate({"assisting_units": raw}, UNITS)
    assert errors == [] and cleaned["assisting_units"] == ["nt_ecology", "nt_housing"]


@pytest.mark.parametrize("raw", [None, "", [], "  "])
def test_units_missing_or_empty_is_an_empty_list_when_optional(raw):
    cleaned, errors = form(UNITS_FIELD).validate({"assisting_units": raw}, UNITS)
    assert errors == [] and cleaned["assisting_units"] == []
    assert form(UNITS_FIELD).validate({}, UNITS) == ({"assisting_units": []}, [])


def test_units_required_rejects_an_empty_list():
    _, errors = form({**UNITS_FIELD, "required": True}).validate({"assisting_units": []}, UNITS)
    assert codes(errors) == {"assisting_units": "required"}
    assert errors[0].zh == "请填写“协办单位”" and errors[0].en == "Assisting units is required"


@pytest.mark.parametrize("raw, code", [
    (["nt_housing", "nowhere", "elsewhere"], "unknown_unit"),
    (["nt_housing", "nt_ecology", "nt_chongchuan"], "too_many"),
    (["nt_housing", "nt_housing", "nt_ecology"], None),          # two distinct: within max_items 2
    (42, "not_a_list"), ({"a": 1}, "not_a_list"), (["nt_housing", 3], "not_a_list"),
])
def test_units_errors(raw, code):
    cleaned, errors = form(UNITS_FIELD).validate({"assisting_units": raw}, UNITS)
    assert codes(errors) == ({"assisting_units": code} if code else {})
    if code == "unknown_unit":
        assert "nowhere、elsewhere" in errors[0].zh and "'nowhere'" in errors[0].en
    if code:
        assert "assisting_units" not in cleaned


def test_units_without_a_unit_list_accepts_any_code():
    assert form(UNITS_FIELD).validate({"assisting_units": ["x"]})[0] == {"assisting_units": ["x"]}


# -- datetime --------------------------------------------------------------------------------------
DT = {"name": "due_at", "type": "datetime", "label": "办结时限", "label_en": "Deadline"}


@pytest.mark.parametrize("raw, expected", [
    ("2026-12-01T09:30", "2026-12-01T09:30:00+08:00"),               # HTML datetime-local, no zone
    ("2026-12-01 09:30:15", "2026-12-01T09:30:15+08:00"),
    ("2026-12-01T09:30:00+08:00", "2026-12-01T09:30:00+08:00"),
    ("2026-12-01T01:30:00Z", "2026-12-01T09:30:00+08:00"),            # converted to Shanghai
    ("2026-11-30T20:30:00-05:00", "2026-12-01T09:30:00+08:00"),
    ("2026-12-01T09:30:00.123456", "2026-12-01T09:30:00+08:00"),
    (" 2026-12-01T09:30 ", "2026-12-01T09:30:00+08:00"),
])
def test_datetime_is_cleaned_to_shanghai_iso(raw, expected):
    cleaned, errors = form(DT).validate({"due_at": raw})
    assert errors == [] and cleaned["due_at"] == expected


@pytest.mark.parametrize("raw", ["2026-12-01", "tomorrow", "2026-13-01T09:30", "2026-12-01T25:00", 20261201,
                                 "9999-12-31T23:59-05:00", ["2026-12-01T09:30"]])
def test_datetime_rejects_other_values(raw):
    _, errors = form(DT).validate({"due_at": raw})
    assert codes(errors) == {"due_at": "not_datetime"}
    assert "2026-12-01T09:30" in errors[0].zh and "Deadline" in errors[0].en


def test_datetime_optional_missing_is_none_and_required_is_enforced():
    assert form(DT).validate({"due_at": ""}) == ({"due_at": None}, [])
    assert codes(form({**DT, "required": True}).validate({})[1]) == {"due_at": "required"}


# -- rows ------------------------------------------------------------------------------------------
ROWS = {"name": "agreed_items", "type": "rows", "label": "议定事项清单", "label_en": "Agreed items", "max_rows": 3,
        "columns": [
            {"name": "item", "type": "text", "label": "议定事项", "label_en": "Item", "required": True,
             "max_length": 20},
            {"name": "unit", "type": "unit", "label": "责任单位", "label_en": "Responsible unit", "required": True},
            {"name": "due_days", "type": "integer", "label": "落实时限（工作日）", "label_en": "Deadline (working days)",
             "required": True, "min": 1, "max": 60},
            {"name": "ticket_id", "type": "ticket", "label": "关联工单", "label_en": "Related ticket"},
            {"name": "note", "type": "textarea", "label": "备注", "label_en": "Note"}]}


def row(**kw):
    return {"item": "修复路灯", "unit": "nt_housing", "due_days": 5, **kw}


def test_rows_are_cleaned_to_dicts_with_exactly_the_columns():
    cleaned, errors = form(ROWS).validate({"agreed_items": [row(), row(due_days="7", ticket_id="12", note=" 注 ")]},
                                          UNITS)
    assert errors == []
    assert cleaned["agreed_items"] == [
        {"item": "修复路灯", "unit": "nt_housing", "due_days": 5, "ticket_id": None, "note": None},
        {"item": "修复路灯", "unit": "nt_housing", "due_days": 7, "ticket_id": 12, "note": "注"}]


def test_rows_missing_is_an_empty_list_and_required_rejects_it():
    assert form(ROWS).validate({}, UNITS) == ({"agreed_items": []}, [])
    assert codes(form({**ROWS, "required": True}).validate({"agreed_items": []}, UNITS)[1]) == {
        "agreed_items": "required"}


def test_row_errors_name_the_row_and_column():
    rows = [row(), row(unit="nowhere", due_days=61), {"item": "", "unit": "nt_housing", "due_days": "x"},
            row(ticket_id=0, extra=1)]
    _, errors = form({**ROWS, "max_rows": 4}).validate({"agreed_items": rows}, UNITS)
    assert codes(errors) == {
        "agreed_items[1].unit": "unknown_unit", "agreed_items[1].due_days": "too_large",
        "agreed_items[2].item": "required", "agreed_items[2].due_days": "not_integer",
        "agreed_items[3].extra": "unknown_field", "agreed_items[3].ticket_id": "not_ticket"}
    by_field = {e.field: e for e in errors}
    assert by_field["agreed_items[1].due_days"].zh == "“议定事项清单第2行的落实时限（工作日）”不能大于60"
    assert by_field["agreed_items[1].due_days"].en == "Agreed items row 2: Deadline (working days) must be <= 60"
    assert by_field["agreed_items[2].item"].zh == "请填写“议定事项清单第3行的议定事项”"
    assert "第4行" in by_field["agreed_items[3].extra"].zh


def test_row_cell_types():
    for bad in (-1, True, 1.5, "abc", "#3"):
        _, errors = form(ROWS).validate({"agreed_items": [row(ticket_id=bad)]}, UNITS)
        assert codes(errors) == {"agreed_items[0].ticket_id": "not_ticket"}, bad
    _, errors = form(ROWS).validate({"agreed_items": [row(item="长" * 21)]}, UNITS)
    assert codes(errors) == {"agreed_items[0].item": "too_long"}
    _, errors = form(ROWS).validate({"agreed_items": [row(due_days=0)]}, UNITS)
    assert codes(errors) == {"agreed_items[0].due_days": "too_small"}


@pytest.mark.parametrize("raw, code", [
    ("not rows", "not_a_list"), ({"item": "x"}, "not_a_list"), ([row()] * 4, "too_many_rows"),
])
def test_rows_list_level_errors_use_the_field_name(raw, code):
    cleaned, errors = form(ROWS).validate({"agreed_items": raw}, UNITS)
    assert codes(errors) == {"agreed_items": code} and "agreed_items" not in cleaned


def test_rows_row_must_be_an_object_and_min_rows():
    _, errors = form(ROWS).validate({"agreed_items": [row(), "x"]}, UNITS)
    assert codes(errors) == {"agreed_items[1]": "row_not_an_object"}
    _, errors = form({**ROWS, "min_rows": 2}).validate({"agreed_items": [row()]}, UNITS)
    assert codes(errors) == {"agreed_items": "too_few_rows"} and "至少2行" in errors[0].zh


def test_rows_default_max_rows_is_five():
    limited = {k: v for k, v in ROWS.items() if k != "max_rows"}
    assert codes(form(limited).validate({"agreed_items": [row()] * 5}, UNITS)[1]) == {}
    assert codes(form(limited).validate({"agreed_items": [row()] * 6}, UNITS)[1]) == {"agreed_items": "too_many_rows"}


# -- constraints -------------------------------------------------------------------------------------
ACTION = {"name": "action", "type": "select", "label": "办理操作", "label_en": "Action", "required": True,
          "options": [{"value": v, "label": v} for v in ("reply", "extend", "final_reply")]}
REPLY = {"name": "reply", "type": "textarea", "label": "答复内容", "label_en": "Reply",
         "required_when": {"field": "action", "in": ["reply", "final_reply"]},
         "must_contain_when": {"field": "action", "equals": "final_reply", "text": "此为最终答复"}}


def test_required_when_in():
    f = form(ACTION, REPLY)
    assert codes(f.validate({"action": "reply"})[1]) == {"reply": "required"}
    assert codes(f.validate({"action": "final_reply"})[1]) == {"reply": "required"}
    assert codes(f.validate({"action": "extend"})[1]) == {}


def test_required_when_equals_still_works_and_does_not_confuse_false_with_zero():
    flag = {"name": "approved", "type": "boolean", "label": "是否同意", "required": True}
    count = {"name": "n", "type": "integer", "label": "数量"}
    comment = {"name": "comment", "type": "textarea", "label": "意见", "required_when": {"field": "approved", "equals": False}}
    by_count = {"name": "why", "type": "text", "label": "原因", "required_when": {"field": "n", "equals": False}}
    f = form(flag, count, comment, by_count)
    assert codes(f.validate({"approved": "false"})[1]) == {"comment": "required"}
    assert codes(f.validate({"approved": "true", "n": "0"})[1]) == {}


def test_must_contain_when():
    f = form(ACTION, REPLY)
    _, errors = f.validate({"action": "final_reply", "reply": "经核实，诉求缺乏依据。"})
    assert codes(errors) == {"reply": "must_contain"}
    assert errors[0].zh == "“答复内容”须包含“此为最终答复”" and errors[0].en == "Reply must contain “此为最终答复”"
    assert f.validate({"action": "final_reply", "reply": "经核实，诉求缺乏依据，此为最终答复。"})[1] == []
    assert f.validate({"action": "reply", "reply": "已修复路灯。"})[1] == []
    # an empty value is reported once, as required, not also as must_contain
    assert [e.code for e in f.validate({"action": "final_reply", "reply": ""})[1]] == ["required"]


def test_required_when_empty():
    plan = {"name": "no_solution_plan", "type": "textarea", "label": "解决思路和建议",
            "required_when_empty": "agreed_items"}
    f = form(ROWS, plan)
    assert codes(f.validate({}, UNITS)[1]) == {"no_solution_plan": "required"}
    assert codes(f.validate({"agreed_items": []}, UNITS)[1]) == {"no_solution_plan": "required"}
    assert f.validate({"agreed_items": [row()]}, UNITS)[1] == []
    assert f.validate({"no_solution_plan": "另行研究"}, UNITS)[1] == []
    # invalid rows: only the row error, no guess about the plan
    assert codes(f.validate({"agreed_items": [row(unit="nowhere")]}, UNITS)[1]) == {"agreed_items[0].unit": "unknown_unit"}


def test_wrap_defaults_to_none():
    assert form(ACTION).wrap is None and form(ACTION).describe()["wrap"] is None
    wrapped = form(ACTION, wrap="assist_result")
    assert wrapped.wrap == "assist_result" and wrapped.describe()["wrap"] == "assist_result"


def test_unknown_top_level_field_is_still_an_error():
    assert codes(form(ACTION).validate({"action": "reply", "x": 1})[1]) == {"x": "unknown_field"}


@pytest.mark.parametrize("bad", [
    {"fields": [{"name": "a", "type": "colour", "label": "颜色"}]},
    {"fields": [{"name": "a", "type": "text", "label": "甲"}, {"name": "a", "type": "text", "label": "乙"}]},
    {"fields": [{"name": "a", "type": "text", "label": "甲", "required_when": {"field": "zzz", "equals": 1}}]},
    {"fields": [{"name": "a", "type": "text", "label": "甲", "required_when": {"field": "a", "equals": 1, "in": [1]}}]},
    {"fields": [{"name": "a", "type": "text", "label": "甲", "must_contain_when": {"field": "a", "equals": 1}}]},
    {"fields": [{"name": "a", "type": "text", "label": "甲", "required_when_empty": "zzz"}]},
    {"fields": [{"name": "a", "type": "rows", "label": "甲", "columns": []}]},
    {"fields": [{"name": "a", "type": "rows", "label": "甲", "columns": [{"name": "b", "type": "units", "label": "乙"}]}]},
    {"fields": [{"name": "a", "type": "select", "label": "甲"}]},
    {"fields": [{"name": "a", "type": "text", "label": "甲"}], "wrap": "not a name"},
])
def test_malformed_definitions_fail_when_loaded(bad):
    with pytest.raises(DefinitionError):
        FormDefinition("bad", {"title": "坏", **bad})
