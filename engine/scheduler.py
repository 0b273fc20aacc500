"""The timer sweep: run by the separate scheduler process (APScheduler) and by the test tick.

Each ticket's due timers fire in their own transaction. The ticket row is claimed with
``FOR UPDATE SKIP LOCKED``, so several schedulers can sweep side by side and each timer fires once.
Hourly, the periodic reports that fell due are issued and sent (``issue_reports``). After the
timers, the same sweep reminds units of knowledge-base entries past their review deadline
(``sweep_knowledge``) and runs the notification sweeps (warning lights, then outbound delivery), each
in its own unit of work; see ``sweep_notifications``.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Callable

from sqlalchemy.exc import OperationalError

from .clock import Clock
from .db import Database
from .errors import Conflict, DomainError
from .facade import Hotline
from .knowledge import sweep_knowledge_reviews
from .metrics import fired_timer_lags, observe_timer_lags
from .notifications import deliver_due, sweep_warnings
from .outbound import LoggingChannel, OutboundChannel
from .webhooks import DEFAULT_MAX_ATTEMPTS, deliver_due_webhooks

log = logging.getLogger("hotline.scheduler")

MAX_ROUNDS = 100        # batches per sweep while they come back full


def worker_name() -> str:
    return f"scheduler@{socket.gethostname()}:{os.getpid()}"


def sweep(db: Database, clock_for: Callable[[object], Clock], *, batch: int = 50, worker: str | None = None,
          channel: OutboundChannel | None = None) -> int:
    """One sweep over due timers, then the notification sweeps; returns how many timers fired.

    A full batch is followed by the next one at once (up to ``MAX_ROUNDS``), so a burst of deadlines (the
    17:30 sign-off) drains at the firing rate instead of one batch per interval; a round that fires nothing
    (every ticket held by another scheduler, or failing) ends the sweep."""
    worker = worker or worker_name()
    fired = 0
    for _round in range(MAX_ROUNDS):
        with db.unit_of_work() as session:
            ticket_ids = Hotline(session, clock_for(session)).due_timer_tickets(batch)
        fired_now = sum(_fire_ticket(db, clock_for, ticket_id, worker) for ticket_id in ticket_ids)
        fired += fired_now
        if len(ticket_ids) < batch or not fired_now:
            break
    sweep_knowledge(db, clock_for, batch=batch)
    sweep_notifications(db, clock_for, batch=batch, channel=channel)
    return fired


def _fire_ticket(db: Database, clock_for: Callable[[object], Clock], ticket_id: int, worker: str) -> int:
    """Fire one ticket's due timers in its own unit of work; 0 when another scheduler holds it or it failed."""
    try:
        with db.unit_of_work() as session:
            hotline = Hotline(session, clock_for(session))
            count = hotline.fire_due_timers_of(ticket_id, worker)
            lags = fired_timer_lags(session, ticket_id, worker, hotline.clock.now()) if count else []
        observe_timer_lags(lags)      # only once committed (engine/metrics.py)
        return count
    except Conflict:
        log.info("ticket %s changed while firing its timers; retried next sweep", ticket_id)
    except OperationalError as exc:   # lock timeout / connection hiccup: the next sweep retries
        log.warning("timer sweep for ticket %s failed: %s", ticket_id, exc)
    except DomainError as exc:
        log.error("timer of ticket %s could not fire: %s", ticket_id, exc)
    return 0


def sweep_knowledge(db: Database, clock_for: Callable[[object], Clock], *, batch: int = 50) -> int:
    """Knowledge-base entries past their review deadline: their units are told once (own unit of work)."""
    try:
        with db.unit_of_work() as session:
            return sweep_knowledge_reviews(session, clock_for(session), batch)
    except (OperationalError, DomainError) as exc:   # the next sweep retries
        log.warning("knowledge review sweep failed: %s", exc)
        return 0


def retrain_dispatch_models(db: Database, clock_for: Callable[[object], Clock], *, min_new: int = 50) -> int:
    """The nightly retraining of each city's dispatch models on its newly closed tickets (own unit of work)."""
    from .dispatch_model import retrain_all
    try:
        with db.unit_of_work() as session:
            trained = retrain_all(session, clock_for(session), min_new=min_new)
    except (OperationalError, DomainError) as exc:
        log.warning("dispatch model retraining failed: %s", exc)
        return 0
    for model in trained:
        log.info("dispatch model %s/%s v%s trained on %s tickets (accuracy %s)", model.city, model.target,
                 model.version, model.trained_on, model.accuracy)
    return len(trained)


def issue_reports(db: Database, clock_for: Callable[[object], Clock]) -> int:
    """Issue the periodic reports that fell due (each in its own unit of work, so one failing report does
    not hold back the others; a report another scheduler issued first is skipped)."""
    from sqlalchemy.exc import IntegrityError
    from .accounts import SYSTEM
    from .reports import due_reports
    with db.unit_of_work() as session:
        due = due_reports(session, clock_for(session).now())
    issued = 0
    for city, kind, period in due:
        try:
            with db.unit_of_work() as session:
                Hotline(session, clock_for(session)).issue_report(SYSTEM, city, kind, period)
            issued += 1
            log.info("report %s %s %s issued", city, kind, period)
        except (IntegrityError, Conflict):
            log.info("report %s %s %s was issued by another scheduler", city, kind, period)
        except (OperationalError, DomainError) as exc:
            log.warning("report %s %s %s could not be issued: %s", city, kind, period, exc)
    return issued


def warm_report_facts(db: Database, clock_for: Callable[[object], Clock], *, days: int = 2) -> int:
    """Nightly: fold the facts of the tickets that changed lately into the cache (own unit of work)."""
    from datetime import timedelta
    from .ticket_facts import warm_facts
    try:
        with db.unit_of_work() as session:
            return warm_facts(session, clock_for(session).now() - timedelta(days=days))
    except (OperationalError, DomainError) as exc:
        log.warning("warming the report facts failed: %s", exc)
        return 0


def purge_attachments(db: Database, clock_for: Callable[[object], Clock], store) -> int:
    """Nightly: attachments past their city's retention lose their bytes (own unit of work)."""
    from .retention import purge_expired_attachments
    try:
        with db.unit_of_work() as session:
            return purge_expired_attachments(session, clock_for(session), store)
    except (OperationalError, DomainError) as exc:
        log.warning("attachment retention purge failed: %s", exc)
        return 0


def sweep_notifications(db: Database, clock_for: Callable[[object], Clock], *, batch: int = 50,
                        channel: OutboundChannel | None = None) -> dict:
    """Warn tasks past their yellow point, then deliver due messages; each step in its own unit of work."""
    channel = channel or LoggingChannel()
    counts = {"warned": 0, "delivered": 0, "skipped": 0, "failed": 0}
    try:
        with db.unit_of_work() as session:
            counts["warned"] = sweep_warnings(session, clock_for(session), batch)
    except (OperationalError, DomainError) as exc:   # the next sweep retries
        log.warning("warning sweep failed: %s", exc)
    try:
        with db.unit_of_work() as session:
            counts.update(deliver_due(session, clock_for(session), channel, batch))
    except (OperationalError, DomainError) as exc:
        log.warning("delivery sweep failed: %s", exc)
    if any(counts.values()):
        log.info("notifications: %s", counts)
    return counts


def run_forever(db: Database, clock_for, *, interval: float, batch: int,
                channel: OutboundChannel | None = None, attachment_store=None, settings=None) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    worker = worker_name()
    scheduler.add_job(lambda: sweep(db, clock_for, batch=batch, worker=worker, channel=channel), "interval", seconds=interval,
                      id="timer_sweep", max_instances=1, coalesce=True)
    attempts = settings.webhook_max_attempts if settings is not None else DEFAULT_MAX_ATTEMPTS   # upstream webhooks
    scheduler.add_job(lambda: deliver_due_webhooks(db, clock_for, batch=batch, max_attempts=attempts), "interval",
                      seconds=interval, id="webhook_delivery", max_instances=1, coalesce=True)
    scheduler.add_job(lambda: retrain_dispatch_models(db, clock_for), "cron", hour=2, minute=30,
                      id="dispatch_model_retraining", max_instances=1, coalesce=True)
    scheduler.add_job(lambda: issue_reports(db, clock_for), "cron", minute=5, id="periodic_reports",
                      max_instances=1, coalesce=True)
    scheduler.add_job(lambda: warm_report_facts(db, clock_for), "cron", hour=1, minute=30, id="report_facts",
                      max_instances=1, coalesce=True)
    if attachment_store is not None:
        scheduler.add_job(lambda: purge_attachments(db, clock_for, attachment_store), "cron", hour=3, minute=15,
                          id="attachment_retention", max_instances=1, coalesce=True)
    if settings is not None and settings.public_base_url:   # citizens' rating links by SMS (engine/citizen_rating.py)
        from .citizen_rating import sweep_rating_links
        scheduler.add_job(lambda: sweep_rating_links(db, clock_for, channel or LoggingChannel(), secret=settings.secret_key,
                                                     base_url=settings.public_base_url, batch=batch),
                          "interval", seconds=60, id="citizen_rating_sms", max_instances=1, coalesce=True)
    log.info("%s sweeping every %ss", worker, interval)
    scheduler.start()
