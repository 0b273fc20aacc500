"""The scheduler's side of the metrics (engine/metrics.py): the firing lag observed by the sweep, the
snapshot cache, and a real scheduler process serving its metrics on HOTLINE_SCHEDULER_METRICS_PORT."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from engine import accounts
from engine.clock import FixedClock
from engine.facade import Hotline
from engine.metrics import Snapshot, SnapshotCache, read_snapshot, start_scheduler_metrics
from engine.scheduler import sweep
from engine.testclock import set_test_clock
from tests.conftest import at, complaint

ROOT = Path(__file__).resolve().parents[2]


def lag_count() -> float:
    return REGISTRY.get_sample_value("hotline_timer_fire_lag_seconds_count") or 0.0


def lag_sum() -> float:
    return REGISTRY.get_sample_value("hotline_timer_fire_lag_seconds_sum") or 0.0


def dispatched(db, clock) -> int:
    """A ticket dispatched on Friday 2025-09-26 09:00: its sign-off timer is due at 11:00."""
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        ticket = facade.start_ticket(accounts.principal_for_username(s, "operator"),
                                     {**complaint(), "received_at": clock.now()})
        dispatcher = accounts.principal_for_username(s, "dispatcher")
        task = facade.list_tasks(dispatcher, ticket_id=ticket.id)[0]
        facade.complete_task(dispatcher, task.id, {"unit": "nt_chongchuan"})
        return ticket.id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_sweep_observes_each_fired_timers_lag_once(db, clock, city):
    dispatched(db, clock)
    count, total = lag_count(), lag_sum()
    clock.set(at("2025-09-26T10:59:00"))
    assert sweep(db, lambda _s: clock) == 0 and lag_count() == count      # nothing due, nothing observed
    clock.set(at("2025-09-26T11:00:30"))
    assert sweep(db, lambda _s: clock) == 1
    assert lag_count() == count + 1 and abs(lag_sum() - total - 30) < 1e-6
    assert sweep(db, lambda _s: clock) == 0 and lag_count() == count + 1  # fired once, observed once


def test_the_snapshot_reads_the_due_timer_and_the_cache_keeps_it_for_max_age(db, clock, city):
    dispatched(db, clock)
    late = FixedClock(at("2025-09-26T11:05:00"))
    with db.unit_of_work() as s:
        snapshot = read_snapshot(s, late.now())
    assert (snapshot.timers_due, snapshot.timer_lag_seconds) == (1, 300)
    assert snapshot.open_tickets[("nantong", "red")] == 1            # past its sign-off deadline
    now = [100.0]
    cache = SnapshotCache(max_age=5, clock=lambda: now[0])
    made = []

    def compute():
        made.append(Snapshot(at=late.now(), timers_due=len(made)))
        return made[-1]
    assert cache.get(compute).timers_due == 0
    now[0] = 104.9
    assert cache.get(compute).timers_due == 0 and len(made) == 1
    now[0] = 105.0
    assert cache.get(compute).timers_due == 1 and len(made) == 2


def test_start_scheduler_metrics_serves_the_registry_and_is_off_without_a_port():
    assert start_scheduler_metrics(None) is None
    port = free_port()
    server = start_scheduler_metrics(port, addr="127.0.0.1")
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "hotline_timer_fire_lag_seconds_bucket" in text


def test_a_scheduler_process_exposes_its_lag_histogram_on_its_own_port(db, clock, city, database_url):
    dispatched(db, clock)
    with db.unit_of_work() as s:
        set_test_clock(s, at("2025-09-26T11:01:00"))               # the sign-off timer is a minute late
    port = free_port()
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "HOTLINE_TEST_CLOCK": "1", "HOTLINE_SECRET_KEY": "x",
           "HOTLINE_SCHEDULER_INTERVAL": "0.3", "HOTLINE_SCHEDULER_METRICS_PORT": str(port),
           "HOTLINE_LOG_FORMAT": "json"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = {}
    try:
        deadline = time.time() + 60
        while time.time() < deadline and samples.get("hotline_timer_fire_lag_seconds_count", 0) < 1:
            time.sleep(0.3)
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                continue                                               # not listening yet
            samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
                       if not s.labels}
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    assert samples.get("hotline_timer_fire_lag_seconds_count") == 1, err.decode()[-2000:]
    assert samples["hotline_timer_fire_lag_seconds_sum"] == 60
    logged = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any(e["logger"] == "hotline.metrics" and "scheduler metrics" in e["message"] for e in logged)
