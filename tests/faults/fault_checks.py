"""What a database must look like after a fault, whatever was interrupted:

- every ticket starts with its ``ticket_created`` event, its events are numbered 1..n without a gap, and it
  has a stored workflow instance;
- its open task rows are exactly the instance's ready user tasks, and its pending timer rows exactly the
  instance's waiting timers (no mirror row without the workflow state that has it, and the reverse);
- it replays verified on its pinned deployment, and every hash chain (``verify_chains``) holds.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from engine.accounts import Principal
from engine.clock import SHANGHAI, FixedClock
from engine.db import Database
from engine.facade import Hotline
from engine.models import Event, TaskRow, Ticket, Timer
from engine.runtime import TicketRun
from engine.workflow_tasks import ready_user_tasks

AUDITOR = Principal("fault-check", frozenset({"auditor"}))


def ticket_problems(hotline: Hotline, ticket: Ticket) -> list[str]:
    session = hotline.session
    problems = []
    seqs = list(session.scalars(select(Event.seq).where(Event.ticket_id == ticket.id).order_by(Event.seq)))
    first = session.scalar(select(Event.type).where(Event.ticket_id == ticket.id, Event.seq == 1))
    if first != "ticket_created":
        problems.append(f"first event is {first!r}, not ticket_created")
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append(f"event numbers have gaps: {seqs}")
    if not ticket.workflow_state:
        return problems + ["no workflow instance stored"]
    run = TicketRun(session, hotline.clock, ticket, hotline._deployment(ticket), "fault-check")
    run.load()
    ready = {str(t.id) for t in ready_user_tasks(run.workflow)}
    rows = set(session.scalars(select(TaskRow.id).where(TaskRow.ticket_id == ticket.id, TaskRow.state == "ready")))
    if ready != rows:
        problems.append(f"open task rows {sorted(rows)} != ready tasks of the instance {sorted(ready)}")
    waiting = set(run._waiting_timers())
    pending = set(session.scalars(select(Timer.task_id).where(Timer.ticket_id == ticket.id, Timer.state == "pending")))
    if waiting != pending:
        problems.append(f"pending timer rows {sorted(pending)} != waiting timers of the instance {sorted(waiting)}")
    report = hotline._verified(ticket)
    if not report["verified"]:
        problems.append(f"replay: {report['first_difference']}, chain: {report['chain'].get('first_broken')}")
    return problems


def consistency_problems(url: str) -> dict:
    """{ticket number: [problems]} for every ticket with one, plus "chains" when verify_chains fails."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            hotline = Hotline(session, FixedClock(datetime(2030, 1, 1, tzinfo=SHANGHAI)))
            found = {}
            for ticket in session.scalars(select(Ticket).order_by(Ticket.id)):
                problems = ticket_problems(hotline, ticket)
                if problems:
                    found[ticket.number or ticket.id] = problems
            chains = hotline.verify_chains(AUDITOR)
            if not chains["verified"]:
                found["chains"] = [chains["broken"], chains["admin_log"]]
            session.rollback()
        return found
    finally:
        db.dispose()


def tickets_by_title(url: str) -> dict[str, list[dict]]:
    """title -> the tickets with it (a title is unique per request, so more than one is a duplicate)."""
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            found: dict[str, list[dict]] = {}
            for ticket in session.scalars(select(Ticket).order_by(Ticket.id)):
                dispatched = session.scalar(select(func.count()).select_from(Event).where(
                    Event.ticket_id == ticket.id, Event.type == "task_completed", Event.task_name == "dispatch"))
                found.setdefault(ticket.title, []).append({"id": ticket.id, "number": ticket.number,
                                                           "status": ticket.status, "dispatched": dispatched})
            return found
    finally:
        db.dispose()


def row_counts(url: str) -> dict[str, int]:
    """How many rows the tables a ticket command writes hold (to show a refused request stored nothing)."""
    from engine.models import Attachment, Message
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                    for model in (Ticket, Event, TaskRow, Timer, Message, Attachment)}
    finally:
        db.dispose()
