"""The reports about difficult matters and the cases opened on them:

* chokepoint (堵点问题专报, 附件6 第八条): over the month and the two before it, one or more citizens
  raising the same (or the same field's) matter again and again while it stays unresolved, and the
  tickets long open past their deadline (久办未结);
* supervision_monthly (督查月报, 附件3 第六条): the month's supervision orders by tier and unit, their
  feedback and outcome;
* consultation_monthly (会商月报, 附件4 第七条): the month's consultations, their minutes and agreed items,
  and how last month's topics are being carried out.

Cases are ticket rows of their own process (engine/cases.py); their history is their event log.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from .cases import CONSULTATION, SUPERVISION
from .personal_data import mask_phone
from .models import Event, Ticket, TicketLink
from .report_data import ReportContext, col, metric, metrics, moment, table, ticket_ref

CHOKEPOINT_WINDOW_DAYS = 92
CHOKEPOINT_MIN_TICKETS = 3
LONG_OPEN_DAYS = 15          # calendar days past the handling deadline that make a ticket 久办未结
LIST_LIMIT = 100


def _unresolved(ctx: ReportContext, row) -> bool:
    f = ctx.chokepoint_facts[row.id]
    return row.closed_at is None or row.outcome != "archived" or (bool(f.callbacks) and f.callbacks[-1] is False)


def chokepoint(ctx: ReportContext) -> list[dict]:
    window_start = ctx.end - timedelta(days=CHOKEPOINT_WINDOW_DAYS - 1)
    rows = ctx.received(window_start, ctx.end)
    ctx.chokepoint_facts = ctx.facts_of(rows)
    by_person: dict[tuple, list] = defaultdict(list)
    by_matter: dict[tuple, list] = defaultdict(list)
    for r in rows:
        phone = re.sub(r"\D", "", r.citizen_phone or "")
        if phone:
            by_person[(phone, r.category)].append(r)
        if r.address or r.category:
            by_matter[(r.category, _place(r))].append(r)
    people = []
    for (phone, category), members in by_person.items():
        open_ = [r for r in members if _unresolved(ctx, r)]
        if len(members) >= CHOKEPOINT_MIN_TICKETS and open_:
            people.append(_group_row(ctx, members, open_, citizen=mask_phone(phone), category=category))
    people.sort(key=lambda g: (-g["count"], -g["unresolved"]))
    many = []
    for (category, place), members in by_matter.items():
        citizens = {re.sub(r"\D", "", r.citizen_phone or "") or f"#{r.id}" for r in members}
        open_ = [r for r in members if _unresolved(ctx, r)]
        if place and len(members) >= CHOKEPOINT_MIN_TICKETS and len(citizens) >= 2 and open_:
            many.append(_group_row(ctx, members, open_, place=place, category=category, citizens=len(citizens)))
    many.sort(key=lambda g: (-g["unresolved"], -g["count"]))
    long_open = []
    for r in rows:
        due = r.handle_due_at
        if r.closed_at is None and due is not None and ctx.now - due > timedelta(days=LONG_OPEN_DAYS):
            long_open.append({"ticket": ticket_ref(r), "title": r.title, "unit": ctx.unit_name(r.unit_code),
                              "due": due.isoformat(), "days_over": (ctx.now - due).days})
    long_open.sort(key=lambda d: -d["days_over"])
    group_columns = [col("category", "领域", "Field"), col("count", "反映次数", "Tickets", "int"),
                     col("unresolved", "未解决", "Unresolved", "int"), col("first", "首次反映", "First", "date"),
                     col("last", "最近反映", "Latest", "date"), col("units", "承办单位", "Units", "list"),
                     col("tickets", "工单", "Tickets", "tickets")]
    return [
        metrics("summary", "总体情况", "Overview", [
            metric("window", "统计天数", "Days looked at", CHOKEPOINT_WINDOW_DAYS),
            metric("tickets", "期间工单", "Tickets in the window", len(rows)),
            metric("people", "同一群众反复反映未解决", "Citizens raising it again, unresolved", len(people)),
            metric("matters", "多人反复反映未解决", "Matters raised by many, unresolved", len(many)),
            metric("long_open", "久办未结", "Long open", len(long_open))]),
        table("same_person", "同一群众多次反映同一领域问题", "One citizen, the same field, again and again",
              [col("citizen", "诉求人", "Citizen"), *group_columns], people[:LIST_LIMIT]),
        table("same_matter", "多名群众反映同一地点同一领域问题", "Many citizens, the same place and field",
              [col("place", "地点", "Place"), col("citizens", "诉求人数", "Citizens", "int"), *group_columns],
              many[:LIST_LIMIT]),
        table("long_open", f"久办未结（超过办理时限{LONG_OPEN_DAYS}天以上）", f"Open {LONG_OPEN_DAYS}+ days past the deadline",
              [col("ticket", "工单", "Ticket", "ticket"), col("title", "标题", "Title"), col("unit", "承办单位", "Unit"),
               col("due", "办理时限", "Deadline", "datetime"), col("days_over", "超期天数", "Days over", "int")],
              long_open[:LIST_LIMIT]),
    ]


def _place(row) -> str | None:
    """The ticket's place as a comparable key: its address up to the compound, road or village."""
    text = (row.address or "").strip()
    found = re.search(r"^.*?(小区|花园|公寓|大厦|广场|村|社区|路|街|巷|道)", text)
    return found.group(0) if found else (text[:20] or None)


def _group_row(ctx, members, open_, **extra) -> dict:
    units = Counter(r.unit_code for r in members if r.unit_code)
    received = sorted(r.received_at for r in members)
    return {**extra, "category": ctx.category_name(extra.get("category")), "count": len(members),
            "unresolved": len(open_), "first": received[0].date().isoformat(), "last": received[-1].date().isoformat(),
            "units": [ctx.unit_name(u) for u, _n in units.most_common()],
            "tickets": [ticket_ref(r) for r in members][:20]}


# -- cases -----------------------------------------------------------------------------------------
def _cases(ctx: ReportContext, process: str, start, end) -> list[tuple[Ticket, list[Event], list[Ticket]]]:
    cases = list(ctx.session.scalars(select(Ticket).where(
        Ticket.city == ctx.city, Ticket.process == process, Ticket.received_at >= moment(start),
        Ticket.received_at < moment(end + timedelta(days=1))).order_by(Ticket.id)))
    ids = [c.id for c in cases]
    events, linked = defaultdict(list), defaultdict(list)
    if ids:
        for e in ctx.session.scalars(select(Event).where(Event.ticket_id.in_(ids)).order_by(Event.ticket_id, Event.seq)):
            events[e.ticket_id].append(e)
        for link, ticket in ctx.session.execute(select(TicketLink, Ticket).join(Ticket, Ticket.id == TicketLink.ticket_id)
                                                .where(TicketLink.case_id.in_(ids))):
            linked[link.case_id].append(ticket)
    return [(c, events[c.id], linked[c.id]) for c in cases]


def supervision_monthly(ctx: ReportContext) -> list[dict]:
    orders, by_unit, tiers = [], defaultdict(Counter), Counter()
    for case, events, linked in _cases(ctx, SUPERVISION, ctx.start, ctx.end):
        decided = [e.data for e in events if e.type == "supervision_decided" and e.data.get("tier") is not None]
        tier = max((int(d["tier"]) for d in decided), default=0)
        closed = [e.data for e in events if e.type == "supervision_closed"]
        referred = any(e.type == "discipline_referral" for e in events)
        overdue = any(e.type == "timer_fired" and e.task_name == "feedback_overdue_timer" for e in events)
        unit = case.unit_code or next((t.unit_code for t in linked if t.unit_code), None)
        outcome = "移交纪委监委" if referred else ("已办结" if closed else ("进行中" if case.closed_at is None else case.outcome))
        tiers[tier] += 1
        counts = by_unit[unit]
        counts["orders"] += 1
        counts["escalated"] += tier >= 1
        counts["overdue"] += overdue
        counts["resolved"] += bool(closed) and not referred
        counts["referred"] += referred
        orders.append({"case": ticket_ref(case), "title": case.title, "tier": tier,
                       "trigger": (decided[0].get("first_trigger") or decided[0].get("trigger")) if decided else None,
                       "unit": ctx.unit_name(unit), "opened": case.received_at.isoformat(),
                       "due": case.handle_due_at.isoformat() if case.handle_due_at else None,
                       "feedback_overdue": "是" if overdue else "否", "outcome": outcome,
                       "tickets": [ticket_ref(t) for t in linked]})
    units = [{"unit": ctx.unit_name(u), **{k: c[k] for k in ("orders", "escalated", "overdue", "resolved", "referred")}}
             for u, c in sorted(by_unit.items(), key=lambda kv: -kv[1]["orders"])]
    tier_names = {0: "日常督办", 1: "一级督办", 2: "二级督办", 3: "三级督办"}
    return [
        metrics("summary", "总体情况", "Overview", [
            metric("orders", "督办事项", "Supervision orders", len(orders)),
            *[metric(f"tier_{t}", tier_names[t], f"Tier {t}", tiers.get(t, 0)) for t in range(4)],
            metric("resolved", "已办结", "Resolved", sum(c["resolved"] for c in by_unit.values())),
            metric("overdue", "反馈超期", "Feedback overdue", sum(c["overdue"] for c in by_unit.values())),
            metric("referred", "移交纪委监委", "Referred to discipline inspection",
                   sum(c["referred"] for c in by_unit.values()))]),
        table("by_tier", "按督办层级", "By tier", [col("name", "层级", "Tier"), col("count", "件数", "Orders", "int")],
              [{"name": tier_names[t], "count": tiers.get(t, 0)} for t in range(4)],
              chart={"type": "bar", "x": "name", "y": ["count"]}),
        table("by_unit", "承办单位表现", "Units", [
            col("unit", "承办单位", "Unit"), col("orders", "督办件", "Orders", "int"),
            col("escalated", "提级督办", "Escalated", "int"), col("overdue", "反馈超期", "Feedback overdue", "int"),
            col("resolved", "已办结", "Resolved", "int"), col("referred", "移交纪委监委", "Referred", "int")], units),
        table("orders", "督办事项清单", "Orders", [
            col("case", "督办单", "Order", "ticket"), col("title", "事项", "Matter"), col("tier", "层级", "Tier", "int"),
            col("trigger", "督办情形", "Trigger"), col("unit", "承办单位", "Unit"), col("opened", "立项时间", "Opened", "datetime"),
            col("due", "反馈时限", "Due", "datetime"), col("feedback_overdue", "反馈超期", "Feedback overdue"),
            col("outcome", "办理结果", "Outcome"), col("tickets", "关联工单", "Tickets", "tickets")], orders,
            note=("层级取该督办事项升级后的最高层级。", "The tier is the highest the order reached.")),
    ]


def _consultation_rows(ctx: ReportContext, start, end) -> list[dict]:
    out = []
    for case, events, linked in _cases(ctx, CONSULTATION, start, end):
        confirmed = next((e.data for e in events if e.type == "consultation_confirmed"), None)
        minutes = next((e for e in events if e.type == "minutes_filed"), None)
        created = [e for e in events if e.type == "task_created" and e.task_name == "carry_out_action"]
        done = [e for e in events if e.type == "task_completed" and e.task_name == "carry_out_action"
                and ((e.data.get("form") or {}).get("done") is not False)]
        finished = {e.data.get("task_id") for e in done}
        overdue = sum(1 for c in created if c.data.get("task_id") not in finished and c.data.get("due_at")
                      and datetime.fromisoformat(c.data["due_at"]) < ctx.now)
        minutes_due = (confirmed or {}).get("minutes_due_at")
        out.append({
            "case": ticket_ref(case), "topic": re.sub(r"^会商[：:]", "", case.title),
            "lead_unit": ctx.unit_name((confirmed or {}).get("lead_unit")) if confirmed else None,
            "assisting_units": [ctx.unit_name(u) for u in (confirmed or {}).get("assisting_units") or []],
            "minutes": minutes.at.isoformat() if minutes else None,
            "minutes_on_time": None if not minutes or not minutes_due
            else ("是" if minutes.at <= datetime.fromisoformat(minutes_due) else "否"),
            "items": len(created), "done": len(done), "overdue": overdue,
            "status": "已办结" if any(e.type == "consultation_concluded" for e in events)
            else ("不予会商" if case.closed_at and not confirmed else "进行中"),
            "tickets": [ticket_ref(t) for t in linked]})
    return out


CONSULTATION_COLUMNS = [
    col("case", "会商单", "Consultation", "ticket"), col("topic", "会商议题", "Topic"), col("lead_unit", "牵头单位", "Lead unit"),
    col("assisting_units", "协办单位", "Assisting units", "list"), col("minutes", "纪要报送", "Minutes filed", "datetime"),
    col("minutes_on_time", "纪要按时", "Minutes on time"), col("items", "议定事项", "Agreed items", "int"),
    col("done", "已落实", "Done", "int"), col("overdue", "超期未落实", "Overdue", "int"), col("status", "状态", "Status"),
    col("tickets", "关联工单", "Tickets", "tickets")]


def consultation_monthly(ctx: ReportContext) -> list[dict]:
    month = _consultation_rows(ctx, ctx.start, ctx.end)
    last_end = ctx.start - timedelta(days=1)
    last = _consultation_rows(ctx, last_end.replace(day=1), last_end)
    return [
        metrics("summary", "当月会商简要情况", "This month", [
            metric("proposed", "提请会商", "Proposed", len(month)),
            metric("confirmed", "确定会商", "Confirmed", sum(1 for r in month if r["lead_unit"])),
            metric("minutes", "形成纪要", "Minutes filed", sum(1 for r in month if r["minutes"])),
            metric("items", "议定事项", "Agreed items", sum(r["items"] for r in month)),
            metric("done", "已落实", "Done", sum(r["done"] for r in month)),
            metric("overdue", "超期未落实", "Overdue", sum(r["overdue"] for r in month))]),
        table("this_month", "当月会商事项", "This month's consultations", CONSULTATION_COLUMNS, month),
        table("last_month", "上月会商主题推进落实情况", "Last month's topics: how they are carried out",
              CONSULTATION_COLUMNS, last,
              note=("落实情况截至报告生成时。", "Progress as of the time the report was made.")),
    ]
