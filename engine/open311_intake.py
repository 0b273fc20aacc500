"""Open311 POST Service Request: a GeoReport v2 submission becomes a ticket of the client's city and channel.

* Mapping: ``service_code`` is the category; ``attribute[request_type]`` the request type (求助 when left
  out); the title is ``attribute[title]``, else the description's first line, else the service's name;
  ``first_name``/``last_name`` and ``phone`` are the citizen (a Chinese name is written family name first);
  ``address_string`` the address; ``lat``/``long`` go to ``ticket_locations``. The e-mail, device and account
  ids are personal identifiers the platform has no use for: they are not stored.
* What the client sent besides (service code, media_url as text, address_id, the attributes) is the
  ticket's ``open311_request_received`` event, so it is in the tamper-evident log and the public view can
  show ``media_url`` and ``address_id`` back. A remote media URL is never fetched. An uploaded ``media``
  file becomes an attachment (``Hotline.add_attachment``: type and size checked from its bytes).
* Resending: Open311 has no idempotency key, so a client may send an ``Idempotency-Key`` header. The first
  request under a key is an ``intake_requests`` row with a digest of its body; the same key with the same
  body answers with the same ticket and stores nothing, with another body it is refused (409).

Everything happens in the caller's unit of work, so a refused request leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import json
import unicodedata

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .channel_clients import principal_for
from .channel_models import ChannelClient, IntakeRequest, TicketLocation
from .errors import Conflict, PermissionDenied, ValidationFailed, field_error
from .models import Ticket
from .runtime import TicketRun

REQUEST_TYPES = ("consult", "help", "suggestion", "complaint", "report")
REQUEST_TYPE_NAMES = {"consult": ("咨询", "Consultation"), "help": ("求助", "Request for help"),
                      "suggestion": ("建议", "Suggestion"), "complaint": ("投诉", "Complaint"),
                      "report": ("举报", "Report (whistle-blowing)")}
DEFAULT_REQUEST_TYPE = "help"         # an Open311 request is a call for service: 求助
ATTRIBUTE_CODES = ("request_type", "title")
TITLE_MAX = 100
RECEIVED_EVENT = "open311_request_received"
INTAKE_NOTICE = ("您的诉求已受理，工单编号{number}，将派发至承办单位按规定时限办理，可凭编号查询办理进度。",
                 "Your request was received as {number}. It will be dispatched to the responsible unit and "
                 "handled within the statutory time limit; track it with this number.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message_zh = "该Idempotency-Key已用于内容不同的请求"
    message_en = "This Idempotency-Key was already used for a different request"


def request_digest(request: dict, media: tuple[str | None, bytes] | None) -> str:
    """sha256 of a submission as the client meant it (the key it authenticated with left out)."""
    canonical = {k: v for k, v in request.items() if k != "api_key"}
    if media is not None:
        canonical["media"] = {"filename": media[0], "sha256": hashlib.sha256(media[1]).hexdigest()}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def intake_notice(ticket: Ticket, lang: str) -> str:
    return INTAKE_NOTICE[1 if lang == "en" else 0].format(number=ticket.number)


def citizen_name(first: str | None, last: str | None) -> str | None:
    """张 + 三 → 张三 (family name first) for Chinese names; "John Smith" otherwise."""
    first, last = (first or "").strip(), (last or "").strip()
    if not (first or last):
        return None
    if all(unicodedata.east_asian_width(ch) in ("W", "F") for ch in (first + last).replace(" ", "")):
        return last + first
    return " ".join(p for p in (first, last) if p)


def _first_line(text: str | None, limit: int) -> str | None:
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return line[:limit] or None


def _attributes(raw: dict) -> dict:
    """attribute[code]=value pairs of the service definition, one value each, checked."""
    unknown = sorted(set(raw) - set(ATTRIBUTE_CODES))
    if unknown:
        raise field_error("attribute", "unknown_attribute", f"服务定义中没有属性：{'、'.join(unknown)}",
                          f"the service definition has no attribute {', '.join(unknown)}")
    out = {}
    for code, values in raw.items():
        values = [v.strip() for v in values if v and v.strip()]
        if len(values) > 1:
            raise field_error(f"attribute[{code}]", "single_value", "该属性只能取一个值", "this attribute takes one value")
        if values:
            out[code] = values[0]
    if out.get("request_type", DEFAULT_REQUEST_TYPE) not in REQUEST_TYPES:
        raise field_error("attribute[request_type]", "not_an_option", f"诉求类型必须是{list(REQUEST_TYPES)}之一",
                          f"must be one of {list(REQUEST_TYPES)}")
    if len(out.get("title", "")) > TITLE_MAX:
        raise field_error("attribute[title]", "too_long", f"标题最多{TITLE_MAX}字", f"at most {TITLE_MAX} characters")
    return out


def _check_location(request: dict) -> None:
    """The spec's location parameter: lat and long together, or address_string, or address_id."""
    if (request.get("lat") is None) != (request.get("long") is None):
        raise field_error("long" if request.get("long") is None else "lat", "lat_long_pair",
                          "lat和long须同时提供", "lat and long must both be sent")
    if request.get("lat") is None and not request.get("address_string") and not request.get("address_id"):
        raise field_error("location", "required", "须提供位置：lat和long、address_string或address_id之一",
                          "a location is required: lat and long, address_string or address_id")


class Open311IntakeCommands:
    def open311_submit(self, client: ChannelClient, request: dict, *, media: tuple[str | None, bytes] | None = None,
                       store=None, idempotency_key: str | None = None) -> tuple[Ticket, bool]:
        """A validated POST as a new ticket; (ticket, True) when it is a resend under the same key."""
        digest = request_digest(request, media)
        if idempotency_key:
            earlier = self.session.scalar(select(IntakeRequest).where(
                IntakeRequest.client_id == client.id, IntakeRequest.idempotency_key == idempotency_key))
            if earlier is not None:
                if earlier.request_hash != digest:
                    raise IdempotencyKeyReused()
                return self.session.get(Ticket, earlier.ticket_id), True
        jurisdiction = request.get("jurisdiction_id")
        if jurisdiction and self.open311_jurisdiction(jurisdiction) != client.city:
            raise PermissionDenied(f"此api_key不能向{jurisdiction}提交诉求",
                                   f"This api_key may not submit requests to {jurisdiction}")
        category = self._open311_category(client.city, request["service_code"])
        attributes = _attributes(request.get("attribute") or {})
        _check_location(request)
        description = (request.get("description") or "").strip()
        title = attributes.get("title") or _first_line(description, 60) or category["name_zh"]
        actor = principal_for(client)
        ticket = self.start_ticket(actor, {
            "city": client.city, "channel": client.channel, "category": category["code"],
            "request_type": attributes.get("request_type", DEFAULT_REQUEST_TYPE), "title": title,
            "content": description or title, "address": request.get("address_string"),
            "citizen": {"name": citizen_name(request.get("first_name"), request.get("last_name")),
                        "phone": request.get("phone")}})
        ticket = self._lock_ticket(ticket.id)
        if request.get("lat") is not None:
            self.session.add(TicketLocation(ticket_id=ticket.id, latitude=request["lat"], longitude=request["long"]))
        TicketRun(self.session, self.clock, ticket, self._deployment(ticket), actor.username).record(
            RECEIVED_EVENT, data={"client": client.name, "service_code": category["code"], "attributes": attributes,
                                  "media_url": request.get("media_url"), "address_id": request.get("address_id"),
                                  "media_uploaded": media is not None, "idempotency_key": idempotency_key})
        if idempotency_key:
            self.session.add(IntakeRequest(client_id=client.id, idempotency_key=idempotency_key, request_hash=digest,
                                           ticket_id=ticket.id, created_at=self.clock.now()))
            try:
                self.session.flush()
            except IntegrityError:
                # Another request under the same key committed meanwhile; this one is undone whole.
                raise Conflict("同一Idempotency-Key的请求正在处理，请稍后重发",
                               "A request with this Idempotency-Key is being processed; resend later") from None
        if media is not None:
            try:
                self.add_attachment(actor, ticket.id, media[0], media[1], store)
            except ValidationFailed as error:      # Open311 calls the file "media"
                raise ValidationFailed(error.message_zh, error.message_en,
                                       details={"media": (error.details or {}).get("file", [])}) from None
        return ticket, False
