"""Deadline lights: green until the warning point (80% of the limit by default), yellow until the
deadline, red once overdue."""
from __future__ import annotations

from datetime import datetime


def light(now: datetime, warn_at: datetime | None, due_at: datetime | None, *, closed: bool = False) -> str | None:
    if closed or due_at is None:
        return None
    if now > due_at:
        return "red"
    if warn_at is not None and now >= warn_at:
        return "yellow"
    return "green"


def ticket_light(now: datetime, ticket, open_task=None) -> str | None:
    if ticket.status == "closed":
        return None
    if ticket.sign_overdue or ticket.handle_overdue:
        return "red"
    if open_task is not None and open_task.due_at is not None:
        return light(now, open_task.warn_at, open_task.due_at)
    due = ticket.handle_due_at if ticket.status not in ("dispatching", "signing") else ticket.sign_due_at
    return light(now, None, due)
