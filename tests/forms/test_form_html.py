"""FormDefinition.from_html: a browser POST (MultiDict protocol) into the dict validate() expects."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import ImmutableMultiDict

from forms.definitions import FormDefinition, load_form

UNITS = {"nt_chongchuan", "nt_housing", "nt_ecology"}


class PlainMultiDict:
    """Only the protocol from_html relies on: keys(), get(), getlist()."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def keys(self):
        return list(dict.fromkeys(k for k, _ in self.pairs))

    def get(self, key, default=None):
        return next((v for k, v in self.pairs if k == key), default)

    def getlist(self, key):
        return [v for k, v in self.pairs if k == key]


@pytest.fixture(params=["werkzeug", "plain"])
def multidict(request):
    return ImmutableMultiDict if request.param == "werkzeug" else PlainMultiDict


def test_checkboxes_become_a_list_and_scalars_stay_strings(multidict):
    posted = multidict([("csrf_token", "tok"), ("_action", "complete"), ("unit", "nt_housing"),
                        ("assisting_units", "nt_ecology"), ("assisting_units", "nt_chongchuan"),
                        ("upgrade", "true"), ("upgrade_reason", "涉及三个部门"), ("assist_days", "3")])
    data = load_form("dispatch").from_html(posted)
    assert data == {"unit": "nt_housing", "assisting_units": ["nt_ecology", "nt_chongchuan"], "upgrade": "true",
                    "upgrade_reason": "涉及三个部门", "assist_days": "3"}
    cleaned, errors = load_form("dispatch").validate(data, UNITS)
    assert errors == [] and cleaned["assisting_units"] == ["nt_ecology", "nt_chongchuan"] and cleaned["upgrade"] is True
    assert cleaned["assist_days"] == 3 and cleaned["responsibility"] is None


def test_no_checkbox_ticked_is_an_empty_list(multidict):
    data = load_form("dispatch").from_html(multidict([("unit", "nt_housing")]))
    assert data == {"unit": "nt_housing", "assisting_units": []}


def test_a_text_input_for_units_may_hold_a_comma_separated_list(multidict):
    data = load_form("register_order").from_html(multidict([("content", "督办"), ("assisting_units", "a, b"),
                                                            ("assisting_units", "")]))
    assert data["assisting_units"] == ["a", "b"]


def convene_post(*extra):
    return [("attendees", "住建局、城管局"), ("proceedings", "现场会商"), ("division", "住建局牵头"), *extra]


def test_rows_from_indexed_inputs_skipping_empty_rows(multidict):
    posted = multidict(convene_post(
        ("agreed_items-0-item", "修复路灯"), ("agreed_items-0-unit", "nt_housing"), ("agreed_items-0-due_days", "5"),
        ("agreed_items-0-ticket_id", ""),
        ("agreed_items-1-item", " "), ("agreed_items-1-unit", ""), ("agreed_items-1-due_days", ""),
        ("agreed_items-10-item", "清理垃圾"), ("agreed_items-10-unit", "nt_ecology"), ("agreed_items-10-due_days", "3"),
        ("agreed_items-2-item", "加装护栏"), ("agreed_items-2-due_days", "10"),
    ))
    data = load_form("convene").from_html(posted)
    assert data["agreed_items"] == [
        {"item": "修复路灯", "unit": "nt_housing", "due_days": "5", "ticket_id": ""},
        {"item": "加装护栏", "unit": None, "due_days": "10", "ticket_id": None},        # rows in numeric order
        {"item": "清理垃圾", "unit": "nt_ecology", "due_days": "3", "ticket_id": None}]
    cleaned, errors = load_form("convene").validate(data, UNITS)
    assert {e.field: e.code for e in errors} == {"agreed_items[1].unit": "required"}


def test_no_filled_row_is_an_empty_list(multidict):
    posted = multidict(convene_post(("agreed_items-0-item", ""), ("agreed_items-0-unit", "")))
    data = load_form("convene").from_html(posted)
    assert data["agreed_items"] == []
    assert [e.field for e in load_form("convene").validate(data, UNITS)[1]] == ["no_solution_plan"]


def test_unknown_keys_pass_through_so_validate_reports_them(multidict):
    posted = multidict(convene_post(("agreed_items-0-colour", "red"), ("agreed_items-x-item", "a"), ("surprise", "1"),
                                    ("no_solution_plan", "再议")))
    data = load_form("convene").from_html(posted)
    assert data["agreed_items"] == [] and data["surprise"] == "1" and data["agreed_items-0-colour"] == "red"
    _, errors = load_form("convene").validate(data, UNITS)
    assert {e.field for e in errors} == {"agreed_items-0-colour", "agreed_items-x-item", "surprise"}
    assert {e.code for e in errors} == {"unknown_field"}


def test_absent_scalars_are_left_out_and_booleans_default_to_no():
    posted = PlainMultiDict([("opinion", "同意协办意见")])
    data = load_form("assist").from_html(posted)
    assert data == {"opinion": "同意协办意见"}
    form = FormDefinition("t", {"title": "t", "fields": [{"name": "refer", "type": "boolean", "label": "移交"}]})
    assert form.validate(form.from_html(PlainMultiDict([])))[0] == {"refer": False}
