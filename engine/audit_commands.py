"""Audit commands of the facade: replay (one ticket, a period), where a ticket stands on its diagram,
and the step-by-step audit trail. Mixed into ``Hotline``."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from sqlalchemy import select

from .accounts import Principal
from .diagram import process_file, token_state
from .errors import NotFound
from .models import Ticket
from .runtime import TicketRun

AUDIT_ROLES = ("auditor", "admin", "supervisor")


class AuditCommands:
    # -- replay ----------------------------------------------------------------------------------------
    def replay(self, actor: Principal, ticket_id: int) -> dict:
        """Re-execute a ticket from its first event on its pinned deployment and compare every step."""
        self._require(actor, "auditor", "admin", "supervisor")
        return self._verified(self.get_ticket(actor, ticket_id))

    def _verified(self, ticket: Ticket) -> dict:
        """Replay plus the hash chain: verified only when every step reproduces and every link holds."""
        from .audit_chain import verify_chain
        from .replay import replay_ticket
        report = replay_ticket(self.session, ticket)
        report["replay_verified"] = report["verified"]
        report["chain"] = verify_chain(self.session, ticket.id)
        report["verified"] = report["verified"] and report["chain"]["verified"]
        return report

    def replay_period(self, actor: Principal, city: str, since: datetime, until: datetime) -> list[dict]:
        self._require(actor, "auditor", "admin")
        tickets = self.session.scalars(select(Ticket).where(Ticket.city == city, Ticket.received_at >= since,
                                                            Ticket.received_at < until).order_by(Ticket.id))
        return [self._verified(t) for t in tickets]

    def personal_data_views(self, actor: Principal, ticket_id: int) -> list:
        """Who was shown this ticket's citizen unmasked, when and where (auditors, administrators)."""
        self._require(actor, "auditor", "admin")
        from .personal_data import views_of
        return views_of(self.session, self.get_ticket(actor, ticket_id).id)

    def verify_chains(self, actor: Principal, city: str | None = None) -> dict:
        """Every log's hash chain (each ticket's, and the administrative log), the broken ones, and one
        digest over all heads for the auditor to keep outside the system."""
        self._require(actor, "auditor", "admin")
        from .audit_chain import chain_digest, verify_chain
        query = select(Ticket.id, Ticket.number).order_by(Ticket.id)
        if city:
            query = query.where(Ticket.city == city)
        broken, heads, count = [], [], 0
        for ticket_id, number in self.session.execute(query):
            result = verify_chain(self.session, ticket_id)
            count += 1
            heads.append((ticket_id, result.get("head")))
            if not result["verified"]:
                broken.append({"ticket_id": ticket_id, "number": number, **result["first_broken"]})
        admin = verify_chain(self.session, None)
        heads.append(("admin", admin.get("head")))
        return {"logs": count + 1, "broken": broken, "admin_log": admin, "digest": chain_digest(heads),
                "verified": not broken and admin["verified"]}

    def ticket_diagram(self, actor: Principal, ticket_id: int) -> dict:
        """The BPMN of the ticket's process in its pinned deployment, with completed and active elements."""
        ticket = self.get_ticket(actor, ticket_id)
        deployment = self._deployment(ticket)
        found = process_file(deployment, ticket.process)
        if found is None:
            raise NotFound("该版本没有此流程图", "The deployment has no diagram for this process")
        run = TicketRun(self.session, self.clock, ticket, deployment, None)
        run.load()
        return {"process": ticket.process, "file": found[0], "xml": found[1], "deployment_version": deployment.version,
                **token_state(run.workflow)}

    def audit_trail(self, actor: Principal, ticket_id: int) -> dict:
        """Every step of the ticket re-executed on its pinned deployment: the trigger (who, when, input),
        where the tokens are after it and which variables it changed; plus the replay verdict."""
        self._require(actor, *AUDIT_ROLES)
        from .replay import replay_ticket
        ticket = self.get_ticket(actor, ticket_id)
        steps: list[dict] = []
        report = replay_ticket(self.session, ticket, trace=steps)
        return {"ticket_id": ticket.id, "number": ticket.number, "verified": report["verified"],
                "first_difference": report["first_difference"], "steps": steps}

    def audit_csv(self, actor: Principal, ticket_id: int) -> str:
        """The ticket's whole event log as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
        self._require(actor, *AUDIT_ROLES)
        events = self.ticket_events(actor, ticket_id)
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(["seq", "at", "type", "actor", "task", "deployment_id", "data"])
        for e in events:
            writer.writerow([e.seq, e.at.isoformat(), e.type, e.actor or "", e.task_name or "", e.deployment_id or "",
                             json.dumps(e.data, ensure_ascii=False, sort_keys=True)])
        return out.getvalue()
