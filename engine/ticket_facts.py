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

FORMAT = 5          # bump when the fold changes: older cached rows are folded again
CHUNK = 5000
KEPT_WORDS = 24     # a ticket's most used words (of two or more characters) are what the hot words count
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
    # Working hours computed with the city's calendar when cached (``calendar_key`` says which calendar):
    # unit -> [handling hours (dispatch to reply), prescribed limit hours, asked a return late (0/1)]
    hours: dict[str, list] = field(default_factory=dict)
    calendar_key: str | None = None


def calendar_key(calendar) -> str:
    """Names a calendar by its working periods and overrides: cached hours are recomputed when it changes."""
    import hashlib
    text_ = repr((calendar.working_hours.periods, sorted(calendar._overrides.items())))
    return hashlib.sha256(text_.encode()).hexdigest()[:16]


def unit_hours(f: TicketFacts, unit: str, calendar) -> list:
    """[handling hours or None, limit hours or None, late return 0/1] of ``unit`` on this ticket."""
    handling = limit = None
    if unit in f.first_dispatch and f.unit == unit and f.replied_at:
        handling = calendar.working_hours_between(f.first_dispatch[unit], f.replied_at)
        if unit in f.handle_due:
            limit = calendar.working_hours_between(f.first_dispatch[unit], f.handle_due[unit])
    day = calendar.working_hours.hours_per_day or 8.0
    late = int(any(u == unit and calendar.working_hours_between(since, asked) > day for u, since, asked in f.return_times))
    return [handling, limit, late]


def with_hours(f: TicketFacts, calendar, key: str) -> TicketFacts:
    f.hours = {u: unit_hours(f, u, calendar) for u in dict.fromkeys(f.units)}
    f.calendar_key = key
    return f


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
    """Compact: empty fields are left out (a month of a large city reads 100,000 of these)."""
    full = {"units": f.units, "unit": f.unit,
            "first_dispatch": {u: _iso(t) for u, t in f.first_dispatch.items()},
            "signed": {u: _iso(t) for u, t in f.signed.items()}, "sign_overdue": sorted(f.sign_overdue),
            "handle_overdue_fired": sorted(f.handle_overdue_fired), "returns": dict(f.returns),
            "return_times": [[u, _iso(a), _iso(b)] for u, a, b in f.return_times],
            "approved_returns": f.approved_returns, "extensions": dict(f.extensions),
            "handle_due": {u: _iso(t) for u, t in f.handle_due.items()}, "replied_at": _iso(f.replied_at),
            "replied_late": f.replied_late, "sent_back": f.sent_back, "callbacks": f.callbacks,
            "reopened": f.reopened, "tiers": f.tiers, "read_by": dict(f.read_by), "hours": f.hours,
            "cal": f.calendar_key}
    return {"v": FORMAT, **{k: v for k, v in full.items() if v}}


def facts_from_json(ticket, raw: dict) -> TicketFacts:
    times = lambda d: {u: _parse(t) for u, t in d.items()}  # noqa: E731
    get = raw.get
    return TicketFacts(
        ticket.id, ticket.number, ticket.request_type, ticket.citizen_phone, ticket.received_at, ticket.closed_at,
        ticket.outcome, units=list(get("units", ())), unit=get("unit"), first_dispatch=times(get("first_dispatch", {})),
        signed=times(get("signed", {})), sign_overdue=set(get("sign_overdue", ())),
        handle_overdue_fired=set(get("handle_overdue_fired", ())), returns=defaultdict(int, get("returns", {})),
        return_times=[(u, _parse(a), _parse(b)) for u, a, b in get("return_times", ())],
        approved_returns=list(get("approved_returns", ())), extensions=defaultdict(int, get("extensions", {})),
        handle_due=times(get("handle_due", {})), replied_at=_parse(get("replied_at")),
        replied_late=get("replied_late", False), sent_back=get("sent_back", 0), callbacks=list(get("callbacks", ())),
        reopened=get("reopened", 0), tiers=list(get("tiers", ())), read_by=defaultdict(int, get("read_by", {})),
        hours=get("hours", {}), calendar_key=get("cal"))


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


def _kept_words(words: Counter) -> dict:
    ranked = sorted((w for w in words if len(w) > 1), key=lambda w: (-words[w], -len(w), w))[:KEPT_WORDS]
    return {w: words[w] for w in ranked}


def _among(session: Session, column, ids: list[int]):
    """``column IN ids``; on PostgreSQL one array parameter, not thousands of bound values."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import BigInteger, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return column.in_(ids)


def cached_facts(session: Session, city: str, tickets: list, *, with_terms: bool = False
                 ) -> tuple[dict[int, TicketFacts], dict[int, Counter]]:
    """The facts (and, if asked, the text's word counts) of ``tickets`` (rows with TICKET_COLUMNS), from
    the cache where it is current, else folded from the events and cached, with their working hours
    counted on the city's calendar."""
    from .ai.clustering import Record
    from .ai.hotwords import terms_of
    from .cities import calendar_for
    calendar = calendar_for(session, city)
    key = calendar_key(calendar)
    session.flush()                   # the reads below go straight to the connection (no ORM rows)
    read = session.connection().execute
    facts: dict[int, TicketFacts] = {}
    terms: dict[int, Counter] = {}
    for start in range(0, len(tickets), CHUNK):
        chunk = tickets[start:start + CHUNK]
        ids = [t.id for t in chunk]
        last = dict(read(select(Event.ticket_id, func.max(Event.seq))
                                    .where(_among(session, Event.ticket_id, ids)).group_by(Event.ticket_id)).all())
        # The words are read only when asked for (or to keep them on a refolded row): JSON decoding is
        # most of the cost of reading a month.
        cached = {row.ticket_id: row for row in read(
            select(TicketFactsCache.ticket_id, TicketFactsCache.last_seq, TicketFactsCache.facts,
                   *((TicketFactsCache.terms,) if with_terms else ()))
            .where(_among(session, TicketFactsCache.ticket_id, ids)))}
        stale = {t.id for t in chunk if t.id not in cached or cached[t.id].last_seq != last.get(t.id, 0)
                 or (cached[t.id].facts or {}).get("v") != FORMAT or cached[t.id].facts.get("cal") != key}
        old_terms = {} if with_terms else dict(read(
            select(TicketFactsCache.ticket_id, TicketFactsCache.terms).where(
                TicketFactsCache.ticket_id.in_([i for i in stale if i in cached]))).all()) if stale else {}
        events: dict[int, list] = defaultdict(list)
        if stale:
            for e in read(select(Event.ticket_id, Event.type, Event.at, Event.task_name, Event.data)
                                     .where(_among(session, Event.ticket_id, list(stale)))
                                     .order_by(Event.ticket_id, Event.seq)):
                events[e.ticket_id].append(e)
        refreshed = []
        for t in chunk:
            row = cached.get(t.id)
            if t.id not in stale:
                facts[t.id] = facts_from_json(t, row.facts)
                if with_terms:
                    terms[t.id] = row.terms          # a plain dict: word -> count
                continue
            folded = with_hours(ticket_facts(t, events[t.id]), calendar, key)
            # The text never changes after intake: its words are segmented once (jieba is the slow part).
            kept = (row.terms if with_terms else old_terms.get(t.id)) if row is not None else None
            words = dict(kept) if kept is not None else _kept_words(terms_of(
                Record(id=t.id, citizen=None, title=t.title or "", content=t.content or "", received_at=t.received_at)))
            facts[t.id] = folded
            if with_terms:
                terms[t.id] = words
            refreshed.append({"ticket_id": t.id, "city": city, "last_seq": last.get(t.id, 0),
                              "facts": facts_to_json(folded), "terms": dict(words)})
        if not session.info.get("read_only"):      # a replica's session folds in memory and writes nothing
            _upsert(session, refreshed)
    return facts, terms


def cached_terms(session: Session, city: str, tickets: list) -> dict[int, dict]:
    """Only the words of ``tickets`` (rows with at least ``id``): a ticket's text never changes, so a cached
    row is always current; tickets not cached yet are folded and cached first."""
    terms: dict[int, dict] = {}
    for start in range(0, len(tickets), CHUNK):
        chunk = tickets[start:start + CHUNK]
        terms.update(session.execute(select(TicketFactsCache.ticket_id, TicketFactsCache.terms).where(
            _among(session, TicketFactsCache.ticket_id, [t.id for t in chunk]))).all())
        missing = [t.id for t in chunk if t.id not in terms]
        if missing:
            rows = list(session.execute(select(*TICKET_COLUMNS).where(_among(session, Ticket.id, missing))))
            terms.update(cached_facts(session, city, rows, with_terms=True)[1])
    return terms


def warm_facts(session: Session, since, limit: int = 200_000) -> int:
    """Fold and cache the facts of the tickets changed since ``since`` (the scheduler's nightly job), so a
    month-end report finds the cache current instead of folding the whole month at once."""
    from .cities import LIFECYCLE_PROCESS
    rows = list(session.execute(select(*TICKET_COLUMNS, Ticket.city).where(
        Ticket.process == LIFECYCLE_PROCESS, Ticket.updated_at >= since).order_by(Ticket.id).limit(limit)))
    by_city: dict[str, list] = defaultdict(list)
    for row in rows:
        by_city[row.city].append(row)
    for city, members in by_city.items():
        cached_facts(session, city, members)
    return len(rows)
