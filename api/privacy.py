"""JSON API for the personal-data view log: who saw a ticket's citizen unmasked."""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields

from . import schemas as S
from .context import hotline, principal, require_token

bp = Blueprint("api_privacy", __name__, url_prefix="/api/v1")


class ViewOut(Schema):
    username = fields.String()
    at = S.Time()
    purpose = fields.String(metadata={"description": "the page or endpoint that showed it"})


class ViewList(Schema):
    items = fields.List(fields.Nested(ViewOut))


@bp.get("/tickets/<int:ticket_id>/personal-data-views")
@require_token
def views(ticket_id):
    return ViewList().dump({"items": hotline().personal_data_views(principal(), ticket_id)})


OPERATIONS = [
    ("get", "/api/v1/tickets/{ticket_id}/personal-data-views", "Who was shown the ticket's citizen unmasked, when and where (auditor, admin)", None, {200: ViewList, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
]
