"""JSON API for the knowledge base (知识库): entries by unit, search for intake, retire."""
from __future__ import annotations

from flask import Blueprint, request

from engine.knowledge import knowledge_dict, today_of

from . import knowledge_schemas as KS, schemas as S
from .context import clock, hotline, principal, require_token
from .v1 import body

bp = Blueprint("api_knowledge", __name__, url_prefix="/api/v1/knowledge")


def _out(entry) -> dict:
    return KS.KnowledgeOut().dump(knowledge_dict(entry, today_of(clock().now())))


@bp.get("")
@require_token
def list_entries():
    query = KS.KnowledgeQuery().load(request.args)
    items = hotline().list_knowledge(principal(), **query)
    today = today_of(clock().now())
    return KS.KnowledgeList().dump({"items": [knowledge_dict(e, today) for e in items], "total": len(items)})


@bp.post("")
@require_token
def create_entry():
    data = body(KS.KnowledgeIn())
    return _out(hotline().create_knowledge(principal(), data.pop("city"), data)), 201


@bp.get("/search")
@require_token
def search():
    query = KS.KnowledgeSearchQuery().load(request.args)
    on = query.get("on") or today_of(clock().now())
    hits = hotline().search_knowledge(principal(), query["city"], query["q"], on=on, limit=query["limit"])
    return KS.KnowledgeSearchOut().dump({"on": on, "items": [
        {"entry": knowledge_dict(h.entry, on), "score": h.score, "matched_keywords": h.matched_keywords,
         "review_overdue": h.review_overdue} for h in hits]})


@bp.get("/<int:entry_id>")
@require_token
def get_entry(entry_id):
    return _out(hotline().get_knowledge(principal(), entry_id))


@bp.put("/<int:entry_id>")
@require_token
def update_entry(entry_id):
    data = body(KS.KnowledgeUpdate())
    revision = data.pop("revision")
    return _out(hotline().update_knowledge(principal(), entry_id, data, revision=revision))


@bp.post("/<int:entry_id>/retire")
@require_token
def retire_entry(entry_id):
    data = body(KS.KnowledgeRetire()) if request.is_json else {}
    return _out(hotline().retire_knowledge(principal(), entry_id, revision=data.get("revision")))


OPERATIONS = [
    ("get", "/api/v1/knowledge", "Knowledge-base entries (filters: city, unit, kind, status, review_overdue, q)", None, {200: KS.KnowledgeList, 403: S.ErrorOut, 422: S.ErrorOut}, KS.KnowledgeQuery, True),
    ("post", "/api/v1/knowledge", "Create an entry (a unit's handler/leader for their unit, or an admin)", KS.KnowledgeIn, {201: KS.KnowledgeOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/knowledge/search", "Entries valid on a day that answer a request's text, best first (intake suggestions)", None, {200: KS.KnowledgeSearchOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, KS.KnowledgeSearchQuery, True),
    ("get", "/api/v1/knowledge/{entry_id}", "One entry", None, {200: KS.KnowledgeOut, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
    ("put", "/api/v1/knowledge/{entry_id}", "Change an entry made on `revision` (a stale revision is a 409); raises the revision", KS.KnowledgeUpdate, {200: KS.KnowledgeOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/knowledge/{entry_id}/retire", "Retire an entry (no longer suggested or usable for answers)", KS.KnowledgeRetire, {200: KS.KnowledgeOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut}, None, True),
]
