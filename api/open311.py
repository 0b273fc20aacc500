"""The Open311 GeoReport v2 façade (``/open311/v2/``), so existing 311 apps, client libraries and dashboards
can list the city's services, submit requests and follow them.

Every resource answers as ``.json`` or ``.xml``. Reads are public, as the spec has them, and limited per
client address (``HOTLINE_PUBLIC_RATE_PER_MINUTE``, a budget of their own). Submitting needs the key of an
``open311`` channel client (``api_key`` form field or ``X-Api-Key``). Errors use the spec's shape
(``api/open311_format.py``). The mapping to tickets is ``engine/open311.py`` and ``engine/open311_intake.py``.
"""
from __future__ import annotations

import math
import re

from flask import Blueprint, current_app, g, request
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import HTTPException

from engine.clock import iso
from engine.errors import DomainError, TooManyAttempts
from engine.open311_intake import intake_notice

from . import schemas as S
from .channel_auth import require_client
from .context import attachment_store, hotline
from .errors import language
from .i18n import STRINGS
from .open311_format import domain_error_response, http_error_response, render, schema_error_response
from .security import RateLimit

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = ("json", "xml")
READ_LIMIT = "hotline_open311_reads"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00+08:00"      # when this façade's behaviour last changed
_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](?:\[\])?")


# -- schemas -----------------------------------------------------------------------------------------
class W3Time(S.Time):
    """w3 date-time: whole seconds with the +08:00 offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso(value.replace(microsecond=0))


class CommaList(fields.List):
    """An argument the spec lets a client give comma delimited (service_code=a,b)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


class Open311Query(S.Strict):
    jurisdiction_id = fields.String(validate=validate.Length(1, 40))
    api_key = fields.String(load_only=True, metadata={"description": "ignored: reads need no key"})
    lang = fields.String(validate=validate.OneOf(["zh", "en"]))


class Open311RequestsQuery(Open311Query):
    service_request_id = CommaList(fields.String(validate=validate.Length(1, 40)),
                                   metadata={"description": "comma delimited; overrides every other argument"})
    service_code = CommaList(fields.String(validate=validate.Length(1, 60)))
    start_date = S.Time(metadata={"description": "w3 format; the span may not exceed 90 days"})
    end_date = S.Time(metadata={"description": "w3 format; default: the last 90 days"})
    status = CommaList(fields.String(validate=validate.OneOf(["open", "closed"])))
    page = fields.Integer(validate=validate.Range(min=1), load_default=1)
    page_size = fields.Integer(validate=validate.Range(1, 1000), load_default=1000)


class Open311RequestIn(S.Strict):
    """POST requests (form-encoded, or multipart with a ``media`` file)."""
    api_key = fields.String(load_only=True)
    jurisdiction_id = fields.String(validate=validate.Length(1, 40))
    service_code = fields.String(required=True, validate=validate.Length(1, 60))
    lat = fields.Float(validate=validate.Range(-90, 90))
    long = fields.Float(validate=validate.Range(-180, 180))
    address_string = fields.String(validate=validate.Length(max=300))
    address_id = fields.String(validate=validate.Length(max=100))
    email = fields.Email(validate=validate.Length(max=200), metadata={"description": "accepted, not stored"})
    device_id = fields.String(validate=validate.Length(max=100), metadata={"description": "accepted, not stored"})
    account_id = fields.String(validate=validate.Length(max=100), metadata={"description": "accepted, not stored"})
    first_name = fields.String(validate=validate.Length(max=50))
    last_name = fields.String(validate=validate.Length(max=50))
    phone = fields.String(validate=validate.Regexp(r"^[0-9+\-() ]{3,40}$"))
    description = fields.String(validate=validate.Length(max=4000))
    media_url = fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=500))
    attribute = fields.Dict(keys=fields.String(validate=validate.Length(1, 60)),
                            values=fields.List(fields.String(validate=validate.Length(max=300))),
                            metadata={"description": "attribute[code]=value (attribute[code][]=value for lists)"})


class Open311IdempotencyKey(S.Strict):
    key = fields.String(required=True, validate=validate.Length(1, 120))


class Open311ServiceOut(Schema):
    service_code = fields.String()
    service_name = fields.String()
    description = fields.String()
    metadata = fields.Boolean()
    type = fields.String()
    keywords = fields.String()
    group = fields.String()


class Open311ValueOut(Schema):
    key = fields.String()
    name = fields.String()


class Open311AttributeOut(Schema):
    variable = fields.Boolean()
    code = fields.String()
    datatype = fields.String()
    required = fields.Boolean()
    datatype_description = fields.String(allow_none=True)
    order = fields.Integer()
    description = fields.String()
    values = fields.List(fields.Nested(Open311ValueOut), metadata={"description": "list datatypes only"})

    def get_attribute(self, obj, attr, default):
        # "values" is also a dict method: read keys only, so an attribute without values has none
        return obj.get(attr, default)


class Open311ServiceDefinitionOut(Schema):
    service_code = fields.String()
    attributes = fields.List(fields.Nested(Open311AttributeOut))


class Open311RequestCreated(Schema):
    service_request_id = fields.String()
    service_notice = fields.String()
    account_id = fields.String(allow_none=True)


class Open311RequestOut(Schema):
    service_request_id = fields.String()
    status = fields.String(metadata={"description": "open | closed"})
    status_notes = fields.String(metadata={"description": "已受理 / 已派发至… / …办理中 / …已答复 / 已办结 …"})
    service_name = fields.String(allow_none=True)
    service_code = fields.String(allow_none=True)
    description = fields.String(allow_none=True, metadata={"description": "phones, ID numbers and names masked"})
    agency_responsible = fields.String(allow_none=True)
    service_notice = fields.String(allow_none=True)
    requested_datetime = W3Time()
    updated_datetime = W3Time()
    expected_datetime = W3Time(allow_none=True, metadata={"description": "the handling deadline"})
    address = fields.String(allow_none=True)
    address_id = fields.String(allow_none=True)
    zipcode = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    long = fields.Float(allow_none=True)
    media_url = fields.String(allow_none=True)


class Open311EndpointOut(Schema):
    specification = fields.String()
    url = fields.String()
    changeset = fields.String()
    type = fields.String()
    formats = fields.List(fields.String())


class Open311DiscoveryOut(Schema):
    changeset = fields.String()
    contact = fields.String()
    key_service = fields.String()
    endpoints = fields.List(fields.Nested(Open311EndpointOut))


class Open311ErrorOut(Schema):
    code = fields.Integer()
    description = fields.String()


# -- plumbing --------------------------------------------------------------------------------------
def _route(rule: str, methods=("GET",)):
    """The resource under both suffixes, .json and .xml (the view gets ``fmt``)."""
    def decorate(view):
        for fmt in FORMATS:
            bp.add_url_rule(f"{rule}.{fmt}", f"{view.__name__}_{fmt}", view, methods=list(methods),
                            defaults={"fmt": fmt})
        return view
    return decorate


def _present(values) -> dict:
    """The spec's optional arguments: an empty one counts as not sent; a repeated one joins with commas."""
    out = {}
    for key, items in values.lists():
        items = [v for v in items if v.strip()]
        if items:
            out[key] = ",".join(items)
    return out


def _form() -> dict:
    """The POST form, with attribute[code]=value pairs gathered under ``attribute``."""
    out, attributes = {}, {}
    for key, items in request.form.lists():
        items = [v for v in items if v.strip()]
        match = _ATTRIBUTE.fullmatch(key)
        if match:
            attributes.setdefault(match.group(1), []).extend(items)
        elif items:
            out[key] = items[0] if len(items) == 1 else items      # a repeated field fails the schema
    if attributes:
        out["attribute"] = attributes
    return out


def _media() -> tuple[str | None, bytes] | None:
    upload = request.files.get("media")
    if upload is None or not (upload.filename or "").strip():
        return None
    return upload.filename, upload.read()


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    return None if raw is None else Open311IdempotencyKey().load({"key": raw.strip()})["key"]


@bp.record_once
def _install_read_limit(state):
    settings = state.app.extensions["hotline_settings"]
    state.app.extensions[READ_LIMIT] = RateLimit(settings.public_rate_per_minute, 60.0)


@bp.before_request
def _limit_public_reads():
    if request.method not in ("GET", "HEAD"):
        return None
    wait = current_app.extensions[READ_LIMIT].hit(request.remote_addr or "-",
                                                  current_app.extensions["hotline_security"].clock())
    if wait:
        seconds = max(1, math.ceil(wait))
        zh, en = (STRINGS["too_many_requests"][i].format(wait=STRINGS["wait_seconds"][i].format(n=seconds))
                  for i in (0, 1))
        raise TooManyAttempts(zh, en, retry_after=seconds, details={"reason": "open311_read_limit"})
    return None


@bp.errorhandler(DomainError)
def _domain_error(error):
    return domain_error_response(error)


@bp.errorhandler(ValidationError)
def _schema_error(error):
    return schema_error_response(error)


@bp.errorhandler(HTTPException)
def _http_error(error):
    return http_error_response(error)


def _city(query: dict) -> str:
    return hotline().open311_jurisdiction(query.get("jurisdiction_id"))


# -- resources -------------------------------------------------------------------------------------
@_route("/discovery")
def discovery(fmt):
    Open311Query().load(_present(request.args))
    zh = language() != "en"
    body = Open311DiscoveryOut().dump({
        "changeset": CHANGESET,
        "contact": "12345政务服务便民热线" if zh else "The 12345 government service hotline",
        "key_service": "提交诉求所需的api_key由热线管理员按接入方发放" if zh else
        "The api_key needed to submit requests is issued per client by the hotline's administrators",
        "endpoints": [{"specification": SPECIFICATION, "url": request.url_root.rstrip("/") + bp.url_prefix,
                       "changeset": CHANGESET, "type": "production", "formats": ["text/xml", "application/json"]}]})
    return render(body, fmt, "discovery")


@_route("/services")
def services(fmt):
    query = Open311Query().load(_present(request.args))
    items = hotline().open311_services(_city(query), language())
    return render(Open311ServiceOut(many=True).dump(items), fmt, "services")


@_route("/services/<service_code>")
def service_definition(fmt, service_code):
    query = Open311Query().load(_present(request.args))
    definition = hotline().open311_service_definition(_city(query), service_code, language())
    return render(Open311ServiceDefinitionOut().dump(definition), fmt, "service_definition")


@_route("/requests", methods=("POST",))
@require_client("open311")
def create_request(fmt):
    data = Open311RequestIn().load(_form())
    data.pop("api_key", None)
    ticket, replayed = hotline().open311_submit(g.client, data, media=_media(), store=attachment_store(),
                                                idempotency_key=_idempotency_key())
    body = Open311RequestCreated(many=True).dump([{"service_request_id": ticket.number, "account_id": None,
                                                   "service_notice": intake_notice(ticket, language())}])
    response = render(body, fmt, "service_requests", 200 if replayed else 201)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@_route("/requests")
def search_requests(fmt):
    query = Open311RequestsQuery().load(_present(request.args))
    items = hotline().open311_search(
        _city(query), ids=query.get("service_request_id"), service_codes=query.get("service_code"),
        start=query.get("start_date"), end=query.get("end_date"), statuses=query.get("status"),
        page=query["page"], page_size=query["page_size"], lang=language())
    return render(Open311RequestOut(many=True).dump(items), fmt, "service_requests")


@_route("/requests/<service_request_id>")
def get_request(fmt, service_request_id):
    query = Open311Query().load(_present(request.args))
    item = hotline().open311_request(_city(query), service_request_id, language())
    return render(Open311RequestOut(many=True).dump([item]), fmt, "service_requests")


ERRORS = Open311ErrorOut(many=True)
OPERATIONS = [
    ("get", "/open311/v2/discovery.json", "Open311 service discovery (also .xml)", None,
     {200: Open311DiscoveryOut, 400: ERRORS, 404: ERRORS, 429: ERRORS}, Open311Query, False),
    ("get", "/open311/v2/services.json", "Open311 GET Service List: the city's categories (also .xml; public)", None,
     {200: Open311ServiceOut(many=True), 400: ERRORS, 404: ERRORS, 429: ERRORS}, Open311Query, False),
    ("get", "/open311/v2/services/{service_code}.json", "Open311 GET Service Definition: request type and title "
     "attributes (also .xml; public)", None, {200: Open311ServiceDefinitionOut, 400: ERRORS, 404: ERRORS, 429: ERRORS},
     Open311Query, False),
    ("post", "/open311/v2/requests.json", "Open311 POST Service Request: a ticket of the client's city and channel "
     "(also .xml; form or multipart with media; api_key of an open311 client). Optional Idempotency-Key header: "
     "a resend answers 200 with the same request (Idempotent-Replayed), another body under the key 409",
     ("form", Open311RequestIn), {201: Open311RequestCreated(many=True), 200: Open311RequestCreated(many=True), 400: ERRORS, 403: ERRORS, 404: ERRORS,
                                  409: ERRORS}, None, False),
    ("get", "/open311/v2/requests.json", "Open311 GET Service Requests: search within 90 days (also .xml; public, "
     "masked)", None, {200: Open311RequestOut(many=True), 400: ERRORS, 404: ERRORS, 429: ERRORS}, Open311RequestsQuery, False),
    ("get", "/open311/v2/requests/{service_request_id}.json", "Open311 GET Service Request by ticket number (also "
     ".xml; public, masked)", None, {200: Open311RequestOut(many=True), 400: ERRORS, 404: ERRORS, 429: ERRORS},
     Open311Query, False),
]
