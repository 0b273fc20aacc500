"""JSON API for hot issues (多人一投 / 一人多投 per day, week or month) and hot words (by area or category,
rising against the previous period). Thin: query schema → facade (engine/insights.py) → dump."""
from __future__ import annotations

from flask import Blueprint, request

from . import insight_schemas as IS, schemas as S
from .context import principal, report_hotline, require_token

bp = Blueprint("api_insights", __name__, url_prefix="/api/v1")


@bp.get("/hot-issues")
@require_token
def hot_issues():
    query = IS.HotIssuesQuery().load(request.args)
    return IS.HotIssuesOut().dump(report_hotline().hot_issues(
        principal(), query["city"], query["start"], query["end"], query["period"],
        include_merged=query["include_merged"]))


@bp.get("/hot-words")
@require_token
def hot_words():
    query = IS.HotWordsQuery().load(request.args)
    return IS.HotWordsOut().dump(report_hotline().hot_words(
        principal(), query["city"], query["start"], query["end"], query["by"],
        include_merged=query["include_merged"], top=query["top"]))


E = S.ErrorOut
OPERATIONS = [
    ("get", "/api/v1/hot-issues", "Hot issues per day/week/month of [from, to]: clusters on one matter from several citizens (多人一投) and citizens with several tickets (一人多投), with representative titles (centre roles; at most 92 days)", None, {200: IS.HotIssuesOut, 403: E, 404: E, 422: E}, IS.HotIssuesQuery, True),
    ("get", "/api/v1/hot-words", "Hot words of the tickets received in [from, to], overall or by area or category, with rising terms against the previous period of equal length (centre roles; at most 92 days)", None, {200: IS.HotWordsOut, 403: E, 404: E, 422: E}, IS.HotWordsQuery, True),
]
