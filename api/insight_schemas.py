"""Marshmallow schemas of the hot-issue and hot-word API (engine/insights.py)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from .schemas import Time


class Day(fields.Date):
    """A calendar day YYYY-MM-DD; a bad one is reported with a code and both languages."""

    def _deserialize(self, value, attr, data, **kwargs):
        from marshmallow import ValidationError
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError([{"code": "invalid_date", "message_zh": "日期格式应为 YYYY-MM-DD",
                                    "message_en": "must be a date YYYY-MM-DD"}]) from None


class InsightQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    start = Day(data_key="from", load_default=None)
    end = Day(data_key="to", load_default=None)
    include_merged = fields.Boolean(load_default=False)


class HotIssuesQuery(InsightQuery):
    period = fields.String(load_default="day", validate=validate.OneOf(["day", "week", "month"]))


class HotWordsQuery(InsightQuery):
    by = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["area", "category"]))
    top = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class HotTicketOut(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    title = fields.String()
    received_at = Time()
    category = fields.String(allow_none=True)


class HotIssueOut(Schema):
    key = fields.Integer()
    size = fields.Integer()
    citizens = fields.Integer()
    ticket_ids = fields.List(fields.Integer())
    representative_id = fields.Integer()
    title = fields.String()
    terms = fields.List(fields.String())
    places = fields.List(fields.String())
    categories = fields.List(fields.String())
    cohesion = fields.Float()
    first_at = Time()
    last_at = Time()
    tickets = fields.List(fields.Nested(HotTicketOut))


class RepeatMatterOut(Schema):
    ticket_ids = fields.List(fields.Integer())
    title = fields.String()
    cluster = fields.Integer(allow_none=True)


class RepeatCitizenOut(Schema):
    citizen = fields.String()
    citizen_name = fields.String(allow_none=True)
    count = fields.Integer()
    ticket_ids = fields.List(fields.Integer())
    same_matter = fields.Boolean()
    matters = fields.List(fields.Nested(RepeatMatterOut))
    first_at = Time()
    last_at = Time()
    tickets = fields.List(fields.Nested(HotTicketOut))


class HotIssueBucketOut(Schema):
    start = fields.Date()
    end = fields.Date()
    tickets = fields.Integer()
    many_people_one_issue = fields.List(fields.Nested(HotIssueOut))
    one_person_many_tickets = fields.List(fields.Nested(RepeatCitizenOut))


class HotIssuesOut(Schema):
    city = fields.String()
    start = fields.Date(data_key="from", attribute="from")
    end = fields.Date(data_key="to", attribute="to")
    period = fields.String()
    tickets = fields.Integer()
    threshold = fields.Float()
    buckets = fields.List(fields.Nested(HotIssueBucketOut))


class HotTermOut(Schema):
    term = fields.String()
    count = fields.Integer()
    previous = fields.Integer()
    growth = fields.Float()
    weight = fields.Float()


class HotWordGroupOut(Schema):
    group = fields.String(allow_none=True)
    tickets = fields.Integer()
    previous_tickets = fields.Integer()
    terms = fields.List(fields.Nested(HotTermOut))
    rising = fields.List(fields.Nested(HotTermOut))


class HotWordsOut(Schema):
    city = fields.String()
    start = fields.Date(data_key="from", attribute="from")
    end = fields.Date(data_key="to", attribute="to")
    previous_from = fields.Date()
    previous_to = fields.Date()
    by = fields.String(allow_none=True)
    tickets = fields.Integer()
    previous_tickets = fields.Integer()
    groups = fields.List(fields.Nested(HotWordGroupOut))
