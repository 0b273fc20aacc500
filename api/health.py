"""Liveness and readiness for the load balancer and the process supervisor. No authentication, never cached.

- ``GET /healthz``: the process answers. No database: a database outage must not make the supervisor
  restart every web worker.
- ``GET /readyz``: this worker can serve: a database round trip, the schema at the Alembic head revision of
  this code (a worker of a new release waits for ``flask db upgrade``; an old one facing a newer schema says
  so), and the attachment directory writable. 200 when all hold, else 503 with the failed checks.

The database is asked on a raw DBAPI connection (``SELECT 1`` and the ``alembic_version`` row), not in a
unit of work: on SQLite every transaction starts with BEGIN IMMEDIATE, and a probe every few seconds must
not queue behind writers for the write lock. The failure details name the error class only; the full error
goes to the log, since the endpoint is public.
"""
from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache

from flask import Blueprint, current_app, jsonify
from marshmallow import Schema, fields

from engine.migrate import alembic_config

from .errors import language

bp = Blueprint("health", __name__)
log = logging.getLogger("hotline.health")

NO_STORE = {"Cache-Control": "no-store"}


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The head revision(s) of migrations/ (the code does not change under a running process)."""
    from alembic.script import ScriptDirectory
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def check_database(database) -> tuple[dict, dict]:
    """The round trip and the schema revision, from one connection."""
    try:
        connection = database.engine.raw_connection()
    except Exception as exc:            # noqa: BLE001 - any driver error means "not ready"
        log.warning("readiness: database connection failed: %r", exc)
        failed = {"ok": False, "detail": exc.__class__.__name__}
        return failed, {"ok": False, "detail": "database unavailable"}
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        except Exception as exc:        # noqa: BLE001
            log.warning("readiness: database round trip failed: %r", exc)
            return {"ok": False, "detail": exc.__class__.__name__}, {"ok": False, "detail": "database unavailable"}
        if database.is_postgres:
            # A primary that went read-only (a failover left it a standby, or a full disk's emergency setting)
            # answers SELECT 1 but refuses every write.
            cursor.execute("SHOW transaction_read_only")
            if cursor.fetchone()[0] == "on":
                cursor.close()
                return {"ok": False, "detail": "read-only"}, {"ok": False, "detail": "database is read-only"}
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
            current = {row[0] for row in cursor.fetchall()}
        except Exception as exc:        # noqa: BLE001 - no alembic_version table: never migrated
            log.warning("readiness: schema revision unreadable: %r", exc)
            current = set()
        cursor.close()
    finally:
        connection.close()              # back to the pool; the driver rolls the read back
    heads = head_revisions()
    schema = {"ok": current == heads, "revision": ",".join(sorted(current)) or None, "head": ",".join(sorted(heads))}
    if not schema["ok"]:
        schema["detail"] = "not migrated" if not current else "schema revision differs from this release's head"
    return {"ok": True}, schema


def check_attachment_dir(path: str) -> dict:
    """Create (as the store would) and write a probe file: os.access says yes to root, a real write does not
    lie about a read-only mount or a full disk."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".readyz-") as probe:
            # A few bytes, flushed to the file system: an empty file needs no data block, so it is still
            # created on a full disk where no photo could be.
            probe.write(b"readyz probe\n" * 320)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        log.warning("readiness: attachment directory %s not writable: %r", path, exc)
        return {"ok": False, "detail": exc.__class__.__name__}
    return {"ok": True}


class HealthOut(Schema):
    status = fields.String()


class CheckOut(Schema):
    ok = fields.Boolean()
    detail = fields.String()
    revision = fields.String(allow_none=True)
    head = fields.String()


class ReadinessOut(Schema):
    status = fields.String()                     # ready | not_ready
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckOut))
    failed = fields.List(fields.String())
    error = fields.Dict()                        # only on 503: {code, message, details}


@bp.get("/healthz")
def healthz():
    return jsonify(HealthOut().dump({"status": "ok"})), 200, NO_STORE


@bp.get("/readyz")
def readyz():
    database, schema = check_database(current_app.extensions["hotline_db"])
    checks = {"database": database, "schema": schema,
              "attachments": check_attachment_dir(current_app.extensions["hotline_settings"].attachment_dir)}
    failed = [name for name, check in checks.items() if not check["ok"]]
    if not failed:
        return jsonify(ReadinessOut().dump({"status": "ready", "checks": checks, "failed": []})), 200, NO_STORE
    zh, en = "服务尚未就绪：" + "、".join(failed), "Not ready: " + ", ".join(failed)
    body = {"status": "not_ready", "checks": checks, "failed": failed,
            "error": {"code": "not_ready", "message": en if language() == "en" else zh, "details": {"failed": failed}}}
    return jsonify(ReadinessOut().dump(body)), 503, NO_STORE


OPERATIONS = [
    ("get", "/healthz", "Liveness: the process answers (no database)", None, {200: HealthOut}, None, False),
    ("get", "/readyz", "Readiness: database round trip, schema at the Alembic head, attachment directory writable; 503 lists the failed checks", None, {200: ReadinessOut, 503: ReadinessOut}, None, False),
]
