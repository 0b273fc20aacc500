"""The variables a ticket's lifecycle instance starts with (the diagram's start-data contract)."""
from __future__ import annotations

from datetime import datetime

from .cases import origin_of


def lifecycle_start_data(ticket, *, scope: str = "normal", directive_due_at: datetime | None = None,
                         direct_answer: str | None = None, sensitivity: str = "normal") -> dict:
    """Every variable the lifecycle's scripts and decision tables read before a form has set it."""
    return {
        "ticket_id": ticket.id, "city": ticket.city, "channel": ticket.channel,
        "request_type": ticket.request_type, "title": ticket.title, "received_at": ticket.received_at.isoformat(),
        "scope": scope, "directive_due_at": directive_due_at.isoformat() if directive_due_at else None,
        "direct_answer": direct_answer, "dispatch_count": 0, "return_count": 0,
        "extension_count": 0, "rehandle_count": 0, "sign_overdue": False, "handle_overdue": False,
        "unit": None, "outcome": None,
        # intelligence: the subject category (model-suggested, confirmed at intake or dispatch)
        "category": ticket.category, "recommended_unit": None,
        # escalation: upgrade inputs, co-handling, supervision, final reply
        "sensitivity": sensitivity, "origin": origin_of(ticket.channel), "extension_requests": 0,
        "upgraded": False, "upgrade_trigger": "", "upgrade_reason": None, "upgrade_requested": False,
        "upgrade_point": "", "assisting_units": [], "responsibility": "duty", "returned_from": None,
        "redispatched_after_return": False, "supervised": False, "supervision_trigger": None,
        "supervision_reason": None, "final_reply": False, "assist_days": 2, "assist_results": [],
    }
