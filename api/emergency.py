"""Emergency hand-offs (应急联动): the JSON API and the operators' page (/emergency).

An emergency is marked at intake (``scope`` "emergency" with ``emergency_agency``); the lifecycle ends it
without dispatch and the transfer record waits for the operator to hand it over and for the agency to confirm.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, fields, validate

from engine.emergency import AGENCIES, HAND_OFF_ROLES, STATES
from engine.errors import DomainError

from . import schemas as S
from .context import hotline, principal, require_token, session
from .errors import error_text
from .i18n import current_language, t
from .pages import chosen_city, login_required
from .v1 import body

bp = Blueprint("api_emergency", __name__, url_prefix="/api/v1")
pages_bp = Blueprint("emergency_pages", __name__)


class TransferOut(Schema):
    ticket_id = fields.Integer()
    number = fields.String()
    city = fields.String()
    title = fields.String()
    agency = fields.String(metadata={"description": "110 police, 119 fire, 120 ambulance, 122 traffic police"})
    agency_name = fields.String()
    reason = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "requested | handed_over | acknowledged"})
    requested_at = S.Time()
    requested_by = fields.String()
    handed_over_at = S.Time(allow_none=True)
    handed_over_by = fields.String(allow_none=True)
    agency_reference = fields.String(allow_none=True)
    acknowledged_at = S.Time(allow_none=True)
    note = fields.String(allow_none=True)


class TransferList(Schema):
    items = fields.List(fields.Nested(TransferOut))


class TransferQuery(S.Strict):
    city = fields.String(validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    state = fields.String(validate=validate.OneOf(["open", *STATES]))


class HandOverIn(S.Strict):
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class AcknowledgeIn(S.Strict):
    agency_reference = fields.String(required=True, validate=validate.Length(1, 100))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


def transfer_dict(transfer, ticket) -> dict:
    names = AGENCIES[transfer.agency]
    return {"ticket_id": ticket.id, "number": ticket.number, "city": ticket.city, "title": ticket.title,
            "agency": transfer.agency, "agency_name": names[1] if current_language() == "en" else names[0],
            **{k: getattr(transfer, k) for k in ("reason", "state", "requested_at", "requested_by", "handed_over_at",
                                                 "handed_over_by", "agency_reference", "acknowledged_at", "note")}}


@bp.get("/emergency-transfers")
@require_token
def list_transfers():
    query = TransferQuery().load(request.args)
    rows = hotline().emergency_transfers(principal(), **query)
    return TransferList().dump({"items": [transfer_dict(tr, tk) for tr, tk in rows]})


@bp.get("/tickets/<int:ticket_id>/emergency-transfer")
@require_token
def get_transfer(ticket_id):
    return TransferOut().dump(transfer_dict(*hotline().emergency_transfer(principal(), ticket_id)))


@bp.post("/tickets/<int:ticket_id>/emergency-transfer/handover")
@require_token
def hand_over(ticket_id):
    return TransferOut().dump(transfer_dict(*hotline().hand_over_emergency(principal(), ticket_id,
                                                                           **body(HandOverIn()))))


@bp.post("/tickets/<int:ticket_id>/emergency-transfer/acknowledge")
@require_token
def acknowledge(ticket_id):
    return TransferOut().dump(transfer_dict(*hotline().acknowledge_emergency(principal(), ticket_id,
                                                                             **body(AcknowledgeIn()))))


# -- the operators' page ------------------------------------------------------------------------------
@pages_bp.get("/emergency")
@login_required
def emergency_page(status: int = 200, error: str | None = None):
    state = request.args.get("state", "open")
    state = state if state in ("open", "all", *STATES) else "open"
    rows = hotline().emergency_transfers(g.principal, city=chosen_city(), state=None if state == "all" else state)
    return render_template("emergency.html", transfers=[transfer_dict(tr, tk) for tr, tk in rows], state=state,
                           may_act=g.principal.has(*HAND_OFF_ROLES), error=error), status


@pages_bp.post("/emergency/<int:ticket_id>/<any(handover, acknowledge):step>")
@login_required
def emergency_step(ticket_id, step):
    facade, form = hotline(), request.form
    try:
        if step == "handover":
            facade.hand_over_emergency(g.principal, ticket_id, note=form.get("note") or None)
        else:
            facade.acknowledge_emergency(g.principal, ticket_id, form.get("agency_reference", ""),
                                         note=form.get("note") or None)
    except DomainError as exc:
        session().rollback()
        from .errors import status_for
        return emergency_page(status=status_for(exc), error=error_text(exc, current_language()))
    flash(t("emergency_acknowledged") if step == "acknowledge" else t("emergency_handed_over"))
    return redirect(url_for("emergency_pages.emergency_page"))


OPERATIONS = [
    ("get", "/api/v1/emergency-transfers", "Emergency hand-offs to 110/119/120/122, newest first (state=open|requested|handed_over|acknowledged)", None, {200: TransferList, 403: S.ErrorOut, 422: S.ErrorOut}, TransferQuery, True),
    ("get", "/api/v1/tickets/{ticket_id}/emergency-transfer", "A ticket's emergency hand-off record", None, {200: TransferOut, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
    ("post", "/api/v1/tickets/{ticket_id}/emergency-transfer/handover", "The operator handed the emergency to the agency", HandOverIn, {200: TransferOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/tickets/{ticket_id}/emergency-transfer/acknowledge", "The agency confirmed receipt with its incident number", AcknowledgeIn, {200: TransferOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
]
