"""Each city's scoring method as rules (``rules/<city>/scoring.json``), item by item with the tickets
behind every deduction, over the KPI facts of the event log plus manual entries with evidence.

A method has sections (Suzhou: 日常工作 80, 重点工作 20, 附加 ±5). Every item starts at its maximum and
loses points, never below zero ("扣完为止"), by its type:

* ``per_ticket``: ``points`` per ticket with the fact (sign overdue, improper return, overdue); optionally
  the whole item when one ticket has the fact ``whole_item_when_one_ticket_has`` times;
* ``rate_threshold``: ``points`` per full ``step`` the unit's rate is below its threshold (by unit type);
* ``below_average``: ``per_point`` per full percentage point below the mean rate of the city's units of
  the same type (承办单位分类分别计算: districts against districts, departments against departments);
* ``above_baseline``: ``per_day`` per full working day the unit's average handling time exceeds its
  baseline, the longer of the mean of its type's units and the mean prescribed limit of its own tickets
  (Suzhou 办理时效: 取平均办结时限和规定时限二者较长者为基准);
* ``per_tier``: points per supervision order of each tier;
* ``rate``: the item's maximum × the unit's rate (Suqian's 百分制: on time, satisfaction, resolution); no
  ticket to rate keeps the maximum;
* ``manual``: the deductions the centre entered (points ≤ 0) with evidence.

A method may score ``scopes`` of tickets separately (Suqian: provincial and city tickets, by channel),
and a period ``YYYY`` gives each unit the mean of its monthly totals (Suqian: the year is the average of
its twelve months; a month in which the unit had no ticket and no entry is left out of its mean).

``bonus``/``penalty`` items of an ``additive`` section add entered points (capped at the item's
maximum), and the section is clamped to its [min, max]. A section marked ``prorate_when_absent``
without any entry for the unit is a reasonable absence (合理缺项): the other sections are scaled up to
the method's full score.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from sqlalchemy import select

from .cities import RULES_DIR, city_raw, load_city
from .errors import NotFound, PermissionDenied, ValidationFailed, field_error
from .kpis import KPI_ROLES
from .models import ScoreEntry
from .report_data import month_end

EPS = 1e-9
ENTRY_ROLES = ("supervisor", "admin")


@lru_cache(maxsize=16)
def _method_file(path: str, mtime: float) -> dict:
    return json.loads(open(path, encoding="utf-8").read())


def scoring_method(city: str) -> dict:
    """The city's method, inherited along ``extends`` like the rest of the rule set."""
    for code in [city, *reversed(city_raw(city).get("extends") or [])]:
        path = RULES_DIR / code / "scoring.json"
        if path.is_file():
            return _method_file(str(path), path.stat().st_mtime)
    raise NotFound(f"城市 {city} 的规则集没有考核办法", f"The rule set of {city!r} has no scoring method")


def month_bounds(period: str) -> tuple[date, date]:
    try:
        year, month = (int(p) for p in period.split("-"))
        first = date(year, month, 1)
    except ValueError as exc:
        raise field_error("period", "invalid_period", "考核周期应为 YYYY-MM", "period must be YYYY-MM") from exc
    last = month_end(first)
    return first, last


def _round(value: float) -> float:
    """Scores are published to two decimals, halves rounded up (95.375 → 95.38), as a person would."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) + 0.0


def score_item(item: dict, row: dict | None, average: dict, unit_type: str, entries: list) -> dict:
    """One item: its points, its deduction (or addition) and why, with the tickets behind it."""
    kind, top = item["type"], float(item["max"])
    evidence = (row or {}).get("evidence") or {}
    lost, why = 0.0, {}
    if kind == "per_ticket":
        facts = evidence.get(item["fact"]) or []
        tickets = sorted(facts) if not isinstance(facts, dict) else sorted(facts)
        lost = item["points"] * len(tickets)
        whole_at = item.get("whole_item_when_one_ticket_has")
        if whole_at and isinstance(facts, dict) and any(n >= whole_at for n in facts.values()):
            lost = top
        why = {"tickets": tickets, "count": len(tickets)}
    elif kind == "rate_threshold":
        rate = (row or {}).get(item["measure"])
        threshold = item["thresholds"].get(unit_type, item["thresholds"]["default"])
        if rate is not None and rate < threshold:
            lost = item["points"] * math.floor((threshold - rate) / item["step"] + EPS)
        why = {"rate": rate, "threshold": threshold}
    elif kind == "below_average":
        rate, mean = (row or {}).get(item["measure"]), average.get((item["measure"], unit_type))
        if rate is not None and mean is not None and rate < mean:
            lost = item["per_point"] * math.floor((mean - rate) * 100 + EPS)
        why = {"rate": rate, "average": None if mean is None else round(mean, 4)}
    elif kind == "above_baseline":
        value, limit = (row or {}).get(item["measure"]), (row or {}).get(item["limit"])
        mean = average.get((item["measure"], unit_type))
        known = [v for v in (mean, limit) if v is not None]
        baseline = max(known) if known else None
        if value is not None and baseline is not None and value > baseline:
            lost = item["per_day"] * math.floor(value - baseline + EPS)
        why = {"value": value, "average": None if mean is None else round(mean, 2), "limit": limit,
               "baseline": None if baseline is None else round(baseline, 2)}
    elif kind == "rate":
        rate = (row or {}).get(item["measure"])
        lost = 0.0 if rate is None else top * (1 - rate)
        tickets = sorted(evidence.get(item["fact"]) or []) if item.get("fact") else []
        why = {"rate": rate, "tickets": tickets, "count": len(tickets)}
    elif kind == "per_tier":
        tiers = evidence.get("tiers") or {}
        lost = sum(item["points"].get(t, 0) * len(ids) for t, ids in tiers.items())
        why = {"tiers": {t: ids for t, ids in tiers.items() if t in item["points"]},
               "tickets": sorted({i for t, ids in tiers.items() if t in item["points"] for i in ids})}
    manual = [e for e in entries if e.item == item["code"]]
    if kind in ("bonus", "penalty"):
        added = sum(e.points for e in manual)
        points = max(-top, min(0.0, added)) if kind == "penalty" else max(0.0, min(top, added))
        return {**_head(item), "points": _round(points), "entries": [_entry(e) for e in manual]}
    lost += -sum(e.points for e in manual)
    points = max(0.0, top - lost)
    return {**_head(item), "points": _round(points), "deduction": _round(top - points), **why,
            "entries": [_entry(e) for e in manual]}


def _head(item: dict) -> dict:
    return {"code": item["code"], "name": item["name"], "clause": item.get("clause"), "type": item["type"],
            "max": item["max"]}


def _entry(e: ScoreEntry) -> dict:
    return {"id": e.id, "points": e.points, "reason": e.reason, "evidence": e.evidence, "tickets": e.ticket_ids,
            "entered_by": e.entered_by, "entered_at": e.entered_at.isoformat()}


def unit_score(method: dict, row: dict | None, average: dict, unit_type: str, entries: list) -> dict:
    sections, base_total, base_present = [], 0.0, 0.0
    for section in method["sections"]:
        items = [score_item(i, row, average, unit_type, entries) for i in section["items"]]
        codes = {i["code"] for i in section["items"]}
        absent = bool(section.get("prorate_when_absent")) and not any(e.item in codes for e in entries)
        points = sum(i["points"] for i in items)
        if section.get("additive"):
            points = max(section.get("min", -section["max"]), min(section["max"], points))
        else:
            base_total += section["max"]
            base_present += 0 if absent else section["max"]
        sections.append({"code": section["code"], "name": section["name"], "max": section["max"],
                         "absent": absent, "points": _round(0 if absent else points), "items": items})
    base = sum(s["points"] for s, m in zip(sections, method["sections"]) if not m.get("additive"))
    extra = sum(s["points"] for s, m in zip(sections, method["sections"]) if m.get("additive"))
    scale = base_total / base_present if base_present else 1.0
    return {"sections": sections, "prorated": scale != 1.0, "total": _round(base * scale + extra)}


class ScoringCommands:
    def unit_scores(self, actor, city: str, period: str) -> dict:
        """Every unit's score for a month (YYYY-MM), each item with its deduction and the tickets behind it;
        for a year (YYYY), each unit's mean of its monthly totals."""
        if not actor.has(*KPI_ROLES, "system"):
            raise PermissionDenied()
        method = scoring_method(city)
        if len(period) == 4 and period.isdigit():
            return self._yearly_scores(actor, city, period)
        first, last = month_bounds(period)
        entries = defaultdict(list)
        for e in self.session.scalars(select(ScoreEntry).where(ScoreEntry.city == city, ScoreEntry.period == period)
                                      .order_by(ScoreEntry.id)):
            entries[e.unit_code].append(e)
        kpis, scored = self._score_scope(actor, city, method, first, last, entries, {})
        for name, scope in (method.get("scopes") or {}).items():
            selection = {"channels": tuple(scope["channels"])} if scope.get("channels") else \
                {"exclude_channels": tuple(scope["exclude_channels"])}
            _kpis, part = self._score_scope(actor, city, method, first, last, {}, selection)
            totals = {s["unit"]: s["total"] for s in part}
            for s in scored:
                s.setdefault("scopes", {})[name] = totals.get(s["unit"])
        scored.sort(key=lambda s: (-s["total"], s["unit"]))
        for rank, s in enumerate(scored, 1):
            s["rank"] = rank
        return {"city": city, "period": period, "from": first, "to": last, "period_rule": kpis["period_rule"],
                "items": scored}

    def _score_scope(self, actor, city, method, first, last, entries, selection) -> tuple[dict, list]:
        kpis = self.unit_kpis(actor, city, first, last, **selection)
        rows = {r["unit"]: r for r in kpis["items"]}
        city_units = {u["code"]: u for u in load_city(city).units}
        type_of = {code: (city_units.get(code) or {}).get("type", "department") for code in set(rows) | set(entries)}
        average = {}
        for item in (i for s in method["sections"] for i in s["items"] if i["type"] in ("below_average", "above_baseline")):
            for unit_type in set(type_of.values()):
                values = [r[item["measure"]] for code, r in rows.items()
                          if type_of[code] == unit_type and r.get(item["measure"]) is not None]
                average[(item["measure"], unit_type)] = sum(values) / len(values) if values else None
        scored = []
        for code in sorted(set(rows) | set(entries)):
            scored.append({"unit": code, "unit_type": type_of[code],
                           **unit_score(method, rows.get(code), average, type_of[code], entries.get(code, []))})
        return kpis, scored

    def _yearly_scores(self, actor, city: str, year: str) -> dict:
        months = [self.unit_scores(actor, city, f"{year}-{m:02d}") for m in range(1, 13)]
        totals: dict[str, list] = defaultdict(list)
        for month in months:
            for s in month["items"]:
                totals[s["unit"]].append((month["period"], s["total"]))
        items = [{"unit": unit, "total": _round(sum(t for _p, t in values) / len(values)),
                  "months": {p: t for p, t in values}} for unit, values in totals.items()]
        items.sort(key=lambda s: (-s["total"], s["unit"]))
        for rank, s in enumerate(items, 1):
            s["rank"] = rank
        return {"city": city, "period": year, "from": date(int(year), 1, 1), "to": date(int(year), 12, 31),
                "period_rule": months[0]["period_rule"], "items": items}

    def add_score_entry(self, actor, city: str, period: str, unit: str, item: str, points: float, reason: str,
                        evidence: str, ticket_ids: list[int] | None = None) -> ScoreEntry:
        """A manual item (a deduction ≤ 0, or a bonus/penalty of the additive section) with its evidence."""
        if not actor.has(*ENTRY_ROLES, "system"):
            raise PermissionDenied("只有督办员或管理员可以录入考核事项", "Only a supervisor or administrator may enter items")
        method = scoring_method(city)
        month_bounds(period)      # manual items belong to a month, also in a method scored by year
        items = {i["code"]: i for s in method["sections"] for i in s["items"]}
        errors = {}
        if item not in items:
            errors["item"] = [{"code": "unknown_item", "message_zh": f"考核办法中没有事项 {item}",
                               "message_en": f"no item {item!r} in the method"}]
        elif items[item]["type"] not in ("manual", "bonus", "penalty") and points > 0:
            errors["points"] = [{"code": "not_a_deduction", "message_zh": "自动计算的事项只能录入扣分（负数）",
                                 "message_en": "a computed item takes deductions (negative points) only"}]
        elif items[item]["type"] == "bonus" and points < 0 or items[item]["type"] in ("manual", "penalty") and points > 0:
            errors["points"] = [{"code": "wrong_sign", "message_zh": "加分事项为正数，扣分事项为负数（或0表示已核查无扣分）",
                                 "message_en": "bonus items take positive points, deductions negative (0: checked)"}]
        if unit not in {u["code"] for u in load_city(city).units}:
            errors["unit"] = [{"code": "unknown_unit", "message_zh": f"未知单位 {unit}", "message_en": f"unknown unit {unit!r}"}]
        if not (evidence or "").strip():
            errors["evidence"] = [{"code": "required", "message_zh": "请提供依据（文号、链接或附件）",
                                   "message_en": "give the evidence (document, link or attachment)"}]
        if errors:
            raise ValidationFailed(details=errors)
        entry = ScoreEntry(city=city, period=period, unit_code=unit, item=item, points=float(points),
                           reason=reason.strip(), evidence=evidence.strip(), ticket_ids=list(ticket_ids or []),
                           entered_by=actor.username, entered_at=self.clock.now())
        self.session.add(entry)
        self.session.flush()
        from .rulesets import record_admin_event
        record_admin_event(self.session, "score_entry_added", actor.username, self.clock.now(),
                           {"city": city, "period": period, "unit": unit, "item": item, "points": entry.points,
                            "evidence": entry.evidence, "entry_id": entry.id})
        return entry
