"""Insight commands of the facade: hot issues (多人一投 clusters and 一人多投 citizens per day, week or month)
and hot words (keywords by area or category, rising against the previous period). Mixed into ``Hotline``.

They read plain ticket columns of one city and period and hand them to the pure computations in
``engine/ai/clustering.py`` and ``engine/ai/hotwords.py``. Only tickets count (``process`` =
``ticket_lifecycle``: no supervision orders or consultations), by their ``received_at``; a duplicate
merged into a master ticket counts only when ``include_merged`` is asked for. Read-only: nothing is
written, so no lock is taken.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from .accounts import Principal
from .ai import clustering, hotwords
from .personal_data import mask_name, mask_phone
from .cities import LIFECYCLE_PROCESS, effective_units, load_city
from .clock import SHANGHAI
from .errors import field_error
from .models import Ticket

PERIODS = ("day", "week", "month")
GROUPINGS = ("area", "category")
MAX_SPAN_DAYS = 92          # one quarter: a longer period is a report, not a live view


def category_names(city: str) -> dict[str, tuple[str, str]]:
    """The city's first-level categories: code -> (Chinese, English)."""
    from .dispatch_model import city_categories
    return {c["code"]: (c.get("name_zh") or c.get("name") or c["code"], c.get("name_en") or c["code"])
            for c in city_categories(city)}


def buckets(start: date, end: date, period: str) -> list[tuple[date, date]]:
    """[start, end] cut into days, Monday-to-Sunday weeks or calendar months (the first and last clipped)."""
    result, day = [], start
    while day <= end:
        if period == "day":
            last = day
        elif period == "week":
            last = day + timedelta(days=6 - day.weekday())
        else:
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        last = min(last, end)
        result.append((day, last))
        day = last + timedelta(days=1)
    return result


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def _category_of(record):
    return record.category


class InsightCommands:
    def _insight_period(self, actor: Principal, city: str, start: date | None, end: date | None,
                        default_days: int) -> tuple[date, date]:
        from .facade import DASHBOARD_ROLES
        self._require(actor, *DASHBOARD_ROLES)
        load_city(city)
        today = self.clock.now().astimezone(SHANGHAI).date()
        end = end or today
        start = start or end - timedelta(days=default_days - 1)
        if start > end:
            raise field_error("from", "after_to", "开始日期不能晚于结束日期", "must not be after 'to'",
                              message_zh="统计期间有误", message_en="The period is invalid")
        if (end - start).days + 1 > MAX_SPAN_DAYS:
            raise field_error("to", "span_too_long", f"统计期间最长{MAX_SPAN_DAYS}天",
                              f"the period may span at most {MAX_SPAN_DAYS} days",
                              message_zh="统计期间有误", message_en="The period is invalid")
        return start, end

    def _insight_rows(self, city: str, start: date, end: date, include_merged: bool) -> list:
        query = (select(Ticket.id, Ticket.number, Ticket.title, Ticket.content, Ticket.citizen_phone,
                        Ticket.citizen_name, Ticket.address, Ticket.received_at, Ticket.category, Ticket.unit_code)
                 .where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS,
                        Ticket.received_at >= _moment(start), Ticket.received_at < _moment(end + timedelta(days=1)))
                 .order_by(Ticket.received_at, Ticket.id))
        if not include_merged:
            query = query.where(Ticket.merged_into_id.is_(None))
        return list(self.session.execute(query))

    @staticmethod
    def _record(row) -> clustering.Record:
        phone = re.sub(r"\D", "", row.citizen_phone or "")
        return clustering.Record(id=row.id, citizen=phone or None, title=row.title or "", content=row.content or "",
                                 received_at=row.received_at, address=row.address, category=row.category)

    # -- hot issues ----------------------------------------------------------------------------------
    def hot_issues(self, actor: Principal, city: str, start: date | None = None, end: date | None = None,
                   period: str = "day", *, include_merged: bool = False) -> dict:
        """Per day, week or month of [start, end]: the clusters of tickets about one matter from two or
        more citizens (多人一投) and the citizens with two or more tickets (一人多投), with their matters."""
        if period not in PERIODS:
            raise field_error("period", "not_an_option", f"统计周期必须是{list(PERIODS)}之一",
                              f"must be one of {list(PERIODS)}")
        start, end = self._insight_period(actor, city, start, end, default_days=7)
        rows = self._insight_rows(city, start, end, include_merged)
        brief = {r.id: {"id": r.id, "number": r.number, "title": r.title, "received_at": r.received_at,
                        "category": r.category} for r in rows}
        people = {}
        for r in rows:
            key = re.sub(r"\D", "", r.citizen_phone or "")
            if key:
                people.setdefault(key, (mask_phone(key), mask_name(r.citizen_name)))
        result = []
        for first, last in buckets(start, end, period):
            lo, hi = _moment(first), _moment(last + timedelta(days=1))
            records = [self._record(r) for r in rows if lo <= r.received_at < hi]
            found = clustering.hot_issues(records)
            for issue in found[clustering.MANY_PEOPLE]:
                issue["tickets"] = [brief[i] for i in issue["ticket_ids"]]
            for person in found[clustering.ONE_PERSON]:
                person["citizen"], person["citizen_name"] = people[person["citizen"]]
                person["tickets"] = [brief[i] for i in person["ticket_ids"]]
            result.append({"start": first, "end": last, "tickets": found["tickets"],
                           "many_people_one_issue": found[clustering.MANY_PEOPLE],
                           "one_person_many_tickets": found[clustering.ONE_PERSON]})
        return {"city": city, "from": start, "to": end, "period": period, "tickets": len(rows),
                "threshold": clustering.THRESHOLD, "buckets": result}

    # -- hot words -----------------------------------------------------------------------------------
    def hot_words(self, actor: Principal, city: str, start: date | None = None, end: date | None = None,
                  by: str | None = None, *, include_merged: bool = False, top: int = hotwords.TOP) -> dict:
        """Keywords of the tickets received in [start, end] (by default today), overall or per area or
        category, and the terms rising against the period of equal length just before."""
        if by is not None and by not in GROUPINGS:
            raise field_error("by", "not_an_option", f"分组方式必须是{list(GROUPINGS)}之一",
                              f"must be one of {list(GROUPINGS)}")
        start, end = self._insight_period(actor, city, start, end, default_days=1)
        days = (end - start).days + 1
        previous_start, previous_end = start - timedelta(days=days), start - timedelta(days=1)
        current = self._insight_rows(city, start, end, include_merged)
        previous = self._insight_rows(city, previous_start, previous_end, include_merged)
        group_of = None
        if by == "category":
            group_of = _category_of
        elif by == "area":
            group_of = self._area_grouping(city, current + previous)
        found = hotwords.hot_words([self._record(r) for r in current], [self._record(r) for r in previous],
                                   group_of=group_of, top=top)
        return {"city": city, "from": start, "to": end, "previous_from": previous_start,
                "previous_to": previous_end, "by": by, **found}

    def _area_grouping(self, city: str, rows: list):
        """record -> district: named in the ticket, else the district of the unit it went to."""
        units = {u["code"]: u for u in effective_units(self.session, city, include_inactive=True)}
        districts = {code: u for code, u in units.items() if u.get("type") == "district"}
        known = hotwords.area_names(u["name"] for u in districts.values())

        def unit_area(code):
            """The district of a unit: itself, or the district above a street office."""
            unit, seen = units.get(code), set()
            while unit and unit["code"] not in seen and unit["code"] not in districts:
                seen.add(unit["code"])
                unit = units.get(unit.get("parent"))
            names = hotwords.area_names([unit["name"]]) if unit and unit["code"] in districts else []
            return names[0] if names else None

        unit_of = {r.id: r.unit_code for r in rows}
        city_name = load_city(city).name
        exclude = {city_name, city_name + "市", re.sub(r"市$", "", city_name) + "市"}

        def group_of(record):
            return hotwords.area_of(record, known, exclude, unit_area(unit_of.get(record.id)))
        return group_of

