"""Shape engine objects for the schemas (derived values such as lights live here, not in the DB)."""
from __future__ import annotations

from sqlalchemy import select

from engine.lights import light, ticket_light
from engine.models import Deployment, TaskRow, Ticket


def ticket_dict(session, ticket: Ticket, now) -> dict:
    open_task = session.scalar(select(TaskRow).where(TaskRow.ticket_id == ticket.id, TaskRow.state == "ready")
                               .order_by(TaskRow.created_at).limit(1))
    deployment = session.get(Deployment, ticket.deployment_id)
    return {
        **{c: getattr(ticket, c) for c in (
            "id", "number", "city", "kind", "status", "channel", "request_type", "title", "content", "address",
            "received_at", "sign_due_at", "handle_due_at", "deadline_provisional", "sign_overdue",
            "handle_overdue", "outcome", "outcome_reason", "closed_at", "created_at", "updated_at")},
        "unit": ticket.unit_code,
        "citizen": {"name": ticket.citizen_name, "phone": ticket.citizen_phone},
        "light": ticket_light(now, ticket, open_task),
        "deployment_version": deployment.version if deployment else None,
    }


def task_dict(session, row: TaskRow, now) -> dict:
    ticket = session.get(Ticket, row.ticket_id)
    return {
        **{c: getattr(row, c) for c in ("id", "ticket_id", "name", "title", "role", "assignee", "state",
                                         "created_at", "warn_at", "due_at", "completed_at", "completed_by")},
        "unit": row.unit_code,
        "ticket_number": ticket.number if ticket else None,
        "ticket_title": ticket.title if ticket else None,
        "light": light(now, row.warn_at, row.due_at, closed=row.state != "ready"),
    }
