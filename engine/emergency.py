"""Emergency hand-off (应急联动): a request marked as an emergency at intake is transferred to 110, 119,
120 or 122 and never enters normal dispatch (the lifecycle's scope check ends it at ``end_emergency``).

The transfer record keeps the time of each step: requested (intake), handed over (the operator has the
agency on the line and passed the case), acknowledged (the agency confirmed and gave its incident number).
Each step is also an event on the ticket's log. Mixed into ``Hotline``.
"""
from __future__ import annotations

from sqlalchemy import select

from .accounts import Principal
from .channel_models import EmergencyTransfer
from .errors import InvalidState, NotFound, ValidationFailed, field_error
from .models import Ticket
from .runtime import append_event

AGENCIES = {"110": ("公安110", "police (110)"), "119": ("消防119", "fire (119)"),
            "120": ("急救120", "ambulance (120)"), "122": ("交警122", "traffic police (122)")}
EMERGENCY_OUTCOME = "emergency_transfer"
HAND_OFF_ROLES = ("operator", "dispatcher", "supervisor", "admin")
VIEW_ROLES = (*HAND_OFF_ROLES, "auditor", "inspector", "city_leader")
STATES = ("requested", "handed_over", "acknowledged")


def agency_problem(agency: str | None) -> dict | None:
    """The field error for a missing or unknown agency, else None."""
    if agency in AGENCIES:
        return None
    return {"code": "agency_required" if not agency else "not_an_option",
            "message_zh": "紧急事项须选择移交机构：110、119、120 或 122",
            "message_en": "An emergency needs the agency to hand it to: 110, 119, 120 or 122"}


def open_transfer(session, ticket: Ticket, agency: str | None, reason: str | None, actor: str, now) -> EmergencyTransfer:
    """Record the transfer of a ticket the lifecycle sent to emergency hand-off (called at intake)."""
    problem = agency_problem(agency)
    if problem:
        raise ValidationFailed("紧急事项信息不完整", "The emergency is incomplete",
                               details={"emergency_agency": [problem]})
    transfer = EmergencyTransfer(ticket_id=ticket.id, agency=agency, reason=reason, state="requested",
                                 requested_at=now, requested_by=actor)
    session.add(transfer)
    append_event(session, ticket.id, "emergency_transfer_requested", actor=actor, at=now,
                 deployment_id=ticket.deployment_id, data={"agency": agency, "reason": reason})
    return transfer


class EmergencyCommands:
    def emergency_transfers(self, actor: Principal, *, city: str | None = None,
                            state: str | None = None, limit: int = 200) -> list[tuple[EmergencyTransfer, Ticket]]:
        """Transfers, newest first; ``state`` filters (open = requested or handed over)."""
        self._require(actor, *VIEW_ROLES)
        query = select(EmergencyTransfer, Ticket).join(Ticket, Ticket.id == EmergencyTransfer.ticket_id)
        if city:
            query = query.where(Ticket.city == city)
        if state == "open":
            query = query.where(EmergencyTransfer.state.in_(("requested", "handed_over")))
        elif state:
            query = query.where(EmergencyTransfer.state == state)
        rows = self.session.execute(query.order_by(EmergencyTransfer.requested_at.desc()).limit(limit))
        return [(t, ticket) for t, ticket in rows]

    def emergency_transfer(self, actor: Principal, ticket_id: int) -> tuple[EmergencyTransfer, Ticket]:
        self._require(actor, *VIEW_ROLES)
        ticket = self.get_ticket(actor, ticket_id)
        transfer = self.session.scalar(select(EmergencyTransfer).where(EmergencyTransfer.ticket_id == ticket.id))
        if transfer is None:
            raise NotFound("该工单没有应急移交记录", "This ticket has no emergency transfer")
        return transfer, ticket

    def hand_over_emergency(self, actor: Principal, ticket_id: int, note: str | None = None):
        """The operator passed the case to the agency (三方通话/转接)."""
        self._require(actor, *HAND_OFF_ROLES)
        transfer, ticket = self._locked_transfer(actor, ticket_id)
        if transfer.state != "requested":
            raise InvalidState("该应急事项已移交", "This emergency was already handed over")
        now = self.clock.now()
        transfer.state, transfer.handed_over_at, transfer.handed_over_by = "handed_over", now, actor.username
        transfer.note = note or transfer.note
        append_event(self.session, ticket.id, "emergency_handed_over", actor=actor.username, at=now,
                     deployment_id=ticket.deployment_id, data={"agency": transfer.agency, "note": note})
        return transfer, ticket

    def acknowledge_emergency(self, actor: Principal, ticket_id: int, agency_reference: str,
                              note: str | None = None):
        """The agency confirmed receipt and gave its incident number."""
        self._require(actor, *HAND_OFF_ROLES)
        reference = (agency_reference or "").strip()
        if not reference:
            raise field_error("agency_reference", "required", "请填写接收机构的警情/事件编号",
                              "Enter the agency's incident number")
        transfer, ticket = self._locked_transfer(actor, ticket_id)
        if transfer.state == "acknowledged":
            raise InvalidState("该应急事项已确认接收", "This emergency was already acknowledged")
        now = self.clock.now()
        if transfer.state == "requested":       # confirmed on the same call: handed over and acknowledged at once
            transfer.handed_over_at, transfer.handed_over_by = now, actor.username
        transfer.state, transfer.acknowledged_at, transfer.agency_reference = "acknowledged", now, reference[:100]
        transfer.note = note or transfer.note
        append_event(self.session, ticket.id, "emergency_acknowledged", actor=actor.username, at=now,
                     deployment_id=ticket.deployment_id,
                     data={"agency": transfer.agency, "agency_reference": transfer.agency_reference, "note": note})
        return transfer, ticket

    def _locked_transfer(self, actor: Principal, ticket_id: int) -> tuple[EmergencyTransfer, Ticket]:
        ticket = self.get_ticket(actor, ticket_id)
        ticket = self._lock_ticket(ticket.id)
        transfer = self.session.scalar(select(EmergencyTransfer).where(EmergencyTransfer.ticket_id == ticket.id)
                                       .execution_options(populate_existing=True))
        if transfer is None:
            raise NotFound("该工单没有应急移交记录", "This ticket has no emergency transfer")
        return transfer, ticket
