"""The monthly report of a city with 100,000 tickets in a month, on PostgreSQL.

    HOTLINE_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m bench.reports --tickets 100000

Fills the bench database with ``bench.report_data`` (a month of tickets with real event histories, plus
the month before and the coming month a year earlier), then times, each in its own unit of work:

* the monthly report with an empty facts cache (every ticket's events folded, its text segmented);
* the same report again, with the cache filled (what the scheduler and a second reader see);
* its Excel and PDF, and checks the Excel's Chinese headers by reading it back;
* the month's unit scores (Nantong's method) and the year's (twelve months recomputed), warm.

``--skip-populate`` reuses the data already in the database.
"""
from __future__ import annotations

import argparse
import io
import time

from sqlalchemy import delete, func, select, text

from bench.databases import POSTGRES_ENV, postgres_url_from_env
from engine.accounts import SYSTEM
from engine.clock import FixedClock, parse_iso
from engine.db import Database
from engine.facade import Hotline
from engine.models import Event, Ticket, TicketFactsCache

CITY = "nantong"


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:8.2f} s")
    return result, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--previous-year-tickets", type=int, default=30_000)
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--url", default=None)
    parser.add_argument("--skip-populate", action="store_true")
    args = parser.parse_args(argv)
    url = args.url or postgres_url_from_env()
    if not url:
        raise SystemExit(f"set {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/bench)")
    if not args.skip_populate:
        from bench.report_data import populate
        stats = populate(url, tickets=args.tickets, month=args.month,
                         previous_year_tickets=args.previous_year_tickets)
        print("populated:", {k: v for k, v in stats.items() if not isinstance(v, dict)})
    db = Database(url)
    year, month = (int(p) for p in args.month.split("-"))
    after = f"{year + (month == 12):04d}-{month % 12 + 1:02d}-03T10:00:00+08:00"
    clock = FixedClock(parse_iso(after))
    with db.unit_of_work() as session:
        tickets = session.scalar(select(func.count()).select_from(Ticket))
        events = session.scalar(select(func.count()).select_from(Event))
        session.execute(delete(TicketFactsCache))
    print(f"database: {tickets} tickets, {events} events; facts cache emptied")

    def report():
        with db.unit_of_work() as session:
            return Hotline(session, clock).report(SYSTEM, CITY, "monthly", args.month)

    cold, cold_s = timed("monthly report, empty facts cache", report)
    warm, warm_s = timed("monthly report, facts cache filled", report)
    received = next(i["value"] for i in warm["sections"][0]["items"] if i["key"] == "received")
    units = next(s for s in warm["sections"] if s["key"] == "units")["rows"]
    print(f"  the month: {received} tickets received, {len(units)} units in the handling table")
    assert cold["sections"] == warm["sections"], "the cached facts must give the same report"

    from api.report_export import report_pdf, report_xlsx
    xlsx, _ = timed("  Excel (openpyxl)", lambda: report_xlsx(warm, "zh"))
    pdf, _ = timed("  PDF (reportlab)", lambda: report_pdf(warm, "zh"))
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(xlsx))
    sheet = next(ws for ws in book.worksheets if ws.title.startswith("承办单位办理情况"))
    headers = [c.value for c in sheet[1]]
    print(f"  Excel {len(xlsx) / 1024:.0f} KiB, sheets {book.sheetnames[:4]}…, unit sheet headers {headers[:5]}…")
    print(f"  PDF {len(pdf) / 1024:.0f} KiB")

    def scores(period):
        with db.unit_of_work() as session:
            return Hotline(session, clock).unit_scores(SYSTEM, CITY, period)
    timed(f"unit scores {args.month} (Nantong method), cache filled", lambda: scores(args.month))
    timed(f"unit scores {year} (12 months recomputed)", lambda: scores(str(year)))
    with db.unit_of_work() as session:
        size = session.execute(text("SELECT pg_size_pretty(pg_total_relation_size('ticket_facts'))")).scalar()
    print(f"facts cache: {size}")
    print(f"summary: cold {cold_s:.1f} s, warm {warm_s:.1f} s for {received} tickets")
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
