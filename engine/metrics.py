"""Prometheus metrics the engine side knows about: the timer sweep's firing lag, and the gauges read from the
database at scrape time (open tickets by deadline light, the oldest due timer).

- ``hotline_timer_fire_lag_seconds`` (histogram): observed by the scheduler sweep for every timer it fires,
  from the timer's ``due_at`` to its ``fired_at`` on the engine clock. Served by each scheduler process on
  its own port (``HOTLINE_SCHEDULER_METRICS_PORT``, ``start_scheduler_metrics``).
- ``hotline_open_tickets{city, light}``, ``hotline_timer_lag_seconds`` and ``hotline_timers_due``
  (gauges): one grouped query each, computed when ``/metrics`` is scraped (api/metrics.py) and cached a few
  seconds, so several Prometheus servers scraping several workers do not each query the database. They
  describe the database, not a process, so every worker reports the same values.

The lights use the centre board's rule (engine/dashboard.py ``light_case``): red when a sign-off or
handling deadline passed or the overdue flag is set, yellow when a ready task is past its warning point,
green otherwise; tickets only (not supervision or consultation cases). tests/api/test_metrics.py checks
that the two agree on the same data.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import REGISTRY, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .cities import LIFECYCLE_PROCESS, available_cities
from .dashboard import light_case
from .models import Ticket, Timer

log = logging.getLogger("hotline.metrics")

LIGHTS = ("green", "yellow", "red")
# Timers are checked every few seconds (HOTLINE_SCHEDULER_INTERVAL): lags beyond minutes mean a scheduler
# was down or far behind, and the upper buckets say how far.
LAG_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)

TIMER_FIRE_LAG = Histogram("hotline_timer_fire_lag_seconds",
                           "Seconds from a timer's due time to its firing by a scheduler sweep", buckets=LAG_BUCKETS)


# -- the scheduler side ---------------------------------------------------------------------------------
def fired_timer_lags(session: Session, ticket_id: int, worker: str, fired_at: datetime) -> list[float]:
    """The lags of the timers this worker just fired on one ticket (inside the unit of work that fired them;
    observe them only once it committed)."""
    due = session.scalars(select(Timer.due_at).where(Timer.ticket_id == ticket_id, Timer.state == "fired",
                                                     Timer.fired_by == worker, Timer.fired_at == fired_at))
    return [max(0.0, (fired_at - d).total_seconds()) for d in due]


def observe_timer_lags(lags: list[float]) -> None:
    for lag in lags:
        TIMER_FIRE_LAG.observe(lag)


def start_scheduler_metrics(port: int | None, addr: str = "0.0.0.0"):
    """Serve this scheduler process's metrics (the default registry: the lag histogram plus process and
    Python metrics) on its own port in a daemon thread; nothing when no port is configured."""
    if not port:
        return None
    server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
    log.info("scheduler metrics on %s:%s/metrics", addr, port)
    return server


# -- the gauges read from the database -----------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """What the database says at one instant: open tickets per (city, light) and the due pending timers."""
    at: datetime
    open_tickets: dict = field(default_factory=dict)     # (city, light) -> count, every light of every city
    timers_due: int = 0
    timer_lag_seconds: float = 0.0


def light_counts(session: Session, now: datetime) -> dict[tuple[str, str], int]:
    """Open tickets per city and light in one grouped query (the centre board's rule, every city at once)."""
    open_ticket = and_(Ticket.process == LIFECYCLE_PROCESS, Ticket.status != "closed")
    light = light_case(now)
    rows = session.execute(select(Ticket.city, light, func.count()).where(open_ticket)
                           .group_by(Ticket.city, light)).all()
    counts = {(city, colour): 0 for city in available_cities() for colour in LIGHTS}
    counts.update({(city, colour): n for city, colour, n in rows})
    return counts


def due_timers(session: Session, now: datetime) -> tuple[int, float]:
    """How many pending timers are due, and how long ago the oldest fell due (0 when none): a lag that
    keeps growing means no scheduler is sweeping."""
    count, oldest = session.execute(select(func.count(), func.min(Timer.due_at))
                                    .where(Timer.state == "pending", Timer.due_at <= now)).one()
    return count, (max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)


def read_snapshot(session: Session, now: datetime) -> Snapshot:
    count, lag = due_timers(session, now)
    return Snapshot(at=now, open_tickets=light_counts(session, now), timers_due=count, timer_lag_seconds=lag)


class SnapshotCache:
    """The last snapshot, reused for ``max_age`` seconds of ``clock`` (monotonic, not the engine clock:
    this is about database load, not about domain time)."""

    def __init__(self, max_age: float = 5.0, clock=time.monotonic):
        self.max_age, self.clock = max_age, clock
        self._value: Snapshot | None = None
        self._taken = 0.0

    def get(self, compute) -> Snapshot:
        now = self.clock()
        if self._value is None or now - self._taken >= self.max_age:
            self._value, self._taken = compute(), now
        return self._value


class SnapshotCollector:
    """Exposes a snapshot as gauges (a custom collector: never written to the multiprocess files, so each
    scrape shows the database as it is, not a sum over workers)."""

    def __init__(self, snapshot: Snapshot | None):
        self.snapshot = snapshot

    def collect(self):
        up = GaugeMetricFamily("hotline_metrics_database_up", "1 when the database answered this scrape's queries")
        up.add_metric([], 0 if self.snapshot is None else 1)
        yield up
        if self.snapshot is None:
            return
        tickets = GaugeMetricFamily("hotline_open_tickets", "Open tickets by city and deadline light",
                                    labels=["city", "light"])
        for (city, colour), n in sorted(self.snapshot.open_tickets.items()):
            tickets.add_metric([city, colour], n)
        yield tickets
        yield GaugeMetricFamily("hotline_timers_due", "Pending timers whose due time has passed",
                                value=self.snapshot.timers_due)
        yield GaugeMetricFamily("hotline_timer_lag_seconds",
                                "Seconds since the oldest pending timer fell due (0 when none is due)",
                                value=self.snapshot.timer_lag_seconds)
