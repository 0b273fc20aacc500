"""The unit KPI page (from the event log) and a leader's reading (阅批) on the ticket page."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.cities import available_cities, load_city
from engine.errors import DomainError, PermissionDenied
from engine.kpis import KPI_ROLES

from .context import clock, hotline, report_hotline
from .errors import error_text, status_for
from .escalation_pages import _render_with_error
from .i18n import current_language, t
from .pages import chosen_city, login_required

bp = Blueprint("kpi_pages", __name__)
COLUMNS = ("dispatched", "handled", "sign_rate", "on_time_rate", "avg_handling_hours", "return_rate",
           "improper_returns", "extensions", "satisfaction_rate", "resolution_rate", "reopened", "repeat_complaints",
           "leader_reading_rate", "efficiency_index")


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@bp.get("/kpis")
@login_required
def kpis():
    actor = g.principal
    if not (actor.has(*KPI_ROLES) or (actor.unit_code and actor.has("leader", "principal", "handler"))):
        raise PermissionDenied()
    city = chosen_city()
    today = clock().now().date()
    start = _day(request.args.get("from"), today.replace(day=1))
    end = _day(request.args.get("to"), today)
    by = "request_type" if request.args.get("by") == "request_type" else None
    result, error, status = None, None, 200
    try:
        result = report_hotline().unit_kpis(actor, city, start, end, unit=request.args.get("unit") or None,
                                     by_request_type=by == "request_type")
    except DomainError as exc:
        error, status = error_text(exc, current_language()), status_for(exc)
    cities = [(code, load_city(code).name) for code in available_cities()]
    return render_template("kpis.html", result=result, error=error, city=city, cities=cities, start=start,
                           end=end, by=by, columns=COLUMNS), status


@bp.get("/scores")
@login_required
def scores():
    """Each unit's score for a month (or a year's mean), every item with its deduction and the tickets
    behind it, so a unit sees why it lost a point."""
    city = chosen_city()
    period = request.args.get("period") or clock().now().strftime("%Y-%m")
    result, error, status = None, None, 200
    try:
        result = report_hotline().unit_scores(g.principal, city, period)
    except DomainError as exc:
        error, status = error_text(exc, current_language()), status_for(exc)
    cities = [(code, load_city(code).name) for code in available_cities()]
    return render_template("scores.html", result=result, error=error, city=city, cities=cities,
                           period=period), status


@bp.post("/tickets/<int:ticket_id>/leader-reading")
@login_required
def leader_reading(ticket_id):
    try:
        hotline().record_leader_reading(g.principal, ticket_id, request.form.get("comment", ""))
    except DomainError as exc:
        return _render_with_error(ticket_id, exc, status_for(exc))
    flash(t("leader_read_recorded"))
    return redirect(url_for("pages.ticket_page", ticket_id=ticket_id))
