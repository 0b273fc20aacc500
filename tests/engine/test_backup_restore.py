"""Backup and restore (docs/backup.md): a dump restored into an empty database keeps every ticket replayable
and every hash chain intact, with the same digest over the log heads as the original.

PostgreSQL: the documented ``pg_dump --format=custom`` and ``pg_restore`` commands, run for real.
SQLite: the online backup API (what ``sqlite3 hotline.sqlite ".backup …"`` does).
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.accounts import Principal
from engine.clock import SHANGHAI, FixedClock
from engine.db import Database
from engine.facade import Hotline
from engine.models import Event, Ticket
from tests.conftest import complaint

AUDITOR = Principal("auditor", frozenset({"auditor"}))


def drive_some_tickets(as_user) -> None:
    """Tickets at several points of the lifecycle: waiting for dispatch, handled and called back, closed at intake."""
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    handler, leader, callback = as_user("nt_chongchuan.handler"), as_user("nt_chongchuan.leader"), as_user("callback")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    operator.post("/api/v1/tickets", json=complaint(title="待派发的工单"))
    ticket = operator.post("/api/v1/tickets", json=complaint(title="已办结的工单")).get_json()
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    handler.complete(ticket["id"], "sign", {"decision": "accept"})
    handler.complete(ticket["id"], "handle", {"action": "reply", "reply": "已现场核查并督促施工单位整改，诉求人认可。"})
    leader.complete(ticket["id"], "approve_reply", {"approved": True})
    dispatcher.complete(ticket["id"], "review_reply", {"approved": True})
    callback.complete(ticket["id"], "callback", {"satisfied": True, "comment": "满意"})
    operator.post("/api/v1/tickets", json=complaint(title="直接答复", request_type="consult",
                                                    direct_answer="公积金提取可在线办理。"))


def audit(url: str) -> tuple[int, list[dict], dict]:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            hotline = Hotline(session, FixedClock(datetime(2030, 1, 1, tzinfo=SHANGHAI)))
            reports = [hotline._verified(t) for t in session.query(Ticket).order_by(Ticket.id)]
            events = session.query(Event).count()
            return events, reports, hotline.verify_chains(AUDITOR)
    finally:
        database.dispose()


def restore_postgres(url: str, tmp_path) -> str:
    """pg_dump the database and pg_restore it into a new one; returns the new database's URL."""
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.fail("pg_dump/pg_restore are needed for the PostgreSQL backup test (Debian: postgresql-client)")
    source = make_url(url)
    libpq = source.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "hotline.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), libpq], check=True, timeout=120)
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = source.set(database=name)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname",
                    target.set(drivername="postgresql").render_as_string(hide_password=False), str(dump)],
                   check=True, timeout=120)
    return target.render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def restore_sqlite(url: str, tmp_path) -> str:
    source_path = make_url(url).database
    copy = tmp_path / "restored.sqlite"
    with sqlite3.connect(source_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return f"sqlite:///{copy}"


def test_a_restored_backup_replays_every_ticket_with_the_same_chain_digest(as_user, database_url, tmp_path):
    drive_some_tickets(as_user)
    events, before, chains = audit(database_url)
    assert len(before) == 3 and all(r["verified"] for r in before) and chains["verified"]
    postgres = database_url.startswith("postgresql")
    restored = restore_postgres(database_url, tmp_path) if postgres else restore_sqlite(database_url, tmp_path)
    try:
        restored_events, after, restored_chains = audit(restored)
        assert restored_events == events
        assert [(r["number"], r["steps"], r["verified"]) for r in after] == \
            [(r["number"], r["steps"], True) for r in before]
        assert restored_chains["verified"] and restored_chains["digest"] == chains["digest"]
        # The restored log is still append-only: the triggers came back with the schema.
        engine = create_engine(make_url(restored).set(drivername="postgresql+psycopg") if postgres else restored)
        with pytest.raises(Exception, match="(?i)append-only|not allowed|prohibited|refuse"):
            with engine.begin() as conn:
                conn.execute(text("UPDATE events SET actor = 'someone else'"))
        engine.dispose()
    finally:
        if postgres:
            drop_postgres(restored)
