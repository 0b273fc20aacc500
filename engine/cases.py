"""Cases: supervision orders (督办单) and consultations (会商) as process instances of their own.

A case is a ticket row whose ``process`` is another top-level process of the same deployment
(``bpmn/supervision.bpmn``, ``bpmn/consultation.bpmn``). It therefore has the same task inbox rows,
timers, event log, lock and replay as a ticket, and is linked (``ticket_links``) to the tickets it
concerns; its audit events are mirrored into their logs. The lifecycle asks for a supervision by
throwing a ``supervision_request`` message; the command that ran it starts the case here.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import deployments
from .cities import load_city
from .clock import Clock
from .errors import InvalidState
from .models import Deployment, Ticket, TicketLink
from .runtime import TicketRun, append_event

SUPERVISION = "supervision"
CONSULTATION = "consultation"
NUMBER_TAGS = {SUPERVISION: "DB", CONSULTATION: "HS"}   # 督办 / 会商
# Where a supervision request can come from: the system (timers, callbacks) or a person with a reason.
SUPERVISION_TRIGGERS = (
    "overdue", "overdue_unhandled", "dissatisfied_again", "repeat_complaint", "hot_issue", "provincial_repeat",
    "media_exposure", "buck_passing", "false_handling", "leak_retaliation", "wide_impact", "jurisdiction_dispute",
    "inaction_petition", "risk_remains", "poor_reply", "major",
)
# Channels whose tickets count as provincial/national or leader-assigned items for the supervision rules.
ORIGIN_OF_CHANNEL = {"provincial_platform": "provincial", "national_platform": "provincial",
                     "provincial_12345": "provincial", "leader_assigned": "leader", "leader_instruction": "leader"}


def origin_of(channel: str) -> str:
    return ORIGIN_OF_CHANNEL.get(channel, "normal")


def _deployment_with(session: Session, ticket: Ticket, process: str) -> Deployment:
    """The ticket's own (pinned) version if it has the process, else the city's active version."""
    from .spiff import codec_for
    pinned = session.get(Deployment, ticket.deployment_id)
    if codec_for(pinned).has_process(process):
        return pinned
    active = deployments.active_deployment(session, ticket.city)
    if codec_for(active).has_process(process):
        return active
    raise InvalidState(f"当前规则版本没有{process}流程", f"No {process} process in this rule-set version",
                       details={"process": process})


def start_case(session: Session, clock: Clock, process: str, *, anchor: Ticket, linked: list[Ticket], title: str,
               content: str, start_data: dict, actor: str, unit: str | None = None) -> Ticket:
    now = clock.now()
    deployment = _deployment_with(session, anchor, process)
    city = load_city(anchor.city)
    case = Ticket(city=anchor.city, deployment_id=deployment.id, process=process, kind=process, channel="internal",
                  request_type=process, title=title[:300], content=content, received_at=now, status="new",
                  unit_code=unit, created_at=now, updated_at=now, workflow_state="", version=0)
    session.add(case)
    session.flush()
    case.number = f"{city.number_prefix}{NUMBER_TAGS[process]}{now:%Y%m%d}{case.id:07d}"
    for ticket in linked:
        session.add(TicketLink(case_id=case.id, ticket_id=ticket.id, relation=process, created_at=now))
    session.flush()
    data = {**start_data, "case_id": case.id, "city": anchor.city}
    run = TicketRun(session, clock, case, deployment, actor)
    run.record("ticket_created", data={"number": case.number, "process": process, "deployment": deployment.version,
                                       "linked_tickets": [t.id for t in linked], "start_data": data})
    for ticket in linked:
        append_event(session, ticket.id, f"{process}_opened", actor=actor, at=now, deployment_id=deployment.id,
                     data={"case_id": case.id, "case_number": case.number, "title": case.title,
                           **{k: start_data.get(k) for k in ("trigger", "reason", "topic") if k in start_data}})
    run.create(data)
    run.save()
    return case


def start_supervision(session: Session, clock: Clock, ticket: Ticket, *, trigger: str, reason: str | None,
                      actor: str) -> Ticket:
    start_data = {
        "parent_ticket_id": ticket.id, "parent_number": ticket.number, "title": ticket.title,
        "unit": ticket.unit_code, "kind": ticket.kind, "origin": origin_of(ticket.channel),
        "trigger": trigger, "first_trigger": trigger, "reason": reason, "requested_by": actor, "prior_tier": -1, "routine_done": False,
        "tier": None, "refer_requested": False, "outcome": None,
    }
    return start_case(session, clock, SUPERVISION, anchor=ticket, linked=[ticket], title=f"督办：{ticket.title}",
                      content=reason or trigger, start_data=start_data, actor=actor, unit=ticket.unit_code)


def start_requested_supervisions(session: Session, clock: Clock, run: TicketRun) -> list[Ticket]:
    """Start a supervision case for each ``supervision_request`` the run's workflow threw."""
    cases = []
    for event in run.thrown:
        if event.event_definition.name != "supervision_request":
            continue
        payload = event.payload if isinstance(event.payload, dict) else {}
        trigger = payload.get("trigger") or "overdue"
        cases.append(start_supervision(session, clock, run.ticket, trigger=trigger, reason=payload.get("reason"),
                                       actor=run.actor or "system"))
    run.thrown.clear()
    return cases


def start_consultation(session: Session, clock: Clock, tickets: list[Ticket], *, topic: str, description: str,
                       proposer: str, proposer_unit: str | None, lead_unit: str | None, assisting_units: list[str],
                       mode: str) -> Ticket:
    start_data = {
        "topic": topic, "description": description, "proposer": proposer, "proposer_unit": proposer_unit,
        "ticket_ids": [t.id for t in tickets], "lead_unit": lead_unit, "assisting_units": assisting_units,
        "mode": mode, "unit": None, "outcome": None,
    }
    return start_case(session, clock, CONSULTATION, anchor=tickets[0], linked=tickets, title=f"会商：{topic}",
                      content=description, start_data=start_data, actor=proposer)


def cases_of(session: Session, ticket_id: int) -> list[Ticket]:
    return list(session.scalars(select(Ticket).join(TicketLink, TicketLink.case_id == Ticket.id)
                                .where(TicketLink.ticket_id == ticket_id).order_by(Ticket.id)))


def linked_tickets(session: Session, case_id: int) -> list[int]:
    return list(session.scalars(select(TicketLink.ticket_id).where(TicketLink.case_id == case_id)
                                .order_by(TicketLink.ticket_id)))
