"""The tamper-evident event log: each event's hash covers its content and the hash of the event before
it in the same log (a ticket's events by seq; the administrative log, which has no ticket, by its own seq).

``hash = sha256(previous hash | ticket | seq | type | actor | time | deployment | task | data)``; the first
event of a log chains to ``GENESIS``. The hash is set when the event is flushed (a ``before_flush`` hook
on the engine's sessions), so no code path can add an event without one. Changing any stored field, or
removing or inserting an event, breaks the chain at that event or the next one; ``verify_chain`` walks a
log and reports the first broken link. Removing the *last* events of a ticket leaves a shorter valid
chain: replay catches that (the stored workflow state is ahead of the log), and ``chain_digest`` gives a
digest over the heads of many logs that an auditor keeps outside the system to compare later.

The database refuses to update or delete an event (triggers, migration 0010), so only someone bypassing
the application and disabling the triggers can alter one, and the chain then says so.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timezone

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from .models import Event

GENESIS = "0" * 64


def _canonical_data(data) -> str:
    # The JSON column stores json.dumps(data): hash what will be read back (tuples become lists…).
    return json.dumps(json.loads(json.dumps(data if data is not None else {})), sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))


def event_hash(previous: str, e) -> str:
    at = e.at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    parts = [previous, "" if e.ticket_id is None else str(e.ticket_id), str(e.seq), e.type, e.actor or "", at,
             "" if e.deployment_id is None else str(e.deployment_id), e.task_name or "", _canonical_data(e.data)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _lock_admin_log(session: Session) -> None:
    """Administrative events chain in one log: take its lock so two writers do not both extend one head
    (SQLite transactions already begin IMMEDIATE, one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))


def _stored_hash(session: Session, ticket_id, seq: int) -> str | None:
    condition = Event.ticket_id.is_(None) if ticket_id is None else Event.ticket_id == ticket_id
    return session.scalar(select(Event.hash).where(condition, Event.seq == seq))


def chain_new_events(session: Session, _flush_context, _instances) -> None:
    new = [obj for obj in session.new if isinstance(obj, Event) and obj.hash is None]
    if not new:
        return
    admin = [e for e in new if e.ticket_id is None]
    if admin:
        _lock_admin_log(session)
        with session.no_autoflush:
            last = session.scalar(select(func.coalesce(func.max(Event.seq), 0)).where(Event.ticket_id.is_(None)))
        for e in sorted(admin, key=lambda x: id(x)):
            last += 1
            e.seq = last
    heads: dict = {}
    for e in sorted(new, key=lambda x: (x.ticket_id is not None, x.ticket_id or 0, x.seq)):
        key = (e.ticket_id, e.seq - 1)
        previous = heads.get(key)
        if previous is None:
            if e.seq <= 1:
                previous = GENESIS
            else:
                with session.no_autoflush:
                    previous = _stored_hash(session, e.ticket_id, e.seq - 1) or GENESIS
        e.hash = event_hash(previous, e)
        heads[(e.ticket_id, e.seq)] = e.hash


def install() -> None:
    """On the Session class itself, once: every session of every engine chains its events. (Listening on
    each sessionmaker and checking ``event.contains`` first is not safe: a collected sessionmaker's class
    can leave its id to a new one, which then looks registered and is skipped.)"""
    if not event.contains(Session, "before_flush", chain_new_events):
        event.listen(Session, "before_flush", chain_new_events)


install()


def _walk(rows) -> dict:
    previous, expected_seq, count = GENESIS, 1, 0
    for row in rows:
        count += 1
        if row.seq != expected_seq:
            return {"verified": False, "events": count, "first_broken": {
                "seq": row.seq, "event_id": row.id, "reason": "gap", "expected_seq": expected_seq}}
        computed = event_hash(previous, row)
        if row.hash != computed:
            return {"verified": False, "events": count, "first_broken": {
                "seq": row.seq, "event_id": row.id, "reason": "missing_hash" if row.hash is None else "hash_mismatch",
                "stored": row.hash, "computed": computed}}
        previous, expected_seq = row.hash, expected_seq + 1
    return {"verified": True, "events": count, "first_broken": None, "head": previous if count else None}


def verify_chain(session: Session, ticket_id: int | None) -> dict:
    """The log of one ticket (or the administrative log, ``None``) from its first event: verified, or the
    first event whose hash or sequence does not follow."""
    condition = Event.ticket_id.is_(None) if ticket_id is None else Event.ticket_id == ticket_id
    rows = session.execute(select(Event.id, Event.ticket_id, Event.seq, Event.type, Event.actor, Event.at,
                                  Event.deployment_id, Event.task_name, Event.data, Event.hash)
                           .where(condition).order_by(Event.seq, Event.id))
    return _walk(rows)


def chain_digest(heads: list[tuple]) -> str:
    """One digest over (log, head) pairs, to be kept outside the system and compared at the next audit."""
    text_ = "\n".join(f"{log}:{head}" for log, head in sorted(heads, key=lambda h: str(h[0])))
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()
