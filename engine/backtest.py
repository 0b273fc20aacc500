"""What-if: run a candidate rule-set version over recent real tickets before activating it.

For every ticket of the city received in the last N days we take what actually happened (from the
event log: when it was dispatched, signed, replied to, and what the callbacks said) and recompute the
deadlines and the callback outcome with the candidate's decisions, on the same working calendar.
The report compares deadlines, overdue counts and escalations (callbacks that end in supervision).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .cities import calendar_for
from .decisions import python_evaluator
from .dmn import DmnError, evaluate
from .models import Deployment, Event, Ticket
from .rulesets import get_version
from .scripting import make_script_engine
from .spiff import codec_for


def _history(events: list[Event]) -> dict:
    facts = {"dispatched_at": None, "signed_at": None, "replied_at": None, "callbacks": []}
    for e in events:
        if e.type != "task_completed":
            continue
        form = e.data.get("form", {})
        if e.task_name == "dispatch":
            facts["dispatched_at"] = e.at               # the last dispatch starts the clock
            facts["signed_at"] = None
        elif e.task_name == "sign" and form.get("decision") == "accept":
            facts["signed_at"] = e.at
        elif e.task_name == "handle" and form.get("action") == "reply" and facts["replied_at"] is None:
            facts["replied_at"] = e.at
        elif e.task_name == "callback":
            facts["callbacks"].append(form)
    return facts


def _deadlines(decisions, context, calendar, dispatched_at, directive_due, script_engine) -> tuple:
    python_eval = python_evaluator(script_engine)
    sign = evaluate(decisions, "sign_limit", context, python_eval=python_eval).outputs
    handle = evaluate(decisions, "handle_limit", context, python_eval=python_eval).outputs
    if sign.get("sign_rule") == "half_day":
        sign_due = calendar.half_day_deadline(dispatched_at)
    else:
        sign_due = calendar.add_working_hours(dispatched_at, float(sign["sign_limit_hours"]))
    if context.get("kind") == "directive" and directive_due:
        handle_due = directive_due
    else:
        handle_due = calendar.add_working_days(dispatched_at, float(handle["handle_limit_days"]))
    return sign_due, handle_due


def _escalations(decisions, ticket, callbacks, script_engine) -> int:
    rehandles, escalated = 0, 0
    for form in callbacks:
        context = {"kind": ticket.kind, "request_type": ticket.request_type, "satisfied": bool(form.get("satisfied")),
                   "unit_at_fault": bool(form.get("unit_at_fault")), "rehandle_count": rehandles}
        outcome = evaluate(decisions, "callback_policy", context, python_eval=python_evaluator(script_engine))
        verdict = outcome.outputs.get("callback_outcome")
        if verdict == "rehandle":
            rehandles += 1
        elif verdict == "supervise":
            escalated += 1
            break
        else:
            break
    return escalated


def _late(done: datetime | None, due: datetime | None, now: datetime) -> bool:
    return due is not None and (done or now) > due


def backtest(session: Session, city: str, version: int, days: int, now: datetime) -> dict:
    candidate = get_version(session, city, version)
    candidate_decisions = codec_for(candidate).decisions
    calendar = calendar_for(session, city)
    engine = make_script_engine({})
    tickets = list(session.scalars(select(Ticket).where(Ticket.city == city,
                                                        Ticket.received_at >= now - timedelta(days=days))
                                   .order_by(Ticket.id)))
    totals = Counter()
    by_type: dict[str, Counter] = {}
    changed_examples, errors = [], []
    for ticket in tickets:
        events = list(session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.seq)))
        facts = _history(events)
        if facts["dispatched_at"] is None:
            totals["not_dispatched"] += 1
            continue
        deployment = session.get(Deployment, ticket.deployment_id)
        current_decisions = codec_for(deployment).decisions
        created = next((e for e in events if e.type == "ticket_created"), None)
        directive_due = None
        if created and created.data.get("directive_due_at"):
            directive_due = datetime.fromisoformat(created.data["directive_due_at"])
        context = {"kind": ticket.kind, "request_type": ticket.request_type, "channel": ticket.channel}
        try:
            # Both sides recomputed the same way, so the comparison isolates the rules (not extensions).
            current_sign, current_handle = _deadlines(current_decisions, context, calendar, facts["dispatched_at"],
                                                      directive_due, engine)
            sign_due, handle_due = _deadlines(candidate_decisions, context, calendar, facts["dispatched_at"],
                                              directive_due, engine)
            escalated_candidate = _escalations(candidate_decisions, ticket, facts["callbacks"], engine)
            escalated_current = _escalations(current_decisions, ticket, facts["callbacks"], engine)
        except DmnError as exc:
            errors.append({"ticket_id": ticket.id, "error": exc.message_en})
            continue
        stats = by_type.setdefault(ticket.request_type, Counter())
        for counter in (totals, stats):
            counter["tickets"] += 1
            counter["sign_deadline_changed"] += sign_due != current_sign
            counter["handle_deadline_changed"] += handle_due != current_handle
            counter["sign_overdue_current"] += _late(facts["signed_at"], current_sign, now)
            counter["sign_overdue_candidate"] += _late(facts["signed_at"], sign_due, now)
            counter["handle_overdue_current"] += _late(facts["replied_at"], current_handle, now)
            counter["handle_overdue_candidate"] += _late(facts["replied_at"], handle_due, now)
            counter["escalations_current"] += escalated_current
            counter["escalations_candidate"] += escalated_candidate
        if (sign_due != current_sign or handle_due != current_handle) and len(changed_examples) < 50:
            changed_examples.append({
                "ticket_id": ticket.id, "number": ticket.number, "request_type": ticket.request_type,
                "sign_due_at": {"current": _iso(current_sign), "candidate": _iso(sign_due)},
                "handle_due_at": {"current": _iso(current_handle), "candidate": _iso(handle_due)}})
    return {"city": city, "candidate_version": version, "days": days, "since": _iso(now - timedelta(days=days)),
            "totals": dict(totals), "by_request_type": {k: dict(v) for k, v in sorted(by_type.items())},
            "changed": changed_examples, "errors": errors}


def _iso(value):
    return value.isoformat() if value is not None else None
