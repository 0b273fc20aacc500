"""JSON API v1. Handlers are thin: validate with a schema, call the facade, dump the result."""
from __future__ import annotations

from flask import Blueprint, abort, request

from engine import accounts
from engine.clock import SystemClock
from engine.scheduler import sweep
from engine.testclock import engine_clock, set_test_clock

from . import schemas as S
from .context import clock, db, hotline, outbound, principal, require_roles, require_token, session, settings
from .presenters import task_dict, task_dicts, ticket_dict, ticket_dicts

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def body(schema):
    if not request.is_json:
        abort(415)
    return schema.load(request.get_json(silent=False) or {})


# -- auth ----------------------------------------------------------------------------------------
@bp.post("/auth/token")
def issue_token():
    data = body(S.TokenRequest())
    user = accounts.authenticate(session(), data["username"], data["password"])
    token, expires = accounts.issue_token(session(), user, SystemClock().now())
    return S.TokenResponse().dump({"token": token, "expires_at": expires, "username": user.username,
                                   "roles": user.roles, "unit": user.unit_code}), 201


@bp.post("/auth/revoke")
@require_token
def revoke_token():
    accounts.revoke_token(session(), request.headers["Authorization"].split(" ", 1)[1].strip())
    return "", 204


# -- tickets -------------------------------------------------------------------------------------
@bp.post("/tickets")
@require_token
def create_ticket():
    ticket = hotline().start_ticket(principal(), body(S.TicketCreate()))
    return S.TicketOut().dump(ticket_dict(session(), ticket, clock().now())), 201


@bp.get("/tickets")
@require_token
def list_tickets():
    query = S.TicketQuery().load(request.args)
    items, total = hotline().list_tickets(principal(), **query)
    now = clock().now()
    return S.TicketPage().dump({"items": ticket_dicts(session(), items, now), "total": total,
                                "page": query["page"], "per_page": query["per_page"]})


@bp.get("/tickets/<int:ticket_id>")
@require_token
def get_ticket(ticket_id):
    ticket = hotline().get_ticket(principal(), ticket_id)
    return S.TicketOut().dump(ticket_dict(session(), ticket, clock().now()))


@bp.get("/tickets/<int:ticket_id>/events")
@require_token
def ticket_events(ticket_id):
    return S.EventList().dump({"items": hotline().ticket_events(principal(), ticket_id)})


@bp.get("/tickets/<int:ticket_id>/tasks")
@require_token
def ticket_tasks(ticket_id):
    rows = hotline().list_tasks(principal(), ticket_id=ticket_id, state=request.args.get("state"))
    now = clock().now()
    return S.TaskList().dump({"items": task_dicts(session(), rows, now)})


@bp.get("/tickets/<int:ticket_id>/replay")
@require_token
def replay_ticket(ticket_id):
    return S.ReplayOut().dump(hotline().replay(principal(), ticket_id))


@bp.get("/tickets/<int:ticket_id>/diagram")
@require_token
def ticket_diagram(ticket_id):
    return S.DiagramOut().dump(hotline().ticket_diagram(principal(), ticket_id))


@bp.get("/tickets/<int:ticket_id>/audit")
@require_token
def ticket_audit(ticket_id):
    return S.AuditOut().dump(hotline().audit_trail(principal(), ticket_id))


@bp.get("/dashboard")
@require_token
def dashboard():
    query = S.DashboardQuery().load(request.args)
    return S.DashboardOut().dump(hotline().dashboard(principal(), query["city"], query.get("since")))


# -- tasks ---------------------------------------------------------------------------------------
@bp.get("/tasks")
@require_token
def list_tasks():
    rows = hotline().list_tasks(principal(), **S.TaskQuery().load(request.args))
    now = clock().now()
    return S.TaskList().dump({"items": task_dicts(session(), rows, now)})


@bp.get("/tasks/<task_id>")
@require_token
def get_task(task_id):
    facade = hotline()
    row = facade.get_task(principal(), task_id)
    return S.TaskDetail().dump({**task_dict(session(), row, clock().now()), "form": facade.task_form(row),
                                "context": facade.task_context(row)})


@bp.post("/tasks/<task_id>/claim")
@require_token
def claim_task(task_id):
    row = hotline().claim_task(principal(), task_id)
    return S.TaskOut().dump(task_dict(session(), row, clock().now()))


@bp.post("/tasks/<task_id>/reply-check")
@require_token
def reply_check(task_id):
    return S.ReplyCheckOut().dump(hotline().check_reply(principal(), task_id, body(S.ReplyCheckIn())["reply"]))


@bp.post("/tasks/<task_id>/complete")
@require_token
def complete_task(task_id):
    ticket = hotline().complete_task(principal(), task_id, body(S.TaskComplete())["data"])
    return S.TicketOut().dump(ticket_dict(session(), ticket, clock().now()))


# -- deployments ---------------------------------------------------------------------------------
@bp.get("/deployments")
@require_token
def list_deployments():
    return S.DeploymentList().dump({"items": hotline().list_deployments(request.args.get("city"))})


@bp.post("/deployments")
@require_token
@require_roles("analyst", "admin")
def create_deployment():
    form = S.DeployForm().load(request.form)
    uploads = request.files.getlist("files")
    bpmn = {f.filename: f.read() for f in uploads if f.filename.lower().endswith(".bpmn")}
    dmn = {f.filename: f.read() for f in uploads if f.filename.lower().endswith(".dmn")}
    forms = {f.filename: f.read() for f in uploads if f.filename.lower().endswith(".form.json")}
    others = [f.filename for f in uploads if not f.filename.lower().endswith((".bpmn", ".dmn", ".form.json"))]
    if others:
        from engine.errors import DeploymentInvalid
        raise DeploymentInvalid(details=[{"file": n, "code": "bad_extension", "message_zh": "只接受.bpmn、.dmn和.form.json文件",
                                          "message_en": "Only .bpmn, .dmn and .form.json files are accepted"} for n in others])
    deployment, created = hotline().deploy(principal(), form["name"], bpmn, dmn, activate=form["activate"],
                                           form_files=forms)
    out = S.DeploymentOut().dump(deployment)
    out["created"] = created
    return out, 201 if created else 200


# -- test clock (only with HOTLINE_TEST_CLOCK=1) -------------------------------------------------
def _test_clock_enabled():
    if not settings().test_clock:
        abort(404)


@bp.put("/test/clock")
@require_token
def put_test_clock():
    _test_clock_enabled()
    now = body(S.ClockSet())["now"]
    set_test_clock(session(), now)
    return S.ClockOut().dump({"now": now})


@bp.get("/test/clock")
@require_token
def get_test_clock():
    _test_clock_enabled()
    return S.ClockOut().dump({"now": clock().now()})


@bp.post("/test/tick")
@require_token
def test_tick():
    _test_clock_enabled()
    session().commit()   # the sweep runs its own transactions; make the clock visible to them
    test_mode = settings().test_clock
    fired = sweep(db(), lambda s: engine_clock(s, test_mode), batch=settings().scheduler_batch, channel=outbound())
    return S.TickOut().dump({"fired": fired, "now": engine_clock(session(), test_mode).now()})
