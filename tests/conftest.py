"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when HOTLINE_TEST_POSTGRES_URL
is set), the app with the test clock, API clients signed in as demo roles, and small factories."""
from __future__ import annotations

import os
import shutil
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from engine import accounts, setup
from engine.clock import SHANGHAI, FixedClock
from engine.config import Settings
from engine.db import Database
from engine.migrate import upgrade
from engine.models import Base

PG_URL = os.environ.get("HOTLINE_TEST_POSTGRES_URL")
PG_SKIP = "PostgreSQL tests skipped: set HOTLINE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
DEMO_UNITS = ("nt_chongchuan", "nt_housing")


def pg_url() -> str:
    url = PG_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated():
    if not PG_URL:
        pytest.skip(PG_SKIP)
    engine = create_engine(pg_url())
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(pg_url())
    return pg_url()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "hotline.sqlite"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def at(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value).replace(tzinfo=SHANGHAI) if "+" not in text_value \
        else datetime.fromisoformat(text_value)


@pytest.fixture
def clock():
    return FixedClock(at("2025-09-26T09:00:00"))


@pytest.fixture(scope="session")
def demo_hash():
    return accounts.hash_password("demo")      # argon2 is slow on purpose: hash once per test run


@pytest.fixture
def city(db, clock, demo_hash):
    """Nantong loaded (units + deployment) with centre users and users of two demo units."""
    with db.unit_of_work() as session:
        setup.load_city_into_db(session, clock, "nantong")
        for username, roles, name in setup.CENTRE_DEMO_USERS:
            accounts.add_user(session, username, None, roles, city="nantong", display_name=name, password_hash=demo_hash)
        for unit in DEMO_UNITS:
            # .leader is the principal leader (also approves as deputy), .deputy the deputy leader only
            for suffix, roles in (("handler", ["handler"]), ("leader", ["leader", "principal"]), ("deputy", ["leader"])):
                accounts.add_user(session, f"{unit}.{suffix}", None, roles, unit_code=unit, city="nantong",
                                  password_hash=demo_hash)
    return "nantong"


@pytest.fixture
def app(database_url, tmp_path):
    from app import create_app
    settings = Settings(database_url=database_url, secret_key="test-secret", test_clock=True,
                        attachment_dir=str(tmp_path / "attachments"),
                        scheduler_interval=1, scheduler_batch=50, max_upload_bytes=8 * 1024 * 1024,
                        default_language="zh")
    application = create_app(settings)
    application.config.update(TESTING=True)
    yield application
    application.extensions["hotline_db"].dispose()


class ApiClient:
    """A JSON client signed in as one user."""

    def __init__(self, client, username):
        self.client = client
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        assert response.status_code == 201, response.get_json()
        self.headers = {"Authorization": f"Bearer {response.get_json()['token']}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self.headers, **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self.headers, **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self.headers, **kw)

    def set_clock(self, when: str):
        response = self.put("/api/v1/test/clock", json={"now": when})
        assert response.status_code == 200, response.get_json()

    def tick(self) -> int:
        response = self.post("/api/v1/test/tick")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["fired"]

    def ready_task(self, ticket_id, name):
        tasks = self.get(f"/api/v1/tickets/{ticket_id}/tasks?state=ready").get_json()["items"]
        matches = [t for t in tasks if t["name"] == name]
        assert matches, f"no ready {name} task on ticket {ticket_id}: {[t['name'] for t in tasks]}"
        return matches[0]

    def complete(self, ticket_id, name, data, status=200):
        task = self.ready_task(ticket_id, name)
        response = self.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        assert response.status_code == status, response.get_json()
        return response.get_json()


@pytest.fixture
def client(app, city):
    return app.test_client()


@pytest.fixture
def as_user(client):
    cache = {}

    def sign_in(username):
        if username not in cache:
            cache[username] = ApiClient(client, username)
        return cache[username]
    return sign_in


def complaint(**overrides) -> dict:
    payload = {"city": "nantong", "channel": "phone_12345", "request_type": "complaint",
               "title": "夜间施工噪音扰民", "content": "工地连续多日夜间施工，噪音很大。",
               "citizen": {"name": "张三", "phone": "13800001111"}, "address": "崇川区某路1号"}
    payload.update(overrides)
    return payload


@pytest.fixture(autouse=True)
def _replay_every_ticket_afterwards(request):
    """Scenario modules (``pytestmark = pytest.mark.replay_all``): when the test is done, every ticket and
    case in its database is replayed on its pinned deployment and its hash chain walked, as an auditor
    would; all must verify."""
    if request.node.get_closest_marker("replay_all") is None or "db" not in request.fixturenames:
        yield
        return
    db = request.getfixturevalue("db")        # asked for here, so it is torn down after this check
    yield
    from engine.facade import Hotline
    from engine.models import Ticket
    with db.unit_of_work() as session:
        hotline = Hotline(session, FixedClock(datetime(2030, 1, 1, tzinfo=SHANGHAI)))
        failures = []
        for ticket in session.query(Ticket).order_by(Ticket.id):
            report = hotline._verified(ticket)
            if not report["verified"]:
                failures.append((ticket.number, report["first_difference"], report["chain"]["first_broken"]))
        session.rollback()
    assert failures == [], failures
