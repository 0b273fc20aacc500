"""Changing stored rows behind the application's back, as someone with direct database access would:
the append-only triggers are switched off first (PostgreSQL: replica mode for this transaction; SQLite:
the test's own database file loses its triggers)."""
from __future__ import annotations

from sqlalchemy import text


def tamper(session, statement: str, **params) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
        session.execute(text("DROP TRIGGER IF EXISTS events_no_delete"))
    session.execute(text(statement), params)
