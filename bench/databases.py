"""Fresh benchmark databases: SQLite in a temp dir, or the PostgreSQL database named by
HOTLINE_BENCH_POSTGRES_URL (created if missing, ``public`` schema dropped and recreated).

Each database is migrated with Alembic, gets Nantong (units + deployment) and the three users the
benchmark acts as. The ``test`` database belongs to the test suite and is refused outright.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import accounts, setup
from engine.clock import Clock
from engine.db import Database
from engine.migrate import upgrade

POSTGRES_ENV = "HOTLINE_BENCH_POSTGRES_URL"
CITY = "nantong"
UNIT = "nt_chongchuan"
PASSWORD = "bench"
OPERATOR, DISPATCHER, HANDLER = "operator", "dispatcher", f"{UNIT}.handler"
FORBIDDEN_DATABASES = {"test", "postgres", "template0", "template1"}


def postgres_url_from_env() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    return _with_psycopg(url) if url else None


def _with_psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def sqlite_url(workdir: Path, name: str) -> str:
    return f"sqlite:///{workdir / (name + '.sqlite')}"


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="hotline-bench-"))


def reset_postgres(url: str) -> None:
    """Create the bench database if missing, then give it an empty ``public`` schema."""
    parsed = make_url(url)
    if parsed.database in FORBIDDEN_DATABASES:
        raise SystemExit(f"refusing to benchmark in database {parsed.database!r}: use a dedicated one, e.g. 'bench'")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database})
            if not found:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def fresh_url(backend: str, workdir: Path, name: str) -> str:
    """A freshly emptied database URL for one benchmark run."""
    if backend == "sqlite":
        return sqlite_url(workdir, name)
    url = postgres_url_from_env()
    if url is None:
        raise SystemExit(f"--backend postgres needs {POSTGRES_ENV}")
    reset_postgres(url)
    return url


def prepare(url: str, clock: Clock) -> None:
    """Migrate, load the city and add the operator, dispatcher and handler users."""
    upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            setup.load_city_into_db(session, clock, CITY)
            accounts.add_user(session, OPERATOR, PASSWORD, ["operator"], city=CITY)
            accounts.add_user(session, DISPATCHER, PASSWORD, ["dispatcher"], city=CITY)
            accounts.add_user(session, HANDLER, PASSWORD, ["handler"], unit_code=UNIT, city=CITY)
    finally:
        database.dispose()

