"""Replay: re-execute a ticket from its first event on its pinned deployment and compare.

The event log holds every input the workflow received: the start data (``ticket_created``), each
task completion with its form data and time (``task_completed``) and each timer sweep
(``timers_due``). Replaying feeds them, at their recorded times on a fixed clock, to a fresh
instance of the ticket's own deployment, and after every step compares what the engine produces
(decisions with their outputs and matched rules, timers fired, user tasks that became ready) with
what was recorded. At the end the replayed variables and open tasks must equal the stored instance.
Nothing is written: the replay records into a list.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import FixedClock
from .errors import DomainError
from .models import Deployment, Event, Ticket
from .runtime import TicketRun, ready_user_tasks, task_name, task_unit, user_task_properties

TRIGGERS = ("ticket_created", "task_completed", "timers_due", "signal_received")


class ReplayRun(TicketRun):
    """A TicketRun whose records go to a list instead of the database."""
    replaying = True

    def __init__(self, session, clock, ticket, deployment):
        super().__init__(session, clock, ticket, deployment, "replay")
        self.produced: list[dict] = []

    def record(self, type_, *, task_name=None, data=None):
        self.produced.append({"type": type_, "task_name": task_name, "data": data or {}})


def _comparable(type_: str, task_name, data: dict):
    if type_ == "decision_evaluated":
        return (type_, task_name, data.get("decision"), data.get("outputs"), data.get("matched_rules"))
    if type_ == "timer_fired":
        return (type_, task_name, data.get("due_at"))
    return None


def _steps(events: list[Event]) -> list[tuple[Event, list[Event]]]:
    steps: list[tuple[Event, list[Event]]] = []
    for event in events:
        if event.type in TRIGGERS:
            steps.append((event, []))
        elif steps:
            steps[-1][1].append(event)
    return steps


def _expected(consequences: list[Event]) -> dict:
    return {"engine": [c for c in (_comparable(e.type, e.task_name, e.data) for e in consequences) if c],
            "tasks": sorted(e.task_name for e in consequences if e.type == "task_created")}


def replay_ticket(session: Session, ticket: Ticket, trace: list | None = None) -> dict:
    """``trace``, when given, receives one entry per step: the trigger, where the tokens are after it
    and which variables it changed (the auditor's step-through view)."""
    events = list(session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.seq)))
    deployment = session.get(Deployment, ticket.deployment_id)
    report = {"ticket_id": ticket.id, "number": ticket.number, "deployment_version": deployment.version,
              "steps": 0, "verified": False, "first_difference": None}
    if not events or events[0].type != "ticket_created" or "start_data" not in events[0].data:
        report["first_difference"] = {"step": 0, "reason": "no recorded start data: not replayable"}
        return report
    if any(e.type == "ticket_migrated" for e in events):
        # A migrated ticket ran part of its life on another spec; replay it on that one first.
        report["first_difference"] = {"step": 0, "reason": "ticket was migrated between versions; not replayed"}
        return report
    clock = FixedClock(events[0].at)
    run = ReplayRun(session, clock, ticket, deployment)
    previous: dict = {}
    for number, (trigger, consequences) in enumerate(_steps(events), start=1):
        clock.set(trigger.at)
        before = {str(t.id) for t in ready_user_tasks(run.workflow)} if run.workflow else set()
        run.produced.clear()
        try:
            if trigger.type == "ticket_created":
                run.create(trigger.data["start_data"])
            elif trigger.type == "task_completed":
                # The instances of a multi-instance task share a name: the recorded unit tells them apart.
                candidates = [t for t in ready_user_tasks(run.workflow) if task_name(t) == trigger.task_name
                              and ("unit" not in trigger.data
                                   or task_unit(t, user_task_properties(t)) == trigger.data["unit"])]
                if not candidates:
                    return {**report, "steps": number,
                            "first_difference": {"step": number, "trigger": trigger.seq,
                                                 "reason": f"task {trigger.task_name} is not open in the replay"}}
                form = trigger.data.get("form", {})
                wrap = _form_wrap(trigger.task_name, candidates[0], deployment)
                run.complete(str(candidates[0].id), {wrap: {**form, "unit": trigger.data.get("unit")}} if wrap else form)
            elif trigger.type == "signal_received":
                run.send_signal(trigger.data["signal"], trigger.data.get("payload") or {})
            else:
                run.fire_due_timers()
        except DomainError as exc:
            return {**report, "steps": number, "first_difference": {"step": number, "trigger": trigger.seq,
                                                                     "reason": exc.message_en}}
        ready = ready_user_tasks(run.workflow)
        actual = {"engine": [c for c in (_comparable(p["type"], p["task_name"], p["data"]) for p in run.produced) if c],
                  "tasks": sorted(task_name(t) for t in ready if str(t.id) not in before)}
        expected = _expected(consequences)
        if trace is not None:
            trace.append(_trace_entry(number, trigger, run, previous))
            previous = _plain(run._current_data())
        if actual != expected:
            return {**report, "steps": number,
                    "first_difference": {"step": number, "trigger": trigger.seq, "trigger_type": trigger.type,
                                         "task_name": trigger.task_name, "expected": _listify(expected),
                                         "actual": _listify(actual)}}
        report["steps"] = number
    stored = TicketRun(session, clock, ticket, deployment, "replay")
    stored.load()
    stored_data, replayed_data = stored._current_data(), run._current_data()
    same_tasks = sorted(task_name(t) for t in ready_user_tasks(stored.workflow)) == \
        sorted(task_name(t) for t in ready_user_tasks(run.workflow))
    if not (stored_data == replayed_data and same_tasks
            and stored.workflow.is_completed() == run.workflow.is_completed()):
        diff = {k: {"stored": stored_data.get(k), "replayed": replayed_data.get(k)}
                for k in set(stored_data) | set(replayed_data) if stored_data.get(k) != replayed_data.get(k)}
        report["first_difference"] = {"step": "final", "reason": "final state differs", "variables": diff}
        return report
    report["verified"] = True
    return report


def _plain(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}


def _trace_entry(number: int, trigger: Event, run: ReplayRun, previous: dict) -> dict:
    from .diagram import token_state
    current = _plain(run._current_data())
    changed = {k: {"before": previous.get(k), "after": current.get(k)}
               for k in sorted(set(previous) | set(current)) if previous.get(k) != current.get(k)}
    return {"step": number, "seq": trigger.seq, "type": trigger.type, "task_name": trigger.task_name,
            "actor": trigger.actor, "at": trigger.at.isoformat(), "input": trigger.data.get("form")
            or trigger.data.get("payload") or trigger.data.get("timers"), "changed": changed,
            **token_state(run.workflow)}


def _form_wrap(name: str, task, deployment) -> str | None:
    from .forms_registry import deployment_form
    return deployment_form(deployment, user_task_properties(task).get("form", name)).wrap


def _listify(value: dict) -> dict:
    return {k: [list(x) if isinstance(x, tuple) else x for x in v] for k, v in value.items()}
