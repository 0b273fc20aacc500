"""What a task page shows besides its form: the workflow variables its form declares as context (the
assisting units' input, the supervision order, the agreed action, the responsibility matrix at dispatch)
and the reply check of a draft reply. Reads only. Mixed into ``Hotline``."""
from __future__ import annotations

from .accounts import Principal
from .models import Ticket
from .responsibility import suggest
from .runtime import TicketRun, ready_user_tasks


class TaskAidCommands:
    def task_context(self, row) -> list[dict]:
        """The workflow variables a task's form declares as its context (read-only): the assisting units'
        input for the lead unit, the order for a supervision feedback, the agreed action ..."""
        wanted = self.task_form_definition(row).context
        if not wanted or row.state != "ready":   # (the dispatch form lists the responsibility matrix)
            return []
        ticket = self.session.get(Ticket, row.ticket_id)
        run = TicketRun(self.session, self.clock, ticket, self._deployment(ticket), None)
        run.load()
        task = next((t for t in ready_user_tasks(run.workflow) if str(t.id) == row.id), None)
        data = dict(task.data) if task is not None else {}
        if row.name == "dispatch":
            data["responsibility_matrix"] = suggest(ticket.city, f"{ticket.title}\n{ticket.content}")
        return [{**item, "value": data[item["name"]]} for item in wanted
                if data.get(item["name"]) not in (None, "", [], False)]

    def check_reply(self, actor: Principal, task_id: str, reply: str) -> dict:
        """The city's reply rules applied to a draft reply of a task the actor may see (nothing is stored)."""
        from .reply_quality import check_reply
        row = self.get_task(actor, task_id)
        ticket = self.session.get(Ticket, row.ticket_id)
        return check_reply(ticket.city, f"{ticket.title}\n{ticket.content}", reply or "")
