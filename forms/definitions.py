"""Task-form definitions: one JSON file per form in ``forms/definitions/``.

The same definition renders the HTML task page and validates API completions, so a handler's
browser and an integration see exactly the same rules. Pure Python: no Flask here.

Form keys: ``title``, ``title_en``, ``fields`` and optionally ``wrap``: the engine stores the cleaned
values under this single process variable (e.g. ``"assist_result"``) instead of one variable per field.

Field types (coercion in ``forms.fields``):

- ``select`` (fixed ``options``), ``unit`` (a unit code of the ticket's city), ``boolean``, ``integer``,
  ``text``, ``textarea``, ``ticket`` (a positive integer ticket id);
- ``units``: a list of unit codes (or a comma-separated string); duplicates removed, order kept; optional
  ``max_items``; missing means ``[]``, and ``[]`` counts as unanswered for ``required``;
- ``datetime``: ISO 8601 or the browser's ``2026-12-01T09:30``; no zone means Asia/Shanghai; cleaned to an
  ISO string with ``+08:00`` (seconds precision);
- ``rows``: a list of objects with ``columns`` (sub-fields of types text, textarea, integer, unit, ticket,
  each with its own required/min/max/max_length/min_length); optional ``min_rows``, ``max_rows`` (default 5,
  for the API as for the page). Cleaned: a list of dicts with exactly the column names (missing → None);
  missing means ``[]``. A cell's error has ``field = "<rows>[<i>].<column>"`` (``i`` 0-based).

Constraints: ``required``; ``required_when`` ({"field": f, "equals": v} or {"field": f, "in": [v, ...]});
``required_when_empty`` (a field name: required when that field's cleaned value is None or empty);
``must_contain_when`` ({"field": f, "equals"/"in": ..., "text": "此为最终答复"}: when the condition holds the
value must contain the text, code ``must_contain``); ``max_length``, ``min_length``, ``min``, ``max``.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from .fields import (COLUMN_TYPES, DEFAULT_MAX_ROWS, FIELD_TYPES, FieldError, coerce, is_blank, label_of,
                     required_error, split_list)

__all__ = ["FieldError", "FormDefinition", "DefinitionError", "load_form", "form_names", "DEFINITIONS_DIR"]

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
HTML_IGNORED = {"csrf_token", "_action"}
_DESCRIBED = ("required_when", "required_when_empty", "must_contain_when", "max_length", "min_length", "min",
              "max", "max_items", "min_rows", "help", "help_en", "default")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DefinitionError(ValueError):
    """A form definition file is malformed (a bug in forms/definitions/*.json, not in user input)."""


class FormDefinition:
    def __init__(self, name: str, raw: dict):
        _check_definition(name, raw)
        self.name = name
        self.title = raw["title"]
        self.title_en = raw.get("title_en", self.title)
        self.wrap: str | None = raw.get("wrap")
        self.fields: list[dict] = raw["fields"]
        # Workflow variables the task shows read-only above its fields (what the handler acts on:
        # the assisting units' input, the supervision order, the agreed action ...): name + labels.
        self.context: list[dict] = raw.get("context", [])

    def apply_defaults(self, cleaned: dict) -> dict:
        """What the workflow receives: an optional field left empty takes its ``default``, or with
        ``keep_when_empty`` is left out so the variable keeps its value (e.g. the sensitivity from intake)."""
        result = dict(cleaned)
        for field in self.fields:
            if result.get(field["name"]) is None:
                if "default" in field:
                    result[field["name"]] = field["default"]
                elif field.get("keep_when_empty"):
                    result.pop(field["name"], None)
        return result

    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def describe(self, unit_options: list[dict] | None = None) -> dict:
        """The public form description: fields with name, type, label, required, options (and columns)."""
        return {"name": self.name, "title": self.title, "title_en": self.title_en, "wrap": self.wrap,
                "context": self.context, "fields": [_describe_field(f, unit_options or []) for f in self.fields]}

    def validate(self, data: dict, unit_codes: set[str] | None = None) -> tuple[dict, list[FieldError]]:
        """Return (cleaned values, errors). Unknown fields are errors: nothing is silently dropped."""
        errors: list[FieldError] = []
        if not isinstance(data, dict):
            return {}, [FieldError("_", "not_an_object", "表单数据必须是对象", "Form data must be an object")]
        known = set(self.field_names())
        for extra in sorted(set(map(str, data)) - known):
            errors.append(FieldError(extra, "unknown_field", f"未知字段：{extra}", f"Unknown field: {extra}"))
        cleaned: dict = {}
        for f in self.fields:
            name, raw = f["name"], data.get(f["name"])
            if raw is None or (is_blank(raw) and f["type"] != "boolean"):
                cleaned[name] = _missing_value(f, cleaned)
                continue
            value, field_errors = coerce(f, raw, unit_codes)
            if field_errors:
                errors.extend(field_errors)     # a field that failed stays out of `cleaned`
            else:
                cleaned[name] = value
        for f in self.fields:
            name = f["name"]
            if any(_belongs(e.field, name) for e in errors):
                continue
            if _is_required(f, cleaned) and cleaned.get(name) in (None, []):
                errors.append(required_error(f))
                continue
            cond = f.get("must_contain_when")
            if cond and _holds(cond, cleaned) and cond["text"] not in (cleaned.get(name) or ""):
                label, label_en = label_of(f)
                errors.append(FieldError(name, "must_contain", f"“{label}”须包含“{cond['text']}”",
                                         f"{label_en} must contain “{cond['text']}”"))
        return cleaned, errors

    def from_html(self, form) -> dict:
        """Turn a browser POST (MultiDict-like: ``get``, ``getlist``, ``keys``) into ``validate()``'s input.

        - ``units``: every ``getlist(name)`` value (checkboxes), comma-separated values split, blanks dropped;
          always present (``[]`` when nothing is ticked);
        - ``rows``: inputs ``<name>-<i>-<column>``, rows in ascending ``i``; a row whose inputs are all empty is
          skipped, so the list is compacted; each row has every column (an absent input → None); always present;
        - any other field: ``get(name)``, only when the key was posted;
        - ``csrf_token`` and ``_action`` are ignored; any other posted key is passed through as it is, so
          ``validate()`` reports it as ``unknown_field`` rather than dropping it silently.
        """
        keys = list(form.keys())
        consumed = set(HTML_IGNORED)
        data: dict = {}
        for f in self.fields:
            name = f["name"]
            if f["type"] == "units":
                data[name] = [code for value in form.getlist(name) if isinstance(value, str)
                              for code in split_list(value)]
                consumed.add(name)
            elif f["type"] == "rows":
                data[name] = _rows_from_html(f, form, keys, consumed)
            elif name in keys:
                data[name] = form.get(name)
                consumed.add(name)
        for key in keys:
            if key not in consumed:
                data[key] = form.get(key)
        return data


def _rows_from_html(f: dict, form, keys: list, consumed: set) -> list[dict]:
    name, columns = f["name"], [c["name"] for c in f["columns"]]
    pattern = re.compile(rf"^{re.escape(name)}-(\d{{1,4}})-({'|'.join(map(re.escape, columns))})$")
    indices = set()
    for key in keys:
        match = pattern.match(key)
        if match:
            indices.add(int(match.group(1)))
            consumed.add(key)
    rows = []
    for i in sorted(indices):
        row = {c: form.get(f"{name}-{i}-{c}") for c in columns}
        if not all(is_blank(v) for v in row.values()):
            rows.append(row)
    return rows


def _missing_value(f: dict, cleaned: dict):
    if f["type"] in ("units", "rows"):
        return []
    # An unanswered optional yes/no question means "no"; a required one must be answered.
    if f["type"] == "boolean" and not _is_required(f, cleaned):
        return False
    return None


def _belongs(error_field: str, name: str) -> bool:
    return error_field == name or error_field.startswith(name + "[")


def _holds(cond: dict, cleaned: dict) -> bool:
    value = cleaned.get(cond["field"])
    if "in" in cond:
        return any(value == v and type(value) is type(v) for v in cond["in"])
    return value == cond["equals"] and type(value) is type(cond["equals"])


def _is_required(f: dict, cleaned: dict) -> bool:
    if f.get("required"):
        return True
    cond = f.get("required_when")
    if cond and _holds(cond, cleaned):
        return True
    other = f.get("required_when_empty")
    # A field that failed validation is absent from `cleaned`: its emptiness is unknown, so no extra error.
    return bool(other) and other in cleaned and cleaned[other] in (None, [])


def _describe_field(f: dict, unit_options: list[dict]) -> dict:
    entry = {"name": f["name"], "type": f["type"], "label": f["label"],
             "label_en": f.get("label_en", f["label"]), "required": bool(f.get("required"))}
    for key in _DESCRIBED:
        if key in f:
            entry[key] = f[key]
    if f["type"] == "select":
        entry["options"] = f["options"]
    elif f["type"] in ("unit", "units"):
        entry["options"] = unit_options
    elif f["type"] == "rows":
        entry["max_rows"] = f.get("max_rows", DEFAULT_MAX_ROWS)
        entry["columns"] = [_describe_field(c, unit_options) for c in f["columns"]]
    return entry


def _check_definition(form: str, raw: dict) -> None:
    """Catch typos in a definition file when it is loaded, not when a handler submits the form."""
    def fail(message):
        raise DefinitionError(f"form {form!r}: {message}")

    if not isinstance(raw, dict) or not isinstance(raw.get("title"), str) or not isinstance(raw.get("fields"), list):
        fail("needs a title and a list of fields")
    if raw.get("wrap") is not None and not (isinstance(raw["wrap"], str) and _NAME.match(raw["wrap"])):
        fail("wrap must be a variable name")
    for item in raw.get("context", []):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and _NAME.match(item["name"])
                and isinstance(item.get("label"), str)):
            fail("every context entry needs a variable name and a label")
    names = [f.get("name") for f in raw["fields"] if isinstance(f, dict)]
    if len(names) != len(raw["fields"]) or len(set(names)) != len(names):
        fail("field names must be present and unique")
    for f in raw["fields"]:
        _check_field(f, FIELD_TYPES, fail)
        for key in ("required_when", "must_contain_when"):
            cond = f.get(key)
            if cond is not None and not (isinstance(cond, dict) and cond.get("field") in names
                                         and (("equals" in cond) != isinstance(cond.get("in"), list))):
                fail(f"{f['name']}.{key} needs a known field and either equals or a list 'in'")
        if "must_contain_when" in f and not isinstance(f["must_contain_when"].get("text"), str):
            fail(f"{f['name']}.must_contain_when needs a text")
        if "required_when_empty" in f and f["required_when_empty"] not in names:
            fail(f"{f['name']}.required_when_empty names an unknown field")
        if f["type"] == "rows":
            columns = f.get("columns")
            if not isinstance(columns, list) or not columns:
                fail(f"{f['name']} needs columns")
            col_names = [c.get("name") for c in columns if isinstance(c, dict)]
            if len(col_names) != len(columns) or len(set(col_names)) != len(col_names):
                fail(f"{f['name']}: column names must be present and unique")
            for c in columns:
                _check_field(c, COLUMN_TYPES, fail)
                if set(c) & {"required_when", "required_when_empty", "must_contain_when"}:
                    fail(f"{f['name']}.{c['name']}: conditional constraints are not supported in columns")


def _check_field(f: dict, types: set[str], fail) -> None:
    if not (isinstance(f.get("name"), str) and _NAME.match(f["name"])):
        fail(f"bad field name {f.get('name')!r}")
    if f.get("type") not in types:
        fail(f"{f['name']}: type {f.get('type')!r} is not one of {sorted(types)}")
    if not isinstance(f.get("label"), str):
        fail(f"{f['name']} needs a label")
    if f["type"] == "select" and not (isinstance(f.get("options"), list) and f["options"]):
        fail(f"{f['name']} needs options")


FORM_SUFFIX = ".form.json"     # a deployment's own version of a form: "<name>.form.json"


def form_from_text(name: str, text: str) -> FormDefinition:
    """A form definition from a deployment file; raises DefinitionError (or ValueError for bad JSON)."""
    if not _NAME.match(name):
        raise DefinitionError(f"form {name!r}: the name must be lowercase letters, digits and _")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"form {name!r}: not JSON ({exc.msg}, line {exc.lineno})") from exc
    return FormDefinition(name, raw)


def repo_form_text(name: str) -> str:
    path = DEFINITIONS_DIR / f"{name}.json"
    if not _NAME.match(name) or not path.is_file():
        raise KeyError(name)
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def load_form(name: str) -> FormDefinition:
    if not name.replace("_", "").isalnum():
        raise KeyError(name)
    path = DEFINITIONS_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(name)
    return FormDefinition(name, json.loads(path.read_text(encoding="utf-8")))


def form_names() -> list[str]:
    return sorted(p.stem for p in DEFINITIONS_DIR.glob("*.json"))
