"""deploy/gunicorn.conf.py for real: gunicorn with two workers on a migrated SQLite file answers /readyz,
logs JSON lines, and any worker's /metrics sums the requests of both (prometheus_client multiprocess mode).
A bad setting stops the master before a worker starts."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from engine.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "gunicorn.conf.py"
HEALTHZ = frozenset({"method": "GET", "endpoint": "/healthz", "status": "200"}.items())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(env, stderr):
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONF)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pids_with_counters(directory: Path) -> set[str]:
    return {p.stem.split("_")[-1] for p in directory.glob("counter_*.db")}


def test_two_workers_are_ready_log_json_and_sum_their_metrics(tmp_path):
    database = tmp_path / "hotline.sqlite"
    upgrade(f"sqlite:///{database}")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")           # from an "earlier run": must be wiped
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOTLINE_DATABASE_URL": f"sqlite:///{database}", "HOTLINE_SECRET_KEY": "x",
           "HOTLINE_WEB_BIND": f"127.0.0.1:{port}", "HOTLINE_WEB_WORKERS": "2", "HOTLINE_LOG_FORMAT": "json",
           "HOTLINE_ATTACHMENT_DIR": str(tmp_path / "attachments"), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log_file:
        process = gunicorn(env, log_file)
        try:
            deadline, ready = time.time() + 90, None
            while time.time() < deadline and process.poll() is None:
                try:
                    ready = get(f"{base}/readyz")
                    break
                except OSError:
                    time.sleep(0.3)
            assert ready is not None, log_path.read_text()[-3000:]
            status, body = ready
            assert status == 200 and json.loads(body)["status"] == "ready"

            # Concurrent requests until both workers have answered some (sync workers take one at a time;
            # the second may still be importing the app when the first is ready).
            sent, deadline = 0, time.time() + 90
            with ThreadPoolExecutor(8) as pool:
                while len(pids_with_counters(metrics_dir)) < 2 and time.time() < deadline:
                    statuses = list(pool.map(lambda _i: get(f"{base}/healthz")[0], range(24)))
                    assert statuses == [200] * 24
                    sent += 24
                    time.sleep(0.2)
            assert len(pids_with_counters(metrics_dir)) >= 2, "one worker answered everything"
            assert "1" not in pids_with_counters(metrics_dir)

            # Whichever worker answers the scrape, it reports both workers' requests.
            for _ in range(6):
                status, text = get(f"{base}/metrics")
                values = {(s.name, frozenset(s.labels.items())): s.value
                          for f in text_string_to_metric_families(text) for s in f.samples}
                assert values[("hotline_http_requests_total", HEALTHZ)] == sent
                assert values[("hotline_metrics_database_up", frozenset())] == 1
        finally:
            stop(process)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]       # every line is JSON
    served = [e for e in lines if e["logger"] == "hotline.request" and e["path"] == "/healthz"]
    assert len(served) == sent and len({e["pid"] for e in served}) >= 2
    assert all(len(e["request_id"]) == 32 and e["status"] == 200 for e in served)
    assert any(e["logger"].startswith("gunicorn") and "Booting worker" in e["message"] for e in lines)


def test_a_bad_setting_stops_the_master_naming_it(tmp_path):
    env = {**os.environ, "HOTLINE_SECRET_KEY": "x", "HOTLINE_WEB_WORKERS": "0",
           "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = gunicorn(env, subprocess.PIPE)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    assert "HOTLINE_WEB_WORKERS must be at least 1" in err.decode()
