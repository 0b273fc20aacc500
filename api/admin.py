"""JSON API for administrators: users and roles, the working calendar, a city's units/channels/hours."""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import EXCLUDE, Schema, fields, validate

from . import schemas as S
from .context import hotline, principal, require_token
from .v1 import body

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1/admin")


class UserIn(S.Strict):
    username = fields.String(required=True, validate=validate.Length(2, 80))
    roles = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    city = fields.String(allow_none=True)
    unit_code = fields.String(allow_none=True, data_key="unit")
    display_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    password = fields.String(allow_none=True, load_only=True, validate=validate.Length(8, 200))
    active = fields.Boolean(load_default=True)
    email = fields.String(allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))


class UserOut(Schema):
    username = fields.String()
    display_name = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    city = fields.String(allow_none=True)
    unit = fields.String(attribute="unit_code", allow_none=True)
    active = fields.Boolean()


class UserList(Schema):
    items = fields.List(fields.Nested(UserOut))


class CalendarDay(S.Strict):
    city = fields.String(required=True, validate=validate.Regexp(r"^([a-z_]{2,40}|\*)$"))
    day = fields.Date(required=True)
    is_working = fields.Boolean(required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=200))


class CalendarQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String(required=True)
    year = fields.Integer(validate=validate.Range(2000, 2100))


class CalendarOut(Schema):
    city = fields.String()
    day = fields.Date()
    is_working = fields.Boolean()
    note = fields.String(allow_none=True)


class CalendarList(Schema):
    items = fields.List(fields.Nested(CalendarOut))


class CityOverview(Schema):
    city = fields.String()
    name = fields.String()
    working_hours = fields.List(fields.String())
    channels = fields.List(fields.Dict())
    units = fields.List(fields.Dict())


@bp.get("/users")
@require_token
def list_users():
    return UserList().dump({"items": hotline().users(principal(), request.args.get("city") or None)})


@bp.post("/users")
@require_token
def save_user():
    return UserOut().dump(hotline().save_user(principal(), **body(UserIn()))), 200


@bp.get("/calendar")
@require_token
def calendar():
    query = CalendarQuery().load(request.args)
    return CalendarList().dump({"items": hotline().calendar_overrides(principal(), query["city"], query.get("year"))})


@bp.put("/calendar")
@require_token
def set_calendar_day():
    data = body(CalendarDay())
    hotline().set_calendar_day(principal(), data["city"], data["day"], data["is_working"], data.get("note"))
    return CalendarOut().dump(data)


@bp.delete("/calendar/<city>/<day>")
@require_token
def remove_calendar_day(city, day):
    from datetime import date
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        from engine.errors import ValidationFailed
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", "The date must be YYYY-MM-DD", details={"day": [day]})
    hotline().remove_calendar_day(principal(), city, parsed)
    return "", 204


class WorkingHoursIn(S.Strict):
    working_hours = fields.List(fields.String(validate=validate.Length(11, 11)), required=True,
                                validate=validate.Length(1, 6))


class ChannelIn(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 40))
    name = fields.String(required=True, validate=validate.Length(1, 100))


class ChannelsIn(S.Strict):
    channels = fields.List(fields.Nested(ChannelIn), required=True, validate=validate.Length(1, 100))


class UnitIn(S.Strict):
    code = fields.String(required=True, validate=validate.Length(1, 60))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    type = fields.String(required=True)
    parent = fields.String(allow_none=True)
    active = fields.Boolean(load_default=True)


class UnitOut(Schema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    parent = fields.String(attribute="parent_code", allow_none=True)
    active = fields.Boolean()
    source = fields.String()


@bp.put("/cities/<city>/working-hours")
@require_token
def set_working_hours(city):
    return {"working_hours": hotline().set_working_hours(principal(), city, body(WorkingHoursIn())["working_hours"])}


@bp.put("/cities/<city>/channels")
@require_token
def set_channels(city):
    return {"channels": hotline().set_channels(principal(), city, body(ChannelsIn())["channels"])}


@bp.post("/cities/<city>/units")
@require_token
def save_unit(city):
    data = body(UnitIn())
    unit = hotline().save_unit(principal(), city, code=data["code"], name=data["name"], type_=data["type"],
                               parent=data.get("parent"), active=data["active"])
    return UnitOut().dump(unit)


@bp.get("/cities/<city>")
@require_token
def city_overview(city):
    return CityOverview().dump(hotline().city_overview(principal(), city))


OPERATIONS = [
    ("get", "/api/v1/admin/users", "Users and roles (admin)", None, {200: UserList, 403: S.ErrorOut}, None, True),
    ("post", "/api/v1/admin/users", "Create or change a user (admin; password required for a new one)", UserIn, {200: UserOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/admin/calendar", "Working-calendar overrides of a city (and '*')", None, {200: CalendarList, 403: S.ErrorOut, 422: S.ErrorOut}, CalendarQuery, True),
    ("put", "/api/v1/admin/calendar", "Set a holiday or make-up working day (admin)", CalendarDay, {200: CalendarOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("delete", "/api/v1/admin/calendar/{city}/{day}", "Remove an override (admin)", None, {204: None, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/admin/cities/{city}", "A city's units tree, channels and working hours", None, {200: CityOverview, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
    ("put", "/api/v1/admin/cities/{city}/working-hours", "Set a city's daily working periods (admin)", WorkingHoursIn, {200: WorkingHoursIn, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("put", "/api/v1/admin/cities/{city}/channels", "Set a city's intake channels (admin)", ChannelsIn, {200: ChannelsIn, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/admin/cities/{city}/units", "Add, rename, move or retire a unit (admin)", UnitIn, {200: UnitOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
]
