"""A realistic month of Nantong tickets on PostgreSQL, for benchmarking the periodic reports and unit KPIs.

    python -m bench.report_data --tickets 100000 --month 2026-11 [--previous-month-tickets 10000]
                                [--previous-year-tickets 30000] [--url postgresql://...] [--seed 1]

The workflow engine does ~100 intakes/s, far too slow for 100,000 tickets, so real *templates* are driven
through ``engine.facade.Hotline`` (ten lifecycle paths, e.g. sign-off overdue, improper return, extension,
replied late, dissatisfied then re-handled, still open, leader reading; on each weekday of the holiday-free
week 2026-08-03..09, the clock moved and due timers fired as the scheduler would) and then *cloned* with
psycopg COPY: the ``tickets`` row and ``events`` rows shifted by whole weeks (so weekdays and working-time
deadlines stay right) plus minutes, with a new id (from the sequence, in intake order) and number, other
units (replaced consistently in event data, actors and ``unit_code``), category, channel, citizen (a quarter
from regular callers) and a title/content from the public government messages (read from
``gov_messages_dir()``, never copied into the project). ``request_type`` comes with the template, so its
deadlines match. Clones get no tasks, timers or cases, and the template's ``workflow_state`` verbatim:
reports and KPIs read only the columns and the event log. Cloned events carry the audit chain's hashes
(``events.hash``; a sample is checked with ``verify_chain``). The ~140 templates stay, in August.

Besides the month: ~10 % more tickets received the month before and closed in the month, and
``--previous-year-tickets`` in the month after it a year earlier (2025-12 for 2026-11, the monthly report's
"last year's next month"). Last, ``Hotline.unit_kpis`` is timed over the month with an empty facts cache and
again, in a transaction rolled back so the caller gets an uncached database.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select, text

from engine.accounts import SYSTEM, Principal
from engine.ai.shared_data import gov_messages_dir
from engine.calendar import WorkingCalendar
from engine.cities import load_city
from engine.clock import SHANGHAI, FixedClock
from engine.db import Database
from engine.dispatch_model import city_categories
from engine.facade import Hotline
from engine.models import Event, TaskRow, Ticket

from .databases import CITY, POSTGRES_ENV, _with_psycopg, postgres_url_from_env, prepare, reset_postgres

TEMPLATE_MONDAY = datetime(2026, 8, 3, tzinfo=SHANGHAI)     # August 2026 has no public holiday
UNIT_A, UNIT_B = "nt_housing", "nt_ecology"                 # the template units, replaced in every clone
TEMPLATE_CATEGORY, TEMPLATE_CHANNEL = "urban_construction", "phone_12345"
PATHS = {"ontime": 40, "leader_read": 8, "sign_overdue": 8, "returned": 7, "improper_return": 3, "extension": 6,
         "late": 6, "sent_back": 4, "dissatisfied": 6, "open": 12}          # path -> share of the clones
EVERY_TYPE = ("ontime", "open")                             # paths driven once per request type
REQUEST_TYPES = {"complaint": 34, "help": 22, "consult": 18, "suggestion": 10, "report": 10, "praise": 6}
CHANNELS = {"phone_12345": 55, "web": 10, "app": 10, "mini_program": 10, "mayor_mailbox": 4, "grid": 5,
            "city_management": 4, "river_chief": 2}
UNIT_WEIGHTS = {"district": 4, "department": 3, "utility": 2, "street": 1}
START_TIMES = ((8, 20), (9, 5), (9, 50), (10, 35), (11, 20), (13, 40), (14, 30), (15, 20), (16, 10), (17, 5),
               (19, 30), (21, 15))
WEEKDAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.5)       # Mon..Sun: fewer calls at weekends
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
ROADS = ("工农路", "人民中路", "青年东路", "濠河路", "城港路", "世纪大道", "长江中路", "通甲路", "园林路", "崇川路")
BATCH = 5000
JOBS = max(2, min(4, os.cpu_count() or 2))      # COPY connections: the server (TOAST, indexes) is the bottleneck
MARK = "\ue000"                                 # a private-use character, never in real data
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d)?")
UNIT_TOKEN = re.compile(rf"({UNIT_A}|{UNIT_B})(\..+)?")     # a template unit, or one of its users (.handler)
# Every ticket column is copied from the template (new columns too) except the id and the links.
TICKET_COLUMNS = tuple(c.name for c in Ticket.__table__.c
                       if c.name not in ("id", "merged_into_id", "knowledge_entry_id"))
# Event data are written in the audit chain's canonical JSON form, so the text hashed is the text stored.
CANONICAL = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}
HASHED = "hash" in Event.__table__.c                       # the tamper-evident chain (engine/audit_chain.py)
SHIFTED = {"received_at", "sign_due_at", "handle_due_at", "closed_at", "created_at", "updated_at"}


def _who(name, unit=None, *roles): return Principal(name, frozenset(roles or (name,)), unit, CITY)
def handler(unit): return _who(f"{unit}.handler", unit, "handler")
def leader(unit): return _who(f"{unit}.leader", unit, "leader", "principal")


OPERATOR, DISPATCHER, CALLBACK = _who("operator"), _who("dispatcher"), _who("callback")


# -- 1. templates through the real engine ---------------------------------------------------------
class TemplateDriver:
    """Drives one ticket at a time; every step first moves the clock and fires what fell due meanwhile."""

    def __init__(self, database: Database, clock: FixedClock):
        self.db, self.clock, self.cal = database, clock, WorkingCalendar(load_city(CITY).working_hours)

    def at(self, when: datetime, tid: int) -> None:
        self.clock.set(when.replace(microsecond=0))
        with self.db.unit_of_work() as s:
            Hotline(s, self.clock).fire_due_timers_of(tid, "bench-scheduler")

    def do(self, actor, tid: int, name: str, data: dict, when: datetime) -> None:
        self.at(when, tid)
        with self.db.unit_of_work() as s:
            task = s.scalar(select(TaskRow.id).where(TaskRow.ticket_id == tid, TaskRow.name == name,
                                                     TaskRow.state == "ready"))
            if task is None:
                raise RuntimeError(f"template ticket {tid}: no ready {name} task")
            Hotline(s, self.clock).complete_task(actor, task, data)

    def reply(self, unit, tid, when, text_) -> datetime:
        self.do(handler(unit), tid, "handle", {"action": "reply", "reply": text_}, when)
        when = self.cal.add_working_hours(when, 1)
        self.do(leader(unit), tid, "approve_reply", {"approved": True}, when)
        return when

    def drive(self, path: str, received: datetime, request_type: str, reply: str, rng: random.Random) -> int:
        wh, unit = self.cal.add_working_hours, UNIT_A
        self.clock.set(received)
        with self.db.unit_of_work() as s:
            tid = Hotline(s, self.clock).start_ticket(OPERATOR, {
                "city": CITY, "channel": TEMPLATE_CHANNEL, "request_type": request_type, "title": "模板工单",
                "content": "模板工单内容", "citizen": {"name": "模板", "phone": "13900000000"}, "address": "崇川区"}).id
        t = wh(received, 0.25)
        self.do(DISPATCHER, tid, "dispatch", {"unit": unit, "category": TEMPLATE_CATEGORY}, t)
        if path in ("returned", "improper_return"):
            t = wh(t, 0.5)
            self.do(handler(unit), tid, "sign", {"decision": "return", "reason": "该事项不属于本单位职责范围",
                                                 "suggested_unit": UNIT_B}, t)
            t = wh(t, 1)
            self.do(leader(unit), tid, "approve_return", {"approved": True}, t)
            unit, t = (UNIT_A if path == "improper_return" else UNIT_B), wh(t, 0.5)
            self.do(DISPATCHER, tid, "dispatch", {"unit": unit, "category": TEMPLATE_CATEGORY}, t)
        with self.db.unit_of_work() as s:
            sign_due, handle_due = s.get(Ticket, tid).sign_due_at, s.get(Ticket, tid).handle_due_at
        t = wh(sign_due, rng.uniform(0.5, 4)) if path == "sign_overdue" else wh(t, rng.uniform(0.2, 1.2))
        self.do(handler(unit), tid, "sign", {"decision": "accept"}, t)
        if path == "leader_read":
            self.at(t := wh(t, 1), tid)
            with self.db.unit_of_work() as s:
                Hotline(s, self.clock).record_leader_reading(leader(unit), tid, "请认真核实，举一反三，按时办结")
        if path == "open":
            return tid
        budget = self.cal.working_hours_between(t, handle_due)
        if path == "extension":                     # 3 days: within every request type's maximum
            t = wh(t, budget * 0.6)
            self.do(handler(unit), tid, "handle", {"action": "extend", "extension_days": 3,
                                                   "extension_reason": "需协调多个部门现场会商"}, t)
            self.do(leader(unit), tid, "approve_extension_unit", {"approved": True}, t := wh(t, 1))
            self.do(DISPATCHER, tid, "approve_extension", {"approved": True}, wh(t, 2))
            t = wh(handle_due, 8)                   # a day past the first deadline, within the extension
        elif path == "late":
            t = wh(handle_due, rng.uniform(4, 24))  # the handling timer fires before the reply
        else:
            t = wh(t, budget * rng.uniform(0.15, 0.7))
        t = self.reply(unit, tid, t, reply)
        if path == "sent_back":
            self.do(DISPATCHER, tid, "review_reply", {"approved": False, "comment": "答复未说明整改时限"}, t := wh(t, 2))
            t = self.reply(unit, tid, wh(t, 8), reply + "整改已于本周完成。")
        self.do(DISPATCHER, tid, "review_reply", {"approved": True}, t := wh(t, rng.uniform(1, 6)))
        t = wh(t, rng.uniform(2, 10))
        if path == "dissatisfied":
            self.do(CALLBACK, tid, "callback", {"satisfied": False, "unit_at_fault": True}, t)
            t = self.reply(unit, tid, wh(t, 16), reply + "已再次上门核实并整改到位。")
            self.do(DISPATCHER, tid, "review_reply", {"approved": True}, t := wh(t, 2))
            t = wh(t, 4)
        satisfied = path != "ontime" or rng.random() > 0.2     # some are dissatisfied, not the unit's fault
        self.do(CALLBACK, tid, "callback", {"satisfied": satisfied, "unit_at_fault": False}, t)
        return tid


def drive_templates(database: Database, clock: FixedClock, replies: list[str], rng: random.Random
                    ) -> list[tuple[int, str]]:
    """(ticket id, path) of every template; a path's request type is drawn by the mix unless EVERY_TYPE."""
    driver, out = TemplateDriver(database, clock), []
    for weekday in range(7):
        for path in PATHS:
            rtypes = list(REQUEST_TYPES) if path in EVERY_TYPE else \
                rng.choices(list(REQUEST_TYPES), weights=list(REQUEST_TYPES.values()))
            for rtype in rtypes:
                hour, minute = rng.choice(START_TIMES)
                received = TEMPLATE_MONDAY + timedelta(days=weekday, hours=hour, minutes=minute)
                out.append((driver.drive(path, received, rtype, rng.choice(replies), rng), path))
    return out


# -- 2. templates read back and compiled ----------------------------------------------------------
def _utc(value: datetime | None) -> datetime | None:
    """The stored form of a UTCDateTime column, naive UTC: COPY bypasses the type decorator."""
    return None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None)


class Template:
    """A ticket row and its events, each event's data compiled once into literal JSON text and tokens (unit,
    time, number, title, category, channel, ticket id), so a clone is rendered by joining strings."""

    def __init__(self, ticket: dict, events: list, path: str):
        self.path, self.ticket, self.id = path, ticket, ticket["id"]
        self.received, self.closed = ticket["received_at"], ticket["closed_at"]
        self.row = {k: _utc(v) if k in SHIFTED else v for k, v in ticket.items()}
        self.events = [(e.seq, e.type, self._parts(e.actor), _utc(e.at), e.deployment_id, e.task_name,
                        self._parts(json.dumps(self._mark(e.data or {}), **CANONICAL))) for e in events]

    def _mark(self, value, key=None):
        if isinstance(value, dict):
            return {k: self._mark(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mark(v) for v in value]
        if key == "ticket_id" and value == self.id:
            return f"{MARK}I{MARK}"
        if isinstance(value, str):
            if UNIT_TOKEN.fullmatch(value):
                return f"{MARK}U{value}{MARK}"
            if ISO_TIME.fullmatch(value):
                return f"{MARK}T{value}{MARK}"
            for code, wanted in (("N", self.ticket["number"]), ("S", self.ticket["title"]),
                                 ("K", TEMPLATE_CATEGORY), ("C", TEMPLATE_CHANNEL)):
                if value == wanted:
                    return f"{MARK}{code}{MARK}"
        return value

    @staticmethod
    def _parts(text_: str | None):
        """Literal strings and (kind, value) tokens; a token replaces a whole JSON string, quotes included.
        An actor column that is a template unit's user becomes one ("A", (unit, suffix)) token."""
        if text_ is None:
            return None
        if m := UNIT_TOKEN.fullmatch(text_):
            return [("A", (m.group(1), m.group(2) or ""))]
        pieces, parts = re.split(f'"{MARK}(.)(.*?){MARK}"', text_), []
        for i in range(0, len(pieces), 3):
            parts.append(pieces[i])
            if i + 1 < len(pieces):
                kind, arg = pieces[i + 1], pieces[i + 2]
                if kind == "U":
                    m = UNIT_TOKEN.fullmatch(arg)
                    arg = (m.group(1), m.group(2) or "")
                parts.append((kind, datetime.fromisoformat(arg) if kind == "T" else arg))
        return parts


def render(parts, c: dict) -> str | None:
    if parts is None:
        return None
    out = []
    for p in parts:
        if p.__class__ is str:
            out.append(p)
        elif p[0] == "T":
            out.append(f'"{(p[1] + c["shift"]).isoformat()}"')
        elif p[0] in "UA":                              # unit codes and user names are ASCII: no escaping
            name = c["units"][p[1][0]] + p[1][1]
            out.append(f'"{name}"' if p[0] == "U" else name)
        else:
            out.append(c["json"][p[0]])
    return "".join(out)


def read_templates(database: Database, driven: list[tuple[int, str]]) -> list[Template]:
    ids, table = [i for i, _ in driven], Ticket.__table__
    with database.unit_of_work() as s:
        rows = {r["id"]: dict(r) for r in s.execute(select(table).where(table.c.id.in_(ids))).mappings()}
        events = {i: [] for i in ids}
        for e in s.execute(select(Event.__table__).where(Event.ticket_id.in_(ids))
                           .order_by(Event.ticket_id, Event.seq)):
            events[e.ticket_id].append(e)
    return [Template(rows[i], events[i], path) for i, path in driven]


# -- 3. the clones ---------------------------------------------------------------------------------
def _csv(name: str) -> list[dict]:
    csv.field_size_limit(sys.maxsize)
    with open(gov_messages_dir() / name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_messages() -> list[tuple[str, str, str | None]]:
    """(title, content, category code or None) of every public message; the labelled ones have a category."""
    by_name = {c["name_zh"]: c["code"] for c in city_categories(CITY)}
    return [(r["留言主题"].strip()[:300], r["留言详情"].strip(), by_name.get(r.get("一级分类")))
            for name in ("labelled_messages.csv", "replies.csv", "hot_messages.csv") for r in _csv(name)
            if r["留言主题"].strip() and r["留言详情"].strip()]


class Cloner:
    def __init__(self, templates: list[Template], rng: random.Random, prefix: str, month_tickets: int):
        self.prefix = prefix
        self.by_day = {d: [t for t in templates if t.received.weekday() == d] for d in range(7)}
        units = [u for u in load_city(CITY).units if u["type"] != "centre"]
        self.units, self.unit_weights = [u["code"] for u in units], [UNIT_WEIGHTS.get(u["type"], 1) for u in units]
        self.categories = [c["code"] for c in city_categories(CITY)]
        self.messages = load_messages()
        # A quarter of the tickets come from regular callers, about four tickets each a month.
        self.regulars = [self._phone(rng) for _ in range(max(20, month_tickets // 16))]

    @staticmethod
    def _phone(rng: random.Random) -> str:
        return "1" + rng.choice("35789") + "".join(rng.choice("0123456789") for _ in range(9))

    def plan(self, rng, first: date, last: date, n: int, closing_from: date | None = None) -> list[tuple]:
        """(template, shift) for n clones received in [first, last]; with ``closing_from`` only templates
        whose clone is closed on or after that day (tickets carried into the month)."""
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        weights = [WEEKDAY_WEIGHT[d.weekday()] for d in days]
        need = closing_from and datetime(closing_from.year, closing_from.month, closing_from.day, tzinfo=SHANGHAI)
        plans = []
        while len(plans) < n:
            day = rng.choices(days, weights=weights)[0]
            path = rng.choices(list(PATHS), weights=list(PATHS.values()))[0]
            rtype = rng.choices(list(REQUEST_TYPES), weights=list(REQUEST_TYPES.values()))[0]
            fits = [t for t in self.by_day[day.weekday()] if t.path == path and (need is None or (
                t.closed is not None and t.closed + timedelta(days=(day - t.received.date()).days) >= need))]
            if fits:                            # (an open ticket cannot have closed in the month)
                template = rng.choice([t for t in fits if t.ticket["request_type"] == rtype] or fits)
                plans.append((template, timedelta(days=(day - template.received.date()).days,
                                                  minutes=rng.randrange(45))))
        return plans

    def clone(self, template: Template, shift: timedelta, tid: int, rng: random.Random) -> tuple[tuple, list]:
        first, second = rng.choices(self.units, weights=self.unit_weights, k=2)
        while second == first:
            second = rng.choices(self.units, weights=self.unit_weights)[0]
        title, content, category = rng.choice(self.messages)
        category = category or rng.choice(self.categories)
        channel = rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        number = f"{self.prefix}{(template.received + shift):%Y%m%d}{tid:07d}"
        row = {k: v + shift if k in SHIFTED and v is not None else v for k, v in template.row.items()}
        row.update(number=number, channel=channel, title=title, content=content, category=category,
                   unit_code={UNIT_A: first, UNIT_B: second}.get(row["unit_code"]),
                   citizen_phone=rng.choice(self.regulars) if rng.random() < 0.25 else self._phone(rng),
                   citizen_name=rng.choice(SURNAMES) + rng.choice(("先生", "女士")),
                   address=f"崇川区{rng.choice(ROADS)}{rng.randrange(1, 300)}号")
        c = {"shift": shift, "units": {UNIT_A: first, UNIT_B: second},
             "json": {"I": str(tid), "N": json.dumps(number), "S": json.dumps(title, ensure_ascii=False),
                      "K": json.dumps(category), "C": json.dumps(channel)}}
        events, previous = [], "0" * 64
        for seq, type_, actor, at, dep, task, data in template.events:
            actor, at, data = render(actor, c), at + shift, render(data, c)
            if HASHED:       # engine.audit_chain.event_hash, inlined for speed (populate verifies a sample)
                fields = (previous, str(tid), str(seq), type_, actor or "",
                          at.replace(tzinfo=timezone.utc).isoformat(timespec="microseconds"),
                          "" if dep is None else str(dep), task or "", data)
                previous = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()
            events.append((tid, seq, type_, actor, at, dep, task, data) + ((previous,) if HASHED else ()))
        return (tid, *(row[k] for k in TICKET_COLUMNS)), events


def _copy_batch(database: Database, cloner: Cloner, batch: list[tuple], seed: int) -> None:
    """COPY one batch's tickets, then their events, in one transaction (the foreign keys are checked)."""
    rng = random.Random(seed)
    clones = [cloner.clone(template, shift, tid, rng) for template, shift, tid in batch]
    with database.engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY tickets (id, {', '.join(TICKET_COLUMNS)}) FROM STDIN") as copy:
            for row, _ in clones:
                copy.write_row(row)
        with cursor.copy("COPY events (ticket_id, seq, type, actor, at, deployment_id, task_name, data"
                         f"{', hash' if HASHED else ''}) FROM STDIN") as copy:
            for _, rows in clones:
                for r in rows:
                    copy.write_row(r)


def copy_clones(database: Database, cloner: Cloner, plans: list[tuple], seed: int) -> list[int]:
    """Ids are reserved up front (a seed always gives the same ids), then batches go over JOBS connections."""
    with database.engine.begin() as conn:
        ids = sorted(conn.execute(text("SELECT nextval(pg_get_serial_sequence('tickets', 'id')) "
                                       "FROM generate_series(1, :n)"), {"n": len(plans)}).scalars())
    rows = [(t, shift, tid) for (t, shift), tid in zip(plans, ids)]
    with ThreadPoolExecutor(JOBS) as pool:
        for job in [pool.submit(_copy_batch, database, cloner, rows[i:i + BATCH], seed * 1_000_003 + i)
                    for i in range(0, len(rows), BATCH)]:
            job.result()
    return ids


# -- 4. the whole run ------------------------------------------------------------------------------
def _month(value: str) -> tuple[date, date]:
    first = datetime.strptime(value, "%Y-%m").date()
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def kpi_check(database: Database, first: date, last: date) -> dict:
    """unit_kpis over the month with an empty facts cache, then again; the transaction is rolled back."""
    session, out = database.sessions(), {}
    try:
        hotline = Hotline(session, FixedClock(datetime(last.year, last.month, last.day, 23, tzinfo=SHANGHAI)))
        for label in ("cold", "warm"):
            started = time.perf_counter()
            result = hotline.unit_kpis(SYSTEM, CITY, first, last)
            out[f"kpi_{label}_s"] = round(time.perf_counter() - started, 2)
    finally:
        session.rollback()
        session.close()
    total = {k: sum(i[k] for i in result["items"]) for k in ("dispatched", "signed", "signed_on_time", "handled",
                                                               "on_time", "returns", "improper_returns", "leader_read")}
    out.update({f"kpi_{k}": v for k, v in total.items()}, kpi_tickets=result["tickets"], kpi_units=len(result["items"]),
               kpi_sign_rate=round(total["signed_on_time"] / max(total["signed"], 1), 4),
               kpi_on_time_rate=round(total["on_time"] / max(total["handled"], 1), 4))
    return out


def populate(url: str, *, tickets: int, month: str, previous_year_tickets: int, seed: int = 1,
             previous_month_tickets: int | None = None, check: bool = True) -> dict:
    """Reset the database at ``url`` and fill it; returns the phase timings (``*_s``), row counts, the DB
    size and (``check``) the unit_kpis figures."""
    url, rng, stats, phase = _with_psycopg(url), random.Random(seed), {}, time.perf_counter()
    first, last = _month(month)
    prev_last, after = first - timedelta(days=1), last + timedelta(days=1)
    n_prev = round(tickets * 0.1) if previous_month_tickets is None else previous_month_tickets

    def done(name):
        nonlocal phase
        stats[f"{name}_s"] = round(time.perf_counter() - phase, 2)
        print(f"  {name:<10} {stats[f'{name}_s']:>8.2f} s", flush=True)
        phase = time.perf_counter()

    clock = FixedClock(TEMPLATE_MONDAY + timedelta(hours=8))
    reset_postgres(url)
    prepare(url, clock)
    done("reset")
    database = Database(url)
    try:
        replies = [r["答复意见"].strip()[:3900] for r in _csv("replies.csv") if len(r["答复意见"].strip()) >= 10]
        driven = drive_templates(database, clock, replies, rng)
        done("templates")
        cloner = Cloner(read_templates(database, driven), rng, load_city(CITY).number_prefix, tickets)
        plans = (cloner.plan(rng, first, last, tickets)
                 + cloner.plan(rng, prev_last.replace(day=1), prev_last, n_prev, closing_from=first)
                 + cloner.plan(rng, *_month(f"{after.year - 1}-{after.month:02d}"), previous_year_tickets))
        plans.sort(key=lambda p: p[0].received + p[1])      # ids follow intake order, as in production
        done("plan")
        ids = copy_clones(database, cloner, plans, seed)
        done("copy")
        if HASHED:                                          # the inlined hash agrees with the engine's
            from engine.audit_chain import verify_chain
            with database.unit_of_work() as s:
                broken = [i for i in rng.sample(ids, min(50, len(ids))) if not verify_chain(s, i)["verified"]]
            if broken:
                raise RuntimeError(f"cloned event chains do not verify, e.g. ticket {broken[0]}")
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE tickets"))
            conn.execute(text("VACUUM ANALYZE events"))
        done("analyze")
        with database.unit_of_work() as s:
            stats.update(templates=len(driven), tickets=s.scalar(select(func.count()).select_from(Ticket)),
                         events=s.scalar(select(func.count()).select_from(Event)), month_tickets=tickets,
                         previous_month_tickets=n_prev, previous_year_tickets=previous_year_tickets,
                         db_size=s.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))")))
        if check:
            stats.update(kpi_check(database, first, last))
    finally:
        database.dispose()
    return stats


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets received in the month")
    parser.add_argument("--month", default="2026-11", help="YYYY-MM, Asia/Shanghai (default 2026-11)")
    parser.add_argument("--previous-month-tickets", type=int, default=None,
                        help="received the month before, closed in the month (default 10%% of --tickets)")
    parser.add_argument("--previous-year-tickets", type=int, default=30_000,
                        help="received a year before the month after the month (default 30000)")
    parser.add_argument("--url", default=None, help=f"PostgreSQL URL (default ${POSTGRES_ENV})")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-check", action="store_true", help="skip the unit_kpis sanity check")
    args = parser.parse_args(argv)
    url = args.url or postgres_url_from_env()
    if not url:
        parser.error(f"give --url or set {POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/bench")
    print(f"populating {args.month}: {args.tickets} tickets, plus the previous month and last year", flush=True)
    stats = populate(url, tickets=args.tickets, month=args.month, previous_year_tickets=args.previous_year_tickets,
                     seed=args.seed, previous_month_tickets=args.previous_month_tickets, check=not args.no_check)
    for key, value in stats.items():
        if not key.endswith("_s") or key.startswith("kpi"):
            print(f"  {key:<24} {value}")


if __name__ == "__main__":
    main()
