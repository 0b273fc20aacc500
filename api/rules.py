"""Rule-set API: versions, hot-swap activation, diff, migration, decision console, backtest."""
from __future__ import annotations

from flask import Blueprint, Response, abort, request

from engine.errors import ValidationFailed

from . import schemas as S
from .context import hotline, principal, require_token
from .v1 import body

bp = Blueprint("api_rules", __name__, url_prefix="/api/v1/rules")


@bp.get("/<city>/versions")
@require_token
def versions(city):
    return S.VersionList().dump({"items": hotline().rule_versions(city)})


@bp.post("/<city>/versions/<int:version>/activate")
@require_token
def activate(city, version):
    return S.DeploymentOut().dump(hotline().activate_version(principal(), city, version))


@bp.get("/<city>/versions/<int:version>/files/<name>")
@require_token
def download(city, version, name):
    """Download a deployed .bpmn/.dmn file, e.g. to edit it offline in Camunda Modeler."""
    deployment = next((d for d in hotline().rule_versions(city) if d.version == version), None)
    if deployment is None or name not in deployment.files:
        abort(404)
    return Response(deployment.files[name], mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/<city>/diff")
@require_token
def diff(city):
    try:
        a, b = int(request.args["from"]), int(request.args["to"])
    except (KeyError, ValueError):
        raise ValidationFailed("需要 from 和 to 两个版本号", "Both 'from' and 'to' versions are required")
    return S.DiffOut().dump(hotline().diff_versions(principal(), city, a, b))


@bp.post("/<city>/migrations")
@require_token
def migrations(city):
    data = body(S.MigrationRequest())
    return S.MigrationOut().dump(hotline().migrate_tickets(principal(), city, data["from_version"], data["to_version"],
                                                           dry_run=data["dry_run"], ticket_ids=data["ticket_ids"]))


@bp.post("/<city>/decisions/<decision_id>/evaluate")
@require_token
def evaluate(city, decision_id):
    data = body(S.EvaluateRequest())
    files = {n: t.encode("utf-8") for n, t in (data.get("files") or {}).items()}
    return S.EvaluateOut().dump(hotline().evaluate_decision(principal(), city, decision_id, data["inputs"],
                                                            version=data.get("version"), draft_files=files))


@bp.post("/<city>/backtest")
@require_token
def backtest(city):
    data = body(S.BacktestRequest())
    return S.BacktestOut().dump(hotline().backtest(principal(), city, data["version"], data["days"]))


@bp.get("/log")
@require_token
def admin_log():
    return S.EventList().dump({"items": hotline().admin_log(principal(), request.args.get("city"))})
