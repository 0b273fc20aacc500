"""Rule-set pages: versions with hot-swap activation and diffs, and the decision test console."""
from __future__ import annotations

import json

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.cities import available_cities
from engine.errors import PermissionDenied, ValidationFailed

from .context import hotline, session
from .i18n import t
from .pages import chosen_city, login_required

bp = Blueprint("rules_pages", __name__, url_prefix="/rules")


@bp.get("/")
@login_required
def versions():
    if not g.principal.has("admin", "analyst", "auditor"):
        raise PermissionDenied()
    city = chosen_city()
    facade = hotline()
    diff = None
    if request.args.get("from") and request.args.get("to"):
        diff = facade.diff_versions(g.principal, city, int(request.args["from"]), int(request.args["to"]))
    return render_template("rules.html", city=city, cities=available_cities(), versions=facade.rule_versions(city),
                           diff=diff, log=facade.admin_log(g.principal, city)[:20])


@bp.post("/<city>/<int:version>/activate")
@login_required
def activate(city, version):
    hotline().activate_version(g.principal, city, version)
    flash(t("activated") % {"city": city, "version": version})
    return redirect(url_for("rules_pages.versions", city=city))


@bp.route("/console", methods=["GET", "POST"])
@login_required
def console():
    if not g.principal.has("admin", "analyst", "auditor"):
        raise PermissionDenied()
    city = chosen_city()
    form = {"decision": request.values.get("decision", "handle_limit"),
            "inputs": request.values.get("inputs", '{"kind": "event", "request_type": "complaint"}'),
            "draft": request.values.get("draft", "")}
    result, error, status = None, None, 200
    if request.method == "POST":
        try:
            inputs = json.loads(form["inputs"])
            if not isinstance(inputs, dict):
                raise ValueError
        except ValueError:
            error, status = t("inputs_not_json"), 422
        else:
            try:
                draft = {"draft.dmn": form["draft"].encode("utf-8")} if form["draft"].strip() else None
                result = hotline().evaluate_decision(g.principal, city, form["decision"], inputs, draft_files=draft)
            except ValidationFailed as exc:
                session().rollback()
                error, status = exc.message(request.cookies.get("lang", "zh")), 422
    return render_template("rules_console.html", city=city, cities=available_cities(), form=form, result=result,
                           error=error), status
