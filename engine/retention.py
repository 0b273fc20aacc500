"""Retention: attachments are kept for the city's period after their ticket closed, then their bytes are
deleted (the row keeps name, type, size and checksum, and the ticket's log records the purge).

``city.json`` ``retention.attachments_days`` (none: kept). Call recordings are not stored by this
platform (they stay in the telephony system, whose own retention applies); a city records that period
as ``retention.recordings_days`` so the settings page shows one place for both.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from .cities import city_raw
from .models import Attachment, Deployment, Ticket
from .runtime import append_event


def retention_days(city: str) -> dict:
    raw = city_raw(city).get("retention") or {}
    return {"attachments_days": raw.get("attachments_days"), "recordings_days": raw.get("recordings_days")}


def purge_expired_attachments(session, clock, store, limit: int = 500) -> int:
    """Delete the bytes of attachments whose ticket closed more than the city's period ago."""
    now = clock.now()
    purged = 0
    for city in sorted(set(session.scalars(select(Deployment.city)))):
        days = retention_days(city)["attachments_days"]
        if not days:
            continue
        rows = session.execute(select(Attachment, Ticket).join(Ticket, Ticket.id == Attachment.ticket_id).where(
            Ticket.city == city, Attachment.purged_at.is_(None), Ticket.closed_at.is_not(None),
            Ticket.closed_at < now - timedelta(days=int(days))).order_by(Attachment.id).limit(limit - purged))
        for attachment, ticket in rows:
            store.delete(attachment.storage_key)
            attachment.purged_at = now
            append_event(session, ticket.id, "attachment_purged", actor="system", at=now,
                         deployment_id=ticket.deployment_id,
                         data={"attachment_id": attachment.id, "filename": attachment.filename,
                               "sha256": attachment.sha256, "retention_days": int(days)})
            purged += 1
        if purged >= limit:
            break
    return purged
