"""Merging duplicate tickets into one master ticket (一体派发, Nantong 第七条/第十七条).

A duplicate waiting for dispatch receives the ``merge`` signal: the diagram cancels its dispatch task
and waits for ``master_reply``. When the master's reply passes the centre's review (the diagram records
``reply_recorded``), every ticket merged into it receives the reply, and its own callback task asks its
own citizen. A dissatisfied citizen's ticket leaves the merge and goes back to dispatch on its own.
"""
from __future__ import annotations

from sqlalchemy import select

from .accounts import Principal
from .cities import LIFECYCLE_PROCESS
from .errors import Conflict, PermissionDenied, field_error
from .models import Event, TaskRow, Ticket
from .runtime import TicketRun, append_event

MERGE_ROLES = ("dispatcher", "admin")
# What a merged ticket takes over from its master when the reply arrives (see take_master_reply).
REPLY_FIELDS = ("reply", "unit", "kind", "dispatched_at", "handle_due_at", "handle_limit_days")


class MergeCommands:
    def merge_ticket(self, actor: Principal, ticket_id: int, into: int, reason: str | None = None) -> Ticket:
        """Merge ticket ``ticket_id`` (waiting for dispatch) into the master ticket ``into``."""
        if not actor.has(*MERGE_ROLES, "system"):
            raise PermissionDenied("只有派单员可以合并工单", "Only a dispatcher may merge tickets")
        child = self.get_ticket(actor, ticket_id)
        if into == ticket_id:
            raise field_error("into", "same_ticket", "不能合并到工单本身", "a ticket cannot be merged into itself")
        master = self.session.get(Ticket, into)
        if master is None or master.city != child.city or master.process != LIFECYCLE_PROCESS \
                or child.process != LIFECYCLE_PROCESS:
            raise field_error("into", "unknown_master", "目标工单不存在或不属于同一城市", "no such ticket in this city")
        if master.merged_into_id:
            raise field_error("into", "master_is_merged",
                              f"目标工单已合并至工单 {master.merged_into_id}，请合并到该主工单",
                              f"that ticket is itself merged into ticket {master.merged_into_id}; merge into that one")
        master_reply = self._last_reply(master)
        if master.status == "closed" and master_reply is None:
            raise Conflict("目标工单已办结且没有答复，不能作为主工单", "The master ticket closed without a reply")
        child = self._lock_ticket(ticket_id)
        if not self._at_dispatch(child.id):
            raise Conflict("只有待派单的工单可以合并", "Only a ticket waiting for dispatch can be merged",
                           details={"status": child.status})
        run = TicketRun(self.session, self.clock, child, self._deployment(child), actor.username)
        run.load()
        payload = {"into": master.id, "master_number": master.number, "reason": reason}
        run.record("signal_received", data={"signal": "merge", "payload": payload})   # replayed like any trigger
        run.send_signal("merge", payload)
        run.save()
        # Tickets already merged into this one follow it to the new master.
        for follower in self.session.scalars(select(Ticket).where(Ticket.merged_into_id == child.id)):
            follower.merged_into_id = master.id
            append_event(self.session, follower.id, "merge_moved", actor=actor.username, at=self.clock.now(),
                         deployment_id=follower.deployment_id, data={"from": child.id, "into": master.id})
        append_event(self.session, master.id, "ticket_merged_in", actor=actor.username, at=self.clock.now(),
                     deployment_id=master.deployment_id,
                     data={"ticket_id": child.id, "number": child.number, "reason": reason})
        if master_reply is not None:
            self._send_reply(child, master, master_reply, actor.username)
        return child

    def merged_tickets(self, actor: Principal, ticket_id: int) -> list[Ticket]:
        """The tickets merged into this master ticket that the actor may see, oldest first (a unit handling
        the master does not see the merged tickets' citizens: they were never dispatched to it)."""
        master = self.get_ticket(actor, ticket_id)
        return [t for t in self.session.scalars(select(Ticket).where(Ticket.merged_into_id == master.id)
                                                .order_by(Ticket.id)) if self._can_view(actor, t)]

    def forward_master_reply(self, run: TicketRun) -> int:
        """After a command on a master ticket: send its reply, if one was just recorded, to every ticket
        merged into it. Returns how many tickets received it."""
        replies = [data for type_, data in run.domain_events if type_ == "reply_recorded"]
        if not replies or run.is_case:
            return 0
        master = run.ticket
        waiting = list(self.session.scalars(select(Ticket.id).where(Ticket.merged_into_id == master.id,
                                                                    Ticket.status == "merged")))
        for child_id in waiting:
            self._send_reply(self._lock_ticket(child_id), master, replies[-1], run.actor)
        return len(waiting)

    # -- helpers ---------------------------------------------------------------------------------
    def _send_reply(self, child: Ticket, master: Ticket, reply: dict, actor: str | None) -> None:
        payload = {k: reply.get(k) for k in REPLY_FIELDS}
        payload.update(master_id=master.id, master_number=master.number)
        run = TicketRun(self.session, self.clock, child, self._deployment(child), actor)
        run.load()
        run.record("signal_received", data={"signal": "master_reply", "payload": payload})
        run.send_signal("master_reply", payload)
        run.save()

    def _last_reply(self, master: Ticket) -> dict | None:
        event = self.session.scalar(select(Event).where(Event.ticket_id == master.id, Event.type == "reply_recorded")
                                    .order_by(Event.seq.desc()).limit(1))
        return event.data if event is not None else None

    def _at_dispatch(self, ticket_id: int) -> bool:
        return self.session.scalar(select(TaskRow.id).where(TaskRow.ticket_id == ticket_id, TaskRow.name == "dispatch",
                                                            TaskRow.state == "ready").limit(1)) is not None
