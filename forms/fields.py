"""Coercion of one submitted value per field type: ``coerce(field, raw, unit_codes) -> (value, errors)``.

Pure Python (no Flask). ``forms.definitions`` decides what is missing or required; this module only turns a
present value into its cleaned form or explains, in Chinese and English, why it cannot.

Errors inside a ``rows`` field name the cell: ``FieldError.field`` is ``"<rows>[<i>].<column>"`` with ``i`` the
0-based index of the row in the submitted list (the API payload's index); the messages count rows from 1
(第1行 / row 1). Errors about the list as a whole (too many rows, not a list) use the rows field's own name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_MAX_ROWS = 5
TRUE_WORDS = {"true", "1", "on", "yes", "是"}
FALSE_WORDS = {"false", "0", "off", "no", "否", ""}
LIST_SEPARATORS = re.compile(r"[,，、]")
_DATETIME_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

#: Types a form field may have, and the (smaller) set a ``rows`` column may have.
FIELD_TYPES = {"select", "unit", "units", "boolean", "integer", "text", "textarea", "datetime", "ticket", "rows"}
COLUMN_TYPES = {"text", "textarea", "integer", "unit", "ticket"}


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    zh: str
    en: str


def is_blank(raw) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def label_of(f: dict) -> tuple[str, str]:
    return f["label"], f.get("label_en", f["name"])


def err(f: dict, code: str, zh: str, en: str) -> FieldError:
    return FieldError(f["name"], code, zh, en)


def required_error(f: dict) -> FieldError:
    label, label_en = label_of(f)
    return err(f, "required", f"请填写“{label}”", f"{label_en} is required")


def split_list(raw: str) -> list[str]:
    """``"a, b，c"`` -> ``["a", "b", "c"]`` (ASCII and full-width commas, and 、)."""
    return [part.strip() for part in LIST_SEPARATORS.split(raw) if part.strip()]


def coerce(f: dict, raw, unit_codes: set[str] | None) -> tuple[object, list[FieldError]]:
    """Clean a present (non-blank) value of field ``f``; returns (value, errors)."""
    kind = f["type"]
    if kind == "rows":
        return _rows(f, raw, unit_codes)
    if kind == "units":
        value, error = _units(f, raw, unit_codes)
    elif kind == "datetime":
        value, error = _datetime(f, raw)
    else:
        value, error = _scalar(f, raw, unit_codes)
    return value, [error] if error else []


def _scalar(f: dict, raw, unit_codes):
    kind, (label, label_en) = f["type"], label_of(f)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return raw.strip().lower() in TRUE_WORDS, None
        return None, err(f, "not_boolean", f"“{label}”必须是是/否", f"{label_en} must be true or false")
    if kind in ("integer", "ticket"):
        value = None if isinstance(raw, bool) or isinstance(raw, float) else _int(raw)
        if kind == "ticket":
            if value is None or value < 1:
                return None, err(f, "not_ticket", f"“{label}”必须是工单编号（正整数）",
                                 f"{label_en} must be a ticket id (a positive integer)")
            return value, None
        if value is None:
            return None, err(f, "not_integer", f"“{label}”必须是整数", f"{label_en} must be an integer")
        if "min" in f and value < f["min"]:
            return None, err(f, "too_small", f"“{label}”不能小于{f['min']}", f"{label_en} must be >= {f['min']}")
        if "max" in f and value > f["max"]:
            return None, err(f, "too_large", f"“{label}”不能大于{f['max']}", f"{label_en} must be <= {f['max']}")
        return value, None
    if not isinstance(raw, str):
        return None, err(f, "not_text", f"“{label}”必须是文本", f"{label_en} must be text")
    value = raw.strip()
    if kind == "select":
        allowed = [o["value"] for o in f["options"]]
        if value not in allowed:
            return None, err(f, "not_an_option", f"“{label}”的取值无效", f"{label_en} must be one of {allowed}")
        return value, None
    if kind == "unit":
        if unit_codes is not None and value not in unit_codes:
            return None, err(f, "unknown_unit", f"单位“{value}”不存在", f"Unknown unit {value!r}")
        return value, None
    if "max_length" in f and len(value) > f["max_length"]:
        return None, err(f, "too_long", f"“{label}”不能超过{f['max_length']}字",
                         f"{label_en} must be at most {f['max_length']} characters")
    if "min_length" in f and len(value) < f["min_length"]:
        return None, err(f, "too_short", f"“{label}”至少{f['min_length']}字",
                         f"{label_en} must be at least {f['min_length']} characters")
    return value, None


def _int(raw) -> int | None:
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        return None
    return int(text)


def _units(f: dict, raw, unit_codes):
    """A list of unit codes: duplicates removed, order kept; a comma-separated string is accepted too."""
    label, label_en = label_of(f)
    not_a_list = err(f, "not_a_list", f"“{label}”必须是单位代码列表", f"{label_en} must be a list of unit codes")
    if isinstance(raw, str):
        items = split_list(raw)
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        return None, not_a_list
    codes: list[str] = []
    for item in items:
        if not isinstance(item, str):
            return None, not_a_list
        code = item.strip()
        if code and code not in codes:
            codes.append(code)
    unknown = [c for c in codes if unit_codes is not None and c not in unit_codes]
    if unknown:
        return None, err(f, "unknown_unit", f"单位“{'、'.join(unknown)}”不存在",
                         f"Unknown unit(s) {', '.join(repr(c) for c in unknown)}")
    if "max_items" in f and len(codes) > f["max_items"]:
        return None, err(f, "too_many", f"“{label}”最多选择{f['max_items']}个",
                         f"{label_en}: choose at most {f['max_items']}")
    return codes, None


def _datetime(f: dict, raw):
    """ISO 8601 date-time (also the browser's ``2026-12-01T09:30``); no zone means Asia/Shanghai."""
    label, label_en = label_of(f)
    bad = err(f, "not_datetime", f"“{label}”必须是日期时间，如 2026-12-01T09:30",
              f"{label_en} must be a date and time such as 2026-12-01T09:30")
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str) and _DATETIME_SHAPE.match(raw.strip()):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            return None, bad
    else:
        return None, bad
    try:
        value = value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value.astimezone(SHANGHAI)
    except (OverflowError, ValueError):
        return None, bad
    return value.isoformat(timespec="seconds"), None


def _rows(f: dict, raw, unit_codes):
    """A list of objects with exactly the column names; missing optional cells become None."""
    name, (label, label_en) = f["name"], label_of(f)
    if not isinstance(raw, (list, tuple)):
        return None, [err(f, "not_a_list", f"“{label}”必须是行的列表", f"{label_en} must be a list of rows")]
    max_rows, min_rows = f.get("max_rows", DEFAULT_MAX_ROWS), f.get("min_rows", 0)
    if len(raw) > max_rows:
        return None, [err(f, "too_many_rows", f"“{label}”最多{max_rows}行", f"{label_en}: at most {max_rows} rows")]
    columns = f["columns"]
    names = {c["name"] for c in columns}
    errors: list[FieldError] = []
    rows: list[dict] = []
    for i, row in enumerate(raw):
        where, n = f"{name}[{i}]", i + 1
        if not isinstance(row, dict):
            errors.append(FieldError(where, "row_not_an_object", f"“{label}”第{n}行必须是对象",
                                     f"{label_en} row {n} must be an object"))
            continue
        for extra in sorted(set(map(str, row)) - names):
            errors.append(FieldError(f"{where}.{extra}", "unknown_field", f"“{label}”第{n}行有未知列：{extra}",
                                     f"{label_en} row {n}: unknown column {extra}"))
        cleaned: dict = {}
        for c in columns:
            cell = {**c, "name": f"{where}.{c['name']}", "label": f"{label}第{n}行的{c['label']}",
                    "label_en": f"{label_en} row {n}: {c.get('label_en', c['name'])}"}
            value = row.get(c["name"])
            cleaned[c["name"]] = None
            if is_blank(value):
                if c.get("required"):
                    errors.append(required_error(cell))
                continue
            value, cell_errors = coerce(cell, value, unit_codes)
            errors.extend(cell_errors)
            cleaned[c["name"]] = value
        rows.append(cleaned)
    if not errors and len(rows) < min_rows:
        errors.append(err(f, "too_few_rows", f"“{label}”至少{min_rows}行", f"{label_en}: at least {min_rows} rows"))
    return (None if errors else rows), errors
