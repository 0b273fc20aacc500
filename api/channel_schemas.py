"""Schemas of the channel intake API (one payload schema per client kind) and of channel administration.

The payload shapes are the contract with channel developers (``docs/channels.md``); the engine's adapters
(``engine/channel_adapters.py``) map what these load into tickets. Every payload schema is strict: an
unknown field is refused rather than silently dropped.
"""
from __future__ import annotations

import base64
import binascii

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from engine.channel_clients import CLIENT_KINDS
from engine.channel_intake import MAX_UPLOADS
from engine.emergency import AGENCIES
from engine.facade import REQUEST_TYPES

from . import schemas as S

CODE = validate.Regexp(r"^[0-9A-Za-z_.-]{1,40}$")


def _problem(code: str, zh: str, en: str) -> ValidationError:
    # Already bilingual: api/errors.localize_schema_messages passes dict messages through as they are.
    return ValidationError([{"code": code, "message_zh": zh, "message_en": en}])


class Base64Bytes(fields.Field):
    """A file's bytes as standard base64 (line breaks allowed); loads to bytes."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise _problem("invalid_base64", "文件内容须为base64文本", "The file content must be base64 text")
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _problem("invalid_base64", "文件内容不是有效的base64", "The file content is not valid base64")


class Coordinate(fields.Float):
    """A latitude or longitude in degrees (WGS-84), within its range."""

    def __init__(self, limit: float, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            number = None
        if number is None or not -self.limit <= number <= self.limit:
            raise _problem("invalid_location", f"须为-{self.limit:g}至{self.limit:g}之间的数值",
                           f"must be a number between -{self.limit:g} and {self.limit:g}")
        return number


class Upload(S.Strict):
    filename = fields.String(required=True, validate=validate.Length(1, 160))
    content = Base64Bytes(required=True, data_key="content_base64")


class Location(S.Strict):
    lat = Coordinate(90, required=True)
    lng = Coordinate(180, required=True)
    grid_code = fields.String(allow_none=True, validate=validate.Length(1, 60))


class Emergency(S.Strict):
    agency = fields.String(required=True, validate=validate.OneOf(list(AGENCIES)))
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000))


class Person(S.Strict):
    name = fields.String(allow_none=True, validate=validate.Length(max=100))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9+\-() ]{3,40}$"))
    id = fields.String(allow_none=True, validate=validate.Length(max=60))     # the worker's staff number


def _uploads() -> fields.List:
    return fields.List(fields.Nested(Upload), validate=validate.Length(max=MAX_UPLOADS))


class GenericRequest(S.Strict):
    """The platform's own intake JSON (web, app, mini-program, mayor mailbox ...)."""
    reference = fields.String(allow_none=True, validate=validate.Length(1, 100))   # the channel's own id
    title = fields.String(required=True, validate=validate.Length(1, 300))
    content = fields.String(required=True, validate=validate.Length(1, 20000))
    request_type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    citizen = fields.Nested(S.Citizen, required=True)
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    category = fields.String(allow_none=True, validate=validate.Length(1, 60))
    received_at = S.Time(allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    attachments = _uploads()
    emergency = fields.Nested(Emergency, allow_none=True)


class _Report(S.Strict):
    """What grid and city-management reports share."""
    title = fields.String(allow_none=True, validate=validate.Length(1, 300))
    description = fields.String(required=True, validate=validate.Length(1, 10000))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    lat = Coordinate(90, allow_none=True)
    lng = Coordinate(180, allow_none=True)
    happened_at = S.Time(allow_none=True)        # when the worker found it
    reported_at = S.Time(allow_none=True)        # when the channel took it (the ticket's received time)
    citizen = fields.Nested(S.Citizen, allow_none=True)   # a resident the worker reports for, if any
    photos = _uploads()
    emergency = fields.Nested(Emergency, allow_none=True)


class GridReport(_Report):
    """An event from the grid system (网格化管理)."""
    event_no = fields.String(required=True, validate=validate.Length(1, 60))
    grid_code = fields.String(required=True, validate=validate.Length(1, 60))
    grid_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    reporter = fields.Nested(Person, required=True)
    event_type_code = fields.String(allow_none=True, validate=CODE)
    event_type_name = fields.String(allow_none=True, validate=validate.Length(max=100))


class CityManagementCase(_Report):
    """A case from the digital city-management system (数字城管)."""
    case_no = fields.String(required=True, validate=validate.Length(1, 60))
    case_class = fields.String(required=True, validate=validate.OneOf(["component", "event"]))
    big_class = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2}$"))
    small_class = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2}$"))
    class_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    cell_code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6,20}$"))   # 万米单元网格
    component_id = fields.String(allow_none=True, validate=validate.Length(1, 60))     # 部件标识码
    reporter = fields.Nested(Person, allow_none=True)     # the field inspector (监督员), if one found it


PAYLOADS = {"generic": GenericRequest, "grid": GridReport, "city_management": CityManagementCase}


class StoredFile(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class LocationOut(Schema):
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    grid_code = fields.String(allow_none=True)
    external_category = fields.String(allow_none=True)


class ChannelTicketOut(Schema):
    ticket_id = fields.Integer()
    number = fields.String()
    status = fields.String()
    status_name = fields.String(metadata={"description": "the status in the caller's language"})
    outcome = fields.String(allow_none=True)
    outcome_name = fields.String(allow_none=True)
    channel = fields.String()
    request_type = fields.String()
    category = fields.String(allow_none=True)
    received_at = S.Time()
    handle_due_at = S.Time(allow_none=True)
    closed_at = S.Time(allow_none=True)
    updated_at = S.Time()
    location = fields.Nested(LocationOut, allow_none=True)
    attachments = fields.List(fields.Nested(StoredFile))


class IntakeOut(ChannelTicketOut):
    replayed = fields.Boolean(metadata={"description": "true: an earlier request with this key made the ticket"})
    idempotency_key = fields.String()


class ChannelClientIn(S.Strict):
    city = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    name = fields.String(required=True, validate=validate.Length(2, 80))
    channel = fields.String(required=True, validate=validate.Length(1, 40))
    kind = fields.String(required=True, validate=validate.OneOf(CLIENT_KINDS))
    webhook_url = fields.String(allow_none=True, validate=validate.Length(1, 500))


class ChannelClientOut(Schema):
    id = fields.Integer()
    city = fields.String()
    name = fields.String()
    channel = fields.String()
    kind = fields.String()
    key_hint = fields.String()
    active = fields.Boolean()
    webhook_url = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = S.Time()
    revoked_at = S.Time(allow_none=True)
    last_used_at = S.Time(allow_none=True)


class ChannelClientCreated(ChannelClientOut):
    key = fields.String(metadata={"description": "the client's key: shown this once, stored only hashed"})
    webhook_secret = fields.String(allow_none=True, metadata={"description": "HMAC key of the webhook signature"})


class ChannelClientList(Schema):
    items = fields.List(fields.Nested(ChannelClientOut))


class ChannelClientQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String(validate=validate.Regexp(r"^[a-z_]{2,40}$"))
