"""Shape engine objects for the schemas (derived values such as lights live here, not in the DB).

The list forms take a whole page at once so a page of N tickets or tasks costs a fixed number of
queries (open tasks, deployment versions, tickets), not N of each.
"""
from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy import select

from engine.lights import light, ticket_light
from engine.personal_data import citizen_views
from engine.models import Deployment, TaskRow, Ticket

TICKET_COLUMNS = ("id", "number", "city", "process", "kind", "status", "channel", "request_type", "title", "content", "address",
                  "received_at", "sign_due_at", "handle_due_at", "deadline_provisional", "sign_overdue",
                  "handle_overdue", "outcome", "outcome_reason", "closed_at", "created_at", "updated_at",
                  "knowledge_entry_id", "category", "merged_into_id")
TASK_COLUMNS = ("id", "ticket_id", "name", "title", "role", "assignee", "state", "created_at", "warn_at", "due_at",
                "completed_at", "completed_by", "subject_ticket_id")


def ticket_dicts(session, tickets: list[Ticket], now) -> list[dict]:
    ids = [t.id for t in tickets]
    open_tasks: dict[int, TaskRow] = {}
    if ids:
        rows = session.scalars(select(TaskRow).where(TaskRow.ticket_id.in_(ids), TaskRow.state == "ready")
                               .order_by(TaskRow.created_at))
        for row in rows:
            open_tasks.setdefault(row.ticket_id, row)     # the oldest open task governs the light
    deployment_ids = {t.deployment_id for t in tickets}
    versions = dict(session.execute(select(Deployment.id, Deployment.version)
                                    .where(Deployment.id.in_(deployment_ids))).all()) if deployment_ids else {}
    # The citizen's name and phone, unmasked only for those who need them; each unmasked view is logged.
    actor = g.get("principal") if has_request_context() else None
    citizens = citizen_views(session, actor, tickets, now,
                             f"{request.method} {request.path}" if has_request_context() else "internal")
    return [{
        **{c: getattr(ticket, c) for c in TICKET_COLUMNS},
        "unit": ticket.unit_code,
        "citizen": citizens[ticket.id],
        "light": ticket_light(now, ticket, open_tasks.get(ticket.id)),
        "deployment_version": versions.get(ticket.deployment_id),
    } for ticket in tickets]


def ticket_dict(session, ticket: Ticket, now) -> dict:
    return ticket_dicts(session, [ticket], now)[0]


def task_dicts(session, rows: list[TaskRow], now) -> list[dict]:
    ticket_ids = {r.ticket_id for r in rows}
    tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))} if ticket_ids else {}
    out = []
    for row in rows:
        ticket = tickets.get(row.ticket_id)
        out.append({
            **{c: getattr(row, c) for c in TASK_COLUMNS},
            "unit": row.unit_code,
            "ticket_number": ticket.number if ticket else None,
            "ticket_title": ticket.title if ticket else None,
            "light": light(now, row.warn_at, row.due_at, closed=row.state != "ready"),
        })
    return out


def task_dict(session, row: TaskRow, now) -> dict:
    return task_dicts(session, [row], now)[0]
