"""The read side at a million open tickets on PostgreSQL: the centre dashboard, the ticket list with
filters, one unit's inbox, the monthly report, the unit KPIs and the /metrics scrape.

    HOTLINE_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m bench.queries_at_scale                     # the database bench.timer_lag filled
    HOTLINE_BENCH_POSTGRES_URL=... .venv/bin/python -m bench.queries_at_scale --fill --tickets 1000000

Each query runs in its own unit of work (or request), at the engine time of the database's test clock:
**cold** is the first call in this process (new connections, empty codec and snapshot caches; for the
report and the KPIs also an empty facts cache, ``ticket_facts``), **warm** the median of ``--repeat``
further calls. PostgreSQL's shared buffers and the OS page cache are whatever earlier runs left: on a
machine that just filled the database they are warm. The endpoints run through the Flask app with bearer
tokens (its test client: the request code of a gunicorn worker, without the socket).

- dashboard: ``Hotline.dashboard`` / GET /api/v1/dashboard, as the dispatcher;
- tickets: ``list_tickets`` / GET /api/v1/tickets filtered by status and unit, by overdue, and a text
  search (``q``, a LIKE over title, number and content), 20 a page, with the total;
- inbox: ``list_tasks`` / GET /api/v1/tasks as nt_chongchuan's handler (its ready tasks, 200 at most);
- monthly report: ``Hotline.report(monthly)`` for the clock's month, cold with the facts cache emptied
  (and committed: the warm call then reads the facts the cold one stored), then warm;
- KPIs: ``unit_kpis`` over the same month, cold with the facts cache emptied in a transaction rolled
  back afterwards, then warm;
- metrics: ``engine.metrics.read_snapshot`` (the /metrics gauges' queries) / GET /metrics with the
  5-second snapshot cache off, so every scrape queries.

``--explain`` adds, for the dashboard, ticket, inbox and metrics queries, every SELECT they send with its
EXPLAIN ANALYZE execution time, its JIT compile time and its sequential scans.

``--only`` picks some of them (e.g. ``--only dashboard,tickets,inbox,metrics`` skips the two folds, which
take tens of minutes at a million tickets with an empty facts cache).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta

from sqlalchemy import delete, func, select, text

from engine import accounts
from engine.accounts import SYSTEM
from engine.clock import FixedClock
from engine.config import Settings
from engine.db import Database
from engine.facade import Hotline
from engine.metrics import SnapshotCache, read_snapshot
from engine.models import ClockSetting, Ticket, TicketFactsCache

from . import databases
from .databases import CITY, DISPATCHER, HANDLER, PASSWORD, UNIT
from .http_load import command_line
from .throughput import machine

QUERIES = ("dashboard", "tickets", "inbox", "report", "kpis", "metrics")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.queries_at_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", action="store_true", help="fill the database first (bench/bulk.py)")
    parser.add_argument("--tickets", type=int, default=20_000, help="with --fill: open tickets (default 20000)")
    parser.add_argument("--due", type=int, default=2_000, help="with --fill: timers in each of two due sets")
    parser.add_argument("--repeat", type=int, default=3, help="warm calls per query, median printed (default 3)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the statements of the fast queries")
    parser.add_argument("--only", default=",".join(QUERIES), help=f"comma-separated subset of {','.join(QUERIES)}")
    args = parser.parse_args(argv)
    args.queries = [q for q in args.only.split(",") if q]
    unknown = set(args.queries) - set(QUERIES)
    if unknown:
        parser.error(f"unknown queries {sorted(unknown)}; choose from {QUERIES}")
    if not databases.postgres_url_from_env():
        parser.error(f"set {databases.POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/bench")
    return args


class Bench:
    """The database, its engine time, the principals, and the Flask app with a token per user."""

    def __init__(self, url: str, repeat: int):
        self.db, self.repeat, self.rows = Database(url), repeat, []
        with self.db.unit_of_work() as s:
            row = s.get(ClockSetting, 1)
            now = row.now if row is not None else None
            if now is None or not s.scalar(select(func.count()).select_from(Ticket)):
                raise SystemExit("the database has no tickets or no test clock: run bench.timer_lag or --fill first")
            self.dispatcher = accounts.principal_for_username(s, DISPATCHER)
            self.handler = accounts.principal_for_username(s, HANDLER)
            self.tickets = s.scalar(select(func.count()).select_from(Ticket))
        self.clock = FixedClock(now)
        from app import create_app      # Flask only here: engine code never imports it
        self.app = create_app(Settings(database_url=url, secret_key="bench-queries-secret", test_clock=True,
                                       scheduler_interval=5, scheduler_batch=50, max_upload_bytes=8 << 20,
                                       default_language="zh"))
        self.app.extensions["hotline_metrics_cache"] = SnapshotCache(0)   # every scrape queries the database
        self.client = self.app.test_client()
        self.headers = {name: self._token(name) for name in (DISPATCHER, HANDLER)}

    def _token(self, username: str) -> dict:
        response = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        if response.status_code != 201:
            raise RuntimeError(f"token for {username}: HTTP {response.status_code}")
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    def facade(self, call):
        """``call(hotline)`` in its own unit of work."""
        def run():
            with self.db.unit_of_work() as s:
                return call(Hotline(s, self.clock))
        return run

    def get(self, path: str, user: str | None = None):
        def run():
            response = self.client.get(path, headers=self.headers[user] if user else {})
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
            return response.get_json() if response.is_json else response.get_data(as_text=True)
        return run

    def time(self, name: str, via: str, run, describe=lambda result: "", cold=None) -> None:
        """Cold: ``cold()`` if given (it prepares and times the first call itself), else the first ``run()``."""
        started = time.perf_counter()
        result = cold() if cold else run()
        cold_s = time.perf_counter() - started
        warm = []
        for _ in range(self.repeat):
            started = time.perf_counter()
            result = run()
            warm.append(time.perf_counter() - started)
        self.rows.append((name, via, cold_s, statistics.median(warm) if warm else float("nan"), describe(result)))
        print(f"  {name:<34} {via:<7} cold {cold_s * 1000:>10.1f} ms   warm {self.rows[-1][3] * 1000:>10.1f} ms   "
              f"{self.rows[-1][4]}", flush=True)

    def empty_facts(self) -> None:
        with self.db.unit_of_work() as s:
            s.execute(delete(TicketFactsCache))


def month_of(clock) -> tuple[str, date, date]:
    today = clock.now().date()
    first = today.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}", first, last


def run(b: Bench, queries: list[str]) -> None:
    city, unit = CITY, UNIT
    if "dashboard" in queries:
        b.time("dashboard", "facade", b.facade(lambda h: h.dashboard(b.dispatcher, city)),
               lambda r: f"{r['open_total']:,} open, lights {r['lights']}")
        b.time("dashboard", "http", b.get(f"/api/v1/dashboard?city={city}", DISPATCHER))
    if "tickets" in queries:
        for label, filters in (("tickets status+unit", {"status": "handling", "unit": unit}),
                               ("tickets overdue", {"overdue": True}),
                               ("tickets text search q=噪音", {"q": "噪音"})):
            b.time(label, "facade", b.facade(lambda h, f=filters: h.list_tickets(b.dispatcher, city=city, **f)),
                   lambda r: f"{r[1]:,} matching, {len(r[0])} on the page")
            query = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in filters.items())
            b.time(label, "http", b.get(f"/api/v1/tickets?city={city}&{query}", DISPATCHER),
                   lambda r: f"total {r['total']:,}")
    if "inbox" in queries:
        b.time(f"inbox {unit}", "facade", b.facade(lambda h: h.list_tasks(b.handler)), lambda r: f"{len(r)} tasks")
        b.time(f"inbox {unit}", "http", b.get("/api/v1/tasks", HANDLER), lambda r: f"{len(r['items'])} tasks")
    period, first, last = month_of(b.clock)
    if "report" in queries:
        report = b.facade(lambda h: h.report(SYSTEM, city, "monthly", period))

        def cold_report():
            b.empty_facts()
            return report()
        b.time(f"monthly report {period}", "facade", report, cold=cold_report,
               describe=lambda r: f"received {_received(r):,}")
    if "kpis" in queries:
        kpis = b.facade(lambda h: h.unit_kpis(SYSTEM, city, first, last))

        def cold_kpis():
            session = b.db.sessions()
            try:
                session.execute(delete(TicketFactsCache))
                return Hotline(session, b.clock).unit_kpis(SYSTEM, city, first, last)
            finally:
                session.rollback()            # the facts of the warm calls are whatever was there before
                session.close()
        b.time(f"unit KPIs {period}", "facade", kpis, cold=cold_kpis,
               describe=lambda r: f"{r['tickets']:,} tickets, {len(r['items'])} units")
    if "metrics" in queries:
        b.time("metrics snapshot", "facade", b.facade(lambda h: read_snapshot(h.session, b.clock.now())),
               lambda r: f"{r.timers_due:,} timers due, {sum(r.open_tickets.values()):,} open")
        b.time("GET /metrics", "http", b.get("/metrics"), lambda r: f"{len(r):,} bytes")


def explain_all(b: Bench, queries: list[str]) -> None:
    """Each SELECT the fast facade queries send: execution time, JIT time and sequential scans (rolled back)."""
    from .timer_lag import captured_selects
    calls = {"dashboard": lambda s: Hotline(s, b.clock).dashboard(b.dispatcher, CITY),
             "tickets": lambda s: Hotline(s, b.clock).list_tickets(b.dispatcher, city=CITY, status="handling", unit=UNIT),
             "inbox": lambda s: Hotline(s, b.clock).list_tasks(b.handler),
             "metrics": lambda s: read_snapshot(s, b.clock.now())}
    for name in (q for q in queries if q in calls):
        print(f"-- {name}: the statements it sends, EXPLAIN ANALYZE")
        for statement, parameters in captured_selects(b.db, calls[name]):
            with b.db.engine.connect() as conn:
                plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE) " + statement, parameters)]
                conn.rollback()
            total = next((line.split(":")[1].strip() for line in plan if line.startswith("Execution Time")), "?")
            jit = next((line.split("Total")[1].strip().rstrip(")") for line in plan if "Timing:" in line), None)
            scans = sorted({line.split("Seq Scan on")[1].split()[0] for line in plan if "Seq Scan on" in line})
            print(f"   {total:>12}  JIT {jit or '-':>10}  seq scans: {', '.join(scans) or '-':<16} "
                  f"{' '.join(statement.split())[:90]}")
    print()


def _received(report: dict) -> int:
    return next((i["value"] for i in report["sections"][0]["items"] if i["key"] == "received"), 0)


def main(argv=None) -> int:
    args = parse_args(argv)
    url = databases.postgres_url_from_env()
    print(f"command: {command_line('bench.queries_at_scale')}")
    print(f"machine: {machine()}")
    if args.fill:
        from .bulk import populate_open
        print(f"fill: {args.tickets:,} open tickets", flush=True)
        stats = populate_open(url, tickets=args.tickets, due=args.due, sets=2)
        print(f"  filled in {stats['total_s']:.0f} s", flush=True)
    b = Bench(url, args.repeat)
    try:
        with b.db.engine.connect() as conn:
            size = conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        print(f"database: {b.tickets:,} tickets, {size}; engine time {b.clock.now().isoformat()}; "
              f"warm = median of {args.repeat}")
        print()
        if args.explain:
            explain_all(b, args.queries)
        run(b, args.queries)
    finally:
        b.db.dispose()
        b.app.extensions["hotline_db"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
