"""forms/templates/task_form.html rendered with plain Jinja (no Flask): the page's base and includes are stubbed,
the field macros in _form_fields.html are the real ones."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from forms.definitions import load_form

TEMPLATES = Path(__file__).resolve().parents[2] / "forms" / "templates"
UNIT_OPTIONS = [{"value": "nt_housing", "label": "市住建局", "label_en": "Housing Bureau"},
                {"value": "nt_ecology", "label": "市生态环境局"}]
STUBS = {"base.html": "{% block content %}{% endblock %}",
         "_light.html": "{% macro lamp(light) %}{% endmacro %}",
         "_ticket_summary.html": "", "_history.html": ""}


def render(form_name, values=None, errors=None, language="zh"):
    env = Environment(loader=ChoiceLoader([DictLoader(STUBS), FileSystemLoader(str(TEMPLATES))]),
                      autoescape=select_autoescape(["html"]))
    env.globals.update(lang=lambda: language, t=lambda key: f"[{key}]", csrf_token=lambda: "tok",
                       url_for=lambda endpoint, **values: f"/{endpoint}")
    return env.get_template("task_form.html").render(
        form=load_form(form_name).describe(UNIT_OPTIONS), task={"due_at": None, "assignee": "me", "light": None},
        ticket={"number": "NT1"}, may_act=True, values=values or {}, errors=errors or {})


class Controls(HTMLParser):
    """Form controls with their accessible name: aria-label, or the text of the enclosing <label>."""

    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.legends, self.headers = [], [], [], []
        self._label_depth, self._label_text, self._open = 0, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            self._label_text.append([])
        elif tag in ("legend", "th"):
            self._open = (tag, [])
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append({"tag": tag, **attrs, "_in_label": self._label_depth > 0,
                                  "_label": self._label_text[-1] if self._label_text else None})

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1
            self.labels.append("".join(self._label_text.pop()).strip())
        elif self._open and tag == self._open[0]:
            (self.legends if tag == "legend" else self.headers).append("".join(self._open[1]).strip())
            self._open = None

    def handle_data(self, data):
        for text in self._label_text:
            text.append(data)
        if self._open:
            self._open[1].append(data)


def parse(html) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("name", ["convene", "register_order", "dispatch", "handle", "confirm_topic", "sign"])
def test_every_control_has_an_accessible_name(name):
    for language in ("zh", "en"):
        controls = parse(render(name, language=language)).controls
        assert controls
        for c in controls:
            assert c.get("aria-label") or c["_in_label"], (name, language, c)


def test_rows_table_has_column_headers_and_labelled_cells():
    html = render("convene")
    page = parse(html)
    assert page.headers == ["议定事项 *", "责任单位 *", "落实时限（工作日） *", "关联工单"]
    assert "议定事项清单" in page.legends
    cells = [c for c in page.controls if c.get("name", "").startswith("agreed_items-")]
    assert len(cells) == 10 * 4                                 # max_rows 10, four columns
    by_name = {c["name"]: c for c in cells}
    assert by_name["agreed_items-0-item"]["aria-label"] == "议定事项 第1行"
    assert by_name["agreed_items-9-due_days"]["aria-label"] == "落实时限（工作日） 第10行"
    assert by_name["agreed_items-0-unit"]["tag"] == "select"
    assert by_name["agreed_items-0-due_days"]["type"] == "number" and by_name["agreed_items-0-due_days"]["max"] == "60"
    assert by_name["agreed_items-0-ticket_id"]["min"] == "1"
    assert not any("required" in c for c in cells)             # rows are optional one by one
    assert 'value="nt_housing"' in html and "市住建局" in html
    english = parse(render("convene", language="en"))
    assert english.headers[0] == "Item *"
    assert {c["name"]: c for c in english.controls}["agreed_items-2-unit"]["aria-label"] == "Responsible unit row 3"
    assert "Housing Bureau" in render("convene", language="en")


def test_units_are_a_fieldset_of_labelled_checkboxes_and_datetime_is_datetime_local():
    page = parse(render("register_order", values={"assisting_units": ["nt_ecology"], "due_at": "2026-12-01T09:30"}))
    assert "协办单位" in page.legends
    boxes = [c for c in page.controls if c.get("name") == "assisting_units"]
    assert [(b["type"], b["value"]) for b in boxes] == [("checkbox", "nt_housing"), ("checkbox", "nt_ecology")]
    assert all(b["_in_label"] for b in boxes) and {"市住建局", "市生态环境局"} <= set(page.labels)
    assert ["checked" in b for b in boxes] == [False, True]
    due = next(c for c in page.controls if c.get("name") == "due_at")
    assert due["type"] == "datetime-local" and due["value"] == "2026-12-01T09:30"
    assert any(label.startswith("办结时限（不填按规则默认）") and "北京时间" in label for label in page.labels)


def test_units_values_may_be_a_comma_separated_string():
    boxes = [c for c in parse(render("register_order", values={"assisting_units": "nt_housing,nt_ecology"})).controls
             if c.get("name") == "assisting_units"]
    assert all("checked" in b for b in boxes)


def test_posted_rows_and_errors_are_shown_again():
    values = {"agreed_items-1-item": "修复路灯", "agreed_items-1-unit": "nt_housing", "agreed_items-1-due_days": "99"}
    errors = {"agreed_items[1].due_days": [{"code": "too_large", "message_zh": "“议定事项清单第2行的落实时限（工作日）”不能大于60",
                                            "message_en": "Agreed items row 2: Deadline (working days) must be <= 60"}],
              "no_solution_plan": [{"code": "required", "message_zh": "请填写“解决思路和建议”", "message_en": "x"}],
              "surprise": [{"code": "unknown_field", "message_zh": "未知字段：surprise", "message_en": "Unknown field"}]}
    html = render("convene", values=values, errors=errors)
    controls = {c["name"]: c for c in parse(html).controls if "name" in c}
    assert controls["agreed_items-1-item"]["value"] == "修复路灯"
    assert controls["agreed_items-1-due_days"]["value"] == "99" and controls["agreed_items-1-due_days"]["aria-invalid"] == "true"
    assert "aria-invalid" not in controls["agreed_items-0-due_days"]
    assert "不能大于60" in html and "请填写“解决思路和建议”" in html and "未知字段：surprise" in html
    # from_html-style values (a compacted list of dicts) render too
    html = render("convene", values={"agreed_items": [{"item": "清理垃圾", "unit": "nt_ecology", "due_days": "3",
                                                       "ticket_id": None}]})
    controls = {c["name"]: c for c in parse(html).controls if "name" in c}
    assert controls["agreed_items-0-item"]["value"] == "清理垃圾" and controls["agreed_items-0-ticket_id"]["value"] == ""
    assert 'value="nt_ecology" selected' in html


def test_existing_field_types_still_render():
    html = render("handle", values={"action": "final_reply", "extension_days": "3"})
    assert 'value="final_reply" selected' in html and 'name="extension_days" value="3"' in html
    assert "最终答复（此为最终答复）" in html and "<small>写明经办人" in html
    html = render("approve_reply", values={"approved": "false"})
    assert 'value="false" checked' in html and 'value="true" checked' not in html
