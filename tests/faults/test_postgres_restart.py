"""PostgreSQL stopped (fast shutdown: open transactions are cut) and started again under load (issue 10).

During the outage every request is answered promptly with 503 ``database_unavailable`` JSON (Chinese by
default, English on ?lang=en), /readyz answers 503 naming the database, and no connection is dropped.
Afterwards the same gunicorn workers (no restart) serve again on their own: the pool's pre-ping replaces the
dead connections (engine/db.py), also after a restart while the app was idle. Nothing the clients were promised is lost, and every ticket verifies."""
from __future__ import annotations

import socket
import threading
import time

from app import create_app
from engine.config import Settings
from tests.faults.fault_checks import consistency_problems, tickets_by_title
from tests.faults.fault_cluster import wait_until
from tests.faults.fault_load import TIMEOUT, TicketLoad, call, sign_in
from tests.faults.fault_processes import Gunicorn

OUTAGE = 3.0          # seconds the server stays down while the load goes on


def test_the_app_rides_out_a_postgres_restart_without_manual_action(pg_cluster, fresh_pg, tmp_path):
    _name, url = fresh_pg
    web = Gunicorn(url, tmp_path)
    try:
        web.wait_ready()
        workers = web.workers()
        operator, dispatcher = sign_in(web.base, "operator"), sign_in(web.base, "dispatcher")
        load = TicketLoad(web.base, operator, dispatcher, tag="pg-restart").start()
        try:
            wait_until(lambda: load.count("create", 201) >= 5, 60, what="the first acknowledged tickets")
            pg_cluster.stop("fast")
            down_at = time.monotonic()
            try:
                ready_down = call("GET", f"{web.base}/readyz")
                english = call("GET", f"{web.base}/api/v1/tickets?lang=en", token=operator)
                wait_until(lambda: time.monotonic() - down_at > OUTAGE and len(load.refused()) >= 3, 30,
                           what="requests refused during the outage")
            finally:
                pg_cluster.start()
            up_at = time.monotonic()
            wait_until(lambda: call("GET", f"{web.base}/readyz").status == 200, 30, 0.2,
                       "/readyz to answer 200 again")
            wait_until(lambda: load.count("create", 201, since=up_at) >= 3, 30,
                       what="tickets acknowledged after the restart")
        finally:
            load.stop()
        # A restart while nobody uses the app (a maintenance window): every pooled connection is dead, and
        # the first requests after it still succeed.
        pg_cluster.stop("fast")
        pg_cluster.start()
        after_idle_restart = [call("GET", f"{web.base}/api/v1/tickets?per_page=1", token=operator) for _ in range(8)]
        workers_after = web.workers()
    finally:
        web.stop()

    assert ready_down.status == 503 and ready_down.body["status"] == "not_ready", ready_down
    assert ready_down.body["failed"] == ["database", "schema"]
    assert (english.status, english.code) == (503, "database_unavailable"), english
    assert english.body["error"]["message"].startswith("The database is unavailable")
    assert workers_after == workers, "gunicorn replaced workers: the app did not recover by itself"
    assert [o.status for o in after_idle_restart] == [200] * 8, after_idle_restart
    assert load.unanswered() == [], "a connection was dropped instead of answered"
    refused = load.refused()
    assert refused and {(o.status, o.code) for o in refused} == {(503, "database_unavailable")}, refused
    assert all(o.body["error"]["message"].startswith("数据库暂时不可用") for o in refused)
    assert all(o.started >= down_at - TIMEOUT for o in refused), "refusals before the outage"
    # Once the server is back not one request fails: the pool's pre-ping replaces each dead connection
    # before a request gets it (without it, the first request of every pooled connection would fail).
    assert [o for o in refused if o.started > up_at] == []
    assert max(o.elapsed for o in load.snapshot()) < 10, "a request hung during the outage"

    stored = tickets_by_title(url)
    acknowledged = load.acknowledged()
    assert {t: stored[t][0]["id"] if t in stored else None for t in acknowledged} == acknowledged
    # A 503 to a POST is a rollback, except when the connection broke during COMMIT itself: then, as for any
    # client timeout, the outcome is unknown. Either way no ticket exists that nobody asked for.
    asked = set(acknowledged) | {o.key for o in refused if o.kind == "create"}
    assert set(stored) <= asked
    assert all(len(found) == 1 for found in stored.values())
    assert all(stored_ticket["dispatched"] == 1 for found in stored.values() for stored_ticket in found
               if stored_ticket["id"] in load.dispatched())
    assert consistency_problems(url) == {}


def test_a_database_that_never_answers_fails_requests_within_the_connect_timeout(tmp_path):
    """A hung database host: TCP connects (the kernel completes the handshake into the listen backlog) but
    nothing ever answers. The request must fail with 503 after engine/db.py's connect timeout (10 s), not
    hang until gunicorn kills the worker."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)                      # never accepted, never answered
        port = silent.getsockname()[1]
        app = create_app(Settings(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/hotline",
                                  secret_key="x", test_clock=False, scheduler_interval=5, scheduler_batch=50,
                                  max_upload_bytes=1 << 20, default_language="zh",
                                  attachment_dir=str(tmp_path / "attachments")))
        answers = []
        request = threading.Thread(target=lambda: answers.append(app.test_client().get(
            "/api/v1/tickets", headers={"Authorization": "Bearer whatever"})), daemon=True)
        started = time.monotonic()
        request.start()
        request.join(timeout=25)
        elapsed = time.monotonic() - started
    app.extensions["hotline_db"].dispose()
    assert answers, "the request still hangs after 25 s"
    assert answers[0].status_code == 503 and answers[0].get_json()["error"]["code"] == "database_unavailable"
    assert 9 <= elapsed < 20
