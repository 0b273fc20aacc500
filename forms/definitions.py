"""Task-form definitions: one JSON file per form in ``forms/definitions/``.

The same definition renders the HTML task page and validates API completions, so a handler's
browser and an integration see exactly the same rules. Pure Python: no Flask here.

Field types: ``select`` (fixed options), ``unit`` (a unit of the ticket's city), ``boolean``,
``integer``, ``text``, ``textarea``. Constraints: ``required``, ``required_when``
({"field": name, "equals": value}), ``max_length``, ``min_length``, ``min``, ``max``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
_TRUE = {"true", "1", "on", "yes", "是"}
_FALSE = {"false", "0", "off", "no", "否", ""}


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    zh: str
    en: str


class FormDefinition:
    def __init__(self, name: str, raw: dict):
        self.name = name
        self.title = raw["title"]
        self.title_en = raw.get("title_en", self.title)
        self.fields: list[dict] = raw["fields"]

    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def describe(self, unit_options: list[dict] | None = None) -> dict:
        """The public form description: fields with name, type, label, required, options."""
        fields = []
        for f in self.fields:
            entry = {"name": f["name"], "type": f["type"], "label": f["label"],
                     "label_en": f.get("label_en", f["label"]), "required": bool(f.get("required"))}
            for key in ("required_when", "max_length", "min_length", "min", "max", "help"):
                if key in f:
                    entry[key] = f[key]
            if f["type"] == "select":
                entry["options"] = f["options"]
            elif f["type"] == "unit":
                entry["options"] = unit_options or []
            fields.append(entry)
        return {"name": self.name, "title": self.title, "title_en": self.title_en, "fields": fields}

    def validate(self, data: dict, unit_codes: set[str] | None = None) -> tuple[dict, list[FieldError]]:
        """Return (cleaned values, errors). Unknown fields are errors: nothing is silently dropped."""
        errors: list[FieldError] = []
        if not isinstance(data, dict):
            return {}, [FieldError("_", "not_an_object", "表单数据必须是对象", "Form data must be an object")]
        known = set(self.field_names())
        for extra in sorted(set(data) - known):
            errors.append(FieldError(extra, "unknown_field", f"未知字段：{extra}", f"Unknown field: {extra}"))
        cleaned: dict = {}
        for f in self.fields:
            name = f["name"]
            raw = data.get(name)
            if raw is None or (isinstance(raw, str) and raw.strip() == "" and f["type"] != "boolean"):
                # An unanswered optional yes/no question means "no"; a required one must be answered.
                optional_flag = f["type"] == "boolean" and not _is_required(f, cleaned)
                cleaned[name] = False if optional_flag else None
                continue
            value, error = _coerce(f, raw, unit_codes)
            if error:
                errors.append(error)
            else:
                cleaned[name] = value
        for f in self.fields:
            if any(e.field == f["name"] for e in errors):
                continue
            if _is_required(f, cleaned) and cleaned.get(f["name"]) is None:
                errors.append(FieldError(f["name"], "required", f"请填写“{f['label']}”",
                                         f"{f.get('label_en', f['name'])} is required"))
        return cleaned, errors


def _is_required(f: dict, cleaned: dict) -> bool:
    if f.get("required"):
        return True
    cond = f.get("required_when")
    return bool(cond) and cleaned.get(cond["field"]) == cond["equals"]


def _err(f, code, zh, en):
    return FieldError(f["name"], code, zh, en)


def _coerce(f: dict, raw, unit_codes):
    kind, label, label_en = f["type"], f["label"], f.get("label_en", f["name"])
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE, None
        return None, _err(f, "not_boolean", f"“{label}”必须是是/否", f"{label_en} must be true or false")
    if kind == "integer":
        if isinstance(raw, bool):
            return None, _err(f, "not_integer", f"“{label}”必须是整数", f"{label_en} must be an integer")
        try:
            value = int(str(raw).strip())
        except ValueError:
            return None, _err(f, "not_integer", f"“{label}”必须是整数", f"{label_en} must be an integer")
        if "min" in f and value < f["min"]:
            return None, _err(f, "too_small", f"“{label}”不能小于{f['min']}", f"{label_en} must be >= {f['min']}")
        if "max" in f and value > f["max"]:
            return None, _err(f, "too_large", f"“{label}”不能大于{f['max']}", f"{label_en} must be <= {f['max']}")
        return value, None
    if not isinstance(raw, str):
        return None, _err(f, "not_text", f"“{label}”必须是文本", f"{label_en} must be text")
    value = raw.strip()
    if kind == "select":
        allowed = [o["value"] for o in f["options"]]
        if value not in allowed:
            return None, _err(f, "not_an_option", f"“{label}”的取值无效", f"{label_en} must be one of {allowed}")
        return value, None
    if kind == "unit":
        if unit_codes is not None and value not in unit_codes:
            return None, _err(f, "unknown_unit", f"单位“{value}”不存在", f"Unknown unit {value!r}")
        return value, None
    if "max_length" in f and len(value) > f["max_length"]:
        return None, _err(f, "too_long", f"“{label}”不能超过{f['max_length']}字",
                          f"{label_en} must be at most {f['max_length']} characters")
    if "min_length" in f and len(value) < f["min_length"]:
        return None, _err(f, "too_short", f"“{label}”至少{f['min_length']}字",
                          f"{label_en} must be at least {f['min_length']} characters")
    return value, None


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
