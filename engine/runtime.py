"""Running one ticket's workflow inside a command: load, advance, record, mirror, save.

A ``TicketRun`` is created under the ticket's lock. It attaches the restricted script engine (with
the engine clock and the city calendar as the only functions), records every task completion,
decision and timer firing in the event log, mirrors open user tasks and waiting timers into their
tables, and writes the instance back without its spec.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import notifications
from .calendar import WorkingCalendar
from .cities import LIFECYCLE_PROCESS, calendar_for, load_city
from .clock import Clock, iso, parse_iso
from .errors import Conflict, WorkflowFailed
from .models import Deployment, Event, TaskRow, Ticket, TicketLink, Timer
from .scripting import make_script_engine
from .spiff import EngineDurationTimerEventDefinition, EngineTimeDateEventDefinition, codec_for
from .workflow_tasks import lookup, ready_user_tasks, task_name, task_role, task_unit, user_task_properties

# Status shown for a ticket while one of these user tasks is open.
TASK_STATUS = {
    "dispatch": "dispatching", "sign": "signing", "approve_return": "return_approval",
    "handle": "handling", "approve_extension_unit": "extension_approval",
    "approve_extension": "extension_review", "approve_reply": "reply_approval",
    "review_reply": "reply_review", "callback": "callback", "assist": "assisting",
    "callback_merged": "callback",
    # supervision orders (督办单)
    "routine_supervision": "routine_supervision", "register_order": "order_registration",
    "supervision_feedback": "supervision_feedback", "approve_supervision_feedback": "feedback_approval",
    "verify_supervision": "supervision_verification",
    # consultations (会商)
    "confirm_topic": "topic_confirmation", "convene": "convening", "carry_out_action": "carrying_out",
    "summarize_consultation": "summarizing",
}
# A case's deadline column (tickets.handle_due_at) comes from the first of these variables it has.
CASE_DUE = ("order_due_at", "minutes_due_at")
# Which deadline governs a task when the diagram does not name one (property "due").
DEFAULT_DUE = {"sign": "sign_due_at", "handle": "handle_due_at", "approve_reply": "handle_due_at",
               "approve_extension_unit": "handle_due_at", "approve_extension": "handle_due_at"}
_ENGINE_TIMERS = (EngineTimeDateEventDefinition, EngineDurationTimerEventDefinition)


def script_functions(clock: Clock, calendar: WorkingCalendar) -> dict:
    """The only callables a diagram's scripts and expressions can reach (ISO strings in and out)."""

    def now() -> str:
        return iso(clock.now())

    def add_working_hours(start: str, hours) -> str:
        return iso(calendar.add_working_hours(parse_iso(start), float(hours)))

    def add_working_days(start: str, days) -> str:
        return iso(calendar.add_working_days(parse_iso(start), float(days)))

    def working_hours_between(start: str, end: str) -> float:
        return calendar.working_hours_between(parse_iso(start), parse_iso(end))

    def is_before(first: str, second: str) -> bool:
        return parse_iso(first) <= parse_iso(second)

    def half_day_deadline(received: str) -> str:
        return iso(calendar.half_day_deadline(parse_iso(received)))

    return {f.__name__: f for f in (now, add_working_hours, add_working_days, working_hours_between,
                                    is_before, half_day_deadline)}


def _json_safe(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}


class TicketRun:
    def __init__(self, session: Session, clock: Clock, ticket: Ticket, deployment: Deployment, actor: str | None):
        self.session = session
        self.clock = clock
        self.ticket = ticket
        self.deployment = deployment
        self.actor = actor
        self.calendar = calendar_for(session, ticket.city)
        self.city = load_city(ticket.city)
        self.engine = make_script_engine(script_functions(clock, self.calendar))
        self.engine.clock = clock
        self.codec = codec_for(deployment)
        self._seq = None
        self._snapshots: dict = {}
        self._overdue: list[tuple[str, str | None]] = []   # (timer, attached task id) fired in this command
        self._last_decision: dict | None = None
        self._escalations: list[tuple[str, dict]] = []
        self.domain_events: list[tuple[str, dict]] = []   # every diagram-marked event of this command
        self.process = ticket.process or LIFECYCLE_PROCESS
        self.is_case = self.process != LIFECYCLE_PROCESS
        self.thrown: list = []    # events the workflow threw that no task of it caught (e.g. supervision_request)
        self.workflow: BpmnWorkflow | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def create(self, start_data: dict) -> None:
        self.workflow = self.codec.new_workflow(self.engine, self._process_arg())
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(start_data)
        self._advance()

    def load(self) -> None:
        self.workflow = self.codec.load(self.ticket.workflow_state, self.engine, self._process_arg())

    def _process_arg(self) -> str | None:
        return self.process if self.is_case else None

    def send_signal(self, name: str, payload: dict) -> None:
        """Deliver a signal (e.g. the centre's upgrade request) to the task waiting for it."""
        try:
            self.workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        except WorkflowException as exc:
            raise Conflict("工单当前环节不能接收该操作", "The ticket is not at a step that accepts this",
                           details={"signal": name}) from exc
        self._advance()

    def complete(self, task_id: str, data: dict) -> None:
        task = self.workflow.get_task_from_id(_uuid(task_id))
        task.data.update(data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise _workflow_failed(exc) from exc
        self._advance()

    def fire_due_timers(self) -> list[str]:
        """Let every timer whose time has come on the engine clock fire; return their BPMN ids."""
        waiting = self._waiting_timers()
        try:
            self.workflow.refresh_timers()
        except SpiffWorkflowException as exc:
            raise _workflow_failed(exc) from exc
        self._advance()
        still_waiting = self._waiting_timers()
        return [name for task_id, (name, _due) in waiting.items() if task_id not in still_waiting]

    def _waiting_timers(self) -> dict[str, tuple[str, datetime]]:
        waiting = {}
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if isinstance(getattr(task.task_spec, "event_definition", None), _ENGINE_TIMERS):
                value = task._get_internal_data("event_value")
                if value:
                    waiting[str(task.id)] = (task.task_spec.name, parse_iso(value))
        return waiting

    def _advance(self) -> None:
        try:
            self.workflow.do_engine_steps(will_complete_task=self._before_task, did_complete_task=self._after_task)
        except SpiffWorkflowException as exc:
            raise _workflow_failed(exc) from exc
        self.thrown.extend(self.workflow.get_events())

    # -- recording -------------------------------------------------------------------------------
    def _before_task(self, task) -> None:
        self._snapshots[task.id] = dict(task.data)

    def _after_task(self, task) -> None:
        before = self._snapshots.pop(task.id, {})
        spec = task.task_spec
        if hasattr(spec, "dmnEngine"):
            decision_id = getattr(spec.dmnEngine, "decision_id", spec.dmnEngine.decision_table.id)
            decision = self.codec.decisions.get(decision_id)
            trace = task._get_internal_data("decision_trace") or []
            main = next((t for t in reversed(trace) if t.get("decision") == decision_id), {})
            changed = {k: v for k, v in task.data.items() if before.get(k, object()) != v}
            # "This deadline came from rule 3 of 签收时限 v4": decision, version, inputs, matched rules, outputs.
            self.record("decision_evaluated", task_name=spec.name,
                        data={"decision": decision_id, "name": decision.name if decision else None,
                              "version": self.deployment.version, "hit_policy": main.get("hit_policy"),
                              "inputs": main.get("inputs", {}), "matched_rules": main.get("matched_rules", []),
                              "outputs": _json_safe(changed), "trace": trace})
            self._last_decision = {"decision": decision_id, "name": decision.name if decision else None,
                                   "version": self.deployment.version,
                                   "matched_rules": main.get("matched_rules", [])}
        elif isinstance(getattr(spec, "event_definition", None), _ENGINE_TIMERS):
            self.record("timer_fired", task_name=spec.name,
                        data={"due_at": task._get_internal_data("event_value")})
            flag = spec.name.removesuffix("_timer")
            if flag in ("sign_overdue", "handle_overdue"):
                setattr(self.ticket, flag, True)
            # Notified in save(), once the task rows are mirrored (a replay never saves, so never notifies).
            self._overdue.append((spec.name, _attached_task_id(task)))
        else:
            props = user_task_properties(task)
            if props.get("event"):
                self._record_domain_event(task, props)

    def _record_domain_event(self, task, props: dict) -> None:
        """A script the diagram marks with an ``event`` property (an upgrade, a supervision order ...)
        becomes an audit event: the listed variables (why) and the decision that led to it (the rule)."""
        fields = [f.strip() for f in props.get("event_fields", "").split(",") if f.strip()]
        data = _json_safe({f: task.data.get(f) for f in fields})
        data["rule"] = self._last_decision
        self.record(props["event"], task_name=task.task_spec.name, data=data)
        self._escalations.append((props["event"], data))      # notified in save(), like overdue timers
        self.domain_events.append((props["event"], data))
        if self.is_case:
            self.mirror_to_linked(props["event"], data)

    def mirror_to_linked(self, type_: str, data: dict) -> None:
        """A case's audit events also go to the log of every ticket it concerns."""
        if not self.ticket.id or self.replaying:
            return
        linked = self.session.scalars(select(TicketLink.ticket_id).where(TicketLink.case_id == self.ticket.id))
        for ticket_id in linked:
            append_event(self.session, ticket_id, type_, actor=self.actor, at=self.clock.now(),
                         deployment_id=self.deployment.id,
                         data={**data, "case_id": self.ticket.id, "case_number": self.ticket.number,
                               "case_process": self.process})

    replaying = False

    def record(self, type_: str, *, task_name: str | None = None, data: dict | None = None) -> Event:
        if self._seq is None:
            self._seq = self.session.scalar(select(func.coalesce(func.max(Event.seq), 0))
                                            .where(Event.ticket_id == self.ticket.id)) if self.ticket.id else 0
        self._seq += 1
        event = Event(ticket_id=self.ticket.id, seq=self._seq, type=type_, actor=self.actor, at=self.clock.now(),
                      deployment_id=self.deployment.id, task_name=task_name, data=data or {})
        self.session.add(event)
        return event

    # -- mirroring and saving --------------------------------------------------------------------
    def save(self) -> None:
        """Mirror tasks/timers, refresh the ticket's columns and store the instance (no spec)."""
        now = self.clock.now()
        data = self._current_data()
        ticket = self.ticket
        old_status = ticket.status
        ticket.unit_code = data.get("unit")
        if self.is_case:
            ticket.handle_due_at = next((_maybe_time(data.get(k)) for k in CASE_DUE if data.get(k)), None)
        else:
            ticket.kind = data.get("kind") or ticket.kind
            ticket.category = data.get("category") or ticket.category
            ticket.merged_into_id = data.get("merged_into")
            ticket.sign_due_at = _maybe_time(data.get("sign_due_at"))
            ticket.handle_due_at = _maybe_time(data.get("handle_due_at"))
        ticket.deadline_provisional = any(
            self.calendar.is_provisional(ticket.received_at, due)
            for due in (ticket.sign_due_at, ticket.handle_due_at) if due is not None)
        ready = ready_user_tasks(self.workflow)
        if self.workflow.is_completed():
            ticket.status = "closed"
            ticket.outcome = data.get("outcome") or "closed"
            ticket.outcome_reason = data.get("scope_reason") if ticket.outcome == "rejected" else None
            ticket.closed_at = _maybe_time(data.get("closed_at")) or now
        elif ready:
            ticket.status = TASK_STATUS.get(task_name(ready[0]), task_name(ready[0]))
        elif not self.is_case and data.get("merged_into"):
            ticket.status = "merged"       # waiting for its master ticket's reply
        ticket.updated_at = now
        ticket.workflow_state = self.codec.dump(self.workflow)
        self.session.flush()   # assigns ids for a new ticket
        self._sync_tasks(ready, now)
        self._sync_timers(now)
        self._notify_overdue(now)
        for event_type, data in self._escalations:
            notifications.notify_escalation(self.session, ticket, event_type, data, now, self.calendar)
        self._escalations.clear()
        if old_status != ticket.status:
            self.record("status_changed", data={"from": old_status, "to": ticket.status,
                                                "outcome": ticket.outcome if ticket.status == "closed" else None})

    def _current_data(self) -> dict:
        """The instance's variables: the last completed task's data, or the workflow's at the end."""
        if self.workflow.is_completed():
            return self.workflow.data or (self.workflow.last_task.data if self.workflow.last_task else {})
        ready = ready_user_tasks(self.workflow)
        if ready:
            return ready[0].data
        if not self.is_case:
            # A merged ticket has no user task: it waits at a catch event holding its variables.
            waiting = [t for t in self.workflow.get_tasks(state=TaskState.WAITING)
                       if type(t.task_spec).__name__ == "IntermediateCatchEvent"]
            if waiting:
                return waiting[0].data
        return self.workflow.last_task.data if self.workflow.last_task else {}

    def _sync_tasks(self, ready: list, now: datetime) -> None:
        existing = {row.id: row for row in self.session.scalars(
            select(TaskRow).where(TaskRow.ticket_id == self.ticket.id, TaskRow.state == "ready"))}
        ready_ids = set()
        for task in ready:
            task_id = str(task.id)
            ready_ids.add(task_id)
            if task_id in existing:
                continue
            props = user_task_properties(task)
            name = task_name(task)
            due = _maybe_time(lookup(task.data, props.get("due") or DEFAULT_DUE.get(name, "")))
            warn = None
            if due is not None and due > now:
                span = self.calendar.working_hours_between(now, due)
                warn = self.calendar.add_working_hours(now, span * self.city.yellow_at)
            subject = lookup(task.data, props.get("subject_from"))
            row = TaskRow(
                id=task_id, ticket_id=self.ticket.id, name=name,
                title=task.task_spec.bpmn_name or name, form=props.get("form", name),
                role=task_role(task, props), unit_code=task_unit(task, props),
                state="ready", created_at=now, warn_at=warn, due_at=due,
                subject_ticket_id=subject if isinstance(subject, int) and subject in self.linked_ids() else None)
            self.session.add(row)
            notifications.notify_task_created(self.session, self.ticket, row, now, self.calendar)
            self.record("task_created", task_name=name, data={"task_id": task_id, "unit": row.unit_code,
                                                              "due_at": due.isoformat() if due else None})
            if row.subject_ticket_id:
                append_event(self.session, row.subject_ticket_id, "case_task_created", actor=self.actor, at=now,
                             deployment_id=self.deployment.id,
                             data={"case_id": self.ticket.id, "case_number": self.ticket.number, "task_id": task_id,
                                   "task_name": name, "unit": row.unit_code, "role": row.role,
                                   "due_at": due.isoformat() if due else None,
                                   "item": lookup(task.data, (props.get("unit_from") or "") + ".item")})
        for task_id, row in existing.items():
            if task_id not in ready_ids:
                row.state = "cancelled" if row.completed_at is None else "completed"

    def linked_ids(self) -> set[int]:
        if not self.is_case or not self.ticket.id:
            return set()
        return set(self.session.scalars(select(TicketLink.ticket_id).where(TicketLink.case_id == self.ticket.id)))

    def _notify_overdue(self, now: datetime) -> None:
        for timer_name, task_id in self._overdue:
            row = self.session.get(TaskRow, task_id) if task_id else None
            notifications.notify_overdue(self.session, self.ticket, row if row and row.state == "ready" else None,
                                         now, self.calendar, timer_name=timer_name)
        self._overdue.clear()

    def _sync_timers(self, now: datetime) -> None:
        waiting = self._waiting_timers()
        rows = self.session.scalars(select(Timer).where(Timer.ticket_id == self.ticket.id)).all()
        known = {(r.name, r.due_at) for r in rows}
        for row in rows:
            if row.state == "pending" and row.task_id not in waiting:
                row.state = "cancelled"
        for task_id, (name, due) in waiting.items():
            # One row per deadline: re-entering a task with the same deadline does not fire again.
            if (name, due) not in known:
                self.session.add(Timer(ticket_id=self.ticket.id, name=name, task_id=task_id, due_at=due,
                                       state="pending"))


def append_event(session: Session, ticket_id: int, type_: str, *, actor: str | None, at: datetime,
                 deployment_id: int | None, data: dict, task_name: str | None = None) -> Event:
    """Append to another ticket's log (a case writing to the tickets it concerns): under that ticket's
    row lock, so its sequence numbers stay gap-free and unique."""
    session.scalar(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
    seq = session.scalar(select(func.coalesce(func.max(Event.seq), 0)).where(Event.ticket_id == ticket_id)) + 1
    event = Event(ticket_id=ticket_id, seq=seq, type=type_, actor=actor, at=at, deployment_id=deployment_id,
                  task_name=task_name, data=data)
    session.add(event)
    session.flush()
    return event


def _maybe_time(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _attached_task_id(timer_task) -> str | None:
    """The user task a boundary timer is attached to: its sibling under the boundary-event split."""
    parent = timer_task.parent
    for sibling in (parent.children if parent is not None else ()):
        if sibling.task_spec.manual:
            return str(sibling.id)
    return None


def _uuid(task_id: str) -> UUID:
    return UUID(task_id)


def _workflow_failed(exc: Exception) -> WorkflowFailed:
    detail = str(exc)
    return WorkflowFailed(f"流程执行出错，操作未保存：{detail}", f"The workflow failed; nothing was saved: {detail}",
                          details={"error": detail})
