"""The upstream webhook against a real HTTP receiver in a thread: signed deliveries of every status change,
retries with back-off on the engine clock, the dead letter and its requeue, per-ticket order, the catch-up
of changes no command reported, and two delivery runs at once that never send one delivery twice."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine import accounts
from engine.accounts import Principal
from engine.attachments import AttachmentStore
from engine.channel_models import ChannelClient, UpstreamLink, WebhookDelivery
from engine.clock import SHANGHAI
from engine.errors import Conflict, NotFound, PermissionDenied
from engine.facade import Hotline
from engine.models import Event
from engine.webhooks import backoff, deliver_due_webhooks
from tests.conftest import complaint

pytestmark = pytest.mark.replay_all   # every ticket these scenarios leave must replay verified

ADMIN = Principal("admin", frozenset({"admin"}))
RECEIVED = datetime(2025, 9, 26, 8, 30, tzinfo=SHANGHAI)
DUE = datetime(2025, 10, 10, 17, 30, tzinfo=SHANGHAI)
REPLY = "经现场核查，已责令施工单位停止夜间施工，并与诉求人电话沟通，诉求人表示认可。"


class Receiver:
    """A real HTTP server in a thread that records every request; it answers the queued statuses first,
    then 200, each after ``delay`` seconds."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "body": body,
                                              "headers": {k.lower(): v for k, v in self.headers.items()}})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hotline/status"

    def payloads(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def store(tmp_path):
    return AttachmentStore(tmp_path / "attachments", 5 * 1024 * 1024)


def make_client(db, clock, name="jiangsu-12345", webhook_url=None):
    with db.unit_of_work() as session:
        client, _key = Hotline(session, clock).create_channel_client(
            ADMIN, city="nantong", name=name, channel="provincial_platform", kind="upstream", webhook_url=webhook_url)
        return SimpleNamespace(id=client.id, secret=client.webhook_secret)


@pytest.fixture
def platform(db, clock, city, receiver):
    return make_client(db, clock, webhook_url=receiver.url)


def record(external_id="JS20250926000123", **overrides) -> dict:
    """A record as the push's schema hands it to the engine."""
    return {"external_id": external_id, "platform": "江苏12345在线", "title": "小区门口道路积水",
            "content": "连续多日积水，居民出行困难。", "request_type": "help", "citizen": {"name": "李四", "phone": "13900002222"},
            "address": "崇川区某小区", "received_at": RECEIVED, "due_at": DUE, "attachments": [], **overrides}


def push(db, clock, store, client_id, external_id="JS20250926000123") -> int:
    with db.unit_of_work() as session:
        client = session.get(ChannelClient, client_id)
        ticket, created = Hotline(session, clock).import_upstream_ticket(client, record(external_id), store=store)
        assert created
        return ticket.id


def complete(db, clock, ticket_id, name, username, data):
    with db.unit_of_work() as session:
        facade = Hotline(session, clock)
        actor = accounts.principal_for_username(session, username)
        task = facade.list_tasks(actor, ticket_id=ticket_id, name=name)[0]
        facade.complete_task(actor, task.id, data)


def deliver(db, clock, **kw) -> dict:
    return deliver_due_webhooks(db, lambda _session: clock, **kw)


def deliveries(db, ticket_id=None) -> list[WebhookDelivery]:
    with db.unit_of_work() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id)
        if ticket_id is not None:
            query = query.where(WebhookDelivery.ticket_id == ticket_id)
        return list(session.scalars(query))


def test_each_status_change_is_delivered_signed_and_in_order(db, clock, platform, receiver, store):
    ticket_id = push(db, clock, store, platform.id)
    complete(db, clock, ticket_id, "dispatch", "dispatcher", {"unit": "nt_chongchuan"})
    queued = deliveries(db)
    assert [(d.event, d.state, d.payload["stage"]) for d in queued] == [("status", "pending", "accepted"),
                                                                        ("status", "pending", "dispatched")]
    assert deliver(db, clock)["delivered"] == 2
    assert len(receiver.requests) == 2
    for request, delivery in zip(receiver.requests, queued):
        headers = request["headers"]
        assert request["path"] == "/hotline/status"
        assert headers["x-hotline-event"] == "status" and headers["x-hotline-delivery"] == str(delivery.id)
        assert headers["content-type"].startswith("application/json")
        expected = "sha256=" + hmac.new(platform.secret.encode(), request["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-hotline-signature"], expected)
    accepted, dispatched = receiver.payloads()
    assert accepted["external_id"] == "JS20250926000123" and accepted["number"].startswith("NT20250926")
    assert (accepted["status"], accepted["previous_status"], accepted["unit"]) == ("dispatching", None, None)
    assert accepted["kind"] == "directive"
    assert (dispatched["status"], dispatched["previous_status"]) == ("signing", "dispatching")
    assert dispatched["unit"] == {"code": "nt_chongchuan", "name": "崇川区人民政府"}
    assert dispatched["handle_due_at"] == DUE.isoformat() and dispatched["reply"] is None
    assert all(d.state == "delivered" and d.delivered_at == clock.now() for d in deliveries(db))
    with db.unit_of_work() as session:
        assert session.scalar(select(UpstreamLink.last_status)) == "signing"
    assert deliver(db, clock)["delivered"] == 0 and len(receiver.requests) == 2      # nothing is sent twice


def test_a_failed_attempt_is_retried_with_back_off_on_the_engine_clock(db, clock, platform, receiver, store):
    receiver.statuses = [500, 503]
    start = clock.now()
    push(db, clock, store, platform.id)
    assert deliver(db, clock)["failed"] == 1
    (delivery,) = deliveries(db)
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == start + timedelta(minutes=1) and delivery.last_error.startswith("HTTP 500")
    clock.set(start + timedelta(seconds=59))
    assert deliver(db, clock)["failed"] == 0 and len(receiver.requests) == 1          # not due yet
    clock.set(start + timedelta(minutes=1))
    assert deliver(db, clock)["failed"] == 1
    (delivery,) = deliveries(db)
    assert delivery.attempts == 2 and delivery.next_attempt_at == start + timedelta(minutes=3)
    assert delivery.last_error.startswith("HTTP 503")
    clock.set(start + timedelta(minutes=3))
    assert deliver(db, clock)["delivered"] == 1
    (delivery,) = deliveries(db)
    assert (delivery.state, delivery.last_error, delivery.delivered_at) == ("delivered", None, clock.now())
    # every attempt was the same delivery with the same body: the receiver can de-duplicate
    assert {r["headers"]["x-hotline-delivery"] for r in receiver.requests} == {str(delivery.id)}
    assert len({r["body"] for r in receiver.requests}) == 1 and len(receiver.requests) == 3


def test_the_back_off_doubles_up_to_an_hour():
    assert [backoff(n) // timedelta(minutes=1) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_after_the_last_attempt_a_delivery_is_dead_until_an_administrator_requeues_it(db, clock, platform, receiver,
                                                                                        store):
    receiver.statuses = [500] * 3
    ticket_id = push(db, clock, store, platform.id)
    for attempt in range(1, 4):
        counts = deliver(db, clock, max_attempts=3)
        assert counts["dead" if attempt == 3 else "failed"] == 1
        clock.set(clock.now() + backoff(attempt))
    (delivery,) = deliveries(db)
    assert (delivery.state, delivery.attempts) == ("dead", 3) and delivery.last_error.startswith("HTTP 500")
    clock.set(clock.now() + timedelta(days=1))
    assert deliver(db, clock, max_attempts=3) == {"queued": 0, "delivered": 0, "failed": 0, "dead": 0, "stale": 0}
    assert len(receiver.requests) == 3
    # a dead report no longer holds the ticket's later ones back
    complete(db, clock, ticket_id, "dispatch", "dispatcher", {"unit": "nt_chongchuan"})
    assert deliver(db, clock, max_attempts=3)["delivered"] == 1
    assert receiver.payloads()[-1]["stage"] == "dispatched"
    with db.unit_of_work() as session:
        facade = Hotline(session, clock)
        assert facade.webhook_counts(ADMIN)["by_state"] == {"pending": 0, "delivered": 1, "dead": 1}
        assert [d.id for d, _c in facade.webhook_deliveries(ADMIN, state="dead")] == [delivery.id]
        with pytest.raises(PermissionDenied):
            facade.retry_webhook(Principal("dispatcher", frozenset({"dispatcher"})), delivery.id)
        with pytest.raises(NotFound):
            facade.retry_webhook(ADMIN, delivery.id + 100)
        requeued, client = facade.retry_webhook(ADMIN, delivery.id)
        assert (requeued.state, requeued.attempts, requeued.next_attempt_at) == ("pending", 0, clock.now())
        assert client.name == "jiangsu-12345"
        with pytest.raises(Conflict):                 # already queued: never reset one that may be in flight
            facade.retry_webhook(ADMIN, delivery.id)
    with db.unit_of_work() as session:
        logged = session.scalar(select(Event).where(Event.type == "webhook_requeued"))
        assert logged.actor == "admin" and logged.data["delivery_id"] == delivery.id
    assert deliver(db, clock, max_attempts=3)["delivered"] == 1 and len(receiver.requests) == 5
    assert receiver.payloads()[-1]["stage"] == "accepted"          # the requeued one, late but delivered
    with db.unit_of_work() as session, pytest.raises(Conflict):
        Hotline(session, clock).retry_webhook(ADMIN, delivery.id)          # delivered: nothing to retry


def test_a_tickets_reports_wait_for_its_earlier_one_but_not_for_other_tickets(db, clock, platform, receiver, store):
    receiver.statuses = [500]
    first = push(db, clock, store, platform.id, "JS-A")
    complete(db, clock, first, "dispatch", "dispatcher", {"unit": "nt_chongchuan"})
    other = push(db, clock, store, platform.id, "JS-B")
    counts = deliver(db, clock)
    assert (counts["failed"], counts["delivered"]) == (1, 1)
    assert [p["external_id"] for p in receiver.payloads()] == ["JS-A", "JS-B"]      # JS-A's dispatch waits
    assert [d.state for d in deliveries(db, first)] == ["pending", "pending"]
    assert [d.state for d in deliveries(db, other)] == ["delivered"]
    clock.set(clock.now() + timedelta(minutes=1))
    assert deliver(db, clock)["delivered"] == 2
    assert [(p["external_id"], p["stage"]) for p in receiver.payloads()[2:]] == [("JS-A", "accepted"),
                                                                                ("JS-A", "dispatched")]


def test_two_delivery_runs_at_once_send_each_delivery_once(db, clock, platform, receiver, store):
    for n in range(4):
        push(db, clock, store, platform.id, f"JS-{n}")
    receiver.delay = 0.3          # long enough for both runs to be sending at the same time
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(deliver(db, clock))
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    ids = [r["headers"]["x-hotline-delivery"] for r in receiver.requests]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert sum(r["delivered"] for r in results) == 4
    assert all(d.state == "delivered" and d.attempts == 1 for d in deliveries(db))


def test_the_reply_and_the_close_carry_the_reply_text(db, clock, platform, receiver, store):
    ticket_id = push(db, clock, store, platform.id)
    complete(db, clock, ticket_id, "dispatch", "dispatcher", {"unit": "nt_chongchuan"})
    complete(db, clock, ticket_id, "sign", "nt_chongchuan.handler", {"decision": "accept"})
    complete(db, clock, ticket_id, "handle", "nt_chongchuan.handler", {"action": "reply", "reply": REPLY})
    complete(db, clock, ticket_id, "approve_reply", "nt_chongchuan.leader", {"approved": True})
    complete(db, clock, ticket_id, "review_reply", "dispatcher", {"approved": True})
    complete(db, clock, ticket_id, "callback", "callback", {"satisfied": True, "comment": "满意"})
    assert deliver(db, clock)["delivered"] == 7
    sent = receiver.payloads()
    assert [(p["event"], p["stage"]) for p in sent] == [
        ("status", "accepted"), ("status", "dispatched"), ("status", "signed"), ("status", "reply_submitted"),
        ("status", "reply_under_review"), ("reply", "replied"), ("closed", "closed")]
    assert [r["headers"]["x-hotline-event"] for r in receiver.requests][-2:] == ["reply", "closed"]
    reply, closed = sent[-2:]
    assert reply["reply"] == REPLY and reply["unit"]["name"] == "崇川区人民政府"
    assert closed["reply"] == REPLY and closed["outcome"] == "archived" and closed["closed_at"] == clock.now().isoformat()
    assert all(p["reply"] is None for p in sent[:-2])


def test_changes_no_command_reported_are_caught_up_by_the_delivery_run(db, clock, platform, receiver, store):
    ticket_id = push(db, clock, store, platform.id)
    with db.unit_of_work() as session:
        facade = Hotline(session, clock)
        master = facade.start_ticket(accounts.principal_for_username(session, "operator"), complaint()).id
        facade.merge_ticket(accounts.principal_for_username(session, "dispatcher"), ticket_id, master, "同一事项")
    assert len(deliveries(db, ticket_id)) == 1        # a merge has no _after_run: nothing queued yet
    counts = deliver(db, clock)
    assert (counts["queued"], counts["delivered"]) == (1, 2)
    merged = receiver.payloads()[-1]
    assert (merged["status"], merged["stage"], merged["previous_status"]) == ("merged", "merged", "dispatching")
    assert deliver(db, clock)["queued"] == 0


def test_a_platform_without_a_webhook_url_is_tracked_but_sent_nothing(db, clock, city, receiver, store):
    quiet = make_client(db, clock, name="national-duban")
    ticket_id = push(db, clock, store, quiet.id)
    complete(db, clock, ticket_id, "dispatch", "dispatcher", {"unit": "nt_chongchuan"})
    assert deliveries(db) == [] and deliver(db, clock)["delivered"] == 0 and receiver.requests == []
    with db.unit_of_work() as session:
        assert session.scalar(select(UpstreamLink.last_status)) == "signing"


def test_a_revoked_clients_deliveries_fail_without_a_request(db, clock, platform, receiver, store):
    push(db, clock, store, platform.id)
    with db.unit_of_work() as session:
        Hotline(session, clock).revoke_channel_client(ADMIN, platform.id)
    assert deliver(db, clock)["failed"] == 1 and receiver.requests == []
    assert "revoked" in deliveries(db)[0].last_error
