"""GET /healthz (liveness, no database) and GET /readyz (database round trip, schema at the Alembic head,
attachment directory writable; 503 with the failed checks otherwise)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from api.health import head_revisions
from engine.config import Settings
from engine.migrate import upgrade

OLDER_SCHEMA = "readyz_older"


def make_app(database_url, attachment_dir):
    from app import create_app
    settings = Settings(database_url=database_url, secret_key="test-secret", test_clock=True,
                        attachment_dir=str(attachment_dir), scheduler_interval=1, scheduler_batch=50,
                        max_upload_bytes=8 * 1024 * 1024, default_language="zh")
    return create_app(settings)


@pytest.fixture
def older_database(database_url, tmp_path):
    """A database of the same kind migrated only to 0010 (one release behind): a fresh SQLite file, or a
    schema of its own on the PostgreSQL test database (search_path in the URL)."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'older.sqlite'}"
        upgrade(url, "0010")
        yield url
        return
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {OLDER_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {OLDER_SCHEMA}"))
    url = f"{database_url}?options=-csearch_path%3D{OLDER_SCHEMA}"
    upgrade(url, "0010")
    yield url
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {OLDER_SCHEMA} CASCADE"))
    engine.dispose()


def test_healthz_answers_without_the_database(tmp_path):
    # No database server behind this URL: liveness must not care (a DB outage must not restart the workers).
    app = make_app(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}", tmp_path / "attachments")
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "not_ready" and "database" in body["failed"] and "schema" in body["failed"]
    assert body["checks"]["database"] == {"ok": False, "detail": "OperationalError"}   # the class, never the text
    assert body["error"]["code"] == "not_ready"


def test_readyz_is_ready_on_a_migrated_database(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["database"] == {"ok": True} and body["checks"]["attachments"] == {"ok": True}
    assert body["checks"]["schema"] == {"ok": True, "revision": "0012", "head": "0012"}
    assert head_revisions() == {"0012"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "error" not in body


def test_readyz_is_503_until_the_schema_is_migrated_to_head(older_database, tmp_path):
    app = make_app(older_database, tmp_path / "attachments")
    client = app.test_client()
    response = client.get("/readyz?lang=en")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["schema"]
    assert body["checks"]["schema"] == {"ok": False, "revision": "0010", "head": "0012",
                                        "detail": "schema revision differs from this release's head"}
    assert body["error"] == {"code": "not_ready", "message": "Not ready: schema", "details": {"failed": ["schema"]}}
    assert client.get("/readyz").get_json()["error"]["message"] == "服务尚未就绪：schema"
    assert client.get("/healthz").status_code == 200           # alive all the same: do not restart it
    upgrade(older_database)                                     # flask db upgrade; no restart needed
    assert client.get("/readyz").status_code == 200
    app.extensions["hotline_db"].dispose()


def test_readyz_is_503_when_the_attachment_directory_cannot_be_written(database_url, city, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    # Under a regular file nothing can be created, even by root (a chmod'ed directory would not stop root).
    app = make_app(database_url, blocker / "attachments")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["attachments"] and body["checks"]["attachments"]["ok"] is False
    assert body["checks"]["database"] == {"ok": True} and body["checks"]["schema"]["ok"] is True
    app.extensions["hotline_db"].dispose()


def test_readyz_creates_a_missing_attachment_directory_and_leaves_no_probe_file(app, tmp_path):
    directory = tmp_path / "attachments"
    assert not directory.exists()
    assert app.test_client().get("/readyz").status_code == 200
    assert directory.is_dir() and list(directory.iterdir()) == []


def test_health_endpoints_are_documented_without_authentication(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "security" not in paths["/healthz"]["get"] and "security" not in paths["/readyz"]["get"]
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
