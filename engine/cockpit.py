"""The leaders' cockpit (领导驾驶舱, 南通 第三十九条; 宿迁 六（一）): one page of the city's measures for a
month, with the units ranked and the abnormal tickets, each a link down to the unit's KPIs and the
ticket. It is written in the report shape (engine/report_data.py), so it renders like the reports.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from .cities import LIFECYCLE_PROCESS, load_city
from .clock import SHANGHAI
from .errors import PermissionDenied, field_error
from .kpis import KPI_ROLES
from .models import Ticket
from .report_data import ReportContext, col, hot_terms, metric, metrics, moment, month_end, next_month, share, table
from .report_kinds import UNIT_COLUMNS, _category_section, _district_section, unit_handling

TREND_MONTHS = 12


def _month(period: str | None, today: date) -> tuple[date, date]:
    if not period:
        return today.replace(day=1), today
    try:
        first = date(int(period[:4]), int(period[5:7]), 1)
        if len(period) != 7 or period[4] != "-":
            raise ValueError(period)
    except ValueError as exc:
        raise field_error("month", "invalid_period", "月份应为 YYYY-MM", "month must be YYYY-MM") from exc
    last = month_end(first)
    return first, min(last, today) if first <= today else last


def _months_back(first: date, n: int) -> list[date]:
    out = [first]
    for _ in range(n - 1):
        out.append((out[-1] - timedelta(days=1)).replace(day=1))
    return list(reversed(out))


class CockpitCommands:
    def cockpit(self, actor, city: str, month: str | None = None) -> dict:
        if not actor.has(*KPI_ROLES, "system"):
            raise PermissionDenied()
        load_city(city)
        now = self.clock.now()
        start, end = _month(month, now.astimezone(SHANGHAI).date())
        ctx = ReportContext(self, actor, city, start, end)
        rows = ctx.rows
        units = unit_handling(ctx, rows, ctx.facts)
        handled = [f for f in ctx.facts.values() if f.replied_at]
        signed = [f for f in ctx.facts.values() if f.signed]
        answered = [f.callbacks[0] for f in handled if f.callbacks and f.callbacks[0] is not None]
        lifecycle = (Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS)
        open_now = self.session.scalar(select(func.count()).select_from(Ticket).where(*lifecycle, Ticket.closed_at.is_(None)))
        overdue_now = self.session.scalar(select(func.count()).select_from(Ticket).where(
            *lifecycle, Ticket.closed_at.is_(None), Ticket.handle_due_at < now))
        trend = []
        for first in _months_back(start, TREND_MONTHS):
            last = next_month(first)
            received = self.session.scalar(select(func.count()).select_from(Ticket).where(
                *lifecycle, Ticket.received_at >= moment(first), Ticket.received_at < moment(last)))
            closed = self.session.scalar(select(func.count()).select_from(Ticket).where(
                *lifecycle, Ticket.closed_at >= moment(first), Ticket.closed_at < moment(last)))
            trend.append({"month": f"{first:%Y-%m}", "received": received, "closed": closed})
        tiers = Counter(t for f in ctx.facts.values() for t in f.tiers)
        abnormal = []
        kpis = {u["code"]: u for u in units}
        for r in rows:
            f = ctx.facts[r.id]
            unsigned = {u for u in f.sign_overdue if u not in f.signed}
            why = ("超时未签收" if unsigned else "超期未办结" if f.handle_overdue_fired and not f.replied_at
                   else "超期办结" if f.replied_late else None)
            if why:
                unit = next(iter(sorted(unsigned)), None) or f.unit
                abnormal.append({"ticket": {"id": r.id, "number": r.number}, "title": r.title,
                                 "unit": ctx.unit_name(unit), "code": unit if unit in kpis else None, "why": why})
        sections = [
            metrics("summary", "本月概况", "This month", [
                metric("received", "受理工单", "Received", len(rows)),
                metric("handled", "已办结", "Handled", len(handled)),
                metric("open_now", "在办工单（当前）", "Open now", open_now),
                metric("overdue_now", "超期在办（当前）", "Overdue now", overdue_now),
                metric("sign_rate", "及时签收率", "Timely sign-off", share(sum(1 for f in signed if not (f.sign_overdue & set(f.signed))), len(signed)), "rate"),
                metric("on_time_rate", "按时办结率", "On time", share(sum(1 for f in handled if not f.replied_late), len(handled)), "rate"),
                metric("satisfaction_rate", "满意率（首次回访）", "Satisfaction (first callback)", share(sum(1 for a in answered if a), len(answered)), "rate"),
                metric("supervised", "督办工单", "Supervised tickets", sum(1 for f in ctx.facts.values() if f.tiers))]),
            table("trend", "近12个月受理与办结", "Received and closed, last 12 months",
                  [col("month", "月份", "Month"), col("received", "受理", "Received", "int"), col("closed", "办结", "Closed", "int")],
                  trend, chart={"type": "line", "x": "month", "y": ["received", "closed"]}),
            _category_section(ctx, rows), _district_section(ctx, rows),
            table("supervision", "督办层级", "Supervision by tier", [col("name", "层级", "Tier"), col("count", "次数", "Count", "int")],
                  [{"name": n, "count": tiers.get(t, 0)} for t, n in enumerate(("日常督办", "一级督办", "二级督办", "三级督办"))],
                  chart={"type": "bar", "x": "name", "y": ["count"]}),
            table("units", "承办单位效能排名", "Units by efficiency index", UNIT_COLUMNS,
                  sorted(units, key=lambda u: (-(u["efficiency_index"] or 0), u["unit"])),
                  chart={"type": "bar", "x": "unit", "y": ["efficiency_index"]}),
            table("abnormal", "异常办件", "Abnormal tickets",
                  [col("ticket", "工单", "Ticket", "ticket"), col("title", "标题", "Title"), col("unit", "承办单位", "Unit"),
                   col("why", "情形", "Why")], abnormal[:100]),
            table("hot_words", "本月热词", "Words of the month", [col("term", "热词", "Term"), col("count", "工单数", "Tickets", "int")],
                  hot_terms(ctx.terms, [r.id for r in rows], {}, [], top=10), chart={"type": "bar", "x": "term", "y": ["count"]}),
        ]
        return {"kind": "cockpit", "city": city, "city_name": ctx.city_name, "period": f"{start:%Y-%m}",
                "from": start.isoformat(), "to": end.isoformat(),
                "generated_at": now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                "title": {"zh": "领导驾驶舱", "en": "Leaders' cockpit"}, "sections": sections}
