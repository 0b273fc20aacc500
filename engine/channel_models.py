"""Models of the channels and interoperability part: machine clients and their credentials, intake
idempotency, the citizen's receipt and rating, upstream (provincial/national) links, the outbound webhook
outbox and emergency hand-offs. Kept apart from ``models.py`` so each module says one thing; the tables
share the same metadata (``models`` imports this module at its end).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId, UTCDateTime


class ChannelClient(Base):
    """A machine that talks to the platform: a channel adapter (web, app, mini-program, grid, digital city
    management ...), an Open311 client, or an upstream platform that pushes directives. Its key is random
    and stored hashed (sha256, like API tokens); ``kind`` says which adapter maps its payloads."""
    __tablename__ = "channel_clients"
    __table_args__ = (UniqueConstraint("city", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))                 # e.g. "grid-chongchuan", "provincial-12345"
    channel: Mapped[str] = mapped_column(String(40))              # the city's channel code its tickets carry
    kind: Mapped[str] = mapped_column(String(20))                 # generic | grid | city_management | open311 | upstream
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(12))             # the key's first characters, to tell keys apart
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # upstream: where status and replies go back
    webhook_secret: Mapped[str | None] = mapped_column(String(100))   # HMAC-SHA256 key for the webhook signature
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IntakeRequest(Base):
    """One accepted request of a client under its idempotency key: a resend with the same key and body
    answers with the same ticket; the same key with another body is refused."""
    __tablename__ = "intake_requests"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key", name="uq_intake_requests_client_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))         # sha256 of the canonical request body
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketLocation(Base):
    """Where a request is about, as the channel sent it (grid and city-management reports, Open311)."""
    __tablename__ = "ticket_locations"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(60))     # 网格编码 / 万米单元格
    external_category: Mapped[str | None] = mapped_column(String(100))   # the channel's own classification


class CitizenReceipt(Base):
    """The query code a citizen tracks a ticket with, without an account (stored hashed)."""
    __tablename__ = "citizen_receipts"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CitizenRating(Base):
    """The citizen's own rating of a reply (portal or SMS link), one per reply round."""
    __tablename__ = "citizen_ratings"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_citizen_ratings_ticket_round"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)                   # 0 for the first reply, +1 per re-handling
    rating: Mapped[str] = mapped_column(String(30))               # satisfied | basically_satisfied | dissatisfied
    comment: Mapped[str | None] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(10))                  # portal | sms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UpstreamLink(Base):
    """A ticket that came from an upstream platform, under that platform's own id."""
    __tablename__ = "upstream_links"
    __table_args__ = (UniqueConstraint("client_id", "external_id", name="uq_upstream_links_client_external"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    external_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(30))   # the last status reported back


class WebhookDelivery(Base):
    """The outbox of status and reply reports to an upstream platform: retried with back-off until
    delivered, then kept; after the last attempt it is dead (the dead-letter list) until requeued."""
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event: Mapped[str] = mapped_column(String(30))                # status | reply | closed
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))                # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmergencyTransfer(Base):
    """An emergency taken at intake and handed to 110/119/120/122 instead of normal dispatch, with the
    time of each step of the hand-off."""
    __tablename__ = "emergency_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    agency: Mapped[str] = mapped_column(String(3))                # 110 | 119 | 120 | 122
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))                # requested | handed_over | acknowledged
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(80))
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_by: Mapped[str | None] = mapped_column(String(80))
    agency_reference: Mapped[str | None] = mapped_column(String(100))   # the agency's incident number
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
