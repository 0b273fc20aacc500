"""What the periodic reports read, and the shape they are written in.

A report is a dict of sections (``metrics`` or ``table`` with typed columns and an optional chart), the
same for the browser page, the Excel workbook and the PDF (api/report_export.py). Cell values are the
data (unit and category names are the city's own Chinese names); titles and column labels carry both
languages.

``ReportContext`` reads a period's tickets once as plain rows and their facts and keywords through the
facts cache (engine/ticket_facts.py), so a month of 100,000 tickets is one pass over one row per ticket.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from .cities import LIFECYCLE_PROCESS, effective_units, load_city
from .clock import SHANGHAI
from .models import Ticket
from .ticket_facts import TICKET_COLUMNS, cached_facts, cached_terms

LIGHT_COLUMNS = (Ticket.id, Ticket.number, Ticket.request_type, Ticket.received_at, Ticket.closed_at,
                 Ticket.category, Ticket.unit_code, Ticket.citizen_phone, Ticket.address, Ticket.status)
REQUEST_TYPE_NAMES = {"consult": "咨询", "help": "求助", "suggestion": "建议", "complaint": "投诉", "report": "举报",
                      "praise": "表扬"}


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(day: date) -> date:
    return next_month(day) - timedelta(days=1)


def moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


# -- the report shape ------------------------------------------------------------------------------
def col(key: str, zh: str, en: str, fmt: str = "text") -> dict:
    return {"key": key, "label": {"zh": zh, "en": en}, "format": fmt}


def metric(key: str, zh: str, en: str, value, fmt: str = "int") -> dict:
    return {"key": key, "label": {"zh": zh, "en": en}, "value": value, "format": fmt}


def metrics(key: str, zh: str, en: str, items: list[dict]) -> dict:
    return {"key": key, "type": "metrics", "title": {"zh": zh, "en": en}, "items": items}


def table(key: str, zh: str, en: str, columns: list[dict], rows: list[dict], *, chart: dict | None = None,
          note: tuple[str, str] | None = None) -> dict:
    section = {"key": key, "type": "table", "title": {"zh": zh, "en": en}, "columns": columns, "rows": rows,
               "chart": chart}
    if note:
        section["note"] = {"zh": note[0], "en": note[1]}
    return section


def ticket_ref(row) -> dict:
    return {"id": row.id, "number": row.number}


def share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def change(now: int, before: int) -> float | None:
    return round((now - before) / before, 4) if before else None


# -- reading a period ------------------------------------------------------------------------------
class ReportContext:
    """The city's period [start, end] (inclusive days, Beijing time) and what the builders read of it."""

    def __init__(self, hotline, actor, city: str, start: date, end: date):
        self.hotline, self.actor = hotline, actor
        self.session: Session = hotline.session
        self.city, self.start, self.end = city, start, end
        self.lo, self.hi = moment(start), moment(end + timedelta(days=1))
        self.now = hotline.clock.now()

    @cached_property
    def city_name(self) -> str:
        return load_city(self.city).name

    @cached_property
    def units(self) -> dict[str, dict]:
        return {u["code"]: u for u in effective_units(self.session, self.city, include_inactive=True)}

    def unit_name(self, code: str | None) -> str:
        return (self.units.get(code) or {}).get("name", code or "（未派单）")

    @cached_property
    def category_names(self) -> dict[str, str]:
        from .insights import category_names
        return {code: names[0] for code, names in category_names(self.city).items()}

    def category_name(self, code: str | None) -> str:
        return self.category_names.get(code, code) if code else "（未分类）"

    def received(self, start: date, end: date, *, light: bool = False) -> list:
        """Tickets received in [start, end], merged duplicates included (each is a citizen's request).
        ``light`` leaves the text out (for periods only counted and whose cached words are read)."""
        columns = LIGHT_COLUMNS if light else TICKET_COLUMNS
        query = (select(*columns).where(Ticket.city == self.city, Ticket.process == LIFECYCLE_PROCESS,
                                               Ticket.received_at >= moment(start),
                                               Ticket.received_at < moment(end + timedelta(days=1)))
                 .order_by(Ticket.id))
        return list(self.session.execute(query))

    def closed(self, start: date, end: date) -> list:
        query = (select(*TICKET_COLUMNS).where(Ticket.city == self.city, Ticket.process == LIFECYCLE_PROCESS,
                                               Ticket.closed_at >= moment(start),
                                               Ticket.closed_at < moment(end + timedelta(days=1)))
                 .order_by(Ticket.id))
        return list(self.session.execute(query))

    @cached_property
    def rows(self) -> list:
        return self.received(self.start, self.end)

    def facts_and_terms(self, rows: list) -> tuple[dict, dict]:
        return cached_facts(self.session, self.city, rows, with_terms=True)

    def facts_of(self, rows: list) -> dict:
        return cached_facts(self.session, self.city, rows)[0]

    def terms_of(self, rows: list) -> dict:
        return cached_terms(self.session, self.city, rows)

    @cached_property
    def _period_facts_and_terms(self) -> tuple[dict, dict]:
        return self.facts_and_terms(self.rows)

    @property
    def facts(self) -> dict:
        return self._period_facts_and_terms[0]

    @property
    def terms(self) -> dict:
        return self._period_facts_and_terms[1]

    # -- grouping helpers ------------------------------------------------------------------------
    @cached_property
    def district_of_unit(self) -> dict[str, str | None]:
        """unit -> its district's name (the unit itself, or the district above a street office)."""
        out = {}
        for code in self.units:
            unit, seen = self.units.get(code), set()
            while unit and unit["code"] not in seen and unit.get("type") != "district":
                seen.add(unit["code"])
                unit = self.units.get(unit.get("parent"))
            out[code] = re.sub(r"(人民政府|政府|管委会)$", "", unit["name"]) if unit else None
        return out

    def district(self, row) -> str:
        return self.district_of_unit.get(row.unit_code) or "市级部门及其他"

    def count_by(self, rows: list, key) -> Counter:
        return Counter(key(r) for r in rows)


def hot_terms(terms: dict, ids: list[int], previous_terms: dict, previous_ids: list[int], top: int = 20) -> list[dict]:
    """Keywords by the number of tickets using them, against the previous period's tickets (the cached
    words: stop words and single characters are already left out)."""
    from itertools import chain
    now = Counter(chain.from_iterable(terms.get(i, ()) for i in ids))
    before = Counter(chain.from_iterable(previous_terms.get(i, ()) for i in previous_ids))
    rows = []
    for term, count in now.most_common(top):
        rows.append({"term": term, "count": count, "previous": before.get(term, 0),
                     "growth": round((count + 1) / (before.get(term, 0) + 1), 2)})
    return rows


def rising_terms(terms: dict, ids: list[int], previous_terms: dict, previous_ids: list[int], *, top: int = 20,
                 min_count: int = 3, min_growth: float = 2.0) -> list[dict]:
    from itertools import chain
    now = Counter(chain.from_iterable(terms.get(i, ()) for i in ids))
    before = Counter(chain.from_iterable(previous_terms.get(i, ()) for i in previous_ids))
    found = [{"term": t, "count": c, "previous": before.get(t, 0), "growth": round((c + 1) / (before.get(t, 0) + 1), 2)}
             for t, c in now.items() if c >= min_count and (c + 1) / (before.get(t, 0) + 1) >= min_growth]
    found.sort(key=lambda r: (-r["growth"], -r["count"], r["term"]))
    return found[:top]
