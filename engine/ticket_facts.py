"""A ticket's facts for the KPIs and reports, folded from its event log, and their cache.

``ticket_facts`` reads one ticket's events in order and keeps what the measures need: the units it was
dispatched to and when, sign-off, returns, extensions, the reply, callbacks, supervision tiers and
leaders' readings. Everything is in the log, so a past month can be recomputed and explained.

Folding a month of a large city means reading every event of 100,000 tickets, so ``cached_facts`` keeps
each ticket's folded facts (and the keywords of its text, for the hot words) in ``ticket_facts``, keyed by
the ticket's last event seq. A ticket that gained an event since is folded again; the cache never
decides anything the log would not. Rows are upserted, so two readers filling the cache at once do not
collide. The cache is written inside the caller's unit of work, like everything else in the engine.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Event, Ticket, TicketFactsCache

FORMAT = 2          # bump when the fold changes: older cached rows are folded again
CHUNK = 2000
TICKET_COLUMNS = (Ticket.id, Ticket.number, Ticket.request_type, Ticket.citizen_phone, Ticket.received_at,
                  Ticket.closed_at, Ticket.outcome, Ticket.title, Ticket.content, Ticket.category,
                  Ticket.unit_code, Ticket.channel, Ticket.address, Ticket.status, Ticket.handle_due_at)


@dataclass
class TicketFacts:
    id: int
    number: str | None
    request_type: str
    citizen: str | None
    received_at: datetime
    closed_at: datetime | None
    outcome: str | None
    units: list[str] = field(default_factory=list)      # every unit it was dispatched to, in order
    unit: str | None = None                             # the unit that finally handled it
    first_dispatch: dict[str, datetime] = field(default_factory=dict)
    signed: dict[str, datetime] = field(default_factory=dict)
    sign_overdue: set[str] = field(default_factory=set)
    handle_overdue_fired: set[str] = field(default_factory=set)
    returns: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # (unit, dispatched at, return asked at) of every return, for the 1-working-day rule (实时退单)
    return_times: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    approved_returns: list[str] = field(default_factory=list)
    extensions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    handle_due: dict[str, datetime] = field(default_factory=dict)   # the first handling deadline per unit
    replied_at: datetime | None = None
    replied_late: bool = False
    sent_back: int = 0                                   # replies the centre sent back (发回重办)
    callbacks: list[bool | None] = field(default_factory=list)
    reopened: int = 0
    tiers: list[int] = field(default_factory=list)
    read_by: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _parse(value) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def ticket_facts(ticket, events: list[Event]) -> TicketFacts:
    """``ticket`` is a Ticket or a row with its columns; ``events`` its events in seq order."""
    facts = TicketFacts(ticket.id, ticket.number, ticket.request_type, ticket.citizen_phone, ticket.received_at,
                        ticket.closed_at, ticket.outcome)
    current, since = None, None
    for e in events:
        data = e.data or {}
        form = data.get("form") or {}
        if e.type == "task_completed" and e.task_name == "dispatch" and form.get("unit"):
            current, since = form["unit"], e.at
            facts.units.append(current)
            facts.first_dispatch.setdefault(current, e.at)
        elif e.type == "master_reply_received":
            current = data.get("unit") or current
        elif e.type == "task_created" and e.task_name == "handle" and current and current not in facts.handle_due:
            due = _parse(data.get("due_at"))
            if due:
                facts.handle_due[current] = due
        elif e.type == "timer_fired" and current:
            if e.task_name == "sign_overdue_timer":
                facts.sign_overdue.add(current)
            elif e.task_name == "handle_overdue_timer":
                facts.handle_overdue_fired.add(current)
        elif e.type == "task_completed" and e.task_name == "sign" and current:
            if form.get("decision") == "return":
                facts.returns[current] += 1
                facts.return_times.append((current, since or e.at, e.at))
            else:
                facts.signed.setdefault(current, e.at)
        elif e.type == "task_completed" and e.task_name == "approve_return" and form.get("approved") and current:
            facts.approved_returns.append(current)
        elif e.type == "task_completed" and e.task_name == "approve_extension" and form.get("approved") and current:
            facts.extensions[current] += 1
        elif e.type == "task_completed" and e.task_name == "review_reply" and form.get("approved") is False:
            facts.sent_back += 1
        elif e.type == "reply_recorded":
            facts.replied_at = facts.replied_at or e.at
            facts.replied_late = facts.replied_late or bool(data.get("handle_overdue"))
        elif e.type == "task_completed" and e.task_name in ("callback", "callback_merged"):
            satisfied = form.get("satisfied")
            facts.callbacks.append(satisfied)
            if satisfied is False and form.get("unit_at_fault") is not False and e.task_name == "callback":
                facts.reopened += 1
        elif e.type == "supervision_decided" and data.get("tier") is not None:
            facts.tiers.append(int(data["tier"]))
        elif e.type == "leader_read" and data.get("unit"):
            facts.read_by[data["unit"]] += 1
    facts.unit = current
    return facts


def improper_returns(facts: TicketFacts, unit: str) -> int:
    """Approved returns by ``unit`` after which the ticket was dispatched to ``unit`` again (不当退单)."""
    again = facts.units.count(unit) - 1
    return max(0, min(facts.approved_returns.count(unit), again))


# -- serialisation ---------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def facts_to_json(f: TicketFacts) -> dict:
    return {"v": FORMAT, "units": f.units, "unit": f.unit,
            "first_dispatch": {u: _iso(t) for u, t in f.first_dispatch.items()},
            "signed": {u: _iso(t) for u, t in f.signed.items()}, "sign_overdue": sorted(f.sign_overdue),
            "handle_overdue_fired": sorted(f.handle_overdue_fired), "returns": dict(f.returns),
            "return_times": [[u, _iso(a), _iso(b)] for u, a, b in f.return_times],
            "approved_returns": f.approved_returns, "extensions": dict(f.extensions),
            "handle_due": {u: _iso(t) for u, t in f.handle_due.items()}, "replied_at": _iso(f.replied_at),
            "replied_late": f.replied_late, "sent_back": f.sent_back, "callbacks": f.callbacks,
            "reopened": f.reopened, "tiers": f.tiers, "read_by": dict(f.read_by)}


def facts_from_json(ticket, raw: dict) -> TicketFacts:
    times = lambda d: {u: _parse(t) for u, t in d.items()}  # noqa: E731
    return TicketFacts(
        ticket.id, ticket.number, ticket.request_type, ticket.citizen_phone, ticket.received_at, ticket.closed_at,
        ticket.outcome, units=list(raw["units"]), unit=raw["unit"], first_dispatch=times(raw["first_dispatch"]),
        signed=times(raw["signed"]), sign_overdue=set(raw["sign_overdue"]),
        handle_overdue_fired=set(raw["handle_overdue_fired"]), returns=defaultdict(int, raw["returns"]),
        return_times=[(u, _parse(a), _parse(b)) for u, a, b in raw["return_times"]],
        approved_returns=list(raw["approved_returns"]), extensions=defaultdict(int, raw["extensions"]),
        handle_due=times(raw["handle_due"]), replied_at=_parse(raw["replied_at"]), replied_late=raw["replied_late"],
        sent_back=raw["sent_back"], callbacks=list(raw["callbacks"]), reopened=raw["reopened"],
        tiers=list(raw["tiers"]), read_by=defaultdict(int, raw["read_by"]))


# -- the cache -------------------------------------------------------------------------------------
def _upsert(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(TicketFactsCache)
    statement = statement.on_conflict_do_update(
        index_elements=[TicketFactsCache.ticket_id],
        set_={"last_seq": statement.excluded.last_seq, "facts": statement.excluded.facts,
              "terms": statement.excluded.terms})
    session.execute(statement, rows)


def cached_facts(session: Session, city: str, tickets: list, *, with_terms: bool = False
                 ) -> tuple[dict[int, TicketFacts], dict[int, Counter]]:
    """The facts (and, if asked, the text's word counts) of ``tickets`` (rows with TICKET_COLUMNS), from
    the cache where it is current, else folded from the events and cached."""
    from .ai.clustering import Record
    from .ai.hotwords import terms_of
    facts: dict[int, TicketFacts] = {}
    terms: dict[int, Counter] = {}
    for start in range(0, len(tickets), CHUNK):
        chunk = tickets[start:start + CHUNK]
        ids = [t.id for t in chunk]
        last = dict(session.execute(select(Event.ticket_id, func.max(Event.seq)).where(Event.ticket_id.in_(ids))
                                    .group_by(Event.ticket_id)).all())
        cached = {row.ticket_id: row for row in session.execute(
            select(TicketFactsCache.ticket_id, TicketFactsCache.last_seq, TicketFactsCache.facts,
                   TicketFactsCache.terms).where(TicketFactsCache.ticket_id.in_(ids)))}
        stale = {t.id for t in chunk if t.id not in cached or cached[t.id].last_seq != last.get(t.id, 0)
                 or (cached[t.id].facts or {}).get("v") != FORMAT}
        events: dict[int, list] = defaultdict(list)
        if stale:
            for e in session.execute(select(Event.ticket_id, Event.type, Event.at, Event.task_name, Event.data)
                                     .where(Event.ticket_id.in_(stale)).order_by(Event.ticket_id, Event.seq)):
                events[e.ticket_id].append(e)
        refreshed = []
        for t in chunk:
            row = cached.get(t.id)
            if t.id not in stale:
                facts[t.id] = facts_from_json(t, row.facts)
                if with_terms:
                    terms[t.id] = Counter(row.terms)
                continue
            folded = ticket_facts(t, events[t.id])
            # The text never changes after intake: its words are segmented once (jieba is the slow part).
            words = Counter(row.terms) if row is not None else terms_of(
                Record(id=t.id, citizen=None, title=t.title or "", content=t.content or "", received_at=t.received_at))
            facts[t.id] = folded
            if with_terms:
                terms[t.id] = words
            refreshed.append({"ticket_id": t.id, "city": city, "last_seq": last.get(t.id, 0),
                              "facts": facts_to_json(folded), "terms": dict(words)})
        _upsert(session, refreshed)
    return facts, terms
