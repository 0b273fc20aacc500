"""Notifications: an in-app message per recipient for new tasks, warning lights and overdue deadlines.

Messages are created inside the command that caused them (a task completion, a timer sweep), so they
commit or roll back with it. Unit and role recipients are expanded to the matching active users when
the message is created:

* a new unit task goes to the users of that unit having the task's role; a centre task (no unit) to
  the users having the task's role;
* a warning (a task passing its yellow point) or an overdue deadline goes to the unit's handlers and
  leaders, or for a centre task to the role's users.

Outbound delivery (``deliver_due``) is held until the next working instant of the city's calendar,
unless the message is urgent (directives and overdue deadlines), which goes at once.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .calendar import WorkingCalendar
from .cities import calendar_for
from .clock import Clock
from .errors import NoAddress, NotFound
from .models import Message, TaskRow, Ticket, User

log = logging.getLogger("hotline.notifications")
KINDS = ("task", "warning", "overdue")
UNIT_ROLES = ("handler", "leader")
MAX_ERROR_CHARS = 1000


# -- recipients and creation ---------------------------------------------------------------------
def recipients(session: Session, city: str, role: str, unit_code: str | None, *, whole_unit: bool = False) -> list[str]:
    """Active users of the city (or of no city) with the role, in the unit for unit tasks.

    ``whole_unit`` widens a unit's recipients to its handlers and leaders (warnings, overdue)."""
    query = select(User).where(User.active.is_(True), or_(User.city == city, User.city.is_(None)))
    if unit_code:
        query = query.where(User.unit_code == unit_code)
    wanted = set(UNIT_ROLES) if unit_code and whole_unit else {role}
    # Roles are a JSON list: filtered here rather than in SQL, which differs between SQLite and PostgreSQL.
    return sorted(u.username for u in session.scalars(query) if wanted & set(u.roles or ()))


def deliver_after(now: datetime, urgent: bool, calendar: WorkingCalendar) -> datetime:
    """Urgent messages go at once; others wait for working time (now, if it is working time)."""
    return now if urgent else calendar.add_working_hours(now, 0)


def _create(session: Session, usernames: list[str], *, ticket: Ticket, task_id: str | None, kind: str,
            title: str, body: str, urgent: bool, now: datetime, calendar: WorkingCalendar) -> list[Message]:
    after = deliver_after(now, urgent, calendar)
    messages = [Message(username=name, city=ticket.city, ticket_id=ticket.id, task_id=task_id, kind=kind,
                        title=title[:300], body=body, urgent=urgent, created_at=now, deliver_after=after)
                for name in usernames]
    session.add_all(messages)
    return messages


def _is_directive(ticket: Ticket) -> bool:
    return ticket.kind == "directive"


def _due_line(label: str, due: datetime | None) -> str:
    return f"\n{label}：{due:%Y-%m-%d %H:%M}" if due else ""


def notify_task_created(session: Session, ticket: Ticket, task_row: TaskRow, now: datetime,
                        calendar: WorkingCalendar) -> list[Message]:
    users = recipients(session, ticket.city, task_row.role, task_row.unit_code)
    return _create(session, users, ticket=ticket, task_id=task_row.id, kind="task",
                   title=f"新任务：{task_row.title} {ticket.number or ''}".strip(),
                   body=ticket.title + _due_line("时限", task_row.due_at), urgent=_is_directive(ticket),
                   now=now, calendar=calendar)


def notify_warning(session: Session, ticket: Ticket, task_row: TaskRow, now: datetime,
                   calendar: WorkingCalendar) -> list[Message]:
    users = recipients(session, ticket.city, task_row.role, task_row.unit_code, whole_unit=True)
    return _create(session, users, ticket=ticket, task_id=task_row.id, kind="warning",
                   title=f"临期预警：{task_row.title} {ticket.number or ''}".strip(),
                   body=ticket.title + _due_line("即将到期", task_row.due_at), urgent=_is_directive(ticket),
                   now=now, calendar=calendar)


def notify_overdue(session: Session, ticket: Ticket, task_row: TaskRow | None, now: datetime,
                   calendar: WorkingCalendar, *, timer_name: str | None = None) -> list[Message]:
    """A deadline passed (a BPMN timer fired); ``task_row`` is the task the timer is attached to, if open."""
    role = task_row.role if task_row else "handler"
    unit = task_row.unit_code if task_row else ticket.unit_code
    users = recipients(session, ticket.city, role, unit, whole_unit=True)
    what = task_row.title if task_row else (timer_name or "")
    due = task_row.due_at if task_row else None
    return _create(session, users, ticket=ticket, task_id=task_row.id if task_row else None, kind="overdue",
                   title=f"已超时：{what} {ticket.number or ''}".strip(),
                   body=ticket.title + _due_line("时限已过", due), urgent=True, now=now, calendar=calendar)


def notify_knowledge_review(session: Session, entry, now: datetime, calendar: WorkingCalendar) -> list[Message]:
    """A knowledge-base entry passed its review deadline: its unit's handlers and leaders are told (no
    ticket; held until working time like other non-urgent messages)."""
    users = recipients(session, entry.city, "handler", entry.unit_code, whole_unit=True)
    after = deliver_after(now, False, calendar)
    messages = [Message(username=name, city=entry.city, ticket_id=None, task_id=None, kind="knowledge_review",
                        title=f"知识库条目待复核：{entry.title}"[:300],
                        body=f"复核期限：{entry.review_due:%Y-%m-%d}，请核对该条目并更新内容或复核期限（第{entry.revision}版）。",
                        urgent=False, created_at=now, deliver_after=after)
                for name in users]
    session.add_all(messages)
    return messages


# -- sweeps (scheduler) --------------------------------------------------------------------------
def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def sweep_warnings(session: Session, clock: Clock, limit: int) -> int:
    """Warn once for each open task past its yellow point; returns how many tasks were warned.

    On PostgreSQL the task rows are claimed with SKIP LOCKED, and the ticket is then taken with SKIP
    LOCKED too: a ticket being changed right now is left for the next sweep rather than waited for
    (waiting would invert the ticket-then-task lock order of every command). On SQLite the sweep's
    BEGIN IMMEDIATE already serialises it with every other writer."""
    now = clock.now()
    postgres = _is_postgres(session)
    query = (select(TaskRow).where(TaskRow.state == "ready", TaskRow.warn_at.is_not(None), TaskRow.warn_at <= now,
                                   TaskRow.warned_at.is_(None))
             .order_by(TaskRow.warn_at, TaskRow.id).limit(limit).execution_options(populate_existing=True))
    if postgres:
        query = query.with_for_update(skip_locked=True)
    calendars: dict[str, WorkingCalendar] = {}
    warned = 0
    for row in list(session.scalars(query)):
        if postgres:
            ticket = session.scalar(select(Ticket).where(Ticket.id == row.ticket_id)
                                    .with_for_update(skip_locked=True))
            if ticket is None:
                continue
        else:
            ticket = session.get(Ticket, row.ticket_id)
        row.warned_at = now
        warned += 1
        if row.due_at is not None and row.due_at <= now:
            continue   # already past the deadline: the overdue notice, not a warning, is due
        if ticket.city not in calendars:
            calendars[ticket.city] = calendar_for(session, ticket.city)
        notify_warning(session, ticket, row, now, calendars[ticket.city])
    session.flush()
    return warned


def deliver_due(session: Session, clock: Clock, channel, limit: int) -> dict:
    """Send undelivered messages whose hold has passed. A failure keeps the message for the next sweep."""
    now = clock.now()
    query = (select(Message).where(Message.delivered_at.is_(None), Message.deliver_after <= now)
             .order_by(Message.deliver_after, Message.id).limit(limit))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    counts = {"delivered": 0, "skipped": 0, "failed": 0}
    for message in list(session.scalars(query)):
        user = session.scalar(select(User).where(User.username == message.username))
        try:
            if user is None or not user.active:
                raise NoAddress()
            channel.send(message, user)
        except NoAddress:
            log.info("message %s to %s skipped: no address for this channel", message.id, message.username)
            message.delivered_at, message.delivery_error = now, "no address"
            counts["skipped"] += 1
        except Exception as exc:   # any channel failure: keep the message and retry next sweep
            log.warning("message %s to %s not delivered: %s", message.id, message.username, exc)
            message.delivery_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            counts["failed"] += 1
        else:
            message.delivered_at, message.delivery_error = now, None
            counts["delivered"] += 1
    session.flush()
    return counts


# -- the in-app inbox ----------------------------------------------------------------------------
def inbox(session: Session, username: str, unread_only: bool = False, limit: int = 100) -> list[Message]:
    query = select(Message).where(Message.username == username)
    if unread_only:
        query = query.where(Message.read_at.is_(None))
    return list(session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)))


def unread_count(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(Message)
                          .where(Message.username == username, Message.read_at.is_(None))) or 0


def mark_read(session: Session, username: str, message_id: int, now: datetime) -> Message:
    message = session.get(Message, message_id)
    if message is None or message.username != username:
        # Same answer for "missing" and "not yours", so ids cannot be probed.
        raise NotFound("消息不存在", "Message not found")
    if message.read_at is None:
        message.read_at = now
    session.flush()
    return message


# Audit events of the diagrams (``event`` property of a script task) that are escalations: the unit
# concerned hears of them at once; supervision orders also reach the owner's role.
ESCALATIONS = {
    "ticket_upgraded": "事件升级为指令",
    "supervision_order_issued": "督办单",
    "discipline_referral": "移交纪委监委",
}
TIER_NAMES = {0: "日常督办", 1: "一级督办", 2: "二级督办", 3: "三级督办"}


def notify_escalation(session: Session, ticket: Ticket, event_type: str, data: dict, now: datetime,
                      calendar: WorkingCalendar) -> list[Message]:
    if event_type not in ESCALATIONS:
        return []
    users = set(recipients(session, ticket.city, "handler", ticket.unit_code, whole_unit=True)) if ticket.unit_code \
        else set()
    what = ESCALATIONS[event_type]
    if event_type != "ticket_upgraded":
        what = f"{TIER_NAMES.get(data.get('tier'), '')}{what}"
        if data.get("owner_role"):
            users |= set(recipients(session, ticket.city, data["owner_role"], None))
    if data.get("refer_discipline") and event_type == "supervision_order_issued":
        what += "（移送纪委监委）"
    why = data.get("upgrade_reason") or data.get("upgrade_trigger") or data.get("content") or data.get("reason") or ""
    due = data.get("order_due_at")
    body = ticket.title + (f"\n{why}" if why else "") + (f"\n时限：{due[:16].replace('T', ' ')}" if due else "")
    return _create(session, sorted(users), ticket=ticket, task_id=None, kind="escalation",
                   title=f"{what}：{ticket.number or ''}".strip(), body=body, urgent=True, now=now, calendar=calendar)
