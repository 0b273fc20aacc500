"""A PostgreSQL database of open Nantong tickets at scale, for bench/timer_lag.py and bench/queries_at_scale.py.

Real templates first: for every Nantong unit, tickets driven through ``Hotline`` to 'signing' (dispatched
to the unit, its sign-off timer pending) and to 'handling' (signed, its handling timer pending), two
request types and one channel each. Each template's rows -- the ticket with its ``workflow_state``, its
task rows, timer rows and events -- are compiled once into literal text and tokens (SpiffWorkflow task
UUIDs, ISO times, the ticket id, number and title) and then cloned with psycopg COPY, the way
bench/report_data.py clones its month: every time shifted by one offset, fresh task UUIDs (the same ones
in the workflow state, the task and timer rows and the event data), a new id, number, title, citizen and
address, and the events' audit-chain hashes recomputed. A sample of clones is checked afterwards: their
chains verify, and their restored workflow waits on exactly the timer its timer row says.

The plan puts ``due`` clones per due set with their pending timer inside one minute (set j: ``NOW`` + j ×
10 min, spread over the minute's seconds); every other clone falls due later than the last set plus
5 minutes and within its own budget, so each was received before the fill clock (``NOW`` − 1 min) and
nothing else falls due while the timer benchmark runs. Ready tasks past their warning point at the fill
clock are marked warned, as a running scheduler would have done. The templates' messages are not cloned.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text

from engine.cities import LIFECYCLE_PROCESS, load_city
from engine.clock import SHANGHAI, FixedClock
from engine.db import Database
from engine.dispatch_model import city_categories
from engine.facade import Hotline
from engine.models import Deployment, Event, TaskRow, Ticket, Timer
from engine.runtime import TicketRun
from engine.testclock import set_test_clock

from .databases import CITY, _with_psycopg, prepare, reset_postgres
from .report_data import (BATCH, CANONICAL, CHANNELS, HASHED, JOBS, ROADS, SHIFTED, SURNAMES, TICKET_COLUMNS,
                          UNIT_WEIGHTS, DISPATCHER, OPERATOR, TemplateDriver, _utc, handler)

TEMPLATE_DAY = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)     # a Monday; March 2026 has no public holiday
NOW = datetime(2026, 3, 26, 10, 0, tzinfo=SHANGHAI)           # the first due minute (a Thursday)
FILL_CLOCK = NOW - timedelta(minutes=1)                        # the test clock the fill leaves behind
DUE_SPACING = timedelta(minutes=10)                            # due set j falls due at NOW + j * DUE_SPACING
LATER_MARGIN = timedelta(minutes=5)
STAGES = {"signing": 25, "handling": 75}                       # stage -> share of the clones
TYPES = ("complaint", "help", "consult", "suggestion", "report", "praise")
SUBJECTS = ("夜间施工噪音扰民", "小区路灯损坏无人维修", "道路积水严重影响通行", "生活垃圾清运不及时", "占道经营堵塞人行道",
            "供水水压不足", "公交班次太少等车时间长", "企业拖欠工资", "物业违规收费", "学校周边交通拥堵", "油烟直排影响居民",
            "井盖缺失存在安全隐患")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d)?"
TASK_COLUMNS = tuple(c.name for c in TaskRow.__table__.c)
TIMER_COLUMNS = tuple(c.name for c in Timer.__table__.c if c.name != "id")
EVENT_COLUMNS = ("ticket_id", "seq", "type", "actor", "at", "deployment_id", "task_name", "data") + (
    ("hash",) if HASHED else ())
TASK_TIMES = ("created_at", "warn_at", "warned_at", "due_at", "completed_at")
UTC_FILL_CLOCK = _utc(FILL_CLOCK)


def due_minute(index: int) -> datetime:
    return NOW + index * DUE_SPACING


# -- 1. the templates ------------------------------------------------------------------------------
def drive_templates(database: Database) -> list[tuple[int, str]]:
    """(ticket id, stage) of every template: each unit × stage × two request types, one channel each."""
    clock = FixedClock(TEMPLATE_DAY)
    driver = TemplateDriver(database, clock)
    units = [u["code"] for u in load_city(CITY).units if u["type"] != "centre"]
    categories = [c["code"] for c in city_categories(CITY)]
    channels, out, n = list(CHANNELS), [], 0
    for i, unit in enumerate(units):
        for s, stage in enumerate(STAGES):
            for rtype in (TYPES[(i + s) % len(TYPES)], TYPES[(i + s + 3) % len(TYPES)]):
                n += 1
                received = TEMPLATE_DAY + timedelta(minutes=(n * 7) % 420)     # 09:00 .. 16:00
                clock.set(received)
                with database.unit_of_work() as session:
                    ticket = Hotline(session, clock).start_ticket(OPERATOR, {
                        "city": CITY, "channel": channels[n % len(channels)], "request_type": rtype,
                        "title": "模板工单", "content": "模板工单内容", "citizen": {"name": "模板", "phone": "13900000000"},
                        "address": "崇川区"})
                    tid, status = ticket.id, ticket.status
                if status != "dispatching":         # this request type does not reach the dispatcher here
                    continue
                driver.do(DISPATCHER, tid, "dispatch", {"unit": unit, "category": categories[n % len(categories)]},
                          received + timedelta(minutes=15))
                if stage == "handling":
                    driver.do(handler(unit), tid, "sign", {"decision": "accept"}, received + timedelta(minutes=45))
                out.append((tid, stage))
    return out


class Compiler:
    """Splits one template's JSON texts into literal pieces and tokens ``(kind, index)``; the UUIDs and time
    strings found are numbered once per template, so its workflow state, rows and events agree in a clone."""

    def __init__(self, ticket_id: int, literals: list[str]):
        self.ticket_id, self.uuids, self.times = ticket_id, {}, {}
        encoded = sorted({json.dumps(v, ensure_ascii=a) for v in literals for a in (True, False)}, key=len, reverse=True)
        self.literals = {e: literals.index(json.loads(e)) for e in encoded}
        alternatives = "|".join(re.escape(e) for e in encoded)
        self.pattern = re.compile(rf'"(?P<u>{UUID})"|"(?P<t>{ISO})"|(?<="ticket_id": )(?P<i>\d+)|'
                                  rf'(?<="ticket_id":)(?P<j>\d+)|(?P<l>{alternatives})')

    def uuid(self, value: str) -> int:
        return self.uuids.setdefault(value, len(self.uuids))

    def text(self, source: str) -> list:
        parts, position = [], 0
        for m in self.pattern.finditer(source):
            if m["u"]:
                token = ("U", self.uuid(m["u"]))
            elif m["t"]:
                token = ("T", self.times.setdefault(m["t"], len(self.times)))
            elif m["l"]:
                token = ("L", self.literals[m["l"]])
            elif int(m["i"] or m["j"]) == self.ticket_id:
                token = ("I", 0)
            else:
                continue
            parts += [source[position:m.start()], token]
            position = m.end()
        parts.append(source[position:])
        return [p for p in parts if p != ""]


def render(parts: list, ctx: dict) -> str:
    return "".join([p if p.__class__ is str else ctx[p[0]][p[1]] for p in parts])


class OpenTemplate:
    """One template ticket, compiled: its rows with naive-UTC times and its texts as tokens."""

    def __init__(self, stage: str, ticket: dict, tasks: list[dict], timers: list[dict], events: list):
        pending = [t for t in timers if t["state"] == "pending"]
        if len(pending) != 1:
            raise RuntimeError(f"template {ticket['id']} ({stage}) has {len(pending)} pending timers, expected 1")
        self.stage, self.unit, self.id = stage, ticket["unit_code"], ticket["id"]
        self.received, self.due = ticket["received_at"], pending[0]["due_at"]
        c = Compiler(ticket["id"], [ticket["number"], ticket["title"]])
        self.row = {k: _utc(v) if k in SHIFTED else v for k, v in ticket.items()}
        self.state = c.text(ticket["workflow_state"])
        self.tasks = [(c.uuid(t["id"]), {k: _utc(v) if k in TASK_TIMES else v for k, v in t.items()}) for t in tasks]
        self.timers = [(c.uuid(t["task_id"]), {k: _utc(v) if k in ("due_at", "fired_at") else v
                                               for k, v in t.items()}) for t in timers]
        self.events = [(e.seq, e.type, e.actor, _utc(e.at), e.deployment_id, e.task_name,
                        c.text(json.dumps(e.data or {}, **CANONICAL))) for e in events]
        self.uuid_count = len(c.uuids)
        self.times = [datetime.fromisoformat(s) for s in c.times]

    @property
    def budget(self) -> timedelta:
        return self.due - self.received


def read_templates(database: Database, driven: list[tuple[int, str]]) -> list[OpenTemplate]:
    ids = [i for i, _ in driven]
    with database.unit_of_work() as s:
        tickets = {r["id"]: dict(r) for r in s.execute(select(Ticket.__table__).where(Ticket.id.in_(ids))).mappings()}
        rows = {name: {i: [] for i in ids} for name in ("tasks", "timers", "events")}
        for r in s.execute(select(TaskRow.__table__).where(TaskRow.ticket_id.in_(ids))).mappings():
            rows["tasks"][r["ticket_id"]].append(dict(r))
        for r in s.execute(select(Timer.__table__).where(Timer.ticket_id.in_(ids))).mappings():
            rows["timers"][r["ticket_id"]].append(dict(r))
        for e in s.execute(select(Event.__table__).where(Event.ticket_id.in_(ids)).order_by(Event.ticket_id, Event.seq)):
            rows["events"][e.ticket_id].append(e)
    return [OpenTemplate(stage, tickets[i], rows["tasks"][i], rows["timers"][i], rows["events"][i]) for i, stage in driven]


# -- 2. the plan and the clones ---------------------------------------------------------------------
def plan(templates: list[OpenTemplate], rng: random.Random, tickets: int, due: int, sets: int) -> list[tuple]:
    """(template, shift) per clone, sorted by the clone's intake time (ids follow intake, as in production)."""
    if tickets < due * sets:
        raise SystemExit(f"--tickets {tickets} is fewer than {sets} due sets of {due}")
    unit_types = {u["code"]: u["type"] for u in load_city(CITY).units}
    per_stage = {s: sum(t.stage == s for t in templates) for s in STAGES}
    weights = [STAGES[t.stage] / per_stage[t.stage] * UNIT_WEIGHTS.get(unit_types[t.unit], 1) for t in templates]
    out = []
    for j in range(sets):
        for template in rng.choices(templates, weights=weights, k=due):
            out.append((template, due_minute(j) + timedelta(seconds=rng.randrange(60)) - template.due))
    floor = due_minute(sets) + LATER_MARGIN
    if all(FILL_CLOCK + t.budget <= floor for t in templates):
        raise RuntimeError("no template's timer budget reaches past the due sets")
    while len(out) < tickets:
        for template in rng.choices(templates, weights=weights, k=min(10_000, tickets - len(out))):
            latest = FILL_CLOCK + template.budget          # received no later than the fill clock
            if latest > floor:
                when = floor + timedelta(seconds=int((latest - floor).total_seconds() * rng.random()))
                out.append((template, when - template.due))
    out.sort(key=lambda p: p[0].received + p[1])
    return out


def _event_hash(previous: str, tid: int, row: tuple) -> str:
    """engine.audit_chain.event_hash over a rendered row (its data already canonical JSON text)."""
    _, seq, type_, actor, at, dep, task, data = row
    fields = (previous, str(tid), str(seq), type_, actor or "",
              at.replace(tzinfo=timezone.utc).isoformat(timespec="microseconds"),
              "" if dep is None else str(dep), task or "", data)
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def clone(t: OpenTemplate, shift: timedelta, tid: int, rng: random.Random, prefix: str) -> tuple[list, ...]:
    """The ticket, task, timer and event rows of one clone, ready for COPY."""
    uuids = [f"{i:08x}-0000-4000-8000-{tid:012x}" for i in range(t.uuid_count)]
    number = f"{prefix}{(t.received + shift):%Y%m%d}{tid:07d}"
    subject, road = rng.choice(SUBJECTS), rng.choice(ROADS)
    title = f"{subject}（{road}）"
    ctx = {"U": [f'"{u}"' for u in uuids], "T": [f'"{(v + shift).isoformat()}"' for v in t.times],
           "I": [str(tid)], "L": [json.dumps(number), json.dumps(title, ensure_ascii=False)]}
    row = {k: v + shift if k in SHIFTED and v is not None else v for k, v in t.row.items()}
    row.update(number=number, title=title, workflow_state=render(t.state, ctx),
               content=f"{road}附近{subject}，已持续多日，请有关部门尽快处理。",
               citizen_name=rng.choice(SURNAMES) + rng.choice(("先生", "女士")),
               citizen_phone="1" + rng.choice("3589") + f"{rng.randrange(10 ** 9):09d}",
               address=f"崇川区{road}{rng.randrange(1, 300)}号")
    tickets = [(tid, *(row[k] for k in TICKET_COLUMNS))]
    tasks = []
    for index, task in t.tasks:
        r = {k: v + shift if k in TASK_TIMES and v is not None else v for k, v in task.items()}
        r.update(id=uuids[index], ticket_id=tid, subject_ticket_id=None)
        if r["state"] == "ready" and r["warned_at"] is None and r["warn_at"] is not None \
                and r["warn_at"] <= UTC_FILL_CLOCK:
            r["warned_at"] = r["warn_at"]          # a running scheduler warned it when its time came
        tasks.append(tuple(r[k] for k in TASK_COLUMNS))
    timers = []
    for index, timer in t.timers:
        r = {k: v + shift if k in ("due_at", "fired_at") and v is not None else v for k, v in timer.items()}
        r.update(ticket_id=tid, task_id=uuids[index])
        timers.append(tuple(r[k] for k in TIMER_COLUMNS))
    events, previous = [], "0" * 64
    for seq, type_, actor, at, dep, task_name, data in t.events:
        e = (tid, seq, type_, actor, at + shift, dep, task_name, render(data, ctx))
        if HASHED:
            previous = _event_hash(previous, tid, e)
            e += (previous,)
        events.append(e)
    return tickets, tasks, timers, events


COPIES = (("tickets", ("id",) + TICKET_COLUMNS), ("tasks", TASK_COLUMNS), ("timers", TIMER_COLUMNS),
          ("events", EVENT_COLUMNS))


def _copy_batch(database: Database, batch: list[tuple], seed: int, prefix: str) -> None:
    """One batch's rows in one transaction, table by table (the foreign keys are checked as they come)."""
    rng = random.Random(seed)
    clones = [clone(t, shift, tid, rng, prefix) for t, shift, tid in batch]
    with database.engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("SET LOCAL synchronous_commit = off")     # a bulk load: no fsync wait per batch
        for index, (table, columns) in enumerate(COPIES):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for rows in clones:
                    for r in rows[index]:
                        copy.write_row(r)


def copy_clones(database: Database, plans: list[tuple], seed: int, progress=None) -> list[int]:
    with database.engine.begin() as conn:
        ids = sorted(conn.execute(text("SELECT nextval(pg_get_serial_sequence('tickets', 'id')) "
                                       "FROM generate_series(1, :n)"), {"n": len(plans)}).scalars())
    rows = [(t, shift, tid) for (t, shift), tid in zip(plans, ids)]
    prefix = load_city(CITY).number_prefix
    with ThreadPoolExecutor(JOBS) as pool:
        jobs = [pool.submit(_copy_batch, database, rows[i:i + BATCH], seed * 1_000_003 + i, prefix)
                for i in range(0, len(rows), BATCH)]
        for done, job in enumerate(jobs, 1):
            job.result()
            if progress:
                progress(min(done * BATCH, len(rows)), len(rows))
    return ids


# -- 3. checks and the whole fill -----------------------------------------------------------------
def check_sample(database: Database, ids: list[int], rng: random.Random, n: int = 30) -> None:
    """Cloned chains verify; a restored workflow waits on exactly the timer its pending timer row names."""
    from engine.audit_chain import verify_chain
    with database.unit_of_work() as s:
        for tid in rng.sample(ids, min(n, len(ids))):
            if HASHED and not verify_chain(s, tid)["verified"]:
                raise RuntimeError(f"cloned event chain of ticket {tid} does not verify")
            ticket = s.get(Ticket, tid)
            run = TicketRun(s, FixedClock(FILL_CLOCK), ticket, s.get(Deployment, ticket.deployment_id), "bench")
            run.load()
            waiting = {task_id: due for task_id, (_name, due) in run._waiting_timers().items()}
            pending = {t.task_id: t.due_at for t in s.scalars(select(Timer).where(Timer.ticket_id == tid,
                                                                                    Timer.state == "pending"))}
            if waiting != pending:
                raise RuntimeError(f"ticket {tid}: the workflow waits on {waiting}, its timer rows say {pending}")


def settle_templates(database: Database) -> None:
    """The templates' own timers fell due weeks before the fill clock: fire them (and send the warnings and
    messages that follow) as the scheduler would have, so only the clones' timers are pending afterwards."""
    from engine.scheduler import sweep
    while sweep(database, lambda _session: FixedClock(FILL_CLOCK), batch=1000, worker="bench-fill"):
        pass


def populate_open(url: str, *, tickets: int, due: int, sets: int, seed: int = 1, log=print) -> dict:
    """Reset the database at ``url`` and fill it with ``tickets`` open tickets (``sets`` × ``due`` of them
    falling due in their set's minute); returns the phase seconds (``*_s``), row counts and the size."""
    url, rng, stats = _with_psycopg(url), random.Random(seed), {}
    started = phase = time.perf_counter()

    def done(name):
        nonlocal phase
        stats[f"{name}_s"] = round(time.perf_counter() - phase, 1)
        log(f"  {name:<10} {stats[f'{name}_s']:>8.1f} s")
        phase = time.perf_counter()

    reset_postgres(url)
    prepare(url, FixedClock(TEMPLATE_DAY - timedelta(days=1)))
    done("reset")
    database = Database(url)
    try:
        driven = drive_templates(database)
        done("templates")
        templates = read_templates(database, driven)
        settle_templates(database)
        done("settle")
        plans = plan(templates, rng, tickets, due, sets)
        done("plan")
        last = [0.0]

        def progress(copied, total):
            if time.perf_counter() - last[0] > 30 or copied == total:
                last[0] = time.perf_counter()
                log(f"    {copied:>10,} / {total:,} tickets copied, {time.perf_counter() - phase:7.0f} s")
        ids = copy_clones(database, plans, seed, progress)
        done("copy")
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("tickets", "tasks", "timers", "events"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
        done("analyze")
        check_sample(database, ids, rng)
        with database.unit_of_work() as s:
            set_test_clock(s, FILL_CLOCK)
        with database.unit_of_work() as s:
            count = lambda q: s.scalar(select(func.count()).select_from(q))   # noqa: E731
            stats.update(templates=len(templates), tickets=count(Ticket.__table__),
                         open=s.scalar(select(func.count()).where(Ticket.process == LIFECYCLE_PROCESS,
                                                                   Ticket.status != "closed")),
                         tasks=count(TaskRow.__table__), events=count(Event.__table__),
                         pending_timers=s.scalar(select(func.count()).where(Timer.state == "pending")),
                         due_sets=sets, due_per_set=due,
                         db_size=s.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))")))
    finally:
        database.dispose()
    stats["total_s"] = round(time.perf_counter() - started, 1)
    return stats
