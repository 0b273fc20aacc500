"""Reports, KPIs and the cockpit from a read replica (HOTLINE_REPORT_DATABASE_URL, engine/replica.py).

The replica here is the same database opened the way a standby is: read-only connections and sessions.
A standby refuses every write, so the pages must answer without one: the facts cache is folded in memory
and left as it is, and what writes (issuing a report) still goes to the primary."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from engine.config import Settings
from engine.models import TicketFactsCache
from engine.replica import read_only_database
from tests.api.escalation_support import REPLY, start
from tests.conftest import ApiClient

pytestmark = pytest.mark.replay_all

MONTH = "city=nantong&period=2025-11"


@pytest.fixture
def replica_app(database_url, tmp_path, city):
    from app import create_app
    settings = Settings(database_url=database_url, secret_key="test-secret", test_clock=True,
                        attachment_dir=str(tmp_path / "attachments"), scheduler_interval=1, scheduler_batch=50,
                        max_upload_bytes=8 * 1024 * 1024, default_language="zh", report_database_url=database_url)
    application = create_app(settings)
    application.config.update(TESTING=True)
    yield application
    application.extensions["hotline_report_db"].dispose()
    application.extensions["hotline_db"].dispose()


def handled_ticket(app) -> None:
    client = app.test_client()
    dispatcher = ApiClient(client, "dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    ticket = start(dispatcher)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_housing", "category": "urban_construction"})
    ApiClient(client, "nt_housing.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    ApiClient(client, "nt_housing.handler").complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})


def cached(db) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(TicketFactsCache))


def test_the_replica_refuses_writes(database_url, city):
    replica = read_only_database(database_url)
    try:
        with pytest.raises(Exception, match="(?i)read-only|readonly|query_only|attempt to write"):
            with replica.unit_of_work() as session:
                session.execute(text("UPDATE tickets SET title = title"))
                session.execute(text("INSERT INTO test_clock (id, now) VALUES (99, NULL)"))
    finally:
        replica.dispose()


def test_reports_kpis_and_the_cockpit_read_the_replica_and_write_nothing(replica_app, db):
    handled_ticket(replica_app)
    supervisor = ApiClient(replica_app.test_client(), "supervisor")
    report = supervisor.get(f"/api/v1/reports/monthly?{MONTH}")
    assert report.status_code == 200, report.get_json()
    assert next(i["value"] for i in report.get_json()["sections"][0]["items"] if i["key"] == "received") == 1
    assert supervisor.get("/api/v1/kpis?city=nantong&from=2025-11-01&to=2025-11-30").status_code == 200
    assert supervisor.get("/api/v1/scores?city=nantong&period=2025-11").status_code == 200
    assert supervisor.get("/api/v1/hot-words?city=nantong&from=2025-11-03&to=2025-11-03").status_code == 200
    assert cached(db) == 0                                  # folded in memory: a standby takes no writes
    issued = supervisor.post("/api/v1/reports/monthly/issue", json={"city": "nantong", "period": "2025-11"})
    assert issued.status_code == 201, issued.get_json()     # issuing writes, on the primary


def test_without_a_replica_the_primary_fills_the_cache(app, as_user, db):
    handled_ticket(app)
    assert as_user("supervisor").get(f"/api/v1/reports/monthly?{MONTH}").status_code == 200
    assert cached(db) >= 1
