"""The report pages: the list of kinds and issued reports, one report (with charts and downloads), an
issued report as it was sent, and the leaders' cockpit (领导驾驶舱)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.cities import available_cities, load_city
from engine.errors import DomainError
from engine.reports import KINDS, due_period

from .context import clock, hotline, report_hotline
from .errors import error_text, status_for
from .i18n import current_language, t
from .pages import chosen_city, login_required
from .report_export import format_cell
from .reports import deliver

bp = Blueprint("report_pages", __name__)
FORMATS = ("xlsx", "pdf")


@bp.app_context_processor
def report_helpers():
    return {"report_cell": lambda value, fmt: format_cell(value, fmt, current_language()),
            "ticket_link": lambda ref: url_for("pages.ticket_page", ticket_id=ref["id"])}


@bp.app_template_filter("report_label")
def report_label(key: str, columns: list, lang: str) -> str:
    return next((c["label"][lang] for c in columns if c["key"] == key), key)


def _refused(exc: DomainError):
    return render_template("error.html", message=error_text(exc, current_language())), status_for(exc)


def _cities():
    return [(code, load_city(code).name) for code in available_cities()]


@bp.get("/reports")
@login_required
def index():
    actor, city = g.principal, chosen_city()
    error = None
    try:
        issued = hotline().issued_reports(actor, city)
    except DomainError as exc:
        return _refused(exc)
    now = clock().now()
    kinds = [(k, due_period(k, now)) for k in KINDS.values() if actor.has(*k.readers)]
    return render_template("reports.html", city=city, cities=_cities(), kinds=kinds, issued=issued, error=error,
                           may_issue=actor.has("supervisor", "admin"))


def _period_arg():
    return (request.args.get("period") or "").strip() or None


@bp.get("/reports/<kind>")
@login_required
def view(kind):
    city = chosen_city()
    try:
        report = report_hotline().report(g.principal, city, kind, _period_arg())
    except DomainError as exc:
        return _refused(exc)
    return render_template("report.html", report=report, issued=None)


@bp.get("/reports/<kind>/download")
@login_required
def download(kind):
    fmt = request.args.get("format") if request.args.get("format") in FORMATS else "xlsx"
    try:
        report = report_hotline().report(g.principal, chosen_city(), kind, _period_arg())
    except DomainError as exc:
        return _refused(exc)
    return deliver(report, fmt, current_language())


@bp.post("/reports/<kind>/issue")
@login_required
def issue(kind):
    city = chosen_city()
    try:
        issued = hotline().issue_report(g.principal, city, kind, (request.form.get("period") or "").strip() or None)
    except DomainError as exc:
        flash(error_text(exc, current_language()), "error")
        return redirect(url_for("report_pages.index", city=city))
    flash(t("report_issued"))
    return redirect(url_for("report_pages.issued", report_id=issued.id))


@bp.get("/reports/issued/<int:report_id>")
@login_required
def issued(report_id):
    try:
        row = hotline().issued_report(g.principal, report_id)
    except DomainError as exc:
        return _refused(exc)
    return render_template("report.html", report=row.data, issued=row)


@bp.get("/reports/issued/<int:report_id>/download")
@login_required
def issued_download(report_id):
    fmt = request.args.get("format") if request.args.get("format") in FORMATS else "xlsx"
    try:
        row = hotline().issued_report(g.principal, report_id)
    except DomainError as exc:
        return _refused(exc)
    return deliver(row.data, fmt, current_language())


@bp.get("/cockpit")
@login_required
def cockpit():
    city = chosen_city()
    try:
        report = report_hotline().cockpit(g.principal, city, request.args.get("month") or None)
    except DomainError as exc:
        return _refused(exc)
    return render_template("cockpit.html", report=report, city=city, cities=_cities())

