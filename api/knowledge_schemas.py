"""Marshmallow schemas of the knowledge-base API (知识库)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from .schemas import Strict, Time


KNOWLEDGE_KINDS = ["policy", "script", "procedure"]


class KnowledgeIn(Strict):
    city = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    unit = fields.String(allow_none=True, validate=validate.Length(max=60))
    kind = fields.String(required=True, validate=validate.OneOf(KNOWLEDGE_KINDS))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    body = fields.String(required=True, validate=validate.Length(1, 10000))
    keywords = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list,
                           validate=validate.Length(max=30))
    category = fields.String(allow_none=True, validate=validate.Length(max=60))
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    review_due = fields.Date(required=True)


class KnowledgeUpdate(Strict):
    """A change: ``revision`` is the one it was made on; fields left out keep their value."""
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    unit = fields.String(validate=validate.Length(max=60))
    kind = fields.String(validate=validate.OneOf(KNOWLEDGE_KINDS))
    title = fields.String(validate=validate.Length(1, 300))
    body = fields.String(validate=validate.Length(1, 10000))
    keywords = fields.List(fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=30))
    category = fields.String(allow_none=True, validate=validate.Length(max=60))
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    review_due = fields.Date()
    status = fields.String(validate=validate.OneOf(["active", "retired"]))


class KnowledgeRetire(Strict):
    revision = fields.Integer(allow_none=True, validate=validate.Range(min=1))


class KnowledgeOut(Schema):
    id = fields.Integer()
    city = fields.String()
    unit = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    keywords = fields.List(fields.String())
    category = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    review_due = fields.Date(allow_none=True)
    status = fields.String()
    revision = fields.Integer()
    review_overdue = fields.Boolean()
    valid_today = fields.Boolean()
    created_by = fields.String()
    created_at = Time()
    updated_by = fields.String()
    updated_at = Time()


class KnowledgeList(Schema):
    items = fields.List(fields.Nested(KnowledgeOut))
    total = fields.Integer()


class KnowledgeQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String(validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    unit = fields.String()
    kind = fields.String(validate=validate.OneOf(KNOWLEDGE_KINDS))
    status = fields.String(validate=validate.OneOf(["active", "retired"]))
    review_overdue = fields.Boolean()
    q = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))


class KnowledgeSearchQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    q = fields.String(required=True, validate=validate.Length(max=4000))
    on = fields.Date(allow_none=True)
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))


class KnowledgeHitOut(Schema):
    entry = fields.Nested(KnowledgeOut)
    score = fields.Float()
    matched_keywords = fields.List(fields.String())
    review_overdue = fields.Boolean()


class KnowledgeSearchOut(Schema):
    items = fields.List(fields.Nested(KnowledgeHitOut))
    on = fields.Date()
