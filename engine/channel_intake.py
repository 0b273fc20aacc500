"""Intake from machine clients (channel adapters): one request, one ticket, exactly once.

A client sends each request under an idempotency key of its choosing. The first request with a key creates
the ticket through ``Hotline.start_ticket`` (the client's principal, the normal lifecycle) and stores an
``IntakeRequest``: client, key, the sha256 of the canonical request and the ticket. A resend with the same
key and the same request creates nothing and answers with that ticket (a replay); the same key with another
request is refused. Two identical requests racing past the first look-up meet at the unique constraint
``uq_intake_requests_client_key``: the loser's insert fails inside a savepoint, its ticket goes with the
savepoint, and it answers with the winner's ticket.

Photos are checked (type by their first bytes, size, count) before anything is stored, and written only
once the request has won its key, so a refused or lost request leaves neither rows nor files. Mixed into
``Hotline``; nothing here commits.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .attachments import AttachmentStore, file_problem
from .channel_adapters import INTAKE_KINDS, MappedIntake, Upload, adapt
from .channel_clients import principal_for
from .channel_models import ChannelClient, IntakeRequest, TicketLocation
from .errors import Conflict, DomainError, NotFound, ValidationFailed
from .models import Attachment, Ticket
from .runtime import append_event

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,120}")     # visible ASCII: what a header carries unambiguously
MAX_UPLOADS = 9
RECEIVED_EVENT = "channel_request_received"


class IdempotencyKeyMissing(DomainError):
    code = "idempotency_key_missing"
    message_zh = "缺少 Idempotency-Key 请求头：每个请求须带唯一的幂等键，重发时使用同一个键"
    message_en = "The Idempotency-Key header is missing: send a unique key with each request, the same one on a resend"


class IdempotencyKeyInvalid(ValidationFailed):
    code = "idempotency_key_invalid"
    message_zh = "Idempotency-Key 须为1至120个可见ASCII字符（不含空格）"
    message_en = "The Idempotency-Key must be 1 to 120 visible ASCII characters (no spaces)"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message_zh = "该幂等键已用于另一个不同内容的请求"
    message_en = "This idempotency key was already used for a different request"


def idempotency_key(raw: str | None) -> str:
    if raw is None or raw == "":
        raise IdempotencyKeyMissing()
    if not KEY_PATTERN.fullmatch(raw):
        raise IdempotencyKeyInvalid(details={IDEMPOTENCY_HEADER: [{
            "code": "idempotency_key_invalid", "message_zh": IdempotencyKeyInvalid.message_zh,
            "message_en": IdempotencyKeyInvalid.message_en}]})
    return raw


def request_digest(document, uploads: list[Upload] = ()) -> str:
    """sha256 of the request as data, not bytes: key order and whitespace do not count; a multipart
    request's files count by name and content."""
    canonical = json.dumps({"body": document, "files": [[u.filename, hashlib.sha256(u.data).hexdigest()]
                                                        for u in uploads]},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class IntakeResult:
    intake: IntakeRequest
    ticket: Ticket
    replayed: bool
    attachments: list[Attachment]
    location: TicketLocation | None


class _RecordingStore(AttachmentStore):
    """The attachment store, remembering what it wrote so a failed request can take its files back."""

    def __init__(self, store: AttachmentStore):
        super().__init__(store.directory, store.max_bytes)
        self.written: list[str] = []

    def write(self, data: bytes) -> str:
        key = super().write(data)
        self.written.append(key)
        return key

    def discard(self) -> None:
        for key in self.written:
            self.delete(key)


def check_uploads(uploads: list[Upload], max_bytes: int) -> None:
    """Every photo acceptable, or the whole request is refused with each bad one named."""
    if len(uploads) > MAX_UPLOADS:
        raise ValidationFailed("附件过多", "Too many files", details={"attachments": [{
            "code": "too_many", "message_zh": f"每个请求最多{MAX_UPLOADS}个附件",
            "message_en": f"At most {MAX_UPLOADS} files per request"}]})
    errors = {u.field: [problem] for u in uploads if (problem := file_problem(u.data, max_bytes))}
    if errors:
        raise ValidationFailed("附件不符合要求，请求未受理", "A file was refused; nothing was stored", details=errors)


def _renamed(error: ValidationFailed, names: dict) -> ValidationFailed:
    """start_ticket's field errors under the names the channel's payload uses."""
    if isinstance(error.details, dict):
        error.details = {names.get(k, k): v for k, v in error.details.items()}
    return error


class ChannelIntakeCommands:
    def channel_replay(self, client: ChannelClient, key: str, digest: str) -> IntakeResult | None:
        """The earlier answer to this key, if any: the same request gets it again, another request a 409."""
        intake = self.session.scalar(select(IntakeRequest).where(IntakeRequest.client_id == client.id,
                                                                 IntakeRequest.idempotency_key == key))
        if intake is None:
            return None
        if intake.request_hash != digest:
            raise IdempotencyKeyReused(details={"ticket_number": self.session.get(Ticket, intake.ticket_id).number})
        return self._result(client, intake, replayed=True)

    def channel_intake(self, client: ChannelClient, key: str, digest: str, payload: dict,
                       uploads: list[Upload], store: AttachmentStore) -> IntakeResult:
        """Create the ticket of a new request (``payload`` validated by the client kind's schema; ``uploads``
        are multipart files beside it). Call ``channel_replay`` first."""
        if client.kind not in INTAKE_KINDS:
            raise NotFound("该接入方不能提交诉求", "This client cannot submit requests")
        mapped = adapt(client.kind, client.city, client.channel, payload)
        mapped.uploads.extend(uploads)
        check_uploads(mapped.uploads, store.max_bytes)
        actor = principal_for(client)
        try:
            with self.session.begin_nested():
                ticket, intake = self._create(client, key, digest, mapped, actor)
        except IntegrityError:
            # A concurrent request with the same key committed first (its row was invisible to the look-up).
            winner = self.channel_replay(client, key, digest)
            if winner is None:
                raise
            return winner
        recording = _RecordingStore(store)
        try:
            for upload in mapped.uploads:
                self.add_attachment(actor, ticket.id, upload.filename, upload.data, recording)
        except BaseException:
            recording.discard()
            raise
        return self._result(client, intake, replayed=False)

    def _create(self, client: ChannelClient, key: str, digest: str, mapped: MappedIntake, actor):
        try:
            ticket = self.start_ticket(actor, mapped.ticket)
        except ValidationFailed as error:
            raise _renamed(error, mapped.fields)
        now = self.clock.now()
        intake = IntakeRequest(client_id=client.id, idempotency_key=key, request_hash=digest, ticket_id=ticket.id,
                               created_at=now)
        self.session.add(intake)
        self.session.flush()          # claims the key before anything else is written
        if mapped.location:
            self.session.add(TicketLocation(ticket_id=ticket.id, **mapped.location))
        append_event(self.session, ticket.id, RECEIVED_EVENT, actor=actor.username, at=now,
                     deployment_id=ticket.deployment_id,
                     data={"client": client.name, "kind": client.kind, "idempotency_key": key,
                           "reference": mapped.reference, "external_category": mapped.external_category,
                           "mapping": mapped.mapping, "files": len(mapped.uploads)})
        return ticket, intake

    def channel_ticket(self, client: ChannelClient, number: str) -> IntakeResult:
        """A ticket this client created, for its progress; other tickets are not found."""
        intake = self.session.scalar(select(IntakeRequest).join(Ticket, Ticket.id == IntakeRequest.ticket_id)
                                     .where(IntakeRequest.client_id == client.id, Ticket.number == number))
        if intake is None:
            raise NotFound("工单不存在", "Ticket not found")
        return self._result(client, intake, replayed=False)

    def _result(self, client: ChannelClient, intake: IntakeRequest, *, replayed: bool) -> IntakeResult:
        ticket = self.session.get(Ticket, intake.ticket_id)
        files = list(self.session.scalars(select(Attachment).where(
            Attachment.ticket_id == ticket.id, Attachment.uploaded_by == principal_for(client).username)
            .order_by(Attachment.id)))
        return IntakeResult(intake, ticket, replayed, files, self.session.get(TicketLocation, ticket.id))
