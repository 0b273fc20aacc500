"""Notifications in the engine: recipients, the working-hours hold, urgent messages, delivery with
retries, and the outbound channels against local servers (an HTTP gateway and an SMTP sink)."""
from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from engine import accounts
from engine.facade import Hotline
from engine.models import Message, User
from engine.notifications import deliver_due
from engine.outbound import EmailChannel, LoggingChannel, SmsGatewayChannel
from engine.replay import replay_ticket
from engine.models import Ticket
from tests.conftest import at, complaint


class Recorder:
    """An outbound channel that remembers what it sent (and can be told to fail)."""

    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def send(self, message, user):
        if self.fail:
            raise ConnectionRefusedError("gateway down")
        self.sent.append((user.username, message.kind, message.title))


def principal(session, username):
    return accounts.principal_for_username(session, username)


def start(db, clock, **overrides):
    with db.unit_of_work() as s:
        ticket = Hotline(s, clock).start_ticket(principal(s, "operator"),
                                                {**complaint(**overrides), "received_at": clock.now()})
        return ticket.id


def dispatch(db, clock, ticket_id, unit="nt_chongchuan"):
    with db.unit_of_work() as s:
        facade = Hotline(s, clock)
        task = facade.list_tasks(principal(s, "dispatcher"), ticket_id=ticket_id)[0]
        facade.complete_task(principal(s, "dispatcher"), task.id, {"unit": unit})


def messages(db, **where):
    with db.unit_of_work() as s:
        query = select(Message).order_by(Message.id)
        for column, value in where.items():
            query = query.where(getattr(Message, column) == value)
        return list(s.scalars(query))


def deliver(db, clock, channel):
    with db.unit_of_work() as s:
        return deliver_due(s, clock, channel, 100)


def test_dispatch_notifies_the_units_handler_only(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    ticket_id = start(db, clock)
    assert [(m.username, m.kind) for m in messages(db)] == [("dispatcher", "task")]
    dispatch(db, clock, ticket_id)
    sign = messages(db, task_id=messages(db)[-1].task_id)
    assert [m.username for m in sign] == ["nt_chongchuan.handler"]
    message = sign[0]
    assert message.kind == "task" and message.title.startswith("新任务：签收 NT20251103")
    assert message.ticket_id == ticket_id and message.city == "nantong" and message.urgent is False
    assert message.deliver_after == message.created_at == at("2025-11-03T09:00:00")   # inside working time
    everyone = {m.username for m in messages(db)}
    assert not everyone & {"nt_housing.handler", "nt_chongchuan.leader", "nt_housing.leader"}


@pytest.mark.parametrize("created, released", [
    ("2025-11-03T20:00:00", "2025-11-04T08:30:00"),     # a Monday evening
    ("2025-11-08T10:00:00", "2025-11-10T08:30:00"),     # a Saturday
])
def test_messages_outside_working_time_are_held_until_the_next_working_instant(db, clock, city, created, released):
    clock.set(at(created))
    start(db, clock)
    [message] = messages(db)
    assert message.deliver_after == at(released) and message.urgent is False
    channel = Recorder()
    assert deliver(db, clock, channel)["delivered"] == 0
    clock.set(at(released).replace(minute=29))
    assert deliver(db, clock, channel)["delivered"] == 0 and channel.sent == []
    clock.set(at(released))
    assert deliver(db, clock, channel)["delivered"] == 1
    assert channel.sent == [("dispatcher", "task", message.title)]
    assert messages(db)[0].delivered_at == at(released)
    assert deliver(db, clock, channel)["delivered"] == 0         # sent once


def test_a_directive_message_is_urgent_and_goes_at_once(db, clock, city):
    clock.set(at("2025-11-08T10:00:00"))                          # Saturday
    ticket_id = start(db, clock, channel="provincial_platform", directive_due_at=at("2025-11-14T17:30:00"))
    dispatch(db, clock, ticket_id)
    handler = messages(db, username="nt_chongchuan.handler")
    assert len(handler) == 1 and handler[0].urgent is True and handler[0].deliver_after == at("2025-11-08T10:00:00")
    channel = Recorder()
    deliver(db, clock, channel)
    assert ("nt_chongchuan.handler", "task", handler[0].title) in channel.sent


def test_a_failing_channel_keeps_the_message_for_the_next_sweep(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    start(db, clock)
    assert deliver(db, clock, Recorder(fail=True)) == {"delivered": 0, "skipped": 0, "failed": 1}
    [message] = messages(db)
    assert message.delivered_at is None and "gateway down" in message.delivery_error
    clock.set(at("2025-11-03T09:00:05"))
    channel = Recorder()
    assert deliver(db, clock, channel)["delivered"] == 1
    [message] = messages(db)
    assert message.delivered_at == at("2025-11-03T09:00:05") and message.delivery_error is None
    assert len(channel.sent) == 1


def test_a_user_without_an_address_is_skipped_but_keeps_the_in_app_message(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    start(db, clock)
    counts = deliver(db, clock, EmailChannel("127.0.0.1", 9, "hotline@example.org"))   # never connected
    assert counts == {"delivered": 0, "skipped": 1, "failed": 0}
    [message] = messages(db)
    assert message.delivered_at is not None and message.delivery_error == "no address" and message.read_at is None
    with db.unit_of_work() as s:
        items, unread = Hotline(s, clock).messages(principal(s, "dispatcher"))
    assert [m.id for m in items] == [message.id] and unread == 1


def test_logging_channel_writes_one_json_line(db, clock, city, caplog):
    clock.set(at("2025-11-03T09:00:00"))
    start(db, clock)
    with caplog.at_level("INFO", logger="hotline.outbound"):
        deliver(db, clock, LoggingChannel())
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hotline.outbound"]
    assert len(lines) == 1 and lines[0]["to"] == "dispatcher" and lines[0]["kind"] == "task"


def test_replaying_a_ticket_creates_no_messages(db, clock, city):
    clock.set(at("2025-11-03T09:00:00"))
    ticket_id = start(db, clock)
    dispatch(db, clock, ticket_id)
    clock.set(at("2025-11-03T11:00:01"))
    with db.unit_of_work() as s:
        Hotline(s, clock).fire_due_timers_of(ticket_id, "test")
    before = len(messages(db))
    assert {m.username for m in messages(db, kind="overdue")} == {"nt_chongchuan.handler", "nt_chongchuan.leader",
                                                                   "nt_chongchuan.deputy"}
    with db.unit_of_work() as s:
        assert replay_ticket(s, s.get(Ticket, ticket_id))["verified"] is True
    assert len(messages(db)) == before


# -- outbound channels against local servers -----------------------------------------------------
class _Gateway(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"code": 0}')

    def log_message(self, *args):
        pass


@pytest.fixture
def sms_gateway():
    _Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms/send", _Gateway.received
    server.shutdown()
    server.server_close()


def test_sms_gateway_channel_posts_json(db, clock, city, sms_gateway):
    url, received = sms_gateway
    with db.unit_of_work() as s:
        s.scalar(select(User).where(User.username == "dispatcher")).phone = "13900001111"
    clock.set(at("2025-11-03T09:00:00"))
    start(db, clock)
    assert deliver(db, clock, SmsGatewayChannel(url))["delivered"] == 1
    [(path, content_type, payload)] = received
    assert path == "/sms/send" and content_type.startswith("application/json")
    assert payload["to"] == "13900001111" and payload["text"].startswith("新任务：派单 NT20251103")


def test_sms_gateway_errors_leave_the_message_undelivered(db, clock, city):
    with db.unit_of_work() as s:
        s.scalar(select(User).where(User.username == "dispatcher")).phone = "13900001111"
    clock.set(at("2025-11-03T09:00:00"))
    start(db, clock)
    counts = deliver(db, clock, SmsGatewayChannel("http://127.0.0.1:9/nothing-listens", timeout=1))
    assert counts["failed"] == 1 and messages(db)[0].delivered_at is None


class _SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""
    received: list = []

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ESMTP")
        envelope = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                envelope["from"] = command
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                type(self).received.append({**envelope, "data": data})
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_sink():
    _SmtpSink.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _SmtpSink.received
    server.shutdown()
    server.server_close()


def test_email_channel_sends_through_smtp(db, clock, city, smtp_sink):
    port, received = smtp_sink
    with db.unit_of_work() as s:
        s.scalar(select(User).where(User.username == "dispatcher")).email = "dispatcher@example.org"
    clock.set(at("2025-11-03T09:00:00"))
    start(db, clock)
    assert deliver(db, clock, EmailChannel("127.0.0.1", port, "hotline@example.org"))["delivered"] == 1
    [mail] = received
    assert "<hotline@example.org>" in mail["from"] and [r.upper() for r in mail["rcpt"]] == ["RCPT TO:<DISPATCHER@EXAMPLE.ORG>"]
    parsed = email.message_from_bytes(mail["data"], policy=email.policy.default)
    assert parsed["Subject"].startswith("新任务：派单 NT20251103") and parsed["To"] == "dispatcher@example.org"
    assert "夜间施工噪音扰民" in parsed.get_content()
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.delivered_at.is_(None))) == 0


def test_the_outbound_channel_is_chosen_and_validated_from_the_environment():
    from engine.config import Settings
    from engine.errors import ValidationFailed
    from engine.outbound import make_channel

    base = {"HOTLINE_SECRET_KEY": "x", "HOTLINE_DATABASE_URL": "sqlite:///:memory:"}
    assert isinstance(make_channel(Settings.from_env(base)), LoggingChannel)
    sms = Settings.from_env({**base, "HOTLINE_OUTBOUND": "sms", "HOTLINE_SMS_URL": "http://127.0.0.1:1/send"})
    assert isinstance(make_channel(sms), SmsGatewayChannel) and make_channel(sms).timeout == 5
    mail = make_channel(Settings.from_env({**base, "HOTLINE_OUTBOUND": "email", "HOTLINE_SMTP_HOST": "relay",
                                           "HOTLINE_SMTP_PORT": "2525", "HOTLINE_SMTP_FROM": "a@b.cn"}))
    assert (mail.host, mail.port, mail.sender) == ("relay", 2525, "a@b.cn")
    for bad in ({"HOTLINE_OUTBOUND": "pigeon"}, {"HOTLINE_OUTBOUND": "sms"},
                {"HOTLINE_OUTBOUND": "sms", "HOTLINE_SMS_URL": "ftp://x"}):
        with pytest.raises(ValidationFailed):
            Settings.from_env({**base, **bad})
