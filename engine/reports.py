"""Periodic reports: what each kind covers, when it is issued and to whom, and the facade commands.

Periods: a day ``YYYY-MM-DD`` (daily), an ISO week ``YYYY-Www`` (weekly) or a month ``YYYY-MM``.
Without a period, the latest one already due is meant (yesterday, last week, last month).

When (宿州 附件6 and 附件3/4; a city may change ``reports`` in city.json):

* daily: the next morning at 08:00, to the units' leaders (第五条);
* weekly: the next Tuesday at 09:00, to the city leaders and the units' leaders (第六条);
* monthly: within the first week of the next month (the 3rd, 09:00), to both (第七条);
* chokepoint: the 5th of the next month, to the city leaders (第八条: 以月为单位);
* supervision_monthly: the 3rd of the next month, to the city leaders (附件3 第六条);
* consultation_monthly: the 25th of the same month (每月下旬), to the city leaders (附件4 第七条).

``issue_due_reports`` (run by the scheduler process) issues every report that is due and not issued
yet: it is stored as issued (``reports``) and each recipient gets a message linking to it. The unique
(city, kind, period) row makes a second scheduler's attempt fail instead of sending twice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from sqlalchemy import select

from .cities import calendar_for, city_raw, load_city
from .clock import SHANGHAI
from .errors import NotFound, PermissionDenied, field_error
from .kpis import KPI_ROLES
from .models import Deployment, IssuedReport, Message
from .notifications import deliver_after
from .report_cases import chokepoint, consultation_monthly, supervision_monthly
from .report_data import ReportContext, month_end
from .report_kinds import daily, monthly, weekly

UNIT_LEADERS = ("leader", "principal")
WIDE_ROLES = KPI_ROLES + UNIT_LEADERS           # the reports sent to the units may be read by their leaders
ISSUE_ROLES = ("supervisor", "admin")


@dataclass(frozen=True)
class Kind:
    code: str
    zh: str
    en: str
    period: str                      # day | week | month
    build: Callable
    readers: tuple
    recipients: tuple                # roles of the city's users who receive it
    issue: tuple                     # (offset, hour): days after the period ends, or ("dom", day of month)


KINDS = {k.code: k for k in (
    Kind("daily", "热点问题日报", "Daily hot-issue report", "day", daily, WIDE_ROLES, UNIT_LEADERS, ("after", 1, 8)),
    Kind("weekly", "趋势问题周报", "Weekly trend report", "week", weekly, WIDE_ROLES,
         ("city_leader",) + UNIT_LEADERS, ("after", 2, 9)),
    Kind("monthly", "重点问题月报", "Monthly key-issue report", "month", monthly, WIDE_ROLES,
         ("city_leader",) + UNIT_LEADERS, ("next_month_day", 3, 9)),
    Kind("chokepoint", "堵点问题专报", "Chokepoint report", "month", chokepoint, KPI_ROLES, ("city_leader",),
         ("next_month_day", 5, 9)),
    Kind("supervision_monthly", "督查月报", "Supervision monthly report", "month", supervision_monthly, KPI_ROLES,
         ("city_leader",), ("next_month_day", 3, 9)),
    Kind("consultation_monthly", "会商月报", "Consultation monthly report", "month", consultation_monthly, KPI_ROLES,
         ("city_leader",), ("same_month_day", 25, 9)),
)}


def kind_of(code: str) -> Kind:
    if code not in KINDS:
        raise NotFound(f"没有这种报告：{code}", f"No report kind {code!r}")
    return KINDS[code]


# -- periods ---------------------------------------------------------------------------------------
def period_bounds(kind: Kind, period: str) -> tuple[date, date]:
    """The inclusive days of ``period``; a malformed period is a 422 naming the expected form."""
    try:
        if kind.period == "day" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
            day = date.fromisoformat(period)
            return day, day
        if kind.period == "week" and re.fullmatch(r"\d{4}-W\d{2}", period):
            monday = date.fromisocalendar(int(period[:4]), int(period[6:]), 1)
            return monday, monday + timedelta(days=6)
        if kind.period == "month" and re.fullmatch(r"\d{4}-\d{2}", period):
            first = date(int(period[:4]), int(period[5:]), 1)
            return first, month_end(first)
    except ValueError:
        pass
    form = {"day": "YYYY-MM-DD", "week": "YYYY-Www", "month": "YYYY-MM"}[kind.period]
    raise field_error("period", "invalid_period", f"{kind.zh}的周期应为 {form}", f"the period of this report is {form}")


def period_of(kind: Kind, day: date) -> str:
    if kind.period == "day":
        return day.isoformat()
    if kind.period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


def issue_time(kind: Kind, period: str) -> datetime:
    start, end = period_bounds(kind, period)
    rule, n, hour = kind.issue
    if rule == "after":
        day = end + timedelta(days=n)
    elif rule == "next_month_day":
        day = (end + timedelta(days=1)).replace(day=n)
    else:
        day = start.replace(day=n)
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def due_period(kind: Kind, now: datetime) -> str:
    """The latest period whose issue time has come."""
    today = now.astimezone(SHANGHAI).date()
    period = period_of(kind, today)
    for _ in range(70):           # walk back a period at a time (at most ~2 months of days)
        if issue_time(kind, period) <= now:
            return period
        start, _end = period_bounds(kind, period)
        period = period_of(kind, start - timedelta(days=1))
    raise AssertionError("no due period found")      # unreachable: the issue offsets are under 70 periods


# -- building and issuing --------------------------------------------------------------------------
def build_report(hotline, actor, city: str, kind: Kind, period: str) -> dict:
    start, end = period_bounds(kind, period)
    ctx = ReportContext(hotline, actor, city, start, end)
    sections = kind.build(ctx)
    return {"kind": kind.code, "city": city, "city_name": ctx.city_name, "period": period,
            "from": start.isoformat(), "to": end.isoformat(),
            "generated_at": ctx.now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "title": {"zh": kind.zh, "en": kind.en}, "sections": sections}


def recipients_of(session, city: str, kind: Kind) -> list[str]:
    from .models import User
    from sqlalchemy import or_
    roles = set(((city_raw(city).get("reports") or {}).get(kind.code) or {}).get("recipients") or kind.recipients)
    users = session.scalars(select(User).where(User.active.is_(True), or_(User.city == city, User.city.is_(None))))
    return sorted(u.username for u in users if roles & set(u.roles or ()))


def _summary_line(report: dict) -> str:
    first = next((s for s in report["sections"] if s["type"] == "metrics"), None)
    if not first:
        return ""
    parts = []
    for item in first["items"][:4]:
        value = item["value"]
        text = "—" if value is None else (f"{value * 100:.1f}%" if item["format"] == "rate" else f"{value}")
        parts.append(f"{item['label']['zh']} {text}")
    return "；".join(parts)


class ReportCommands:
    def report(self, actor, city: str, kind_code: str, period: str | None = None) -> dict:
        """The report of ``kind`` for ``period`` (default: the latest due), computed now from the log."""
        kind = kind_of(kind_code)
        if not actor.has(*kind.readers, "system"):
            raise PermissionDenied()
        load_city(city)
        return build_report(self, actor, city, kind, period or due_period(kind, self.clock.now()))

    def issue_report(self, actor, city: str, kind_code: str, period: str | None = None) -> IssuedReport:
        """Issue (store and send) a report now; the scheduler does this when a report falls due."""
        from .errors import Conflict
        kind = kind_of(kind_code)
        if not actor.has(*ISSUE_ROLES, "system"):
            raise PermissionDenied("只有督办员或管理员可以签发报告", "Only a supervisor or administrator may issue reports")
        load_city(city)
        period = period or due_period(kind, self.clock.now())
        if self.session.scalar(select(IssuedReport.id).where(IssuedReport.city == city, IssuedReport.kind == kind.code,
                                                             IssuedReport.period == period)):
            raise Conflict(f"{kind.zh}（{period}）已签发", f"The {kind.en} for {period} was already issued")
        data = build_report(self, actor, city, kind, period)
        now = self.clock.now()
        names = recipients_of(self.session, city, kind)
        issued = IssuedReport(city=city, kind=kind.code, period=period, issued_at=now, issued_by=actor.username,
                              data=data, recipients=names)
        self.session.add(issued)
        self.session.flush()
        after = deliver_after(now, False, calendar_for(self.session, city))
        title = f"【{kind.zh}】{data['city_name']} {period}"
        self.session.add_all(Message(username=name, city=city, ticket_id=None, task_id=None, kind="report",
                                     title=title[:300], body=_summary_line(data), urgent=False, created_at=now,
                                     deliver_after=after, link=f"/reports/issued/{issued.id}") for name in names)
        return issued

    def issued_reports(self, actor, city: str, kind_code: str | None = None, limit: int = 100) -> list[IssuedReport]:
        if not actor.has(*WIDE_ROLES, "system"):
            raise PermissionDenied()
        if actor.city and actor.city != city:
            raise NotFound(f"城市 {city} 没有可查看的报告", f"No reports of {city!r} for you")
        readable = [k.code for k in KINDS.values() if actor.has(*k.readers, "system")]
        query = select(IssuedReport).where(IssuedReport.city == city, IssuedReport.kind.in_(readable))
        if kind_code:
            query = query.where(IssuedReport.kind == kind_of(kind_code).code)
        return list(self.session.scalars(query.order_by(IssuedReport.issued_at.desc(), IssuedReport.id.desc())
                                          .limit(limit)))

    def issued_report(self, actor, report_id: int) -> IssuedReport:
        report = self.session.get(IssuedReport, report_id)
        if report is None or not actor.has(*KINDS[report.kind].readers, "system") or \
                (actor.city and actor.city != report.city):
            raise NotFound("报告不存在", "No such report")
        return report


def due_reports(session, now: datetime) -> list[tuple[str, str, str]]:
    """(city, kind, period) of every report due and not yet issued, for each city with a deployed rule set."""
    due = []
    for city in sorted(set(session.scalars(select(Deployment.city)))):
        for kind in KINDS.values():
            period = due_period(kind, now)
            if not session.scalar(select(IssuedReport.id).where(IssuedReport.city == city, IssuedReport.kind == kind.code,
                                                                IssuedReport.period == period)):
                due.append((city, kind.code, period))
    return due
