"""Upstream platforms over HTTP: the push of directives (``X-Api-Key`` of an "upstream" client), the
administrator's file import, the webhook dead-letter list (JSON) and its page ``/admin/webhooks``.

Formats and the webhook contract: docs/upstream.md.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate

from engine.errors import DomainError, PermissionDenied, ValidationFailed, field_error
from engine.facade import REQUEST_TYPES
from engine.webhooks import EVENTS, STATES

from . import schemas as S
from .channel_auth import require_client
from .context import attachment_store, hotline, principal, require_token, session
from .errors import error_text, language, localize_schema_messages, status_for
from .i18n import current_language
from .pages import login_required
from .v1 import body

MAX_ID = 2 ** 63 - 1        # the largest id a database column holds: beyond it is a 422, not a driver error
bp = Blueprint("api_upstream", __name__, url_prefix="/api/v1")
pages_bp = Blueprint("upstream_pages", __name__)


# -- schemas ---------------------------------------------------------------------------------------
class AttachmentIn(S.Strict):
    filename = fields.String(required=True, validate=validate.Length(1, 200))
    content_base64 = fields.String(required=True, metadata={"description": "the file, base64 (JPEG/PNG/GIF/WebP or PDF)"})


class UpstreamTicketIn(S.Strict):
    external_id = fields.String(required=True, validate=[validate.Length(1, 100), validate.Regexp(r"^\S+$")],
                                metadata={"description": "the upstream platform's ticket number (idempotency key)"})
    platform = fields.String(allow_none=True, validate=validate.Length(max=100),
                             metadata={"description": "e.g. 江苏12345在线, 国务院“互联网+督查”"})
    sender = fields.String(allow_none=True, validate=validate.Length(max=100),
                           metadata={"description": "the office or person that sent it down"})
    title = fields.String(required=True, validate=validate.Length(1, 300))
    content = fields.String(required=True, validate=validate.Length(1, 20000))
    request_type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    citizen = fields.Nested(S.Citizen, load_default=dict)
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    category = fields.String(allow_none=True, validate=validate.Length(1, 60))
    received_at = S.Time(required=True, metadata={"description": "when the upstream platform received the request"})
    due_at = S.Time(required=True, metadata={"description": "the handling deadline the upstream platform sets"})
    attachments = fields.List(fields.Nested(AttachmentIn), load_default=list, validate=validate.Length(max=10))


class UpstreamTicketOut(Schema):
    external_id = fields.String()
    created = fields.Boolean(metadata={"description": "false: this record was already imported (same ticket)"})
    ticket_id = fields.Integer()
    number = fields.String()
    city = fields.String()
    kind = fields.String()
    status = fields.String()
    received_at = S.Time()
    handle_due_at = S.Time(allow_none=True)


class ImportQuery(S.Strict):
    client_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID),
                               metadata={"description": "the upstream client (form field or query parameter)"})


class RecordError(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw(allow_none=True)


class ImportRecordOut(Schema):
    line = fields.Integer()
    external_id = fields.String(allow_none=True)
    result = fields.String(metadata={"description": "created | already_imported | refused"})
    ticket_id = fields.Integer(allow_none=True)
    number = fields.String(allow_none=True)
    error = fields.Nested(RecordError, allow_none=True)


class ImportReportOut(Schema):
    client_id = fields.Integer()
    client = fields.String()
    total = fields.Integer()
    created = fields.Integer()
    already_imported = fields.Integer()
    refused = fields.Integer()
    records = fields.List(fields.Nested(ImportRecordOut))


class WebhookQuery(S.Strict):
    state = fields.String(validate=validate.OneOf(STATES))
    client_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class WebhookOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    client = fields.String()
    city = fields.String()
    ticket_id = fields.Integer()
    number = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    event = fields.String(metadata={"description": " | ".join(EVENTS)})
    state = fields.String(metadata={"description": " | ".join(STATES)})
    attempts = fields.Integer()
    next_attempt_at = S.Time()
    last_error = fields.String(allow_none=True)
    created_at = S.Time()
    delivered_at = S.Time(allow_none=True)
    payload = fields.Dict()


class WebhookCounts(Schema):
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer())
    pending_by_client = fields.Dict(keys=fields.String(), values=fields.Integer())


class WebhookList(Schema):
    items = fields.List(fields.Nested(WebhookOut))
    counts = fields.Nested(WebhookCounts)


# -- helpers ---------------------------------------------------------------------------------------
def validate_record(raw) -> dict:
    """A file record through the push's schema, as a domain error (the file import reports it per line)."""
    try:
        return UpstreamTicketIn().load(raw)
    except ValidationError as exc:
        raise ValidationFailed(details=localize_schema_messages(exc.messages))


def ticket_out(ticket, external_id: str, created: bool) -> dict:
    return UpstreamTicketOut().dump({"external_id": external_id, "created": created, "ticket_id": ticket.id,
                                     **{k: getattr(ticket, k) for k in ("number", "city", "kind", "status",
                                                                        "received_at", "handle_due_at")}})


def localized_report(report: dict, lang: str) -> dict:
    key = "message_en" if lang == "en" else "message_zh"
    records = [{**r, "error": {"code": r["error"]["code"], "message": r["error"][key],
                               "details": r["error"]["details"]} if r["error"] else None} for r in report["records"]]
    return ImportReportOut().dump({**report, "records": records})


def delivery_dict(delivery, client) -> dict:
    payload = delivery.payload or {}
    return {"client": client.name, "city": client.city, "number": payload.get("number"),
            "external_id": payload.get("external_id"),
            **{k: getattr(delivery, k) for k in ("id", "client_id", "ticket_id", "event", "state", "attempts",
                                                 "next_attempt_at", "last_error", "created_at", "delivered_at",
                                                 "payload")}}


# -- JSON API --------------------------------------------------------------------------------------
@bp.post("/upstream/tickets")
@require_client("upstream")
def push_ticket():
    payload = body(UpstreamTicketIn())
    ticket, created = hotline().import_upstream_ticket(g.client, payload, store=attachment_store())
    return ticket_out(ticket, payload["external_id"], created), 201 if created else 200


@bp.post("/admin/upstream/imports")
@require_token
def import_file():
    if not principal().has("admin"):
        raise PermissionDenied()
    query = ImportQuery().load({"client_id": request.form.get("client_id") or request.args.get("client_id")})
    upload = request.files.get("file")
    if upload is None:
        raise field_error("file", "required", "请上传JSON或JSON Lines文件", "a JSON or JSON Lines file is required")
    report = hotline().import_upstream_file(principal(), query["client_id"], upload.read(), validate=validate_record,
                                            store=attachment_store())
    return localized_report(report, language())


@bp.get("/admin/webhooks")
@require_token
def list_webhooks():
    query = WebhookQuery().load(request.args)
    facade = hotline()
    rows = facade.webhook_deliveries(principal(), **query)
    return WebhookList().dump({"items": [delivery_dict(d, c) for d, c in rows],
                               "counts": facade.webhook_counts(principal())})


@bp.post("/admin/webhooks/<int:delivery_id>/retry")
@require_token
def retry_webhook(delivery_id):
    return WebhookOut().dump(delivery_dict(*hotline().retry_webhook(principal(), delivery_id)))


# -- the administrator's page ------------------------------------------------------------------------
WORDS = {
    "webhooks": ("上级平台回传（Webhook）", "Upstream webhooks"),
    "dead_letters": ("投递失败（死信）", "Dead letters"), "pending": ("待发送", "Pending"),
    "delivered": ("已送达", "Delivered"), "dead": ("投递失败", "Dead"),
    "pending_by_client": ("各接入方待发送", "Pending per client"), "client": ("接入方", "Client"),
    "ticket": ("工单编号", "Ticket"), "external_id": ("上级平台编号", "Upstream number"),
    "event": ("事件", "Event"), "attempts": ("尝试次数", "Attempts"), "last_error": ("最后一次错误", "Last error"),
    "created_at": ("生成时间", "Queued"), "next_attempt_at": ("下次尝试", "Next attempt"),
    "delivered_at": ("送达时间", "Delivered at"), "retry": ("重新发送", "Retry"),
    "requeued": ("已重新加入发送队列", "Requeued for delivery"), "none": ("没有记录", "Nothing here"),
    "event_status": ("状态变更", "Status change"), "event_reply": ("答复", "Reply"), "event_closed": ("办结", "Closed"),
}


def word(key: str) -> str:
    pair = WORDS.get(key)
    return key if pair is None else pair[1] if current_language() == "en" else pair[0]


def _webhooks_page(state: str, *, status: int = 200, error: str | None = None):
    facade = hotline()
    rows = facade.webhook_deliveries(g.principal, state=state)
    return render_template("admin_webhooks.html", w=word, state=state, states=STATES, error=error,
                           deliveries=[delivery_dict(d, c) for d, c in rows],
                           counts=facade.webhook_counts(g.principal)), status


@pages_bp.get("/admin/webhooks")
@login_required
def webhooks_page():
    if not g.principal.has("admin"):
        raise PermissionDenied()
    state = request.args.get("state", "dead")
    return _webhooks_page(state if state in STATES else "dead")


@pages_bp.post("/admin/webhooks/<int:delivery_id>/retry")
@login_required
def retry_page(delivery_id):
    try:
        hotline().retry_webhook(g.principal, delivery_id)
    except DomainError as exc:
        session().rollback()
        if isinstance(exc, PermissionDenied):
            raise
        return _webhooks_page("dead", status=status_for(exc), error=error_text(exc, current_language()))
    flash(word("requeued"))
    return redirect(url_for("upstream_pages.webhooks_page", state="dead"))


E = S.ErrorOut
OPERATIONS = [
    ("post", "/api/v1/upstream/tickets", "An upstream platform pushes a directive (X-Api-Key of an upstream client, not a bearer token); 201 new, 200 already imported (same ticket), 409 same number with other content", UpstreamTicketIn, {200: UpstreamTicketOut, 201: UpstreamTicketOut, 401: E, 409: E, 413: E, 415: E, 422: E}, None, "client"),
    ("post", "/api/v1/admin/upstream/imports", "Import a JSON array or JSON Lines file of upstream records for a client (admin; multipart: client_id, file); the report gives each line's result", "multipart-file", {200: ImportReportOut, 403: E, 413: E, 422: E}, ImportQuery, True),
    ("get", "/api/v1/admin/webhooks", "Webhook deliveries to upstream platforms, newest first (admin; state=dead is the dead-letter list) with counts", None, {200: WebhookList, 403: E, 422: E}, WebhookQuery, True),
    ("post", "/api/v1/admin/webhooks/{delivery_id}/retry", "Requeue a dead delivery: pending, attempts 0, due now (admin)", None, {200: WebhookOut, 403: E, 404: E, 409: E}, None, True),
]


def register(app, csrf) -> None:
    """The API (client keys and bearer tokens, so CSRF-exempt) and the administrator's page."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(pages_bp)
