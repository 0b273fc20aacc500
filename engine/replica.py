"""Reads from a replica: the heavy read-only pages (reports, KPIs, scores, the cockpit, the insights) can run
on a PostgreSQL streaming standby (``HOTLINE_REPORT_DATABASE_URL``), so a month's report at a large city does
not load the primary that takes the intake.

The replica's sessions are read-only twice over: the connection refuses writes (PostgreSQL
``default_transaction_read_only``, SQLite ``query_only``), and the session says so in ``info`` so the facts
cache folds stale tickets in memory instead of writing them (engine/ticket_facts.py). The nightly
``warm_report_facts`` job fills the cache on the primary, and the standby receives it with everything else.
Anything that writes (issuing a report, entering a score item, a leader's reading) stays on the primary.
"""
from __future__ import annotations

from sqlalchemy import event

from .db import Database


def read_only_database(url: str) -> Database:
    database = Database(url, read_only=True)
    database.sessions.configure(info={"read_only": True})

    @event.listens_for(database.engine, "connect")
    def _refuse_writes(dbapi_connection, _record):
        if database.engine.dialect.name == "sqlite":
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()
        else:
            dbapi_connection.read_only = True       # psycopg 3: every transaction is READ ONLY

    return database
