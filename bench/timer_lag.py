"""Timer lag: how long real scheduler processes take to fire a minute's worth of due timers (10,000 by
default at full scale) with a million open tickets in the database, on PostgreSQL.

    HOTLINE_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m bench.timer_lag --tickets 1000000 --due 10000 --schedulers 1,2

1. Fill (bench/bulk.py, unless ``--skip-fill``): ``--tickets`` open tickets cloned from real templates, each
   with its workflow state, task rows, events and one pending timer; for each entry of ``--schedulers`` a
   due set of ``--due`` timers inside one minute. The fill's phase times are printed.
2. The sweep's queries at that size, EXPLAIN (ANALYZE, BUFFERS) with the engine clock at the end of the
   first due minute: the due-timer query (``Hotline.due_timer_tickets``), the warning and delivery sweeps'
   queries, the /metrics due-timer gauge, and whether timers has an index on (state, due_at).
3. For each scheduler count s, its own due set: the test clock (HOTLINE_TEST_CLOCK=1: the engine time is a
   database row every process reads) is put just before the set's minute; s real ``flask --app app
   scheduler`` processes start and settle; at T0 the clock moves to the end of the minute, so the whole
   set falls due at once. The fired count of the set's timers is polled every 100 ms: the k-th timer's
   lag is the wall time from T0 to the first poll that counted k fired. Printed: time to the first fire,
   p50/p95/p99/max lag, fired/s (overall and between 5 % and 95 %), which process fired how many, and that
   every ticket of the set got its overdue flag.

The scheduler settings are ``--interval`` and ``--batch`` (HOTLINE_SCHEDULER_INTERVAL/BATCH); the
production defaults, 5 s and 50, let one scheduler fire at most 10 tickets per second.
"""
from __future__ import annotations

import argparse
import math
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, func, select, text
from SpiffWorkflow.util.task import TaskState

from engine.clock import FixedClock
from engine.db import Database
from engine.facade import Hotline
from engine.metrics import due_timers
from engine.models import Ticket, Timer
from engine.notifications import deliver_due, sweep_warnings
from engine.outbound import LoggingChannel
from engine.testclock import set_test_clock

from . import databases
from .baseline import RawSpiff
from .bulk import due_minute, populate_open
from .http_load import command_line, spawn, stop
from .stats import Sample
from .throughput import START, machine
from .workloads import DISPATCH_DATA, SIGN_DATA

POLL = 0.1


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.timer_lag", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20_000, help="open tickets (default 20000; full: 1000000)")
    parser.add_argument("--due", type=int, default=2_000, help="timers due in each set's minute (default 2000)")
    parser.add_argument("--schedulers", default="1,2", help="scheduler process counts, one due set each (1,2)")
    parser.add_argument("--interval", type=float, default=1.0, help="HOTLINE_SCHEDULER_INTERVAL (default 1 s)")
    parser.add_argument("--batch", type=int, default=500, help="HOTLINE_SCHEDULER_BATCH (default 500)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up on a set after this many seconds")
    parser.add_argument("--baseline-tickets", type=int, default=400, help="raw SpiffWorkflow timers (default 400)")
    parser.add_argument("--skip-fill", action="store_true", help="reuse the database a fill left (same sizes)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not databases.postgres_url_from_env():
        parser.error(f"set {databases.POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/bench")
    args.counts = [int(c) for c in args.schedulers.split(",")]
    return args


# -- 2. the sweep's queries -----------------------------------------------------------------------
def captured_selects(database: Database, call) -> list[tuple[str, dict]]:
    """The SELECTs ``call(session)`` sends, with their parameters (its transaction is rolled back)."""
    seen = []

    def listener(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))
    event.listen(database.engine, "before_cursor_execute", listener)
    session = database.sessions()
    try:
        call(session)
    finally:
        session.rollback()
        session.close()
        event.remove(database.engine, "before_cursor_execute", listener)
    return seen


def explain(database: Database, label: str, call) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the first SELECT ``call`` sends, in a transaction rolled back."""
    statement, parameters = captured_selects(database, call)[0]
    with database.engine.connect() as conn:
        plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
        conn.rollback()
    print(f"-- {label}")
    print("   " + " ".join(statement.split())[:400])
    for line in plan:
        print("   " + line)


def explain_sweep(database: Database, batch: int) -> None:
    clock = FixedClock(due_minute(0) + timedelta(seconds=60))
    now = clock.now()
    with database.engine.connect() as conn:
        indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'timers'")).all()
    on_state_due = [name for name, definition in indexes if "(state, due_at)" in definition]
    print(f"timers indexes: {', '.join(name for name, _ in indexes)}; on (state, due_at): "
          f"{on_state_due[0] if on_state_due else 'MISSING'}")
    explain(database, f"due-timer query (Hotline.due_timer_tickets({batch}))",
            lambda s: Hotline(s, clock).due_timer_tickets(batch))
    explain(database, f"warning sweep (sweep_warnings, limit {batch})", lambda s: sweep_warnings(s, clock, batch))
    explain(database, f"delivery sweep (deliver_due, limit {batch})",
            lambda s: deliver_due(s, clock, LoggingChannel(), batch))
    explain(database, "/metrics gauge (engine.metrics.due_timers)", lambda s: due_timers(s, now))
    print()


# -- 3. the schedulers ------------------------------------------------------------------------------
def set_clock(database: Database, at) -> None:
    with database.unit_of_work() as session:
        set_test_clock(session, at)


def fired_in(database: Database, first, last) -> int:
    with database.engine.connect() as conn:
        return conn.scalar(select(func.count()).where(Timer.state == "fired", Timer.due_at >= first,
                                                      Timer.due_at < last))


def start_schedulers(url: str, count: int, args, workdir: Path) -> tuple[list, list[Path]]:
    env = {"HOTLINE_DATABASE_URL": url, "HOTLINE_TEST_CLOCK": "1", "HOTLINE_SECRET_KEY": "bench-timer-lag-secret",
           "HOTLINE_SCHEDULER_INTERVAL": str(args.interval), "HOTLINE_SCHEDULER_BATCH": str(args.batch)}
    logs = [workdir / f"scheduler-{count}-{i}.log" for i in range(count)]
    processes = [spawn([sys.executable, "-m", "flask", "--app", "app", "scheduler"], env, log) for log in logs]
    deadline = time.monotonic() + 120
    while not all("sweeping every" in log.read_text(errors="replace") for log in logs):
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            for p in processes:
                stop(p)
            raise RuntimeError(f"a scheduler did not start; see {workdir}")
        time.sleep(0.2)
    time.sleep(args.interval * 2 + 1)          # past the first, empty sweeps: imports and pools are warm
    return processes, logs


def measure(database: Database, url: str, index: int, count: int, args, workdir: Path) -> dict:
    first = due_minute(index)
    last = first + timedelta(seconds=60)
    with database.engine.connect() as conn:
        total = conn.scalar(select(func.count()).where(Timer.state == "pending", Timer.due_at >= first,
                                                       Timer.due_at < last))
        early = conn.scalar(select(func.count()).where(Timer.state == "pending", Timer.due_at < first))
    if early or not total:
        raise SystemExit(f"set {index}: {early} timers pending before its minute, {total} in it; refill the "
                           f"database with one due set per --schedulers entry")
    set_clock(database, first - timedelta(seconds=30))
    print(f"[timer_lag] {count} scheduler(s), set {index}: {total} timers due {first:%H:%M} .. {last:%H:%M}",
          file=sys.stderr, flush=True)
    processes, logs = start_schedulers(url, count, args, workdir)
    names = [f"scheduler@{socket.gethostname()}:{p.pid}" for p in processes]     # engine.scheduler.worker_name
    curve = []
    try:
        set_clock(database, last)               # the whole minute falls due at once
        t0 = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - t0
            fired = fired_in(database, first, last)
            curve.append((elapsed, fired))
            if fired >= total or elapsed > args.timeout or any(p.poll() is not None for p in processes):
                break
            time.sleep(max(0.0, POLL - (time.perf_counter() - t0 - elapsed)))
    finally:
        for p in processes:
            stop(p)
    with database.engine.connect() as conn:
        by_worker = dict(conn.execute(select(Timer.fired_by, func.count()).where(
            Timer.state == "fired", Timer.due_at >= first, Timer.due_at < last).group_by(Timer.fired_by)).all())
        flagged = conn.scalar(select(func.count(func.distinct(Ticket.id))).join(Timer, Timer.ticket_id == Ticket.id)
                              .where(Timer.due_at >= first, Timer.due_at < last, Timer.state == "fired",
                                     Ticket.sign_overdue | Ticket.handle_overdue))
        outside = conn.scalar(select(func.count()).where(Timer.state == "fired", Timer.fired_by.in_(names),
                                                         (Timer.due_at < first) | (Timer.due_at >= last)))
    # The engine's own warnings and errors (a ticket that failed to fire); APScheduler's "skipped: maximum
    # number of running instances reached" only says a sweep outlasted the interval.
    problems = sum(1 for log in logs for line in log.read_text(errors="replace").splitlines()
                   if (" hotline." in line and (" WARNING " in line or " ERROR " in line)) or "Traceback" in line)
    return {"schedulers": count, "total": total, "curve": curve, "by_worker": by_worker, "flagged": flagged,
            "outside": outside, "log_problems": problems, "logs": [str(log) for log in logs]}


def raw_fire_baseline(n: int) -> Sample:
    """Raw in-memory SpiffWorkflow firing the same timers: n workflows left at 'signing' or (three in four,
    the fill's mix) 'handling', the engine clock moved past every deadline, then each workflow's timers
    refreshed and its engine steps run (timed), as ``TicketRun.fire_due_timers`` does without the database."""
    clock = FixedClock(START)
    raw, workflows = RawSpiff(clock), []
    for i in range(n):
        workflow = raw.start(i + 1)
        raw.complete(workflow, "dispatch", DISPATCH_DATA)
        if i % 4:
            raw.complete(workflow, "sign", SIGN_DATA)
        workflows.append(workflow)
    clock.set(START + timedelta(days=60))
    sample = Sample("fire", "memory")
    for workflow in workflows:
        with sample.timed():
            workflow.refresh_timers()
            workflow.do_engine_steps()
        if any(t.task_spec.name.endswith("_overdue_timer") for t in workflow.get_tasks(state=TaskState.WAITING)):
            raise RuntimeError("a baseline timer did not fire")
    return sample


def time_to(curve: list[tuple[float, int]], k: int) -> float | None:
    return next((t for t, fired in curve if fired >= k), None)


def report(result: dict, baseline: Sample) -> dict:
    total, curve = result["total"], result["curve"]
    fired = curve[-1][1] if curve else 0
    marks = {p: time_to(curve, max(1, math.ceil(total * p / 100))) for p in (5, 50, 95, 99, 100)}
    first = time_to(curve, 1)
    steady = ((math.ceil(total * .95) - math.ceil(total * .05)) / (marks[95] - marks[5])
              if marks[95] is not None and marks[5] is not None and marks[95] > marks[5] else None)
    fmt = lambda v: "n/a" if v is None else f"{v:.1f}"   # noqa: E731
    end = marks[100] if marks[100] is not None else curve[-1][0]
    print(f"{result['schedulers']} scheduler(s): {fired}/{total} fired; first after {fmt(first)} s; lag p50 "
          f"{fmt(marks[50])} s, p95 {fmt(marks[95])} s, p99 {fmt(marks[99])} s, max {fmt(marks[100])} s; "
          f"{fired / end:.1f} fired/s overall, {fmt(steady)} fired/s between 5 % and 95 %")
    if steady:
        print(f"  raw SpiffWorkflow fires {baseline.ops_per_s:.0f}/s in one thread (p50 {baseline.ms(50):.2f} ms): "
              f"overhead {baseline.ops_per_s / steady:.1f}x the steady rate")
    print(f"  fired by: {', '.join(f'{w}: {n}' for w, n in sorted(result['by_worker'].items()))}")
    print(f"  tickets of the set with their overdue flag set: {result['flagged']}; timers fired outside the set: "
          f"{result['outside']}; engine WARNING/ERROR lines in the scheduler logs: {result['log_problems']}")
    return {"first": first, **marks, "overall": fired / end, "steady": steady}


def main(argv=None) -> int:
    args = parse_args(argv)
    url = databases.postgres_url_from_env()
    print(f"command: {command_line('bench.timer_lag')}")
    print(f"machine: {machine()}")
    if not args.skip_fill:
        print(f"fill: {args.tickets:,} open tickets, {len(args.counts)} due set(s) of {args.due:,}", flush=True)
        stats = populate_open(url, tickets=args.tickets, due=args.due, sets=len(args.counts), seed=args.seed)
        rate = args.tickets / stats["copy_s"] if stats["copy_s"] else float("nan")
        print(f"  filled in {stats['total_s']:.0f} s ({rate:,.0f} tickets/s copied): " + ", ".join(
            f"{k} {v}" for k, v in stats.items() if not k.endswith("_s")), flush=True)
    print()
    database = Database(url)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-timer-lag-"))
    try:
        with database.engine.connect() as conn:
            print(f"database: {conn.scalar(select(func.count()).select_from(Ticket)):,} tickets, "
                  f"{conn.scalar(select(func.count()).where(Timer.state == 'pending')):,} pending timers, "
                  f"{conn.scalar(text('SELECT pg_size_pretty(pg_database_size(current_database()))'))}")
        print(f"schedulers: interval {args.interval} s, batch {args.batch}; logs in {workdir}")
        print()
        explain_sweep(database, args.batch)
        results = [measure(database, url, i, count, args, workdir) for i, count in enumerate(args.counts)]
        print(f"[timer_lag] raw SpiffWorkflow baseline: {args.baseline_tickets} timers", file=sys.stderr, flush=True)
        baseline = raw_fire_baseline(args.baseline_tickets)
        print()
        for result in results:
            report(result, baseline)
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
