"""The outbound webhook to upstream platforms: status and replies of the tickets they pushed down.

**Queueing.** After every command's run (``EscalationCommands._after_run``) ``report_upstream_status``
compares an upstream-linked ticket's status with ``UpstreamLink.last_status``; a change queues one
``WebhookDelivery`` in the same unit of work, so a report exists exactly when the change committed. The
scheduler's delivery job first catches up on changes made by commands that have no ``_after_run`` (a merge,
the master's reply reaching a merged ticket): ``reconcile_upstream_links``.

**Delivery** (``deliver_due_webhooks``, a scheduler job), in three short steps so no lock is held while
waiting on the network:

1. claim: due deliveries are selected ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite transactions are
   BEGIN IMMEDIATE, one writer at a time), their attempt is counted and ``next_attempt_at`` moved a lease
   ahead; committed. Another scheduler now sees them as not due, so two never send one concurrently. A
   scheduler that dies mid-send leaves the delivery to be sent again when the lease ends: delivery is at
   least once, and the receiver de-duplicates on ``X-Hotline-Delivery``.
2. send: POST of the JSON payload to the client's ``webhook_url`` with ``X-Hotline-Event``,
   ``X-Hotline-Delivery`` and ``X-Hotline-Signature: sha256=<HMAC-SHA256(webhook_secret, body)>``.
3. record: a 2xx answer is delivered; anything else (another status, a redirect, a timeout) is a failed
   attempt retried after 1, 2, 4 ... minutes (at most an hour); after ``max_attempts`` it is dead, on the
   administrator's dead-letter list until requeued.

A ticket's deliveries go in order: one is due only while no earlier delivery of the same ticket is still
pending. A dead one no longer holds the later ones back. All times come from the injectable clock.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from .accounts import Principal
from .channel_models import ChannelClient, UpstreamLink, WebhookDelivery
from .cities import LIFECYCLE_PROCESS, effective_units
from .clock import iso
from .errors import Conflict, DomainError, NotFound
from .models import Event, Ticket
from .rulesets import record_admin_event

log = logging.getLogger("hotline.webhooks")

EVENTS = ("status", "reply", "closed")
STATES = ("pending", "delivered", "dead")
DEFAULT_MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(minutes=2)            # longer than any send takes (the timeout), shorter than a retry wait
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
MAX_ERROR_CHARS = 500
USER_AGENT = "12345-hotline-webhook/1"
# The upstream-facing stage of a status (what the provincial platforms track: 受理, 派单, 签收, 退单, 延期, 答复, 办结).
STAGES = {"new": "accepted", "dispatching": "accepted", "signing": "dispatched", "return_approval": "return_requested",
          "handling": "handling", "assisting": "handling", "extension_approval": "extension_requested",
          "extension_review": "extension_requested", "reply_approval": "reply_submitted",
          "reply_review": "reply_under_review", "callback": "replied", "merged": "merged", "closed": "closed"}


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4 ... minutes, never more than an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (sorted keys: every attempt sends the same body)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def stage_of(previous: str | None, status: str) -> str:
    """What a transition means to the upstream platform (a return, a sign-off, an extension decided ...)."""
    if status == "dispatching" and previous == "return_approval":
        return "returned"
    if status in ("handling", "assisting") and previous == "signing":
        return "signed"
    if status == "handling" and previous in ("extension_approval", "extension_review"):
        return "extension_decided"
    if status == "handling" and previous in ("reply_approval", "reply_review"):
        return "reply_sent_back"
    if status == "handling" and previous == "callback":
        return "rehandling"
    return STAGES.get(status, status)


def _last_reply(session: Session, ticket_id: int) -> str | None:
    """The reply as last recorded (the ticket's own, or its master's for a merged ticket)."""
    event = session.scalar(select(Event).where(Event.ticket_id == ticket_id,
                                               Event.type.in_(("reply_recorded", "master_reply_received")))
                           .order_by(Event.seq.desc()).limit(1))
    return (event.data or {}).get("reply") if event is not None else None


def _unit(session: Session, ticket: Ticket) -> dict | None:
    if not ticket.unit_code:
        return None
    names = {u["code"]: u["name"] for u in effective_units(session, ticket.city, include_inactive=True)}
    return {"code": ticket.unit_code, "name": names.get(ticket.unit_code, ticket.unit_code)}


def status_payload(session: Session, link: UpstreamLink, ticket: Ticket) -> tuple[str, dict]:
    """(event, payload) reporting the ticket's current status to the platform that sent it."""
    event = "closed" if ticket.status == "closed" else "reply" if ticket.status == "callback" else "status"
    payload = {"event": event, "external_id": link.external_id, "ticket_id": ticket.id, "number": ticket.number,
               "city": ticket.city, "kind": ticket.kind, "status": ticket.status, "previous_status": link.last_status,
               "stage": stage_of(link.last_status, ticket.status), "unit": _unit(session, ticket),
               "reply": _last_reply(session, ticket.id) if event != "status" else None,
               "outcome": ticket.outcome if event == "closed" else None,
               "received_at": iso(ticket.received_at), "changed_at": iso(ticket.updated_at),
               "sign_due_at": iso(ticket.sign_due_at), "handle_due_at": iso(ticket.handle_due_at),
               "closed_at": iso(ticket.closed_at)}
    return event, payload


def report_status(session: Session, now: datetime, link: UpstreamLink, ticket: Ticket) -> WebhookDelivery | None:
    """Queue a report when the ticket's status moved since the last one (``link`` is locked by the caller)."""
    if link.last_status == ticket.status:
        return None
    event, payload = status_payload(session, link, ticket)
    link.last_status = ticket.status
    client = session.get(ChannelClient, link.client_id)
    if not client.webhook_url:
        return None           # a platform that only pushes: the status is still tracked, nothing to send
    delivery = WebhookDelivery(client_id=client.id, ticket_id=ticket.id, event=event, payload=payload,
                               state="pending", attempts=0, next_attempt_at=now, created_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def _locked_link(session: Session, ticket_id: int, skip_locked: bool = False) -> UpstreamLink | None:
    return session.scalar(select(UpstreamLink).where(UpstreamLink.ticket_id == ticket_id)
                          .with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True))


def reconcile_upstream_links(session: Session, now: datetime, limit: int = 200) -> int:
    """Queue the reports of status changes no ``_after_run`` saw; returns how many were queued."""
    changed = (select(UpstreamLink.ticket_id).join(Ticket, Ticket.id == UpstreamLink.ticket_id)
               .where(func.coalesce(UpstreamLink.last_status, "") != Ticket.status).limit(limit))
    queued = 0
    for ticket_id in list(session.scalars(changed)):
        link = _locked_link(session, ticket_id, skip_locked=True)   # a command reporting it right now wins
        ticket = session.get(Ticket, ticket_id, populate_existing=True)
        if link is not None and report_status(session, now, link, ticket) is not None:
            queued += 1
    return queued


# -- delivery --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, everything the send needs, so no session is open during it."""
    id: int
    attempt: int
    event: str
    url: str | None
    secret: str | None
    body: bytes


def claim_due(session: Session, now: datetime, limit: int) -> list[Outgoing]:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(earlier.ticket_id == WebhookDelivery.ticket_id, earlier.state == "pending",
                             earlier.id < WebhookDelivery.id)
    query = (select(WebhookDelivery).where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
                                           ~blocked)
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
             .execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed = []
    for delivery in list(session.scalars(query)):
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        client = session.get(ChannelClient, delivery.client_id)
        claimed.append(Outgoing(delivery.id, delivery.attempts, delivery.event,
                                client.webhook_url if client.active else None, client.webhook_secret,
                                body_bytes(delivery.payload)))
    session.flush()
    return claimed


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: following it would re-send the body as a GET."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send(item: Outgoing, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """POST one delivery; None when the receiver answered 2xx, else why not."""
    if not item.url:
        return "the client is revoked or has no webhook URL"
    if not item.secret:
        return "the client has no webhook secret to sign with"
    request = urllib.request.Request(item.url, data=item.body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
        "X-Hotline-Event": item.event, "X-Hotline-Delivery": str(item.id),
        "X-Hotline-Signature": signature(item.secret, item.body)})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}: {exc.read(300).decode('utf-8', 'replace')}".strip()
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def record_outcome(session: Session, now: datetime, item: Outgoing, error: str | None, max_attempts: int) -> str:
    """Store how the attempt went: delivered, failed (retried after the back-off), dead, or stale."""
    delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == item.id)
                              .with_for_update().execution_options(populate_existing=True))
    if delivery is None or delivery.state != "pending" or delivery.attempts != item.attempt:
        return "stale"        # requeued by an administrator meanwhile: that attempt counts from zero
    if error is None:
        delivery.state, delivery.delivered_at, delivery.last_error = "delivered", now, None
        return "delivered"
    delivery.last_error = error[:MAX_ERROR_CHARS]
    if delivery.attempts >= max_attempts:
        delivery.state = "dead"
        log.warning("webhook delivery %s is dead after %s attempts: %s", item.id, delivery.attempts, error)
        return "dead"
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    return "failed"


def deliver_due_webhooks(db, clock_for, *, batch: int = 50, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                         timeout: float = TIMEOUT_SECONDS) -> dict:
    """The scheduler job: catch up on unreported changes, then send up to ``batch`` due deliveries, each
    claimed, sent and recorded in its own short unit of work."""
    counts = {"queued": 0, "delivered": 0, "failed": 0, "dead": 0, "stale": 0}
    try:
        with db.unit_of_work() as session:
            counts["queued"] = reconcile_upstream_links(session, clock_for(session).now(), batch)
        sent = 0
        while sent < batch:
            with db.unit_of_work() as session:
                claimed = claim_due(session, clock_for(session).now(), batch - sent)
            if not claimed:
                break
            for item in claimed:
                error = send(item, timeout)
                with db.unit_of_work() as session:
                    counts[record_outcome(session, clock_for(session).now(), item, error, max_attempts)] += 1
                sent += 1
    except (OperationalError, DomainError) as exc:    # a lock timeout or connection hiccup: the next run retries
        log.warning("webhook delivery run stopped: %s", exc)
    if any(counts.values()):
        log.info("webhooks: %s", counts)
    return counts


# -- the facade: status hook and the administrator's dead-letter list --------------------------------
class WebhookCommands:
    """Mixed into ``Hotline``."""

    def report_upstream_status(self, ticket: Ticket) -> WebhookDelivery | None:
        """Called after each command's run: queue a report if an upstream ticket's status moved."""
        if ticket.process != LIFECYCLE_PROCESS:
            return None
        link = _locked_link(self.session, ticket.id)
        return report_status(self.session, self.clock.now(), link, ticket) if link is not None else None

    def webhook_deliveries(self, actor: Principal, *, state: str | None = None, client_id: int | None = None,
                           limit: int = 200) -> list[tuple[WebhookDelivery, ChannelClient]]:
        """Deliveries newest first, with their client (administrators: the dead-letter list is ``dead``)."""
        self._require(actor, "admin")
        query = select(WebhookDelivery, ChannelClient).join(ChannelClient, ChannelClient.id == WebhookDelivery.client_id)
        if state:
            query = query.where(WebhookDelivery.state == state)
        if client_id is not None:
            query = query.where(WebhookDelivery.client_id == client_id)
        return [tuple(r) for r in self.session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit))]

    def webhook_counts(self, actor: Principal) -> dict:
        """{state: count} over every delivery, and the pending ones per client name."""
        self._require(actor, "admin")
        by_state = dict.fromkeys(STATES, 0)
        by_state.update(dict(self.session.execute(select(WebhookDelivery.state, func.count())
                                                  .group_by(WebhookDelivery.state)).all()))
        pending = dict(self.session.execute(
            select(ChannelClient.name, func.count()).join(WebhookDelivery, WebhookDelivery.client_id == ChannelClient.id)
            .where(WebhookDelivery.state == "pending").group_by(ChannelClient.name).order_by(ChannelClient.name)).all())
        return {"by_state": by_state, "pending_by_client": pending}

    def retry_webhook(self, actor: Principal, delivery_id: int) -> tuple[WebhookDelivery, ChannelClient]:
        """Requeue a dead delivery: pending, attempts from zero, due now (audited)."""
        self._require(actor, "admin")
        delivery = self.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                                       .with_for_update().execution_options(populate_existing=True))
        if delivery is None:
            raise NotFound("推送记录不存在", "Delivery not found")
        if delivery.state == "delivered":
            raise Conflict("该推送已送达，无需重发", "This delivery was already delivered")
        if delivery.state == "pending":
            # It may be in flight right now; resetting it could send it twice at once.
            raise Conflict("该推送已在发送队列中", "This delivery is already queued")
        now = self.clock.now()
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
        record_admin_event(self.session, "webhook_requeued", actor.username, now,
                           {"delivery_id": delivery.id, "client_id": delivery.client_id,
                            "ticket_id": delivery.ticket_id, "event": delivery.event,
                            "last_error": delivery.last_error})
        self.session.flush()
        return delivery, self.session.get(ChannelClient, delivery.client_id)
