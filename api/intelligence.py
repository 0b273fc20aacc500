"""JSON API for duplicate lookup, merging into a master ticket and smart-dispatch models/suggestions."""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema, fields, validate

from . import schemas as S
from .context import clock, hotline, principal, require_token, session
from .presenters import ticket_dict, ticket_dicts
from .v1 import body

bp = Blueprint("api_intelligence", __name__, url_prefix="/api/v1")


# -- schemas -------------------------------------------------------------------------------------
class SimilarQuery(S.Strict):
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))
    days = fields.Integer(load_default=30, validate=validate.Range(1, 180))


class SimilarTextIn(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    content = fields.String(load_default="", validate=validate.Length(0, 20000))
    address = fields.String(allow_none=True, validate=validate.Length(0, 300))
    citizen_phone = fields.String(allow_none=True, validate=validate.Length(0, 40))
    category = fields.String(allow_none=True, validate=validate.Length(0, 60))
    limit = fields.Integer(load_default=5, validate=validate.Range(1, 50))


class ReasonOut(Schema):
    code = fields.String()
    value = fields.Raw()
    message_zh = fields.String()
    message_en = fields.String()


class SimilarOut(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    status = fields.String()
    received_at = fields.String()
    unit = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True)
    score = fields.Float()
    reasons = fields.List(fields.Nested(ReasonOut))


class SimilarList(Schema):
    items = fields.List(fields.Nested(SimilarOut))


class MergeIn(S.Strict):
    into = fields.Integer(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(0, 1000))


class TicketList(Schema):
    items = fields.List(fields.Nested(S.TicketOut))


class SuggestTextIn(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    content = fields.String(load_default="", validate=validate.Length(0, 20000))


class SuggestionOut(Schema):
    city = fields.String()
    threshold = fields.Float()
    category = fields.Dict()
    unit = fields.Dict(allow_none=True)
    decided_by = fields.String(metadata={"description": "suggestion (confident) or dispatcher (below the threshold)"})


class ModelsQuery(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))


class TrainIn(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))


class ModelOut(Schema):
    id = fields.Integer()
    city = fields.String()
    target = fields.String()
    version = fields.Integer()
    source = fields.String()
    trained_on = fields.Integer()
    accuracy = fields.Float(allow_none=True)
    active = fields.Boolean()
    report = fields.Dict()
    created_by = fields.String()
    created_at = fields.DateTime()


class ModelList(Schema):
    items = fields.List(fields.Nested(ModelOut))


# -- routes --------------------------------------------------------------------------------------
@bp.get("/tickets/<int:ticket_id>/similar")
@require_token
def similar(ticket_id):
    args = SimilarQuery().load(request.args)
    return SimilarList().dump({"items": hotline().similar_tickets(principal(), ticket_id, **args)})


@bp.post("/similar")
@require_token
def similar_to_text():
    data = body(SimilarTextIn())
    items = hotline().similar_to_text(principal(), data.pop("city"), data.pop("title"), data.pop("content"), **data)
    return SimilarList().dump({"items": items})


@bp.post("/tickets/<int:ticket_id>/merge")
@require_token
def merge(ticket_id):
    ticket = hotline().merge_ticket(principal(), ticket_id, **body(MergeIn()))
    return S.TicketOut().dump(ticket_dict(session(), ticket, clock().now()))


@bp.get("/tickets/<int:ticket_id>/merged")
@require_token
def merged(ticket_id):
    tickets = hotline().merged_tickets(principal(), ticket_id)
    return TicketList().dump({"items": ticket_dicts(session(), tickets, clock().now())})


@bp.get("/tickets/<int:ticket_id>/dispatch-suggestion")
@require_token
def dispatch_suggestion(ticket_id):
    return SuggestionOut().dump(hotline().dispatch_suggestion(principal(), ticket_id))


@bp.post("/dispatch-suggestion")
@require_token
def suggest_for_text():
    data = body(SuggestTextIn())
    return SuggestionOut().dump(hotline().suggest_for_text(principal(), data["city"], data["title"], data["content"]))


@bp.get("/ai/models")
@require_token
def models():
    args = ModelsQuery().load(request.args)
    return ModelList().dump({"items": hotline().dispatch_models(principal(), args["city"])})


@bp.post("/ai/models")
@require_token
def train():
    data = body(TrainIn())
    return ModelList().dump({"items": hotline().train_dispatch_models(principal(), data["city"])}), 201


@bp.get("/ai/models/<int:model_id>")
@require_token
def model(model_id):
    return ModelOut().dump(hotline().dispatch_model(principal(), model_id))


E = S.ErrorOut
OPERATIONS = [
    ("get", "/api/v1/tickets/{ticket_id}/similar", "Possible duplicates and related tickets, ranked, with scores and reasons (AI辨重)", None, {200: SimilarList, 404: E, 422: E}, SimilarQuery, True),
    ("post", "/api/v1/similar", "Duplicate lookup for a request being taken in (no ticket yet)", SimilarTextIn, {200: SimilarList, 403: E, 404: E, 422: E}, None, True),
    ("post", "/api/v1/tickets/{ticket_id}/merge", "Merge a ticket waiting for dispatch into a master ticket (一体派发)", MergeIn, {200: S.TicketOut, 403: E, 404: E, 409: E, 422: E}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/merged", "The tickets merged into this master ticket", None, {200: TicketList, 404: E}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/dispatch-suggestion", "Smart dispatch: suggested category and unit with confidence", None, {200: SuggestionOut, 403: E, 404: E}, None, True),
    ("post", "/api/v1/dispatch-suggestion", "Smart dispatch suggestion for a request being taken in", SuggestTextIn, {200: SuggestionOut, 403: E, 404: E, 422: E}, None, True),
    ("get", "/api/v1/ai/models", "A city's dispatch models (versions, sources, evaluation reports)", None, {200: ModelList, 403: E, 422: E}, ModelsQuery, True),
    ("post", "/api/v1/ai/models", "Retrain a city's dispatch models on its closed tickets (analyst/admin)", TrainIn, {201: ModelList, 403: E, 404: E, 422: E}, None, True),
    ("get", "/api/v1/ai/models/{model_id}", "One dispatch model with its evaluation report", None, {200: ModelOut, 403: E, 404: E}, None, True),
]
