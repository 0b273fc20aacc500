"""JSON API for unit KPIs (computed from the event log) and leaders' readings (阅批)."""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema, fields, validate

from . import schemas as S
from .context import hotline, principal, report_hotline, require_token
from .v1 import body

bp = Blueprint("api_kpis", __name__, url_prefix="/api/v1")


class KpiQuery(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    unit = fields.String(validate=validate.Length(1, 60))
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    by = fields.String(validate=validate.OneOf(["request_type"]))


class AbnormalOut(Schema):
    ticket_id = fields.Integer()
    number = fields.String()
    kind = fields.String(metadata={"description": "inaction 不作为 | slow 慢作为 | misconduct 乱作为"})
    reason = fields.String()


class UnitKpiOut(Schema):
    unit = fields.String()
    request_type = fields.String(allow_none=True)
    dispatched = fields.Integer()
    handled = fields.Integer()
    signed = fields.Integer()
    signed_on_time = fields.Integer()
    sign_rate = fields.Float(allow_none=True)
    on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    avg_handling_hours = fields.Float(allow_none=True, metadata={"description": "working hours, dispatch to reply"})
    returns = fields.Integer()
    return_rate = fields.Float(allow_none=True)
    improper_returns = fields.Integer()
    extensions = fields.Integer()
    satisfaction_rate = fields.Float(allow_none=True)
    second_evaluation_dissatisfied = fields.Integer()
    resolved = fields.Integer()
    resolution_rate = fields.Float(allow_none=True)
    reopened = fields.Integer()
    repeat_complaints = fields.Integer()
    supervision_by_tier = fields.Dict(keys=fields.String(), values=fields.Integer())
    leader_read = fields.Integer()
    leader_reading_rate = fields.Float(allow_none=True)
    efficiency_index = fields.Float(allow_none=True)
    abnormal = fields.List(fields.Nested(AbnormalOut))


class KpiOut(Schema):
    city = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    period_rule = fields.String(metadata={"description": "received | closed (the ticket counts in the period it closed)"})
    satisfaction_formula = fields.String()
    weights = fields.Dict()
    tickets = fields.Integer()
    items = fields.List(fields.Nested(UnitKpiOut))


class ReadingIn(S.Strict):
    comment = fields.String(required=True, validate=validate.Length(1, 1000))


class ReadingOut(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    actor = fields.String()
    at = S.Time()
    data = fields.Dict()


@bp.get("/kpis")
@require_token
def kpis():
    args = KpiQuery().load(request.args)
    result = report_hotline().unit_kpis(principal(), args["city"], args["from_"], args["to"], unit=args.get("unit"),
                                 by_request_type=args.get("by") == "request_type")
    return KpiOut().dump({**result, "from_": result["from"]})


@bp.post("/tickets/<int:ticket_id>/leader-readings")
@require_token
def leader_reading(ticket_id):
    event = hotline().record_leader_reading(principal(), ticket_id, body(ReadingIn())["comment"])
    return ReadingOut().dump(event), 201


class ScoreQuery(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}(-\d{2})?$"),
                           metadata={"description": "YYYY-MM (a month) or YYYY (the mean of its months)"})


class ScoreItemOut(Schema):
    code = fields.String()
    name = fields.String()
    clause = fields.String(allow_none=True)
    type = fields.String()
    max = fields.Float()
    points = fields.Float()
    deduction = fields.Float(allow_none=True)
    tickets = fields.List(fields.Integer(), metadata={"description": "the tickets behind the deduction"})
    count = fields.Integer()
    rate = fields.Float(allow_none=True)
    threshold = fields.Float(allow_none=True)
    average = fields.Float(allow_none=True)
    tiers = fields.Dict()
    entries = fields.List(fields.Dict())


class ScoreSectionOut(Schema):
    code = fields.String()
    name = fields.String()
    max = fields.Float()
    absent = fields.Boolean(metadata={"description": "a reasonable absence (合理缺项): the other sections are prorated"})
    points = fields.Float()
    items = fields.List(fields.Nested(ScoreItemOut))


class UnitScoreOut(Schema):
    unit = fields.String()
    rank = fields.Integer()
    total = fields.Float()
    prorated = fields.Boolean()
    sections = fields.List(fields.Nested(ScoreSectionOut))
    scopes = fields.Dict(metadata={"description": "the totals of separately scored tickets (Suqian: provincial, city)"})
    months = fields.Dict(metadata={"description": "for a yearly period: each month's total behind the mean"})


class ScoresOut(Schema):
    city = fields.String()
    period = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    period_rule = fields.String()
    items = fields.List(fields.Nested(UnitScoreOut))


class ScoreEntryIn(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    unit = fields.String(required=True, validate=validate.Length(1, 60))
    item = fields.String(required=True, validate=validate.Length(1, 60))
    points = fields.Float(required=True, validate=validate.Range(-100, 100))
    reason = fields.String(required=True, validate=validate.Length(2, 2000))
    evidence = fields.String(required=True, validate=validate.Length(1, 2000))
    ticket_ids = fields.List(fields.Integer(), load_default=list)


class ScoreEntryOut(Schema):
    id = fields.Integer()
    city = fields.String()
    period = fields.String()
    unit_code = fields.String()
    item = fields.String()
    points = fields.Float()
    reason = fields.String()
    evidence = fields.String()
    ticket_ids = fields.List(fields.Integer())
    entered_by = fields.String()
    entered_at = S.Time()


@bp.get("/scores")
@require_token
def scores():
    args = ScoreQuery().load(request.args)
    result = report_hotline().unit_scores(principal(), args["city"], args["period"])
    return ScoresOut().dump({**result, "from_": result["from"]})


@bp.post("/scores/entries")
@require_token
def score_entry():
    entry = hotline().add_score_entry(principal(), **body(ScoreEntryIn()))
    return ScoreEntryOut().dump(entry), 201


E = S.ErrorOut
OPERATIONS = [
    ("get", "/api/v1/scores", "Each unit's score for a month by the city's method, each deduction with its tickets", None, {200: ScoresOut, 403: E, 404: E, 422: E}, ScoreQuery, True),
    ("post", "/api/v1/scores/entries", "Enter a manual scoring item (deduction, bonus or penalty) with its evidence", ScoreEntryIn, {201: ScoreEntryOut, 403: E, 404: E, 422: E}, None, True),
    ("get", "/api/v1/kpis", "Unit KPIs over a period, from the event log (per unit, optionally per request type)", None, {200: KpiOut, 403: E, 404: E, 422: E}, KpiQuery, True),
    ("post", "/api/v1/tickets/{ticket_id}/leader-readings", "A unit leader's reading and instruction on a ticket (阅批)", ReadingIn, {201: ReadingOut, 403: E, 404: E, 422: E}, None, True),
]
