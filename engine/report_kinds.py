"""The periodic reports of 宿州 附件6《工作研判制度》 and 附件3/4 (督查月报, 会商月报), one builder each.

* daily (热点问题日报, 第五条): the day's tickets by type, category and district, the hot words, and the
  多人一投 / 一人多投 matters with the units to remind;
* weekly (趋势问题周报, 第六条): the week against the week before, day by day, by category (纵向) and
  by district (横向), the rising words and the week's difficult tickets;
* monthly (重点问题月报, 第七条): the month's figures, each unit's handling (分类通报), the key issues,
  and what citizens raised in the coming month a year ago (往年次月, for 未诉先办);
* the supervision, consultation and chokepoint reports: see engine/report_cases.py.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from .kpis import compute_kpis
from .report_data import (REQUEST_TYPE_NAMES, ReportContext, change, col, hot_terms, metric, metrics, month_end,
                          next_month, rising_terms, share, table, ticket_ref)

COUNT, SHARE = col("count", "件数", "Tickets", "int"), col("share", "占比", "Share", "rate")
TERM_COLUMNS = [col("term", "热词", "Term"), col("count", "工单数", "Tickets", "int"),
                col("previous", "上期", "Previous", "int"), col("growth", "增幅倍数", "Growth ×", "number")]
DIFFICULT_LIMIT = 50


def _by(ctx: ReportContext, rows: list, key, label, zh: str, en: str, section: str, previous: list | None = None,
        chart: str = "bar") -> dict:
    counts = ctx.count_by(rows, key)
    before = ctx.count_by(previous, key) if previous is not None else None
    out = []
    for value, count in counts.most_common():
        row = {"name": label(value), "count": count, "share": share(count, len(rows))}
        if before is not None:
            row.update(previous=before.get(value, 0), change=change(count, before.get(value, 0)))
        out.append(row)
    columns = [col("name", zh, en), COUNT, SHARE]
    if before is not None:
        columns += [col("previous", "上期", "Previous", "int"), col("change", "环比", "Change", "rate")]
    return table(section, f"按{zh}", f"By {en.lower()}", columns, out, chart={"type": chart, "x": "name", "y": ["count"]})


def _type_section(ctx, rows, previous=None):
    return _by(ctx, rows, lambda r: r.request_type, lambda v: REQUEST_TYPE_NAMES.get(v, v), "诉求类型", "Request type",
               "by_request_type", previous, chart="pie")


def _category_section(ctx, rows, previous=None):
    return _by(ctx, rows, lambda r: r.category, ctx.category_name, "类别", "Category", "by_category", previous)


def _district_section(ctx, rows, previous=None):
    return _by(ctx, rows, ctx.district, lambda v: v, "区域", "District", "by_district", previous)


def _matters(ctx: ReportContext, found: dict) -> list[dict]:
    """The hot-issue facade's groups as sections: 多人一投 and 一人多投, with the units to remind."""
    unit_of = {r.id: r.unit_code for r in ctx.rows}
    many, one = [], []
    for bucket in found["buckets"]:
        for issue in bucket["many_people_one_issue"]:
            units = Counter(unit_of.get(t["id"]) for t in issue["tickets"] if unit_of.get(t["id"]))
            many.append({"title": issue.get("title") or issue["tickets"][0]["title"], "count": len(issue["tickets"]),
                         "citizens": issue.get("citizens"), "terms": issue.get("terms") or [],
                         "units": [ctx.unit_name(u) for u, _n in units.most_common()],
                         "tickets": [{"id": t["id"], "number": t["number"]} for t in issue["tickets"]]})
        for person in bucket["one_person_many_tickets"]:
            units = Counter(unit_of.get(t["id"]) for t in person["tickets"] if unit_of.get(t["id"]))
            one.append({"citizen": person["citizen"], "count": len(person["tickets"]),
                        "matters": [t["title"] for t in person["tickets"]][:5],
                        "units": [ctx.unit_name(u) for u, _n in units.most_common()],
                        "tickets": [{"id": t["id"], "number": t["number"]} for t in person["tickets"]]})
    many.sort(key=lambda m: -m["count"])
    one.sort(key=lambda m: -m["count"])
    return [
        table("many_people_one_issue", "多人一投", "Many people, one issue",
              [col("title", "事项", "Matter"), col("count", "工单数", "Tickets", "int"),
               col("citizens", "诉求人数", "Citizens", "int"), col("terms", "关键词", "Terms", "list"),
               col("units", "提醒责任单位", "Units to remind", "list"), col("tickets", "工单", "Tickets", "tickets")], many),
        table("one_person_many_tickets", "一人多投", "One person, many tickets",
              [col("citizen", "诉求人", "Citizen"), col("count", "工单数", "Tickets", "int"),
               col("matters", "反映事项", "Matters", "list"), col("units", "提醒责任单位", "Units to remind", "list"),
               col("tickets", "工单", "Tickets", "tickets")], one),
    ]


def daily(ctx: ReportContext) -> list[dict]:
    day = ctx.start
    previous = ctx.received(day - timedelta(days=1), day - timedelta(days=1), light=True)
    previous_terms = ctx.terms_of(previous)
    rows = ctx.rows
    words = hot_terms(ctx.terms, [r.id for r in rows], previous_terms, [r.id for r in previous])
    # the reader's right to this report was checked; the clustering runs on the report's behalf
    from .accounts import SYSTEM
    found = ctx.hotline.hot_issues(SYSTEM, ctx.city, day, day, "day")
    return [
        metrics("summary", "总体情况", "Overview", [
            metric("received", "受理工单", "Tickets received", len(rows)),
            metric("previous", "前一日", "The day before", len(previous)),
            metric("change", "环比", "Change", change(len(rows), len(previous)), "rate"),
            metric("closed", "当日办结", "Closed that day", len(ctx.closed(day, day)))]),
        _type_section(ctx, rows), _category_section(ctx, rows, previous), _district_section(ctx, rows),
        table("hot_words", "热词", "Hot words", TERM_COLUMNS, words, chart={"type": "bar", "x": "term", "y": ["count"]}),
        *_matters(ctx, found),
    ]


def _difficult(ctx: ReportContext, rows: list) -> list[dict]:
    """难点问题: the period's tickets that went overdue, were supervised, returned twice or more, or left the
    citizen dissatisfied; most reasons first."""
    out = []
    for r in rows:
        f = ctx.facts[r.id]
        reasons = []
        if f.handle_overdue_fired or f.replied_late:
            reasons.append("超期")
        if f.tiers:
            reasons.append(f"督办（{max(f.tiers)}级）" if max(f.tiers) else "日常督办")
        if sum(f.returns.values()) >= 2:
            reasons.append(f"退单{sum(f.returns.values())}次")
        if any(c is False for c in f.callbacks):
            reasons.append("回访不满意")
        if reasons:
            out.append({"ticket": ticket_ref(r), "title": r.title, "unit": ctx.unit_name(f.unit or r.unit_code),
                        "category": ctx.category_name(r.category), "reasons": reasons, "status": r.status})
    out.sort(key=lambda d: (-len(d["reasons"]), d["ticket"]["id"]))
    return out[:DIFFICULT_LIMIT]


DIFFICULT_COLUMNS = [col("ticket", "工单", "Ticket", "ticket"), col("title", "标题", "Title"),
                     col("unit", "承办单位", "Unit"), col("category", "类别", "Category"),
                     col("reasons", "难点情形", "Why", "list"), col("status", "状态", "Status")]


def weekly(ctx: ReportContext) -> list[dict]:
    before_start, before_end = ctx.start - timedelta(days=7), ctx.end - timedelta(days=7)
    previous = ctx.received(before_start, before_end, light=True)
    previous_terms = ctx.terms_of(previous)
    rows, closed = ctx.rows, ctx.closed(ctx.start, ctx.end)
    per_day = []
    for i in range((ctx.end - ctx.start).days + 1):
        day = ctx.start + timedelta(days=i)
        per_day.append({"day": day.isoformat(), "received": sum(1 for r in rows if _local_day(r.received_at) == day),
                        "closed": sum(1 for r in closed if _local_day(r.closed_at) == day),
                        "previous": sum(1 for r in previous if _local_day(r.received_at) == day - timedelta(days=7))})
    rising = rising_terms(ctx.terms, [r.id for r in rows], previous_terms, [r.id for r in previous])
    return [
        metrics("summary", "总体情况", "Overview", [
            metric("received", "本周受理", "Received this week", len(rows)),
            metric("previous", "上周受理", "Received last week", len(previous)),
            metric("change", "环比", "Change", change(len(rows), len(previous)), "rate"),
            metric("closed", "本周办结", "Closed this week", len(closed))]),
        table("per_day", "逐日趋势", "Day by day",
              [col("day", "日期", "Day", "date"), col("received", "受理", "Received", "int"),
               col("closed", "办结", "Closed", "int"), col("previous", "上周同日受理", "Same day last week", "int")],
              per_day, chart={"type": "line", "x": "day", "y": ["received", "closed", "previous"]}),
        _category_section(ctx, rows, previous), _district_section(ctx, rows, previous),
        table("rising_words", "上升热词", "Rising words", TERM_COLUMNS, rising,
              chart={"type": "bar", "x": "term", "y": ["count", "previous"]}),
        table("difficult", "本周难点问题", "Difficult tickets of the week", DIFFICULT_COLUMNS, _difficult(ctx, rows)),
    ]


def _local_day(moment) -> date | None:
    from .clock import SHANGHAI
    return moment.astimezone(SHANGHAI).date() if moment else None


UNIT_COLUMNS = [col("unit", "承办单位", "Unit"), col("unit_type", "单位类别", "Unit type"),
                col("dispatched", "派单", "Dispatched", "int"), col("handled", "办结", "Handled", "int"),
                col("sign_rate", "及时签收率", "Timely sign-off", "rate"), col("on_time_rate", "按时办结率", "On time", "rate"),
                col("avg_handling_hours", "平均办理工时", "Avg. handling (h)", "hours"),
                col("returns", "退单", "Returns", "int"), col("satisfaction_rate", "满意率", "Satisfaction", "rate"),
                col("efficiency_index", "效能指数", "Efficiency index", "number"),
                col("abnormal", "异常办件", "Abnormal", "int")]
UNIT_TYPES = {"district": "县（市、区）", "department": "市直部门", "utility": "公共企事业单位", "street": "街道（镇）",
              "centre": "指挥中心"}


def unit_handling(ctx: ReportContext, rows: list, facts: dict) -> list[dict]:
    kpis = compute_kpis(ctx.session, ctx.city, ctx.lo, ctx.hi, rows=rows, facts=facts)
    out = []
    for r in kpis["items"]:
        unit_type = (ctx.units.get(r["unit"]) or {}).get("type", "department")
        out.append({"unit": ctx.unit_name(r["unit"]), "code": r["unit"], "unit_type": UNIT_TYPES.get(unit_type, unit_type),
                    "dispatched": r["dispatched"], "handled": r["handled"], "sign_rate": r["sign_rate"],
                    "on_time_rate": r["on_time_rate"], "avg_handling_hours": r["avg_handling_hours"],
                    "returns": r["returns"], "satisfaction_rate": r["satisfaction_rate"],
                    "efficiency_index": r["efficiency_index"], "abnormal": len({a["ticket_id"] for a in r["abnormal"]})})
    out.sort(key=lambda u: (u["unit_type"], -(u["efficiency_index"] or 0), u["unit"]))
    return out


def _year_before_next_month(start: date) -> tuple[date, date]:
    """往年次月: the month after this one, a year earlier (for November 2026: December 2025)."""
    first = next_month(start)
    first = first.replace(year=first.year - 1)
    return first, month_end(first)


def monthly(ctx: ReportContext) -> list[dict]:
    rows = ctx.rows
    last_month_end = ctx.start - timedelta(days=1)
    previous = ctx.received(last_month_end.replace(day=1), last_month_end, light=True)
    previous_terms = ctx.terms_of(previous)
    # The units' handling follows the city's period rule (Changzhou: the tickets closed in the month).
    from .kpis import KpiSettings, period_rows
    kpi_rows = rows if KpiSettings(ctx.city).period_rule == "received" else \
        period_rows(ctx.session, ctx.city, ctx.lo, ctx.hi, "closed")
    kpi_facts = ctx.facts if kpi_rows is rows else ctx.facts_of(kpi_rows)
    units = unit_handling(ctx, kpi_rows, kpi_facts)
    handled = [f for f in (kpi_facts[r.id] for r in kpi_rows) if f.replied_at]
    on_time = sum(1 for f in handled if not f.replied_late)
    ahead_first, ahead_last = _year_before_next_month(ctx.start)
    ahead = ctx.received(ahead_first, ahead_last, light=True)
    ahead_terms = ctx.terms_of(ahead)
    ahead_units = defaultdict(Counter)
    for r in ahead:
        ahead_units[r.category][r.unit_code] += 1
    ahead_rows = [{"name": ctx.category_name(cat), "count": n, "share": share(n, len(ahead)),
                   "units": [ctx.unit_name(u) for u, _c in ahead_units[cat].most_common(3) if u]}
                  for cat, n in Counter(r.category for r in ahead).most_common(10)]
    key_issues = _key_issues(ctx)
    return [
        metrics("summary", "总体情况", "Overview", [
            metric("received", "本月受理", "Received", len(rows)),
            metric("previous", "上月受理", "Received last month", len(previous)),
            metric("change", "环比", "Change", change(len(rows), len(previous)), "rate"),
            metric("handled", "办结", "Handled", len(handled)),
            metric("on_time_rate", "按时办结率", "On-time rate", share(on_time, len(handled)), "rate")]),
        _type_section(ctx, rows), _category_section(ctx, rows, previous), _district_section(ctx, rows),
        table("units", "承办单位办理情况（分类通报）", "Units' handling, by unit type", UNIT_COLUMNS, units,
              chart={"type": "bar", "x": "unit", "y": ["efficiency_index"]}),
        table("hot_words", "本月重点诉求热词", "Key words of the month", TERM_COLUMNS,
              hot_terms(ctx.terms, [r.id for r in rows], previous_terms, [r.id for r in previous]),
              chart={"type": "bar", "x": "term", "y": ["count"]}),
        key_issues,
        table("year_before_categories", f"往年次月重点问题（{ahead_first:%Y年%m月}）",
              f"Key issues of the coming month a year ago ({ahead_first:%Y-%m})",
              [col("name", "类别", "Category"), COUNT, SHARE, col("units", "主要承办单位", "Main units", "list")],
              ahead_rows, chart={"type": "bar", "x": "name", "y": ["count"]},
              note=("请相关单位提前研判，做好“未诉先办”。", "Units concerned: act before the complaints come (未诉先办).")),
        table("year_before_words", f"往年次月热词（{ahead_first:%Y年%m月}）", f"Words of {ahead_first:%Y-%m}",
              TERM_COLUMNS[:2], hot_terms(ahead_terms, [r.id for r in ahead], {}, [])),
    ]


def _key_issues(ctx: ReportContext) -> dict:
    """The month's 多人一投 matters as the issued daily reports found them (the daily clustering is the
    fine-grained pass; the month collects it rather than clustering 100,000 tickets at once)."""
    from .models import IssuedReport
    from sqlalchemy import select
    days = {(ctx.start + timedelta(days=i)).isoformat() for i in range((ctx.end - ctx.start).days + 1)}
    found = []
    for report in ctx.session.scalars(select(IssuedReport).where(IssuedReport.city == ctx.city,
                                                                 IssuedReport.kind == "daily",
                                                                 IssuedReport.period.in_(days))):
        for section in report.data.get("sections", []):
            if section.get("key") == "many_people_one_issue":
                for row in section.get("rows", []):
                    found.append({**row, "day": report.period})
    found.sort(key=lambda r: (-r["count"], r["day"]))
    return table("key_issues", "本月重点诉求事项（多人一投）", "Key matters of the month (many people, one issue)",
                 [col("day", "日报日期", "Daily report", "date"), col("title", "事项", "Matter"),
                  col("count", "工单数", "Tickets", "int"), col("units", "提醒责任单位", "Units to remind", "list"),
                  col("tickets", "工单", "Tickets", "tickets")], found[:30],
                 note=("汇总自本月各期热点问题日报。", "Collected from the month's daily hot-issue reports."))
