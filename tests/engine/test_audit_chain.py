"""The tamper-evident log: every event is chained; altering any stored field, removing an event or
inserting one is found at that event; the database refuses updates and deletes from the application."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from engine.audit_chain import GENESIS, event_hash, verify_chain
from engine.models import Event
from tests.api.tamper_support import tamper
from tests.api.test_replay import full_history

CHANGES = {
    "type": ("UPDATE events SET type = 'task_claimed' WHERE id = :id", {}),
    "actor": ("UPDATE events SET actor = 'someone_else' WHERE id = :id", {}),
    "at": ("UPDATE events SET at = :at WHERE id = :id", {"at": "2025-09-26 01:00:00.000001"}),
    "task_name": ("UPDATE events SET task_name = 'review_reply' WHERE id = :id", {}),
    "deployment_id": ("UPDATE events SET deployment_id = NULL WHERE id = :id", {}),
    "data": ("UPDATE events SET data = :data WHERE id = :id", {"data": json.dumps({"form": {"approved": False}})}),
    "hash": ("UPDATE events SET hash = :hash WHERE id = :id", {"hash": "f" * 64}),
}


def _middle_event(session, ticket_id):
    return session.scalar(select(Event).where(Event.ticket_id == ticket_id, Event.type == "task_completed",
                                              Event.task_name == "approve_return"))


def test_every_event_is_chained_and_verifies(as_user, db):
    ticket = full_history(as_user)
    with db.unit_of_work() as session:
        events = list(session.scalars(select(Event).where(Event.ticket_id == ticket["id"]).order_by(Event.seq)))
        assert events and all(e.hash and len(e.hash) == 64 for e in events)
        assert events[0].hash == event_hash(GENESIS, events[0])
        assert events[1].hash == event_hash(events[0].hash, events[1])
        result = verify_chain(session, ticket["id"])
        assert result == {"verified": True, "events": len(events), "first_broken": None, "head": events[-1].hash}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_altering_any_stored_field_is_found_at_that_event(as_user, db, field):
    ticket = full_history(as_user)
    with db.unit_of_work() as session:
        target = _middle_event(session, ticket["id"])
        statement, params = CHANGES[field]
        tamper(session, statement, id=target.id, **params)
    with db.unit_of_work() as session:
        broken = verify_chain(session, ticket["id"])
        assert broken["verified"] is False
        assert (broken["first_broken"]["seq"], broken["first_broken"]["reason"]) == (target.seq, "hash_mismatch")
    report = as_user("auditor").get(f"/api/v1/tickets/{ticket['id']}/replay").get_json()
    assert report["verified"] is False and report["chain"]["first_broken"]["seq"] == target.seq


def test_removing_or_inserting_an_event_is_found(as_user, db):
    ticket = full_history(as_user)
    with db.unit_of_work() as session:
        target = _middle_event(session, ticket["id"])
        tamper(session, "DELETE FROM events WHERE id = :id", id=target.id)
    with db.unit_of_work() as session:
        assert verify_chain(session, ticket["id"])["first_broken"]["reason"] == "gap"
    other = full_history(as_user)
    with db.unit_of_work() as session:
        target = _middle_event(session, other["id"])
        tamper(session, "UPDATE events SET seq = seq + 1000 WHERE ticket_id = :t AND seq > :s", t=other["id"], s=target.seq)
        tamper(session, "UPDATE events SET seq = seq - 999 WHERE ticket_id = :t AND seq > 1000", t=other["id"])
        forged = Event(ticket_id=other["id"], seq=target.seq + 1, type="task_completed", actor="forger",
                       at=target.at, deployment_id=target.deployment_id, task_name="approve_return",
                       data={"form": {"approved": True}})
        session.add(forged)
    with db.unit_of_work() as session:
        broken = verify_chain(session, other["id"])["first_broken"]
        assert broken["seq"] == target.seq + 2 and broken["reason"] == "hash_mismatch"   # the next one no longer follows


def test_the_database_refuses_updates_and_deletes(as_user, db):
    ticket = full_history(as_user)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.unit_of_work() as session:
            _middle_event(session, ticket["id"]).actor = "someone_else"
    with pytest.raises(DBAPIError, match="append-only"):
        with db.unit_of_work() as session:
            session.delete(_middle_event(session, ticket["id"]))
    with db.unit_of_work() as session:
        assert verify_chain(session, ticket["id"])["verified"] is True


def test_the_administrative_log_is_chained_too(as_user, db):
    admin = as_user("admin")
    admin.put("/api/v1/admin/cities/nantong/working-hours", json={"periods": ["08:30-12:00", "13:30-17:30"]})
    admin.put("/api/v1/admin/cities/nantong/working-hours", json={"periods": ["09:00-12:00", "13:30-17:30"]})
    with db.unit_of_work() as session:
        seqs = list(session.scalars(select(Event.seq).where(Event.ticket_id.is_(None)).order_by(Event.seq)))
        assert len(seqs) >= 2 and seqs == list(range(1, len(seqs) + 1))
        assert verify_chain(session, None)["verified"] is True
        tamper(session, "UPDATE events SET actor = 'x' WHERE ticket_id IS NULL AND seq = 1")
    with db.unit_of_work() as session:
        assert verify_chain(session, None)["first_broken"]["seq"] == 1


def test_the_cli_verifier_reports_the_broken_log_and_a_digest(as_user, db, app):
    ticket = full_history(as_user)
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["verify-chain", "--city", "nantong"])
    assert clean.exit_code == 0 and "0 broken; digest " in clean.output
    with db.unit_of_work() as session:
        tamper(session, "UPDATE events SET actor = 'x' WHERE id = :id", id=_middle_event(session, ticket["id"]).id)
    broken = runner.invoke(args=["verify-chain", "--city", "nantong"])
    assert broken.exit_code == 1 and "BROKEN at seq" in broken.output and "1 broken" in broken.output


def test_any_session_chains_its_events_even_one_made_elsewhere(db):
    """The hook is on the Session class: a session not made by our Database (or made after many were
    collected, whose classes' ids Python reuses) still hashes what it adds."""
    import gc
    from datetime import datetime
    from sqlalchemy.orm import Session
    from engine.clock import SHANGHAI
    from engine.db import Database
    for _ in range(30):
        Database(db.url).dispose()
    gc.collect()
    with Session(db.engine) as session:
        session.add(Event(ticket_id=None, seq=0, type="probe", actor="test", at=datetime(2025, 1, 1, tzinfo=SHANGHAI),
                          data={"n": 1}))
        session.commit()
    with db.unit_of_work() as session:
        probe = session.scalar(select(Event).where(Event.type == "probe"))
        assert probe.hash and verify_chain(session, None)["verified"] is True
