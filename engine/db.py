"""Database engine and the unit of work.

Entry points (an HTTP request, a CLI command, a scheduler job) open exactly one unit of work and
commit it; engine code only flushes. On SQLite every transaction starts with BEGIN IMMEDIATE so two
writers serialise instead of failing late; on PostgreSQL tickets are locked with SELECT ... FOR UPDATE.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .errors import Conflict


def make_engine(url: str, *, read_only: bool = False, **kwargs) -> Engine:
    """``read_only``: a replica's engine (engine/replica.py); on SQLite its transactions begin deferred, since
    BEGIN IMMEDIATE takes the write lock a read-only connection may not take."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin (see below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    _fast_json_for_psycopg()
    # pool_pre_ping: a pooled connection is tested before a request gets it, so after a PostgreSQL restart or
    # failover no request meets a dead one. connect_timeout: a server that does not answer at all (host down,
    # hung) fails the request after 10 s, not after the kernel's TCP timeout; one in the URL wins. Both are
    # tested in tests/faults/test_postgres_restart.py.
    query = make_url(url).query
    if "connect_timeout" not in query:
        kwargs["connect_args"] = {"connect_timeout": 10, **kwargs.get("connect_args", {})}
    # No JIT: our queries are short, and compiling them cost 140-190 ms of a 200 ms dashboard query (bench).
    # Options already in the URL (a search_path, say) are kept.
    options = " ".join(filter(None, [query.get("options"), "-c jit=off"]))
    kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "options": options}
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _fast_json_for_psycopg() -> None:
    """Decode PostgreSQL JSON with orjson: a month's report reads 100,000 cached facts, and Python's
    json module was a third of that time. The values are the same plain dicts and lists."""
    import orjson
    from psycopg.types.json import set_json_loads
    set_json_loads(orjson.loads)


class Database:
    def __init__(self, url: str, *, read_only: bool = False, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, read_only=read_only, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        from . import audit_chain  # noqa: F401  (registers the hash chain on every Session, once)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise Conflict() from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
