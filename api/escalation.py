"""JSON API for escalation: upgrade to a directive, supervision orders, consultations, a ticket's cases."""
from __future__ import annotations

from flask import Blueprint

from . import schemas as S
from .context import clock, hotline, principal, require_token, session
from .presenters import ticket_dict, ticket_dicts
from .v1 import body

bp = Blueprint("api_escalation", __name__, url_prefix="/api/v1")


def _case_dicts(cases):
    facade = hotline()
    return [{**d, "linked_tickets": facade.linked_tickets(c)}
            for c, d in zip(cases, ticket_dicts(session(), cases, clock().now()))]


@bp.post("/tickets/<int:ticket_id>/upgrade")
@require_token
def upgrade_ticket(ticket_id):
    ticket = hotline().upgrade_ticket(principal(), ticket_id, **body(S.UpgradeRequest()))
    return S.TicketOut().dump(ticket_dict(session(), ticket, clock().now()))


@bp.post("/tickets/<int:ticket_id>/supervisions")
@require_token
def open_supervision(ticket_id):
    case = hotline().open_supervision(principal(), ticket_id, **body(S.SupervisionRequest()))
    return S.CaseOut().dump(_case_dicts([case])[0]), 201


@bp.get("/tickets/<int:ticket_id>/cases")
@require_token
def ticket_cases(ticket_id):
    return S.CaseList().dump({"items": _case_dicts(hotline().cases_of(principal(), ticket_id))})


@bp.post("/consultations")
@require_token
def propose_consultation():
    case = hotline().propose_consultation(principal(), **body(S.ConsultationRequest()))
    return S.CaseOut().dump(_case_dicts([case])[0]), 201
