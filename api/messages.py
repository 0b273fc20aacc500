"""JSON API for the in-app message inbox (notifications). Thin: schema → facade → dump."""
from __future__ import annotations

from flask import Blueprint, request

from . import schemas as S
from .context import hotline, principal, require_token

bp = Blueprint("api_messages", __name__, url_prefix="/api/v1")


@bp.get("/messages")
@require_token
def list_messages():
    query = S.MessageQuery().load(request.args)
    items, unread = hotline().messages(principal(), unread_only=query["unread"], limit=query["limit"])
    return S.MessageList().dump({"items": items, "unread": unread})


@bp.post("/messages/<int:message_id>/read")
@require_token
def read_message(message_id):
    return S.MessageOut().dump(hotline().read_message(principal(), message_id))
