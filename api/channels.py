"""Channels over HTTP: the intake API for machine clients (grid, digital city management, the platform's own
web/app channels), channel administration (JSON and the page ``/admin/channels``).

Intake authenticates with the client's key (``X-Api-Key``), never a user token, and takes JSON or
``multipart/form-data`` (a ``payload`` JSON part beside ``files[]``). Handlers only read the request, let
the kind's schema validate it and call the facade; the facade decides replay, mapping and storage.
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, g, make_response, render_template, request
from werkzeug.datastructures import FileStorage

from engine.channel_adapters import INTAKE_KINDS, Upload
from engine.channel_clients import CLIENT_KINDS
from engine.channel_intake import IDEMPOTENCY_HEADER, idempotency_key, request_digest
from engine.cities import available_cities, effective_channels, load_city
from engine.errors import DomainError, PermissionDenied, ValidationFailed

from . import channel_schemas as CS, schemas as S
from .channel_auth import require_client
from .context import attachment_store, hotline, principal, require_token, session
from .errors import error_text, language, status_for
from .i18n import OUTCOME_NAMES, STATUS_NAMES, current_language
from .pages import chosen_city, login_required
from .v1 import body

bp = Blueprint("api_channels", __name__, url_prefix="/api/v1")
pages_bp = Blueprint("channel_pages", __name__, url_prefix="/admin/channels")
REPLAY_HEADER = "Idempotent-Replayed"
FORM_FIELDS = {"payload", "api_key"}          # api_key: the key may come as a form field (channel_auth)
FILE_FIELDS = ("files[]", "files")


class MalformedJson(DomainError):
    code = "malformed_json"
    message_zh = "请求内容不是有效的JSON"
    message_en = "The request body is not valid JSON"


def _reject_constant(name):
    raise ValueError(name)                     # NaN and Infinity are not JSON


def _json(raw) -> object:
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):       # also bad UTF-8 (UnicodeDecodeError) and absurd nesting
        raise MalformedJson()


def _unknown(names) -> ValidationFailed:
    return ValidationFailed(details={n: [{"code": "unknown_field", "message_zh": "未知字段",
                                          "message_en": "Unknown field."}] for n in sorted(names)})


def _received() -> tuple[object, list[Upload]]:
    """The request's JSON document and any multipart files beside it."""
    if request.mimetype == "application/json":
        return _json(request.get_data()), []
    if request.mimetype != "multipart/form-data":
        abort(415)
    extra = (set(request.form) - FORM_FIELDS) | (set(request.files) - {*FILE_FIELDS, "payload"})
    if extra:
        raise _unknown(extra)
    part = request.form.get("payload")
    if part is None and isinstance(request.files.get("payload"), FileStorage):
        part = request.files["payload"].read()
    if part is None:
        raise ValidationFailed(details={"payload": [{"code": "required", "message_zh": "缺少payload部分（JSON）",
                                                     "message_en": "The payload part (JSON) is missing"}]})
    files = [f for name in FILE_FIELDS for f in request.files.getlist(name)]
    return _json(part), [Upload(f"files.{i}", f.filename, f.read()) for i, f in enumerate(files)]


def _named(table: dict, value) -> str | None:
    if value is None:
        return None
    pair = table.get(value)
    return (pair[1] if language() == "en" else pair[0]) if pair else value


def _ticket_view(result) -> dict:
    ticket = result.ticket
    return {"ticket_id": ticket.id, "number": ticket.number, "status": ticket.status,
            "status_name": _named(STATUS_NAMES, ticket.status), "outcome": ticket.outcome,
            "outcome_name": _named(OUTCOME_NAMES, ticket.outcome), "channel": ticket.channel,
            "request_type": ticket.request_type, "category": ticket.category, "received_at": ticket.received_at,
            "handle_due_at": ticket.handle_due_at, "closed_at": ticket.closed_at, "updated_at": ticket.updated_at,
            "location": result.location, "attachments": result.attachments, "replayed": result.replayed,
            "idempotency_key": result.intake.idempotency_key}


# -- intake (client key) -------------------------------------------------------------------------
@bp.post("/channel/requests")
@require_client(*INTAKE_KINDS)
def submit_request():
    key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    document, uploads = _received()
    digest = request_digest(document, uploads)
    facade = hotline()
    result = facade.channel_replay(g.client, key, digest)
    if result is None:
        payload = CS.PAYLOADS[g.client.kind]().load(document)
        result = facade.channel_intake(g.client, key, digest, payload, uploads, attachment_store())
    return (CS.IntakeOut().dump(_ticket_view(result)), 200 if result.replayed else 201,
            {REPLAY_HEADER: "true" if result.replayed else "false"})


@bp.get("/channel/requests/<number>")
@require_client(*INTAKE_KINDS)
def request_status(number):
    return CS.ChannelTicketOut().dump(_ticket_view(hotline().channel_ticket(g.client, number)))


# -- administration (admin token) ----------------------------------------------------------------
@bp.get("/admin/channel-clients")
@require_token
def list_clients():
    query = CS.ChannelClientQuery().load(request.args)
    return CS.ChannelClientList().dump({"items": hotline().channel_clients(principal(), query.get("city"))})


@bp.post("/admin/channel-clients")
@require_token
def create_client():
    client, key = hotline().create_channel_client(principal(), **body(CS.ChannelClientIn()))
    fields = {name: getattr(client, name) for name in CS.ChannelClientOut().fields}
    return CS.ChannelClientCreated().dump({**fields, "key": key, "webhook_secret": client.webhook_secret}), 201


@bp.post("/admin/channel-clients/<int:client_id>/revoke")
@require_token
def revoke_client(client_id):
    return CS.ChannelClientOut().dump(hotline().revoke_channel_client(principal(), client_id))


# -- the page ------------------------------------------------------------------------------------
WORDS = {
    "title": ("渠道接入管理", "Channel clients"),
    "intro": ("网格化管理、数字城管等系统以接入密钥调用受理接口 POST /api/v1/channel/requests（见接口文档与 docs/channels.md）。",
              "Grid, digital city-management and other systems call the intake API POST /api/v1/channel/requests with a client key (see the API docs and docs/channels.md)."),
    "name": ("接入方名称", "Client name"), "name_hint": ("2至80位小写字母、数字、- 或 _", "2 to 80 lowercase letters, digits, - or _"),
    "channel": ("工单渠道", "Ticket channel"), "kind": ("接口类型", "Interface"),
    "key_hint": ("密钥前缀", "Key starts"), "last_used": ("最近调用", "Last used"), "state": ("状态", "State"),
    "active": ("启用", "Active"), "revoked": ("已吊销", "Revoked"), "revoke": ("吊销密钥", "Revoke key"),
    "create": ("新建接入方", "New client"), "webhook_url": ("回传地址（上级平台，可不填）", "Webhook URL (upstream platforms, optional)"),
    "none": ("本市暂无接入方", "No clients in this city"), "never": ("从未", "never"),
    "new_key": ("新密钥（只显示这一次，请立即复制并安全交给接入方；平台只保存其摘要）",
                "The new key (shown this once: copy it now and hand it over safely; the platform keeps only its hash)"),
    "webhook_secret": ("回传签名密钥（HMAC-SHA256）", "Webhook signing secret (HMAC-SHA256)"),
    "created_by": ("创建", "Created"), "revoked_done": ("密钥已吊销，使用该密钥的请求将被拒绝", "The key is revoked: requests with it are refused"),
    "show": ("显示", "Show"), "city": ("城市", "City"), "admin_console": ("系统管理", "Administration"),
    "kind_generic": ("通用（网站、APP、小程序等）", "Generic (web, app, mini-program ...)"),
    "kind_grid": ("网格化管理", "Grid management"), "kind_city_management": ("数字城管", "Digital city management"),
    "kind_open311": ("Open311 GeoReport v2", "Open311 GeoReport v2"), "kind_upstream": ("上级平台（省、国家）", "Upstream platform"),
}


def words() -> dict:
    en = current_language() == "en"
    return {k: pair[1] if en else pair[0] for k, pair in WORDS.items()}


def _require_admin() -> None:
    if not g.principal.has("admin"):
        raise PermissionDenied()


def _page(city: str, *, status: int = 200, error: str | None = None, values=None, created=None, key=None,
          notice: str | None = None):
    response = make_response(render_template(
        "admin_channels.html", city=city, cities=[(c, load_city(c).name) for c in available_cities()],
        clients=hotline().channel_clients(g.principal, city), channels=effective_channels(session(), city),
        kinds=CLIENT_KINDS, w=words(), error=error, values=values or {}, created=created, key=key,
        notice=notice), status)
    response.headers["Cache-Control"] = "no-store"      # the page may carry a new key
    return response


@pages_bp.get("")
@login_required
def channel_clients_page():
    _require_admin()
    return _page(chosen_city())


@pages_bp.post("")
@login_required
def create_client_page():
    _require_admin()
    city = request.form.get("city") or chosen_city()
    try:
        client, key = hotline().create_channel_client(
            g.principal, city=city, name=request.form.get("name", ""), channel=request.form.get("channel", ""),
            kind=request.form.get("kind", ""), webhook_url=request.form.get("webhook_url") or None)
    except DomainError as exc:
        session().rollback()
        return _page(city, status=status_for(exc), error=error_text(exc, current_language()), values=request.form)
    # Shown in this answer only (no redirect: the key must not travel in a cookie or a URL).
    return _page(city, status=201, created=client, key=key)


@pages_bp.post("/<int:client_id>/revoke")
@login_required
def revoke_client_page(client_id):
    _require_admin()
    client = hotline().revoke_channel_client(g.principal, client_id)
    return _page(client.city, notice=words()["revoked_done"])


OPERATIONS = [
    ("post", "/api/v1/channel/requests", "Channel intake (client key in X-Api-Key; Idempotency-Key header required). "
     "JSON in the client kind's format (generic, grid, city_management) or multipart: payload (JSON) + files[]. "
     "201 with the new ticket; 200 with the same ticket for a resend (replayed, header Idempotent-Replayed); "
     "409 idempotency_key_reused for the same key with another body",
     {"oneOf": [CS.GenericRequest, CS.GridReport, CS.CityManagementCase]},
     {201: CS.IntakeOut, 200: CS.IntakeOut, 400: S.ErrorOut, 401: S.ErrorOut, 409: S.ErrorOut, 413: S.ErrorOut,
      415: S.ErrorOut, 422: S.ErrorOut}, None, "client"),
    ("get", "/api/v1/channel/requests/{number}", "A ticket this client created: status and progress (client key)",
     None, {200: CS.ChannelTicketOut, 401: S.ErrorOut, 404: S.ErrorOut}, None, "client"),
    ("get", "/api/v1/admin/channel-clients", "Channel clients, by city (admin)", None,
     {200: CS.ChannelClientList, 403: S.ErrorOut, 422: S.ErrorOut}, CS.ChannelClientQuery, True),
    ("post", "/api/v1/admin/channel-clients", "Create a channel client; the answer carries its key, shown once (admin)",
     CS.ChannelClientIn, {201: CS.ChannelClientCreated, 403: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/admin/channel-clients/{client_id}/revoke", "Revoke a client's key: its next request is a 401 (admin)",
     None, {200: CS.ChannelClientOut, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
]


def register(app, csrf) -> None:
    csrf.exempt(bp)          # machine clients and tokens, not cookies
    app.register_blueprint(bp)
    app.register_blueprint(pages_bp)
