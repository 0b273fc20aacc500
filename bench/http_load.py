"""Intake and task-completion throughput through real gunicorn on PostgreSQL under concurrent clients,
against raw in-memory SpiffWorkflow on the same diagram and rules.

    HOTLINE_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m bench.http_load --workers 1,4 --clients 8 --duration 30
    HOTLINE_BENCH_POSTGRES_URL=... .venv/bin/python -m bench.http_load --profile 200

For each worker count: a fresh database (bench/databases.py: migrated, Nantong, an operator, a dispatcher
and an nt_chongchuan handler), then gunicorn with deploy/gunicorn.conf.py (HOTLINE_WEB_WORKERS=N, a free
loopback port, the system clock as in production) and a bearer token per user. Each phase runs after an
untimed warm-up (--warmup requests per client):

- intake: C client threads POST /api/v1/tickets for --duration seconds;
- dispatch, then sign: the tickets taken in are completed with POST /api/v1/tasks/{id}/complete; the
  ready task ids are looked up in the database before each sub-phase (untimed). A sub-phase ends when its
  tickets are done or after --duration. 'complete' is both together.

Each client thread has its own http.client connection (sync workers close it after every response, so
each request also opens a loopback TCP connection). ops/s = successful requests / the phase's wall time;
latencies (ms) are per successful request; "min 5 s" is the slowest 5-second window. Memory: VmRSS and PSS
of every worker after the warm-up and after the load. The baseline (bench/baseline.py) runs the same
operations single-threaded here; overhead = its ops/s ÷ the server's. ``--profile N`` profiles N intakes
and 2N completions through the facade instead (cProfile).
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import itertools
import json
import os
import pstats
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.clock import FixedClock
from engine.db import Database

from . import databases
from .baseline import run_baseline
from .databases import DISPATCHER, HANDLER, OPERATOR, PASSWORD
from .stats import combined, percentile
from .throughput import START, machine
from .workloads import DISPATCH_DATA, SIGN_DATA, FacadeDriver, complaint, ready_task_ids, run_lifecycle

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 5.0


# -- shared with bench/timer_lag.py: the command line, real processes, their memory ------------------
def command_line(module: str) -> str:
    env = ""
    if os.environ.get(databases.POSTGRES_ENV):
        shown = make_url(os.environ[databases.POSTGRES_ENV]).render_as_string(hide_password=True)
        env = f"{databases.POSTGRES_ENV}={shown} "
    return f"{env}.venv/bin/python -m {module} {shlex.join(sys.argv[1:])}".rstrip()


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """A child in its own process group, stdout and stderr to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM to the child we started (gunicorn then stops its workers), SIGKILL after ``grace``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (gunicorn's workers), from /proc/*/stat's fourth field."""
    def parent(entry: Path) -> int | None:
        try:
            return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
    return sorted(int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and parent(e) == pid)


def memory_mib(pid: int) -> tuple[float, float | None]:
    """(RSS, PSS) in MiB; PSS shares the pages forked workers have in common among them."""
    def kib(path: str, key: str) -> float | None:
        try:
            line = next((ln for ln in Path(f"/proc/{pid}/{path}").read_text().splitlines() if ln.startswith(key)), "")
        except OSError:
            return None
        return int(line.split()[1]) / 1024 if line else None
    return kib("status", "VmRSS:") or 0.0, kib("smaps_rollup", "Pss:")


# -- the load generator ---------------------------------------------------------------------------
@dataclass
class Phase:
    operation: str
    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)       # seconds since the phase start, per success
    errors: Counter = field(default_factory=Counter)
    wall: float = 0.0

    @property
    def ops_per_s(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def min_window(self) -> float | None:
        windows = int(self.wall // WINDOW)
        if windows < 2:
            return None
        counts = Counter(int(t // WINDOW) for t in self.finished)
        return min(counts.get(i, 0) for i in range(windows)) / WINDOW

    def ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000.0


def combine(operation: str, *phases: Phase) -> Phase:
    out, offset = Phase(operation), 0.0
    for p in phases:
        out.latencies += p.latencies
        out.finished += [t + offset for t in p.finished]
        out.errors.update(p.errors)
        out.wall += p.wall
        offset += p.wall
    return out


class Client:
    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, payload: dict, headers: dict) -> tuple[int, dict | None]:
        self.connection.request("POST", path, json.dumps(payload, ensure_ascii=False).encode(),
                                {"Content-Type": "application/json", **headers})
        response = self.connection.getresponse()
        body = response.read()
        return response.status, (json.loads(body) if body and response.status < 300 else None)


def drive(port: int, clients: int, duration: float, operation: str, next_request) -> tuple[Phase, list]:
    """``clients`` threads call ``next_request()`` -> (path, payload, headers, expected status) or None (no
    work left) until ``duration`` passes; returns the phase and the successful response bodies."""
    phase, bodies, lock = Phase(operation), [], threading.Lock()
    started = time.perf_counter()
    deadline = started + duration

    def worker():
        client = Client(port)
        while time.perf_counter() < deadline:
            with lock:
                request = next_request()
            if request is None:
                return
            path, payload, headers, expected = request
            t0 = time.perf_counter()
            try:
                status, body = client.post(path, payload, headers)
            except (OSError, http.client.HTTPException) as exc:
                client.connection.close()
                with lock:
                    phase.errors[type(exc).__name__] += 1
                continue
            t1 = time.perf_counter()
            with lock:
                if status == expected:
                    phase.latencies.append(t1 - t0)
                    phase.finished.append(t1 - started)
                    bodies.append(body)
                else:
                    phase.errors[f"HTTP {status}"] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall = time.perf_counter() - started
    return phase, bodies


def intake_requests(headers: dict, count: int | None = None, first: int = 0):
    numbers = iter(range(first, first + count)) if count is not None else itertools.count(first)

    def next_request():
        i = next(numbers, None)
        return None if i is None else ("/api/v1/tickets", complaint(i), headers, 201)
    return next_request


def completion_requests(task_ids: list[str], data: dict, headers: dict):
    queue = deque(task_ids)
    return lambda: (f"/api/v1/tasks/{queue.popleft()}/complete", {"data": data}, headers, 200) if queue else None


class Server:
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port."""

    def __init__(self, url: str, workers: int, workdir: Path, log_level: str = "INFO"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = workdir / f"gunicorn-{workers}.log"
        env = {"HOTLINE_DATABASE_URL": url, "HOTLINE_SECRET_KEY": "bench-http-load-secret-key",
               "HOTLINE_WEB_WORKERS": str(workers), "HOTLINE_WEB_BIND": f"127.0.0.1:{self.port}",
               "HOTLINE_TEST_CLOCK": "0", "HOTLINE_LANGUAGE": "en", "HOTLINE_LOG_LEVEL": log_level}
        self.process = spawn([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"], env, self.log)
        self.workers = workers

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see {self.log}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200 and len(children(self.process.pid)) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s; see {self.log}")

    def token(self, username: str) -> dict:
        status, body = Client(self.port).post("/api/v1/auth/token", {"username": username, "password": PASSWORD}, {})
        if status != 201:
            raise RuntimeError(f"token for {username}: HTTP {status}")
        return {"Authorization": f"Bearer {body['token']}"}

    def memory(self) -> list[tuple[int, float, float | None]]:
        return [(pid, *memory_mib(pid)) for pid in children(self.process.pid)]


def run_workers(url: str, workers: int, args, workdir: Path) -> dict:
    print(f"[http_load] {workers} worker(s): fresh database, starting gunicorn", file=sys.stderr, flush=True)
    databases.reset_postgres(url)
    databases.prepare(url, FixedClock(START))
    server, database = Server(url, workers, workdir, args.log_level), Database(url)
    try:
        server.wait_ready()
        headers = {name: server.token(name) for name in (OPERATOR, DISPATCHER, HANDLER)}
        # Warm-up: every client's first requests, through every operation (codec caches, imports, pools).
        warm = args.warmup * args.clients
        _, bodies = drive(server.port, args.clients, 120, "warm", intake_requests(headers[OPERATOR], warm, 10 ** 8))
        ids = [b["id"] for b in bodies]
        for name, data, actor in (("dispatch", DISPATCH_DATA, DISPATCHER), ("sign", SIGN_DATA, HANDLER)):
            tasks = list(ready_task_ids(database, name, ids).values())
            drive(server.port, args.clients, 120, "warm", completion_requests(tasks, data, headers[actor]))
        memory_before = server.memory()
        print(f"[http_load] {workers} worker(s): intake for {args.duration:.0f} s", file=sys.stderr, flush=True)
        intake, bodies = drive(server.port, args.clients, args.duration, "intake", intake_requests(headers[OPERATOR]))
        ids = [b["id"] for b in bodies]
        phases = {"intake": intake}
        for name, data, actor in (("dispatch", DISPATCH_DATA, DISPATCHER), ("sign", SIGN_DATA, HANDLER)):
            tasks = ready_task_ids(database, name, ids)                         # untimed bookkeeping
            print(f"[http_load] {workers} worker(s): {len(tasks)} {name} completions", file=sys.stderr, flush=True)
            phases[name], bodies = drive(server.port, args.clients, args.duration, name,
                                         completion_requests(list(tasks.values()), data, headers[actor]))
            ids = [b["id"] for b in bodies]
        phases["complete"] = combine("complete", phases["dispatch"], phases["sign"])
        return {"workers": workers, "phases": phases, "memory_before": memory_before, "memory_after": server.memory()}
    finally:
        stop(server.process)
        database.dispose()


def print_results(runs: list[dict], baseline: dict, clients: int) -> None:
    header = (f"{'operation':<10} {'run':<22} {'ok':>6} {'errors':>6} {'ops/s':>8} {'min 5 s':>8} {'p50 ms':>8} "
              f"{'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'overhead':>9}")
    print(header)
    print("-" * len(header))
    for operation in ("intake", "dispatch", "sign", "complete"):
        floor = baseline[operation]     # a bench.stats.Sample: one operation after another, in this process
        rows = [("memory (raw Spiff)", Phase(operation, floor.latencies, wall=sum(floor.latencies)))]
        rows += [(f"gunicorn {r['workers']}w/{clients} clients", r["phases"][operation]) for r in runs]
        for label, p in rows:
            low = p.min_window() if p.finished else None
            ratio = floor.ops_per_s / p.ops_per_s if p.ops_per_s else float("inf")
            print(f"{operation:<10} {label:<22} {len(p.latencies):>6} {sum(p.errors.values()):>6} {p.ops_per_s:>8.1f} "
                  f"{(f'{low:.1f}' if low is not None else '-'):>8} {p.ms(50):>8.2f} {p.ms(95):>8.2f} "
                  f"{p.ms(99):>8.2f} {p.ms(100):>8.2f} {ratio:>8.1f}x")
        print()
    for run in (r for r in runs if any(r["phases"][op].errors for op in ("intake", "dispatch", "sign"))):
        errors = run["phases"]["complete"].errors + run["phases"]["intake"].errors
        print(f"errors with {run['workers']} worker(s): {dict(errors)}")
    print("memory per worker (MiB, RSS / PSS):")
    for run in runs:
        for label in ("memory_before", "memory_after"):
            cells = ", ".join(f"{rss:.0f}/{pss:.0f}" if pss is not None else f"{rss:.0f}/-" for _pid, rss, pss in run[label])
            print(f"  {run['workers']} worker(s) {label.split('_')[1]:<6} the load: {cells}")


# -- the facade profile -----------------------------------------------------------------------------
def profile(url: str, n: int) -> None:
    databases.reset_postgres(url)
    databases.prepare(url, FixedClock(START))
    driver = FacadeDriver(url, FixedClock(START))
    try:
        run_lifecycle(driver, 5, "warm-up")
        profiler = cProfile.Profile()
        profiler.enable()
        ids = [driver.start_ticket(complaint(i))[0] for i in range(n)]
        profiler.disable()
        _print_profile(f"{n} intakes (Hotline.start_ticket, one unit of work each)", profiler)
        profiler = cProfile.Profile()
        for name, actor, data in (("dispatch", DISPATCHER, DISPATCH_DATA), ("sign", HANDLER, SIGN_DATA)):
            tasks = ready_task_ids(driver.database, name, ids)
            profiler.enable()
            for task_id in tasks.values():
                driver.complete(actor, task_id, data)
            profiler.disable()
        _print_profile(f"{2 * n} completions (Hotline.complete_task: {n} dispatch + {n} sign)", profiler)
    finally:
        driver.close()


PACKAGES = (("PostgreSQL round trips (psycopg waiting)", "psycopg/connection.py", "wait"),
            ("SpiffWorkflow", "SpiffWorkflow/", None), ("SQLAlchemy", "sqlalchemy/", None),
            ("psycopg (other)", "psycopg/", None), ("json", "json/", None), ("the project (engine/)", f"{ROOT}/engine/", None),
            ("logging", "logging/", None))


def _print_profile(title: str, profiler: cProfile.Profile) -> None:
    """The top 15 by cumulative time, the top 15 of engine/, and own (tottime) seconds by package."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(15)
    stats.sort_stats("cumulative").print_stats(re.escape(str(ROOT)) + "/engine/", 15)
    print(f"== {title}")
    print("\n".join(line.replace(str(ROOT) + "/", "") for line in out.getvalue().splitlines() if line.strip()))
    total = sum(row[2] for row in stats.stats.values())
    spent = Counter()
    for (filename, _line, function), row in stats.stats.items():
        label = next((name for name, path, fn in PACKAGES if path in filename and fn in (None, function)),
                     "other (builtins and C calls, stdlib)")
        spent[label] += row[2]
    print("own time by package: " + ", ".join(f"{name} {seconds:.2f} s ({seconds / total:.0%})"
                                             for name, seconds in spent.most_common()))
    print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,4", help="gunicorn worker counts, comma-separated (default 1,4)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase at most (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per client first (default 5)")
    parser.add_argument("--baseline-tickets", type=int, default=300, help="raw SpiffWorkflow tickets (default 300)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="HOTLINE_LOG_LEVEL of the workers (default INFO, as in production)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N intakes and 2N completions through the facade instead")
    args = parser.parse_args(argv)
    url = databases.postgres_url_from_env()
    if not url:
        parser.error(f"set {databases.POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/bench")
    print(f"command: {command_line('bench.http_load')}")
    print(f"machine: {machine()}")
    if args.profile:
        profile(url, args.profile)
        return 0
    workers = [int(w) for w in args.workers.split(",")]
    print(f"load: {args.clients} client threads, phases of at most {args.duration:.0f} s after {args.warmup} "
          f"untimed requests per client; gunicorn sync workers, deploy/gunicorn.conf.py, system clock, "
          f"log level {args.log_level}")
    print(flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-http-load-"))
    runs = [run_workers(url, w, args, workdir) for w in workers]
    print(f"[http_load] raw SpiffWorkflow baseline: {args.baseline_tickets} tickets", file=sys.stderr, flush=True)
    samples, _ = run_baseline(FixedClock(START), args.baseline_tickets, warmup=5)
    samples["complete"] = combined("complete", "memory", samples["dispatch"], samples["sign"])
    print_results(runs, samples, args.clients)
    print(f"gunicorn logs: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
