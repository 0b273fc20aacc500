"""Escalation commands of the facade: upgrade an event to a directive, open a supervision order,
propose a consultation, and list a ticket's cases.

What each escalation *means* (tiers, owners, thresholds) is decided by the diagrams and the city's
decision tables; these commands only check who may ask, take the ticket's lock and deliver the
request to the workflow (a signal) or start the case's process.
"""
from __future__ import annotations

from datetime import datetime

from . import cases
from .accounts import Principal
from .cities import LIFECYCLE_PROCESS, effective_units
from .errors import InvalidState, NotFound, field_error
from .models import Ticket
from .runtime import TicketRun, ready_user_tasks, task_name

UPGRADE_ROLES = ("dispatcher", "supervisor", "admin")
SUPERVISION_ROLES = ("dispatcher", "supervisor", "inspector", "city_leader", "admin")
CONSULTATION_ROLES = ("dispatcher", "supervisor", "handler", "leader", "principal", "admin")
CONSULTATION_MODES = ("1+X", "one_matter")


def _text(field: str, value, label: str, max_length: int = 2000) -> str:
    """A reason, topic or description: required, at least 2 characters (the page and the API alike)."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if len(value) < 2:
        raise field_error(field, "required", f"请填写{label}（至少2个字）", f"{field} is required (2+ characters)")
    if len(value) > max_length:
        raise field_error(field, "too_long", f"{label}不能超过{max_length}字", f"{field} is longer than {max_length}")
    return value


class EscalationCommands:
    """Mixed into ``Hotline``; uses its session, clock and locking helpers."""

    def upgrade_ticket(self, actor: Principal, ticket_id: int, *, reason: str, sensitivity: str | None = None,
                       due_at: datetime | None = None) -> Ticket:
        """The centre upgrades an event to a directive while a unit handles it (Nantong 第二十条（三）（四）);
        at dispatch the dispatch form carries the same decision."""
        self._require(actor, *UPGRADE_ROLES)
        reason = _text("reason", reason, "升级理由", 1000)
        ticket = self._lifecycle_ticket(actor, ticket_id)
        if ticket.kind != "event":
            raise InvalidState("只有“事件”可以升级为“指令”", "Only an event can be upgraded to a directive")
        run = TicketRun(self.session, self.clock, ticket, self._deployment(ticket), actor.username)
        run.load()
        if not any(task_name(t) == "handle" for t in ready_user_tasks(run.workflow)):
            raise InvalidState("工单不在办理环节：请在派单时选择升级", "The ticket is not being handled; upgrade at dispatch")
        if due_at is not None and due_at <= self.clock.now():
            raise field_error("due_at", "in_past", "指令办理期限必须晚于当前时间", "must be in the future")
        payload = {"reason": reason, "sensitivity": sensitivity, "due_at": due_at.isoformat() if due_at else None}
        run.record("signal_received", data={"signal": "upgrade", "payload": payload})
        run.send_signal("upgrade", payload)
        run.save()
        cases.start_requested_supervisions(self.session, self.clock, run)
        return ticket

    def open_supervision(self, actor: Principal, ticket_id: int, *, trigger: str, reason: str) -> Ticket:
        """A supervisor, the inspection office or a city leader puts a ticket under supervision for one of
        the seeds' triggers (leader instruction, media exposure, repeat complaint ...). Closed tickets too:
        a repeat complaint supervises the closed matter."""
        self._require(actor, *SUPERVISION_ROLES)
        reason = _text("reason", reason, "督办理由")
        if trigger not in cases.SUPERVISION_TRIGGERS:
            raise field_error("trigger", "not_an_option", f"督办情形必须是{list(cases.SUPERVISION_TRIGGERS)}之一",
                               f"must be one of {list(cases.SUPERVISION_TRIGGERS)}")
        ticket = self._lifecycle_ticket(actor, ticket_id)
        if not ticket.unit_code:
            raise InvalidState("工单尚未派发到承办单位，无法督办", "The ticket has no handling unit yet")
        return cases.start_supervision(self.session, self.clock, ticket, trigger=trigger, reason=reason,
                                       actor=actor.username)

    def propose_consultation(self, actor: Principal, *, ticket_ids: list[int], topic: str, description: str,
                             lead_unit: str | None = None, assisting_units: list[str] | None = None,
                             mode: str = "1+X") -> Ticket:
        """A dispatcher or a unit proposes a consultation topic on one or more tickets (宿州 附件4 第三条)."""
        self._require(actor, *CONSULTATION_ROLES)
        topic = _text("topic", topic, "会商议题", 300)
        description = _text("description", description, "议题说明", 5000)
        if mode not in CONSULTATION_MODES:
            raise field_error("mode", "not_an_option", "会商形式必须是“1+X”或一事一议", "must be 1+X or one_matter")
        if not ticket_ids:
            raise field_error("ticket_ids", "required", "至少关联一张工单", "link at least one ticket")
        tickets = []
        for ticket_id in sorted(set(ticket_ids)):     # lock in id order: two proposals never deadlock
            tickets.append(self._lifecycle_ticket(actor, ticket_id))
        city = tickets[0].city
        if any(t.city != city for t in tickets):
            raise field_error("ticket_ids", "mixed_cities", "关联工单必须属于同一城市", "tickets must be of one city")
        unit_codes = {u["code"] for u in effective_units(self.session, city)}
        for field, codes in (("lead_unit", [lead_unit] if lead_unit else []), ("assisting_units", assisting_units or [])):
            unknown = [c for c in codes if c not in unit_codes]
            if unknown:
                raise field_error(field, "unknown_unit", f"未知单位：{unknown}", f"unknown units {unknown}")
        return cases.start_consultation(self.session, self.clock, tickets, topic=topic, description=description,
                                        proposer=actor.username, proposer_unit=actor.unit_code, lead_unit=lead_unit,
                                        assisting_units=list(dict.fromkeys(assisting_units or [])), mode=mode)

    def cases_of(self, actor: Principal, ticket_id: int) -> list[Ticket]:
        """The supervision orders and consultations that concern a ticket."""
        self.get_ticket(actor, ticket_id)
        return cases.cases_of(self.session, ticket_id)

    def linked_tickets(self, case: Ticket) -> list[int]:
        return cases.linked_tickets(self.session, case.id)

    # -- helpers ---------------------------------------------------------------------------------
    def _lifecycle_ticket(self, actor: Principal, ticket_id: int) -> Ticket:
        self.get_ticket(actor, ticket_id)          # 404 for what the actor cannot see
        ticket = self._lock_ticket(ticket_id)
        if ticket.process != LIFECYCLE_PROCESS:
            raise NotFound("工单不存在", "Ticket not found")
        return ticket

    def _after_run(self, run: TicketRun) -> None:
        """Side effects of a command's run: supervision requests the workflow threw become cases."""
        cases.start_requested_supervisions(self.session, self.clock, run)
        self.report_upstream_status(run.ticket)      # status back to the platform that sent it (webhooks.py)
