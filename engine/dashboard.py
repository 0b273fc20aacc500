"""The centre's live board: today's intake, open tickets by status and by deadline light, overdue by unit,
per-unit rates over a period (sign-off on time, handled on time, satisfaction) and the daily intake trend.

Everything is an aggregate query on plain columns (tickets, tasks, events), so the board stays cheap at
a million tickets; only the period's callback results are read row by row.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session

from .cities import LIFECYCLE_PROCESS
from .clock import SHANGHAI
from .models import Event, TaskRow, Ticket

TREND_DAYS = 14


def _day(session: Session, column):
    """The Beijing calendar day of a UTC timestamp column (China has no daylight saving: +8 h)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column + literal_column("interval '8 hours'"), "YYYY-MM-DD")
    return func.date(column, "+8 hours")


def light_case(now: datetime):
    """A ticket's deadline light as SQL (the board and the Prometheus gauge count with it): red when its
    governing deadline passed or an overdue flag is set, yellow when a ready task is past its warning point."""
    governing_due = case((Ticket.status.in_(("dispatching", "signing")), Ticket.sign_due_at), else_=Ticket.handle_due_at)
    warned = exists().where(TaskRow.ticket_id == Ticket.id, TaskRow.state == "ready", TaskRow.warn_at <= now)
    return case((or_(Ticket.sign_overdue, Ticket.handle_overdue, governing_due < now), "red"),
                (warned, "yellow"), else_="green")


def centre_board(session: Session, city: str, now: datetime, since: datetime | None = None) -> dict:
    today = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    since = since or today - timedelta(days=30)
    tickets = and_(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS)
    open_ = and_(tickets, Ticket.status != "closed")

    intake_today = session.scalar(select(func.count()).where(tickets, Ticket.received_at >= today))
    by_status = dict(session.execute(select(Ticket.status, func.count()).where(open_).group_by(Ticket.status)).all())

    light = light_case(now)
    lights = {"green": 0, "yellow": 0, "red": 0}
    lights.update(dict(session.execute(select(light, func.count()).where(open_).group_by(light)).all()))

    overdue_by_unit = dict(session.execute(
        select(Ticket.unit_code, func.count()).where(open_, Ticket.unit_code.is_not(None),
                                                     or_(Ticket.sign_overdue, Ticket.handle_overdue))
        .group_by(Ticket.unit_code).order_by(func.count().desc())).all())

    day = _day(session, Ticket.received_at)
    first_day = today - timedelta(days=TREND_DAYS - 1)
    counted = dict(session.execute(select(day, func.count()).where(tickets, Ticket.received_at >= first_day)
                                   .group_by(day)).all())
    trend = [{"day": (first_day + timedelta(days=i)).strftime("%Y-%m-%d"),
              "intake": counted.get((first_day + timedelta(days=i)).strftime("%Y-%m-%d"), 0)}
             for i in range(TREND_DAYS)]

    return {"city": city, "at": now.isoformat(), "since": since.isoformat(), "intake_today": intake_today,
            "open_total": sum(by_status.values()), "open_by_status": by_status, "lights": lights,
            "overdue_by_unit": overdue_by_unit, "unit_rates": unit_rates(session, city, since, now), "trend": trend}


def unit_rates(session: Session, city: str, since: datetime, until: datetime) -> list[dict]:
    """Per unit over the period: sign-off and handling tasks completed on time, callbacks satisfied."""
    rows: dict[str, dict] = defaultdict(lambda: {"signed": 0, "signed_on_time": 0, "handled": 0,
                                                 "handled_on_time": 0, "callbacks": 0, "satisfied": 0})
    on_time = case((TaskRow.completed_at <= TaskRow.due_at, 1), else_=0)
    tasks = session.execute(
        select(TaskRow.unit_code, TaskRow.name, func.count(), func.sum(on_time))
        .join(Ticket, Ticket.id == TaskRow.ticket_id)
        .where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS, TaskRow.state == "completed",
               TaskRow.name.in_(("sign", "handle")), TaskRow.unit_code.is_not(None),
               TaskRow.completed_at >= since, TaskRow.completed_at <= until)
        .group_by(TaskRow.unit_code, TaskRow.name)).all()
    for unit, name, count, punctual in tasks:
        key = "signed" if name == "sign" else "handled"
        rows[unit][key] += count
        rows[unit][f"{key}_on_time"] += int(punctual or 0)
    callbacks = session.execute(
        select(Ticket.unit_code, Event.data).join(Ticket, Ticket.id == Event.ticket_id)
        .where(Ticket.city == city, Event.type == "task_completed", Event.task_name == "callback",
               Event.at >= since, Event.at <= until))
    for unit, data in callbacks:
        if unit:
            rows[unit]["callbacks"] += 1
            # Suzhou counts no answer as satisfied; here only an explicit "dissatisfied" counts against.
            rows[unit]["satisfied"] += 0 if ((data or {}).get("form") or {}).get("satisfied") is False else 1
    result = []
    for unit, r in sorted(rows.items()):
        result.append({"unit": unit, **r,
                       "sign_rate": _rate(r["signed_on_time"], r["signed"]),
                       "handle_rate": _rate(r["handled_on_time"], r["handled"]),
                       "satisfaction_rate": _rate(r["satisfied"], r["callbacks"])})
    return result


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
