"""Escalation on the ticket page: upgrade to a directive, open a supervision order, propose a consultation.

Thin like every route: read the posted form, call the facade, redirect; a refused request shows the
ticket page again with the message and what was typed.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, request, url_for

from engine.cases import SUPERVISION_TRIGGERS
from engine.clock import SHANGHAI
from engine.errors import DomainError
from engine.escalation import CONSULTATION_ROLES, SUPERVISION_ROLES, UPGRADE_ROLES

from .context import clock, hotline, session
from .errors import error_text, status_for
from .i18n import current_language, t
from .pages import login_required, render_ticket_page
from .presenters import ticket_dicts

bp = Blueprint("escalation_pages", __name__)


def escalation_context(ticket_id: int) -> dict:
    """What the ticket page needs for its escalation panel: linked cases and the allowed actions."""
    facade, actor = hotline(), g.principal
    cases = facade.cases_of(actor, ticket_id)
    linked = [facade.linked_tickets(c) for c in cases]
    return {"cases": list(zip(ticket_dicts(session(), cases, clock().now()), linked)),
            "may_upgrade": actor.has(*UPGRADE_ROLES), "may_supervise": actor.has(*SUPERVISION_ROLES),
            "may_consult": actor.has(*CONSULTATION_ROLES), "triggers": SUPERVISION_TRIGGERS}


def _render_with_error(ticket_id: int, exc: DomainError, status: int):
    session().rollback()
    return render_ticket_page(ticket_id, status=status, values=request.form,
                              action_error=error_text(exc, current_language()))


def _due(text: str | None):
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


@bp.post("/tickets/<int:ticket_id>/upgrade")
@login_required
def upgrade(ticket_id):
    try:
        hotline().upgrade_ticket(g.principal, ticket_id, reason=request.form.get("reason", "").strip(),
                                 due_at=_due(request.form.get("due_at")))
    except DomainError as exc:
        return _render_with_error(ticket_id, exc, status_for(exc))
    except ValueError:
        return _render_with_error(ticket_id, DomainError("期限格式错误", "Invalid deadline"), 422)
    flash(t("upgraded"))
    return redirect(url_for("pages.ticket_page", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/supervise")
@login_required
def supervise(ticket_id):
    try:
        case = hotline().open_supervision(g.principal, ticket_id, trigger=request.form.get("trigger", ""),
                                          reason=request.form.get("reason", "").strip())
    except DomainError as exc:
        return _render_with_error(ticket_id, exc, status_for(exc))
    flash(t("supervision_opened"))
    return redirect(url_for("pages.ticket_page", ticket_id=case.id))


@bp.post("/tickets/<int:ticket_id>/consult")
@login_required
def consult(ticket_id):
    try:
        case = hotline().propose_consultation(
            g.principal, ticket_ids=[ticket_id], topic=request.form.get("topic", "").strip(),
            description=request.form.get("description", "").strip(), lead_unit=request.form.get("lead_unit") or None,
            mode=request.form.get("mode") or "1+X")
    except DomainError as exc:
        return _render_with_error(ticket_id, exc, status_for(exc))
    flash(t("consultation_proposed"))
    return redirect(url_for("pages.ticket_page", ticket_id=case.id))
