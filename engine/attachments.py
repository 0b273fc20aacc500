"""Ticket attachments (photos and files): stored safely, checked by size and by content, never by name.

Files go to a directory outside the web root under a random key (the user's file name is kept only as
metadata, cleaned). The type is detected from the first bytes: JPEG, PNG, GIF, WebP and PDF are accepted;
anything else (HTML, SVG, scripts, executables, archives) is refused. Downloads are served as attachments
with ``X-Content-Type-Options: nosniff`` by the HTTP layer.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from pathlib import Path

from sqlalchemy import select

from .accounts import Principal
from .errors import NotFound, field_error
from .models import Attachment
from .runtime import append_event

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)
MAX_PER_TICKET = 50
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def may_upload(actor: Principal) -> bool:
    """Everyone who works tickets may add photos and files; auditors only read."""
    return not (actor.has("auditor") and not actor.has("admin", "supervisor", "dispatcher", "operator"))


def detect_type(data: bytes) -> tuple[str, str] | None:
    for magic, mime, ext in SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def _megabytes(size: int) -> str:
    return f"{size / 1048576:.1f}".removesuffix(".0")


def file_problem(data: bytes, max_bytes: int, *, photos_only: bool = False) -> dict | None:
    """Why a file would be refused ({code, message_zh, message_en}), or None: the one rule every upload path
    (task pages, channels, upstream platforms, Open311, the portal) checks for all its files before it
    stores any of them. Types are read from the content, never from the name."""
    if not data:
        return {"code": "empty", "message_zh": "文件为空", "message_en": "The file is empty"}
    if len(data) > max_bytes:
        return {"code": "too_large", "message_zh": f"文件超过{_megabytes(max_bytes)}MB",
                "message_en": f"The file is larger than {_megabytes(max_bytes)} MB"}
    kind = detect_type(data)
    if photos_only and (kind is None or kind[0] not in PHOTO_TYPES):
        return {"code": "type_not_allowed", "message_zh": "不是JPEG/PNG/GIF/WebP照片",
                "message_en": "Not a JPEG, PNG, GIF or WebP photo"}
    if kind is None:
        return {"code": "type_not_allowed", "message_zh": "只接受照片（JPEG/PNG/GIF/WebP）和PDF文件",
                "message_en": "Only photos (JPEG/PNG/GIF/WebP) and PDF files are accepted"}
    return None


def clean_name(name: str | None, ext: str) -> str:
    """A display name: no path, no control characters, at most 120 characters, the detected extension."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "", base).strip(" .") or "attachment"
    stem = base.rsplit(".", 1)[0][:100] or "attachment"
    return stem + ext


class AttachmentStore:
    def __init__(self, directory: str | Path, max_bytes: int):
        self.directory = Path(directory)
        self.max_bytes = max_bytes

    def write(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        target = self.directory / key[:2] / key
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(data)
        except OSError:
            target.unlink(missing_ok=True)       # a full disk leaves no partial file behind
            raise
        return key

    def read(self, key: str) -> bytes:
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise NotFound("附件不存在", "Attachment not found")
        return (self.directory / key[:2] / key).read_bytes()

    def delete(self, key: str) -> None:
        if re.fullmatch(r"[0-9a-f]{32}", key):
            (self.directory / key[:2] / key).unlink(missing_ok=True)


def _invalid(code: str, zh: str, en: str):
    return field_error("file", code, zh, en, message_zh=zh, message_en=en)


class AttachmentCommands:
    """Mixed into ``Hotline``: whoever may see a ticket may add photos and files to it and read them."""

    def add_attachment(self, actor: Principal, ticket_id: int, filename: str | None, data: bytes,
                       store: AttachmentStore) -> Attachment:
        ticket = self.get_ticket(actor, ticket_id)      # 404 for tickets the actor cannot see
        if not may_upload(actor):
            raise _invalid("read_only", "审计员只读，不能上传附件", "Auditors are read-only")
        problem = file_problem(data, store.max_bytes)
        if problem:
            raise _invalid(problem["code"], problem["message_zh"], problem["message_en"])
        kind = detect_type(data)
        count = len(self.attachments(actor, ticket_id))
        if count >= MAX_PER_TICKET:
            raise _invalid("too_many", f"每张工单最多{MAX_PER_TICKET}个附件", f"At most {MAX_PER_TICKET} attachments")
        ticket = self._lock_ticket(ticket.id)
        key = store.write(data)
        now = self.clock.now()
        attachment = Attachment(ticket_id=ticket.id, filename=clean_name(filename, kind[1]), content_type=kind[0],
                                size=len(data), sha256=hashlib.sha256(data).hexdigest(), storage_key=key,
                                uploaded_by=actor.username, uploaded_at=now)
        self.session.add(attachment)
        self.session.flush()
        append_event(self.session, ticket.id, "attachment_added", actor=actor.username, at=now,
                     deployment_id=ticket.deployment_id,
                     data={"attachment_id": attachment.id, "filename": attachment.filename,
                           "content_type": attachment.content_type, "size": attachment.size,
                           "sha256": attachment.sha256})
        return attachment

    def attachments(self, actor: Principal, ticket_id: int) -> list[Attachment]:
        self.get_ticket(actor, ticket_id)
        return list(self.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id)
                                         .order_by(Attachment.id)))

    def attachment_content(self, actor: Principal, attachment_id: int, store: AttachmentStore) -> tuple[Attachment, bytes]:
        attachment = self.session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound("附件不存在", "Attachment not found")
        self.get_ticket(actor, attachment.ticket_id)   # same 404 when the ticket is not the actor's
        if attachment.purged_at is not None:
            raise NotFound(f"附件已于{attachment.purged_at:%Y-%m-%d}按保存期限删除",
                           f"The file was deleted on {attachment.purged_at:%Y-%m-%d} at the end of its retention")
        data = store.read(attachment.storage_key)
        if hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise NotFound("附件已损坏", "The stored file does not match its checksum")
        return attachment, data
