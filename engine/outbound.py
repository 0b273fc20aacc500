"""Outbound notification channels: how a message leaves the platform besides the in-app inbox.

A channel has one method, ``send(message, user)``. It raises ``NoAddress`` when the user has no
address for it (the message is then marked delivered with ``delivery_error="no address"``) and any
other exception for a failure worth retrying (the message stays undelivered until the next sweep).
The channel is chosen by ``HOTLINE_OUTBOUND`` (``Settings.outbound``).
"""
from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Protocol

from .config import Settings
from .errors import NoAddress
from .models import Message, User

log = logging.getLogger("hotline.outbound")
SMS_TIMEOUT = 5.0
SMTP_TIMEOUT = 10.0
SMS_MAX_CHARS = 300


class OutboundChannel(Protocol):
    def send(self, message: Message, user: User) -> None:
        ...


def message_text(message: Message) -> str:
    return f"{message.title}\n{message.body}" if message.body else message.title


class LoggingChannel:
    """The default: one JSON line per message on the ``hotline.outbound`` logger."""
    name = "logging"

    def send(self, message: Message, user: User) -> None:
        log.info(json.dumps({"channel": self.name, "message_id": message.id, "to": user.username,
                             "kind": message.kind, "urgent": message.urgent, "ticket_id": message.ticket_id,
                             "title": message.title}, ensure_ascii=False))


class EmailChannel:
    """Plain SMTP (no authentication) to a relay, e.g. the city's internal mail gateway."""
    name = "email"

    def __init__(self, host: str, port: int, sender: str, timeout: float = SMTP_TIMEOUT):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def build(self, message: Message, user: User) -> EmailMessage:
        if not user.email:
            raise NoAddress()
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = user.email
        mail["Subject"] = ("【紧急】" if message.urgent else "") + message.title
        mail["X-Hotline-Message-Id"] = str(message.id)
        # base64 keeps the Chinese body intact through relays that do not speak 8BITMIME.
        mail.set_content(message_text(message), charset="utf-8", cte="base64")
        return mail

    def send(self, message: Message, user: User) -> None:
        mail = self.build(message, user)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(mail)


class SmsGatewayChannel:
    """HTTP POST of ``{"to": phone, "text": ...}`` as JSON, the shape most SMS gateways' HTTP APIs take."""
    name = "sms"

    def __init__(self, url: str, timeout: float = SMS_TIMEOUT):
        self.url, self.timeout = url, timeout

    def payload(self, message: Message, user: User) -> dict:
        if not user.phone:
            raise NoAddress()
        text = ("【紧急】" if message.urgent else "") + message_text(message).replace("\n", " ")
        return {"to": user.phone, "text": text[:SMS_MAX_CHARS]}

    def send(self, message: Message, user: User) -> None:
        data = json.dumps(self.payload(message, user), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        # urlopen raises HTTPError for 4xx/5xx answers, which leaves the message for the next sweep.
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


def send_text(channel: OutboundChannel, phone: str, text: str) -> None:
    """A text to a phone number that belongs to no user (a citizen's rating link): posted to the SMS
    gateway when that is the channel; any other channel logs it (a citizen has no e-mail address here)."""
    text = text.replace("\n", " ")[:SMS_MAX_CHARS]
    if not isinstance(channel, SmsGatewayChannel):
        log.info(json.dumps({"channel": getattr(channel, "name", "logging"), "to": phone[:3] + "****" + phone[-4:],
                             "kind": "citizen_text", "text": text}, ensure_ascii=False))
        return
    request = urllib.request.Request(channel.url, data=json.dumps({"to": phone, "text": text}, ensure_ascii=False)
                                     .encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=channel.timeout) as response:   # 4xx/5xx raise: retried
        response.read()


def make_channel(settings: Settings) -> OutboundChannel:
    if settings.outbound == "email":
        return EmailChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from)
    if settings.outbound == "sms":
        return SmsGatewayChannel(settings.sms_url)
    return LoggingChannel()
