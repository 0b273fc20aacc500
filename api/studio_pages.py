"""The analyst studio: edit a city's BPMN in bpmn-js and its DMN in dmn-js, validate (errors shown on the
elements), keep drafts, download/upload files for Camunda Modeler, and deploy the drafts as a new version
(which an administrator activates on /rules/)."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for

from engine.cities import available_cities, load_city
from engine.errors import DomainError, PermissionDenied
from engine.studio import STUDIO_ROLES

from .context import hotline, session
from .errors import error_text, status_for
from .i18n import current_language, t
from .pages import chosen_city, login_required

bp = Blueprint("studio_pages", __name__, url_prefix="/studio")
MAX_XML = 2 * 1024 * 1024


def _require():
    if not g.principal.has(*STUDIO_ROLES):
        raise PermissionDenied()


def _xml_body() -> str:
    data = request.get_data(cache=False, as_text=False)
    if len(data) > MAX_XML:
        raise DomainError("文件过大（上限2MB）", "File larger than 2 MB")
    return data.decode("utf-8", errors="strict")


def _json_error(exc: DomainError):
    session().rollback()
    return jsonify({"error": {"code": exc.code, "message": exc.message(current_language()),
                              "details": exc.details}}), status_for(exc)


@bp.get("/")
@login_required
def files():
    _require()
    city = chosen_city()
    return render_template("studio.html", listing=hotline().studio_files(g.principal, city), city=city,
                           cities=[(c, load_city(c).name) for c in available_cities()])


@bp.get("/<city>/<name>")
@login_required
def editor(city, name):
    _require()
    return render_template("studio_editor.html", file=hotline().studio_file(g.principal, city, name))


@bp.get("/<city>/<name>/download")
@login_required
def download(city, name):
    _require()
    file = hotline().studio_file(g.principal, city, name)
    return Response(file["content"], mimetype="application/json" if file["kind"] == "form" else "application/xml",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.post("/<city>/<name>/validate")
@login_required
def validate(city, name):
    _require()
    try:
        return jsonify(hotline().validate_files(g.principal, city, name, _xml_body()))
    except (DomainError, UnicodeDecodeError) as exc:
        return _json_error(exc if isinstance(exc, DomainError) else DomainError("文件须为UTF-8编码", "Files must be UTF-8"))


@bp.post("/<city>/<name>/draft")
@login_required
def save_draft(city, name):
    _require()
    try:
        draft = hotline().save_draft(g.principal, city, name, _xml_body())
    except (DomainError, UnicodeDecodeError) as exc:
        return _json_error(exc if isinstance(exc, DomainError) else DomainError("文件须为UTF-8编码", "Files must be UTF-8"))
    return jsonify({"saved": True, "name": draft.name, "updated_at": draft.updated_at.isoformat(),
                    "message": t("draft_saved")})


@bp.post("/<city>/<name>/discard")
@login_required
def discard(city, name):
    _require()
    try:
        hotline().discard_draft(g.principal, city, name)
    except DomainError as exc:
        session().rollback()
        flash(exc.message(current_language()))
    return redirect(url_for("studio_pages.files", city=city))


@bp.post("/<city>/deploy")
@login_required
def deploy(city):
    _require()
    try:
        deployment = hotline().deploy_drafts(g.principal, city)
    except DomainError as exc:
        session().rollback()
        flash(error_text(exc, current_language()))
        return redirect(url_for("studio_pages.files", city=city))
    flash(t("deployed_version") % {"version": deployment.version})
    return redirect(url_for("rules_pages.versions", city=city))
