"""Attachments over HTTP: upload (multipart), list, and download with safe headers; JSON API and pages."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, flash, g, redirect, request, url_for
from marshmallow import Schema, fields

from engine.errors import DomainError, ValidationFailed

from . import schemas as S
from .context import attachment_store, hotline, principal, require_token, session
from .i18n import current_language, t
from .pages import login_required

api_bp = Blueprint("api_attachments", __name__, url_prefix="/api/v1")
pages_bp = Blueprint("attachment_pages", __name__)


class AttachmentOut(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_at = S.Time()


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentOut))


def _uploaded() -> tuple[str | None, bytes]:
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed("请选择要上传的文件", "Choose a file to upload",
                               details={"file": [{"code": "required", "message_zh": "请选择要上传的文件",
                                                  "message_en": "Choose a file to upload"}]})
    return file.filename, file.read()


def _download(attachment, data: bytes) -> Response:
    # Never rendered by the browser as a page: attachment disposition, declared type, nosniff, sandbox.
    ext = "." + attachment.filename.rsplit(".", 1)[-1]
    disposition = f"attachment; filename=\"attachment-{attachment.id}{ext}\"; filename*=UTF-8''{quote(attachment.filename)}"
    return Response(data, mimetype=attachment.content_type, headers={
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})


@api_bp.post("/tickets/<int:ticket_id>/attachments")
@require_token
def upload(ticket_id):
    filename, data = _uploaded()
    attachment = hotline().add_attachment(principal(), ticket_id, filename, data, attachment_store())
    return AttachmentOut().dump(attachment), 201


@api_bp.get("/tickets/<int:ticket_id>/attachments")
@require_token
def list_attachments(ticket_id):
    return AttachmentList().dump({"items": hotline().attachments(principal(), ticket_id)})


@api_bp.get("/attachments/<int:attachment_id>")
@require_token
def download(attachment_id):
    return _download(*hotline().attachment_content(principal(), attachment_id, attachment_store()))


@pages_bp.post("/tickets/<int:ticket_id>/attachments")
@login_required
def upload_page(ticket_id):
    target = request.form.get("next") or url_for("pages.ticket_page", ticket_id=ticket_id)
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("pages.ticket_page", ticket_id=ticket_id)
    try:
        filename, data = _uploaded()
        hotline().add_attachment(g.principal, ticket_id, filename, data, attachment_store())
    except DomainError as exc:
        session().rollback()
        flash(exc.message(current_language()))
    else:
        flash(t("attachment_added"))
    return redirect(target)


@pages_bp.get("/attachments/<int:attachment_id>")
@login_required
def download_page(attachment_id):
    return _download(*hotline().attachment_content(g.principal, attachment_id, attachment_store()))


OPERATIONS = [
    ("post", "/api/v1/tickets/{ticket_id}/attachments", "Add a photo or PDF to a ticket (multipart: file)", "multipart-file", {201: AttachmentOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/attachments", "A ticket's attachments", None, {200: AttachmentList, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/attachments/{attachment_id}", "Download an attachment (sent as a download, nosniff)", None, {200: None, 404: S.ErrorOut}, None, True),
]
