"""Channel intake through the facade: two identical requests racing on one idempotency key make one ticket
(on PostgreSQL the loser really meets the unique constraint and answers with the winner's ticket), and the
loser writes no file."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine import accounts
from engine.attachments import AttachmentStore
from engine.channel_intake import IdempotencyKeyInvalid, IdempotencyKeyMissing, idempotency_key, request_digest
from engine.channel_models import ChannelClient, IntakeRequest
from engine.facade import Hotline
from engine.models import Attachment, Ticket

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
DOCUMENT = {"event_no": "WG-RACE-1", "grid_code": "320602001003", "reporter": {"name": "李明"},
            "description": "井盖缺失，存在安全隐患。", "event_type_code": "0404"}


def loaded() -> dict:
    """The document as the grid schema loads it (photos decoded)."""
    return {**DOCUMENT, "photos": [{"filename": "a.jpg", "content": JPEG}, {"filename": "b.jpg", "content": JPEG}]}


def grid_client(db, clock) -> int:
    with db.unit_of_work() as session:
        admin = accounts.principal_for_username(session, "admin")
        client, _key = Hotline(session, clock).create_channel_client(admin, city="nantong", name="grid-race",
                                                                     channel="grid", kind="grid")
        return client.id


def files_in(directory: Path) -> int:
    return sum(1 for p in directory.rglob("*") if p.is_file()) if directory.exists() else 0


def waiting_on_a_lock(db) -> bool:
    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND datname = current_database()")) > 0


def test_two_identical_requests_racing_make_one_ticket(db, city, clock, tmp_path):
    client_id = grid_client(db, clock)
    store = AttachmentStore(tmp_path / "files", 5 * 1024 * 1024)
    digest = request_digest(DOCUMENT)
    first_session = db.sessions()
    first = Hotline(first_session, clock)
    first_client = first_session.get(ChannelClient, client_id)
    assert first.channel_replay(first_client, "race-1", digest) is None
    winner = first.channel_intake(first_client, "race-1", digest, loaded(), [], store)      # not committed yet
    outcome = {}

    def second_request():
        try:
            with db.unit_of_work() as session:
                facade, client = Hotline(session, clock), session.get(ChannelClient, client_id)
                result = facade.channel_replay(client, "race-1", digest) \
                    or facade.channel_intake(client, "race-1", digest, loaded(), [], store)
                outcome["answer"] = (result.ticket.id, result.replayed)
        except Exception as exc:          # reported below, not lost in the thread
            outcome["error"] = exc

    racer = threading.Thread(target=second_request)
    racer.start()
    if db.is_postgres:
        # The second request saw no key (the first is uncommitted), made its own ticket, and now waits on
        # the unique index for the first to finish.
        deadline = time.monotonic() + 20
        while not waiting_on_a_lock(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_on_a_lock(db), "the second request never reached the unique constraint"
    else:
        time.sleep(0.3)                   # SQLite: it waits for the first writer before it reads anything
    first_session.commit()
    first_session.close()
    racer.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["answer"] == (winner.ticket.id, True)
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert session.scalar(select(func.count()).select_from(IntakeRequest)) == 1
        assert session.scalar(select(func.count()).select_from(Attachment)) == 2
    assert files_in(tmp_path / "files") == 2             # the loser wrote none


@pytest.mark.parametrize("raw, error", [(None, IdempotencyKeyMissing), ("", IdempotencyKeyMissing),
                                        ("a b", IdempotencyKeyInvalid), ("k" * 121, IdempotencyKeyInvalid),
                                        ("tab\there", IdempotencyKeyInvalid), ("键", IdempotencyKeyInvalid)])
def test_idempotency_keys_are_visible_ascii(raw, error):
    with pytest.raises(error):
        idempotency_key(raw)
    assert idempotency_key("grid:WG-0042/2025-11-03T09:00") == "grid:WG-0042/2025-11-03T09:00"


def test_the_digest_ignores_key_order_but_not_content():
    assert request_digest({"a": 1, "b": [1, 2]}) == request_digest({"b": [1, 2], "a": 1})
    assert request_digest({"a": 1}) != request_digest({"a": 2})
    assert request_digest({"b": [1, 2]}) != request_digest({"b": [2, 1]})
