"""Responsibility matrix for cross-department matters (职能交叉事件分流处置细则, Rugao 003).

A city may ship ``rules/<city>/responsibility_matrix.json``: a list of matters, each naming its lead
(牵头), host (主办) and assisting (协办) units, plus optional keywords. A rule set that extends another
inherits its matrix unless it has its own. At dispatch the matters whose name or keywords occur in the
ticket are suggested (lead → 承办单位, host and assisting → 协办单位); the dispatcher decides.

Row format::

    {"matter": "占道经营", "domain": "市容市政", "keywords": ["占道", "摊贩"],
     "lead": "<unit>", "host": "<unit or null>", "assisting": ["<unit>", ...]}
"""
from __future__ import annotations

import json

from .cities import _city_dir, _lineage, load_city

FILE = "responsibility_matrix.json"
KEYS = {"matter", "domain", "keywords", "lead", "host", "assisting"}


class MatrixError(ValueError):
    pass


def load_matrix(city: str) -> list[dict]:
    """The effective matrix of a city (the nearest rule set in its lineage that has one), validated."""
    rows = None
    for name in _lineage(city):
        path = _city_dir(name) / FILE
        if path.is_file():
            rows = json.loads(path.read_text(encoding="utf-8"))
    if rows is None:
        return []
    return validate(city, rows)


def validate(city: str, rows) -> list[dict]:
    units = {u["code"] for u in load_city(city).units}
    if not isinstance(rows, list):
        raise MatrixError(f"{city}: {FILE} must be a list of matters")
    seen = set()
    for number, row in enumerate(rows, start=1):
        where = f"{city}: {FILE} row {number}"
        if not isinstance(row, dict) or not isinstance(row.get("matter"), str) or not row["matter"].strip():
            raise MatrixError(f"{where}: needs a matter name")
        if set(row) - KEYS:
            raise MatrixError(f"{where}: unknown keys {sorted(set(row) - KEYS)}")
        if row["matter"] in seen:
            raise MatrixError(f"{where}: matter {row['matter']!r} listed twice")
        seen.add(row["matter"])
        named = [row.get("lead"), *([row["host"]] if row.get("host") else []), *row.get("assisting", [])]
        unknown = [u for u in named if u not in units]
        if unknown:
            raise MatrixError(f"{where}: unknown units {unknown}")
        if not all(isinstance(k, str) and k for k in row.get("keywords", [])):
            raise MatrixError(f"{where}: keywords must be non-empty strings")
    return rows


def suggest(city: str, text: str, limit: int = 3) -> list[dict]:
    """Matters mentioned in the text, most keyword hits first: lead unit and the units to assist."""
    scored = []
    for row in load_matrix(city):
        terms = [row["matter"], *row.get("keywords", [])]
        hits = sorted({t for t in terms if t in text})
        if hits:
            assisting = [u for u in [row.get("host"), *row.get("assisting", [])] if u and u != row["lead"]]
            scored.append((len(hits), {"matter": row["matter"], "domain": row.get("domain"), "lead": row["lead"],
                                       "host": row.get("host"), "assisting_units": list(dict.fromkeys(assisting)),
                                       "matched": hits}))
    scored.sort(key=lambda pair: -pair[0])
    return [row for _, row in scored[:limit]]
