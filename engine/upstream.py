"""Directives pushed down by upstream platforms (江苏12345在线, 国务院“互联网+督查” ...).

A record (format in docs/upstream.md) becomes a ticket started like any other (``Hotline.start_ticket``), by
the client's principal, on the client's channel. The city's ``ticket_kind`` table makes the provincial and
national channels directives, and the upstream deadline (``due_at``) becomes the directive's handling
deadline. An ``UpstreamLink`` ties (client, external_id) to the ticket, so its status goes back through the
webhook (``engine/webhooks.py``). The upstream number is the record's idempotency key (an ``IntakeRequest``
holds the digest of what was accepted under it): the same record again is answered with the same ticket, another
record under the same number is a conflict.

A file of records (a JSON array, or JSON Lines) is imported record by record, each in its own SAVEPOINT:
one bad record is refused with its line and reason and does not hold back the others. Mixed into ``Hotline``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select

from .accounts import Principal
from .attachments import file_problem
from .channel_clients import principal_for
from .channel_models import ChannelClient, IntakeRequest, UpstreamLink
from .errors import AuthenticationFailed, Conflict, DomainError, ValidationFailed, field_error
from .models import Ticket
from .rulesets import record_admin_event
from .runtime import append_event
from .webhooks import report_status

MAX_ATTACHMENTS = 10
MAX_FILE_RECORDS = 1000


def request_digest(payload: dict) -> str:
    """sha256 of the record as understood (times as UTC instants), so a resend in another formatting or
    time zone is the same record."""
    def plain(value):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    text = json.dumps(plain(payload), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _attachment_error(index: int, code: str, zh: str, en: str) -> ValidationFailed:
    return field_error("attachments", code, f"第{index + 1}个附件：{zh}", f"attachment {index + 1}: {en}")


def decoded_attachments(items: list[dict], max_bytes: int) -> list[tuple[str, bytes]]:
    """(filename, bytes) of each base64 attachment, all checked before anything is stored."""
    if len(items) > MAX_ATTACHMENTS:
        raise field_error("attachments", "too_many", f"最多{MAX_ATTACHMENTS}个附件", f"at most {MAX_ATTACHMENTS} attachments")
    files = []
    for index, item in enumerate(items):
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise _attachment_error(index, "invalid_base64", "内容不是有效的Base64编码", "content_base64 is not valid base64")
        problem = file_problem(data, max_bytes)
        if problem:
            raise _attachment_error(index, problem["code"], problem["message_zh"], problem["message_en"])
        files.append((item["filename"], data))
    return files


def parse_records(data: bytes) -> list[tuple[int, object, DomainError | None]]:
    """(line, record, problem) for each record of a JSON array or a JSON Lines file. A JSON Lines line that
    is not JSON is a refused record; a file that is neither format is refused as a whole."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise field_error("file", "not_utf8", "文件必须是UTF-8编码的JSON或JSON Lines", "the file must be UTF-8 JSON or JSON Lines")
    body = text.lstrip()
    if not body:
        raise field_error("file", "empty", "文件为空", "the file is empty")
    if body.startswith("["):
        return _array_records(text)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line), None))
        except json.JSONDecodeError as exc:
            records.append((number, None, field_error("line", "invalid_json", f"不是有效的JSON：{exc.msg}",
                                                      f"not valid JSON: {exc.msg}")))
    return records


def _array_records(text: str) -> list[tuple[int, object, None]]:
    decoder, records = json.JSONDecoder(), []
    pos, line, counted = text.index("[") + 1, 1, 0

    def skip(at: int) -> int:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        return at

    try:
        pos = skip(pos)
        while pos < len(text) and text[pos] != "]":
            line += text.count("\n", counted, pos)
            counted = pos
            record, pos = decoder.raw_decode(text, pos)
            records.append((line, record, None))
            pos = skip(pos)
            if pos < len(text) and text[pos] == ",":
                pos = skip(pos + 1)
            elif pos >= len(text) or text[pos] != "]":
                raise json.JSONDecodeError("expected , or ]", text, pos)
        if pos >= len(text) or text[skip(pos + 1):]:
            raise json.JSONDecodeError("expected one JSON array", text, min(pos, len(text)))
    except json.JSONDecodeError as exc:
        raise field_error("file", "invalid_json", f"第{exc.lineno}行：不是有效的JSON数组（{exc.msg}）",
                          f"line {exc.lineno}: not a valid JSON array ({exc.msg})")
    return records


def error_dict(exc: DomainError) -> dict:
    return {"code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en, "details": exc.details}


class UpstreamCommands:
    """Mixed into ``Hotline``; uses ``start_ticket`` and ``add_attachment``."""

    def import_upstream_ticket(self, client: ChannelClient, payload: dict, *, store,
                               imported_by: str | None = None) -> tuple[Ticket, bool]:
        """(ticket, created): a new directive, or the ticket this record was already imported as."""
        if client.kind != "upstream" or not client.active:
            raise AuthenticationFailed("缺少或无效的接入密钥", "Missing or invalid client key")
        # One import per client at a time: two pushes of one number cannot both create a ticket.
        self.session.scalar(select(ChannelClient.id).where(ChannelClient.id == client.id).with_for_update())
        external_id, digest = payload["external_id"], request_digest(payload)
        accepted = self.session.scalar(select(IntakeRequest).where(IntakeRequest.client_id == client.id,
                                                                   IntakeRequest.idempotency_key == external_id))
        if accepted is not None:
            if accepted.request_hash != digest:
                raise Conflict(f"上级平台编号{external_id}已导入过内容不同的工单",
                               f"Upstream number {external_id} was already imported with different content",
                               details={"external_id": external_id, "ticket_id": accepted.ticket_id})
            return self.session.get(Ticket, accepted.ticket_id), False
        files = decoded_attachments(payload.get("attachments") or [], store.max_bytes)
        received, due = payload["received_at"], payload["due_at"]
        if due <= received:
            raise field_error("due_at", "before_received", "上级平台办理期限必须晚于受理时间", "must be after received_at")
        actor = principal_for(client)
        try:
            ticket = self.start_ticket(actor, {
                "city": client.city, "channel": client.channel, "request_type": payload["request_type"],
                "title": payload["title"], "content": payload["content"], "citizen": payload.get("citizen") or {},
                "address": payload.get("address"), "category": payload.get("category"), "received_at": received,
                "directive_due_at": due})
        except ValidationFailed as exc:
            if isinstance(exc.details, dict) and "directive_due_at" in exc.details:
                exc.details["due_at"] = exc.details.pop("directive_due_at")      # the field as the platform names it
            raise
        now = self.clock.now()
        link = UpstreamLink(client_id=client.id, ticket_id=ticket.id, external_id=external_id, received_at=now)
        self.session.add_all([link, IntakeRequest(client_id=client.id, idempotency_key=external_id,
                                                  request_hash=digest, ticket_id=ticket.id, created_at=now)])
        append_event(self.session, ticket.id, "upstream_received", actor=actor.username, at=now,
                     deployment_id=ticket.deployment_id,
                     data={"client": client.name, "external_id": external_id, "due_at": due.isoformat(),
                           "platform": payload.get("platform") or client.name, "sender": payload.get("sender"),
                           "imported_by": imported_by})
        for filename, data in files:
            self.add_attachment(actor, ticket.id, filename, data, store)
        report_status(self.session, now, link, ticket)       # 已受理: the platform learns our number at once
        return ticket, True

    def upstream_client(self, actor: Principal, *, client_id: int | None = None, name: str | None = None,
                        city: str | None = None) -> ChannelClient:
        """An active upstream client by id, or by name (and city, where two cities use one name)."""
        self._require(actor, "admin")
        query = select(ChannelClient).where(ChannelClient.kind == "upstream", ChannelClient.active.is_(True))
        if client_id is not None:
            query = query.where(ChannelClient.id == client_id)
        else:
            query = query.where(ChannelClient.name == (name or "").strip().lower())
            if city:
                query = query.where(ChannelClient.city == city)
        found = list(self.session.scalars(query.limit(2)))
        if not found:
            raise field_error("client_id" if client_id is not None else "client", "not_an_upstream_client",
                              "没有该上级平台接入方（或已停用）", "no active upstream client of that id or name")
        if len(found) > 1:
            raise field_error("client", "ambiguous", "多个城市有同名接入方，请指定城市",
                              "clients of that name exist in several cities; give the city")
        return found[0]

    def import_upstream_file(self, actor: Principal, client_id: int, data: bytes, *,
                             validate: Callable[[object], dict], store,
                             max_records: int | None = MAX_FILE_RECORDS) -> dict:
        """Import a file of records for an administrator; the report says per line: created, already
        imported, or refused with the reason. ``validate`` turns a record into the push's payload or
        raises ``ValidationFailed`` (the HTTP layer's schema)."""
        client = self.upstream_client(actor, client_id=client_id)
        records = parse_records(data)
        if max_records is not None and len(records) > max_records:
            raise field_error("file", "too_many_records", f"一个文件最多{max_records}条记录",
                              f"at most {max_records} records per file")
        results = []
        for line, raw, problem in records:
            external_id = raw.get("external_id") if isinstance(raw, dict) else None
            row = {"line": line, "external_id": external_id if isinstance(external_id, str) else None,
                   "result": "refused", "ticket_id": None, "number": None, "error": None}
            try:
                with self.session.begin_nested():     # a refused record leaves nothing behind
                    if problem is not None:
                        raise problem
                    if not isinstance(raw, dict):
                        raise field_error("record", "not_an_object", "每条记录必须是JSON对象", "each record must be a JSON object")
                    ticket, created = self.import_upstream_ticket(client, validate(raw), store=store,
                                                                  imported_by=actor.username)
            except DomainError as exc:
                row["error"] = error_dict(exc)
            else:
                row.update(result="created" if created else "already_imported", ticket_id=ticket.id,
                           number=ticket.number)
            results.append(row)
        counts = {k: sum(r["result"] == k for r in results) for k in ("created", "already_imported", "refused")}
        record_admin_event(self.session, "upstream_file_imported", actor.username, self.clock.now(),
                           {"client": client.name, "city": client.city, "records": len(results), **counts,
                            "refused_lines": [r["line"] for r in results if r["result"] == "refused"]})
        return {"client_id": client.id, "client": client.name, "total": len(results), **counts, "records": results}

