"""The OpenAPI 3 document (built from the marshmallow schemas) and a browsable page for it."""
from __future__ import annotations

import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, render_template

from . import schemas as S
from .admin import OPERATIONS as ADMIN_OPERATIONS
from .attachments import OPERATIONS as ATTACHMENT_OPERATIONS
from .intelligence import OPERATIONS as INTELLIGENCE_OPERATIONS
from .kpis import OPERATIONS as KPI_OPERATIONS
from .reports import OPERATIONS as REPORT_OPERATIONS
from .privacy import OPERATIONS as PRIVACY_OPERATIONS
from .insights import OPERATIONS as INSIGHT_OPERATIONS
from .knowledge import OPERATIONS as KNOWLEDGE_OPERATIONS
from .upstream import OPERATIONS as UPSTREAM_OPERATIONS
from .channels import OPERATIONS as CHANNEL_OPERATIONS
from .emergency import OPERATIONS as EMERGENCY_OPERATIONS
from .open311 import OPERATIONS as OPEN311_OPERATIONS
from .health import OPERATIONS as HEALTH_OPERATIONS
from .metrics import OPERATIONS as METRICS_OPERATIONS

bp = Blueprint("openapi", __name__)

J = "application/json"
# (method, path, summary, request schema, {status: response schema}, query schema, auth: True = bearer token,
#  "client" = a machine client's key, False = public)
OPERATIONS = [
    ("post", "/api/v1/auth/token", "Issue an API token", S.TokenRequest, {201: S.TokenResponse, 401: S.ErrorOut, 422: S.ErrorOut}, None, False),
    ("post", "/api/v1/auth/revoke", "Revoke the token used for this call", None, {204: None, 401: S.ErrorOut}, None, True),
    ("post", "/api/v1/tickets", "Create a ticket (intake)", S.TicketCreate, {201: S.TicketOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets", "List tickets with filters and paging", None, {200: S.TicketPage, 422: S.ErrorOut}, S.TicketQuery, True),
    ("get", "/api/v1/tickets/{ticket_id}", "Get a ticket", None, {200: S.TicketOut, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/events", "A ticket's event log", None, {200: S.EventList, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/tasks", "A ticket's tasks", None, {200: S.TaskList, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/replay", "Replay the ticket on its pinned deployment and verify every step (auditor)", None, {200: S.ReplayOut, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
    ("post", "/api/v1/tickets/{ticket_id}/upgrade", "Upgrade an event being handled to a directive (centre decision with a reason)", S.UpgradeRequest, {200: S.TicketOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/tickets/{ticket_id}/supervisions", "Put a ticket under supervision (督办) for a trigger, with a reason", S.SupervisionRequest, {201: S.CaseOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/cases", "Supervision orders and consultations concerning a ticket", None, {200: S.CaseList, 404: S.ErrorOut}, None, True),
    ("post", "/api/v1/consultations", "Propose a consultation (会商, 1+X) on one or more tickets", S.ConsultationRequest, {201: S.CaseOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/diagram", "The ticket's BPMN (pinned deployment) with completed and active elements", None, {200: S.DiagramOut, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/tickets/{ticket_id}/audit", "Step-by-step audit trail: each step's trigger, tokens and changed variables, and the replay verdict", None, {200: S.AuditOut, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/dashboard", "The centre's live board: intake today, open by status and light, overdue by unit, unit rates, trend", None, {200: S.DashboardOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, S.DashboardQuery, True),
    ("get", "/api/v1/tasks", "Task inbox (unit, assignee=me, state)", None, {200: S.TaskList, 422: S.ErrorOut}, S.TaskQuery, True),
    ("get", "/api/v1/tasks/{task_id}", "A task with its form definition", None, {200: S.TaskDetail, 404: S.ErrorOut}, None, True),
    ("post", "/api/v1/tasks/{task_id}/claim", "Claim a task", None, {200: S.TaskOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut}, None, True),
    ("post", "/api/v1/tasks/{task_id}/reply-check", "Check a draft reply against the city's reply rules and the request (nothing stored)", S.ReplyCheckIn, {200: S.ReplyCheckOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/tasks/{task_id}/complete", "Complete a task with form data", S.TaskComplete, {200: S.TicketOut, 403: S.ErrorOut, 404: S.ErrorOut, 409: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/deployments", "List deployments", None, {200: S.DeploymentList}, None, True),
    ("post", "/api/v1/deployments", "Deploy .bpmn/.dmn files as a rule set (multipart: name, files[])", "multipart", {200: S.DeploymentOut, 201: S.DeploymentOut, 403: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/rules/{city}/versions", "Rule-set versions of a city", None, {200: S.VersionList, 404: S.ErrorOut}, None, True),
    ("post", "/api/v1/rules/{city}/versions/{version}/activate", "Activate a version (hot swap, admin)", None, {200: S.DeploymentOut, 403: S.ErrorOut, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/rules/{city}/versions/{version}/files/{name}", "Download a deployed .bpmn/.dmn file", None, {200: None, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/rules/{city}/diff", "Rows changed between versions (?from=&to=)", None, {200: S.DiffOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/rules/{city}/migrations", "Preview (dry_run) or migrate running tickets to another version", S.MigrationRequest, {200: S.MigrationOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/rules/{city}/decisions/{decision_id}/evaluate", "Decision test console", S.EvaluateRequest, {200: S.EvaluateOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("post", "/api/v1/rules/{city}/backtest", "What-if: a candidate version over recent tickets", S.BacktestRequest, {200: S.BacktestOut, 403: S.ErrorOut, 404: S.ErrorOut, 422: S.ErrorOut}, None, True),
    ("get", "/api/v1/rules/log", "Audited administrative actions", None, {200: S.EventList, 403: S.ErrorOut}, None, True),
    ("get", "/api/v1/messages", "The caller's messages (notifications), newest first, with the unread count", None, {200: S.MessageList, 422: S.ErrorOut}, S.MessageQuery, True),
    ("post", "/api/v1/messages/{message_id}/read", "Mark one of the caller's messages read", None, {200: S.MessageOut, 404: S.ErrorOut}, None, True),
    ("put", "/api/v1/test/clock", "Set the engine clock (HOTLINE_TEST_CLOCK=1 only)", S.ClockSet, {200: S.ClockOut, 404: S.ErrorOut}, None, True),
    ("get", "/api/v1/test/clock", "Read the engine clock (HOTLINE_TEST_CLOCK=1 only)", None, {200: S.ClockOut, 404: S.ErrorOut}, None, True),
    ("post", "/api/v1/test/tick", "Run one timer sweep now (HOTLINE_TEST_CLOCK=1 only)", None, {200: S.TickOut, 404: S.ErrorOut}, None, True),
    *ADMIN_OPERATIONS,
    *ATTACHMENT_OPERATIONS,
    *INTELLIGENCE_OPERATIONS,
    *KPI_OPERATIONS,
    *REPORT_OPERATIONS,
    *PRIVACY_OPERATIONS,
    *INSIGHT_OPERATIONS,
    *KNOWLEDGE_OPERATIONS,
    *UPSTREAM_OPERATIONS,
    *CHANNEL_OPERATIONS,
    *EMERGENCY_OPERATIONS,
    *HEALTH_OPERATIONS, *METRICS_OPERATIONS,
    *OPEN311_OPERATIONS,
]


def general_errors(method: str, path: str, request, query, auth: bool) -> list[int]:
    """The error statuses any operation of this shape can answer, besides the ones it names (api/errors.py):
    a bad or oversized or mistyped body, an invalid query, a missing id, no or a weak sign-in, the ticket's
    version moved under a write (409), and the per-IP limit of the public endpoints."""
    statuses = []
    if request is not None:
        statuses += [400, 413, 415, 422]
    if query is not None:
        statuses.append(422)
    if "{" in path:
        statuses.append(404)
    if auth == "client":
        statuses.append(401)
    elif auth:
        statuses += [401, 403]
        if method != "get":
            statuses.append(409)
    else:
        statuses.append(429)
    return statuses


@lru_cache(maxsize=1)
def document() -> dict:
    spec = APISpec(title="12345 Hotline Platform API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Ticket lifecycle API. All datetimes are ISO 8601 with +08:00."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # Machine clients (channel adapters, upstream platforms): the key an administrator created for them.
    spec.components.security_scheme("clientKey", {"type": "apiKey", "in": "header", "name": "X-Api-Key"})
    for method, path, summary, request, responses, query, auth in OPERATIONS:
        operation = {"summary": summary, "responses": {}}
        params = [{"name": p[1:-1], "in": "path", "required": True,
                   "schema": {"type": "integer" if p in ("{ticket_id}", "{version}", "{message_id}", "{attachment_id}",
                                                "{client_id}", "{delivery_id}",
                                                "{entry_id}")
                              else "string"}}
                  for p in re.findall(r"\{\w+\}", path)]
        if query is not None:
            params.append({"in": "query", "schema": query})
        if params:
            operation["parameters"] = params
        if request == "multipart":
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["name", "files"],
                "properties": {"name": {"type": "string"}, "activate": {"type": "boolean"},
                               "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}
        elif request == "multipart-file":
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}}}}
        elif isinstance(request, tuple) and request[0] == "form":    # ("form", Schema): Open311's form posts
            operation["requestBody"] = {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": request[1]}, "multipart/form-data": {"schema": request[1]}}}
        elif request is not None:
            operation["requestBody"] = {"required": True, "content": {J: {"schema": request}}}
        for status, schema in responses.items():
            entry = {"description": str(status)}
            if schema is not None:
                entry["content"] = {J: {"schema": schema}}
            operation["responses"][str(status)] = entry
        if auth == "client":
            operation["security"] = [{"clientKey": []}]
        elif auth:
            operation["security"] = [{"bearer": []}]
        if path.startswith("/api/"):
            for status in general_errors(method, path, request, query, auth):
                operation["responses"].setdefault(str(status), {"description": str(status),
                                                                "content": {J: {"schema": S.ErrorOut}}})
        spec.path(path=path, operations={method: operation})
    return spec.to_dict()


@bp.get("/api/v1/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/api/v1/docs")
def openapi_page():
    return render_template("api_docs.html", doc=document())
