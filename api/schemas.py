"""Marshmallow schemas for the JSON API. Every datetime is ISO 8601 in +08:00."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from engine.facade import REQUEST_TYPES, SCOPES

from .schema_base import Strict, Time  # noqa: F401  (re-exported: S.Strict, S.Time everywhere)


class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(1, 80))
    password = fields.String(required=True, validate=validate.Length(1, 200))


class TokenResponse(Schema):
    token = fields.String()
    expires_at = Time()
    username = fields.String()
    roles = fields.List(fields.String())
    unit = fields.String(allow_none=True)


class Citizen(Strict):
    name = fields.String(validate=validate.Length(max=100), allow_none=True)
    phone = fields.String(validate=validate.Regexp(r"^[0-9+\-() ]{3,40}$"), allow_none=True)


class TicketCreate(Strict):
    city = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    channel = fields.String(required=True, validate=validate.Length(1, 40))
    request_type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    content = fields.String(required=True, validate=validate.Length(1, 20000))
    citizen = fields.Nested(Citizen, required=True)
    address = fields.String(validate=validate.Length(max=300), allow_none=True)
    received_at = Time(allow_none=True)
    scope = fields.String(validate=validate.OneOf(SCOPES), load_default="normal")
    directive_due_at = Time(allow_none=True)
    direct_answer = fields.String(validate=validate.Length(max=4000), allow_none=True)
    sensitivity = fields.String(validate=validate.OneOf(["normal", "high"]), load_default="normal")
    knowledge_entry_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))   # answer from the 知识库
    category = fields.String(allow_none=True, validate=validate.Length(1, 60))   # subject category (智能分拨)
    # scope "emergency": who takes it over (engine/emergency.py); the ticket never enters dispatch
    emergency_agency = fields.String(allow_none=True, validate=validate.OneOf(["110", "119", "120", "122"]))
    emergency_reason = fields.String(allow_none=True, validate=validate.Length(max=1000))


class CitizenOut(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    masked = fields.Boolean(metadata={"description": "true when you see 138****1234: not the centre, not handling it"})


class TicketOut(Schema):
    id = fields.Integer()
    number = fields.String()
    city = fields.String()
    process = fields.String()
    kind = fields.String()
    status = fields.String()
    channel = fields.String()
    request_type = fields.String()
    title = fields.String()
    content = fields.String()
    citizen = fields.Nested(CitizenOut)
    address = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    received_at = Time()
    sign_due_at = Time(allow_none=True)
    handle_due_at = Time(allow_none=True)
    deadline_provisional = fields.Boolean()
    sign_overdue = fields.Boolean()
    handle_overdue = fields.Boolean()
    light = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_reason = fields.String(allow_none=True)
    closed_at = Time(allow_none=True)
    deployment_version = fields.Integer()
    created_at = Time()
    updated_at = Time()
    knowledge_entry_id = fields.Integer(allow_none=True)
    category = fields.String(allow_none=True)
    merged_into_id = fields.Integer(allow_none=True, metadata={"description": "the master ticket this duplicate follows"})


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class TicketQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String()
    status = fields.String()
    unit = fields.String()
    kind = fields.String(validate=validate.OneOf(["event", "directive"]))
    request_type = fields.String(validate=validate.OneOf(REQUEST_TYPES))
    process = fields.String(validate=validate.OneOf(["ticket_lifecycle", "supervision", "consultation"]),
                            load_default="ticket_lifecycle")
    overdue = fields.Boolean()
    q = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))   # offsets fit in 64 bits
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class FormFieldOut(Schema):
    name = fields.String()
    type = fields.String()
    label = fields.String()
    label_en = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.Dict())
    required_when = fields.Dict()
    max_length = fields.Integer()
    min_length = fields.Integer()
    min = fields.Integer()
    max = fields.Integer()
    help = fields.String()
    help_en = fields.String()
    default = fields.Raw()
    max_items = fields.Integer()
    columns = fields.List(fields.Dict())
    min_rows = fields.Integer()
    max_rows = fields.Integer()
    required_when_empty = fields.String()
    must_contain_when = fields.Dict()


class FormOut(Schema):
    name = fields.String()
    title = fields.String()
    title_en = fields.String()
    wrap = fields.String(allow_none=True)
    context = fields.List(fields.Dict())
    fields_ = fields.List(fields.Nested(FormFieldOut), data_key="fields", attribute="fields")


class TaskOut(Schema):
    id = fields.String()
    ticket_id = fields.Integer()
    ticket_number = fields.String()
    ticket_title = fields.String()
    name = fields.String()
    title = fields.String()
    role = fields.String()
    unit = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    state = fields.String()
    created_at = Time()
    warn_at = Time(allow_none=True)
    due_at = Time(allow_none=True)
    light = fields.String(allow_none=True)
    completed_at = Time(allow_none=True)
    completed_by = fields.String(allow_none=True)
    subject_ticket_id = fields.Integer(allow_none=True)


class ContextItem(Schema):
    name = fields.String()
    label = fields.String()
    label_en = fields.String()
    value = fields.Raw()


class TaskDetail(TaskOut):
    form = fields.Nested(FormOut)
    context = fields.List(fields.Nested(ContextItem))


class TaskList(Schema):
    items = fields.List(fields.Nested(TaskOut))


class TaskQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    unit = fields.String()
    assignee = fields.String()
    state = fields.String(load_default="ready", validate=validate.OneOf(["ready", "completed", "cancelled"]))
    name = fields.String()


class TaskComplete(Strict):
    data = fields.Dict(required=True)


class EventOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    actor = fields.String(allow_none=True)
    at = Time()
    task_name = fields.String(allow_none=True)
    deployment_id = fields.Integer(allow_none=True)
    data = fields.Dict()


class EventList(Schema):
    items = fields.List(fields.Nested(EventOut))


class DeploymentOut(Schema):
    id = fields.Integer()
    city = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    process_id = fields.String()
    serializer_version = fields.String()
    spiff_version = fields.String()
    active = fields.Boolean()
    created_by = fields.String(allow_none=True)
    created_at = Time()
    files = fields.Method("file_names")
    created = fields.Boolean()

    def file_names(self, obj):
        return sorted(obj.files)


class DeploymentList(Schema):
    items = fields.List(fields.Nested(DeploymentOut))


class DeployForm(Schema):
    class Meta:
        unknown = EXCLUDE
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    activate = fields.Boolean(load_default=False)


class ClockSet(Strict):
    now = Time(required=True)


class ClockOut(Schema):
    now = Time()


class TickOut(Schema):
    fired = fields.Integer()
    now = Time()


class Error(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw(allow_none=True)


class ErrorOut(Schema):
    error = fields.Nested(Error)


class VersionList(Schema):
    items = fields.List(fields.Nested(DeploymentOut))


class MigrationRequest(Strict):
    from_version = fields.Integer(required=True, validate=validate.Range(min=1))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    dry_run = fields.Boolean(load_default=True)
    ticket_ids = fields.List(fields.Integer(), load_default=None, allow_none=True)


class MigrationOut(Schema):
    city = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    movable = fields.List(fields.Dict())
    blocked = fields.List(fields.Dict())
    migrated = fields.List(fields.Integer())


class EvaluateRequest(Strict):
    inputs = fields.Dict(required=True)
    version = fields.Integer(validate=validate.Range(min=1), allow_none=True)
    files = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[\w.-]+\.dmn$")), values=fields.String(),
                        allow_none=True)


class EvaluateOut(Schema):
    decision = fields.String()
    outputs = fields.Dict()
    matched_rules = fields.List(fields.Integer())
    trace = fields.List(fields.Dict())


class BacktestRequest(Strict):
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3660))


class BacktestOut(Schema):
    city = fields.String()
    candidate_version = fields.Integer()
    days = fields.Integer()
    since = fields.String()
    totals = fields.Dict()
    by_request_type = fields.Dict()
    changed = fields.List(fields.Dict())
    errors = fields.List(fields.Dict())


class DiffOut(Schema):
    city = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    files = fields.Dict()
    decisions = fields.List(fields.Dict())


class ReplayOut(Schema):
    ticket_id = fields.Integer()
    number = fields.String()
    deployment_version = fields.Integer()
    steps = fields.Integer()
    verified = fields.Boolean(metadata={"description": "every replayed step matches and every hash link holds"})
    replay_verified = fields.Boolean()
    first_difference = fields.Dict(allow_none=True)
    chain = fields.Dict(metadata={"description": "the hash chain: verified, events, first_broken {seq, reason}"})


class MessageQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class MessageOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    urgent = fields.Boolean()
    city = fields.String()
    ticket_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    created_at = Time()
    deliver_after = Time()
    delivered_at = Time(allow_none=True)
    delivery_error = fields.String(allow_none=True)
    read_at = Time(allow_none=True)


class MessageList(Schema):
    items = fields.List(fields.Nested(MessageOut))
    unread = fields.Integer()


# -- escalation (upgrade, supervision, consultation) ---------------------------------------------------
class UpgradeRequest(Strict):
    reason = fields.String(required=True, validate=validate.Length(2, 1000))
    sensitivity = fields.String(validate=validate.OneOf(["normal", "high"]), allow_none=True)
    due_at = Time(allow_none=True)


class SupervisionRequest(Strict):
    trigger = fields.String(required=True, validate=validate.Length(1, 40))
    reason = fields.String(required=True, validate=validate.Length(2, 2000))


class ConsultationRequest(Strict):
    ticket_ids = fields.List(fields.Integer(validate=validate.Range(min=1)), required=True,
                             validate=validate.Length(1, 50))
    topic = fields.String(required=True, validate=validate.Length(2, 300))
    description = fields.String(required=True, validate=validate.Length(2, 5000))
    lead_unit = fields.String(allow_none=True, validate=validate.Length(max=60))
    assisting_units = fields.List(fields.String(validate=validate.Length(1, 60)), load_default=list,
                                  validate=validate.Length(max=30))
    mode = fields.String(validate=validate.OneOf(["1+X", "one_matter"]), load_default="1+X")


class CaseOut(TicketOut):
    linked_tickets = fields.List(fields.Integer())


class CaseList(Schema):
    items = fields.List(fields.Nested(CaseOut))


# -- diagram and audit trail ------------------------------------------------------------------------------
class DiagramOut(Schema):
    process = fields.String()
    file = fields.String()
    xml = fields.String()
    deployment_version = fields.Integer()
    completed = fields.List(fields.String())
    active = fields.List(fields.String())


class AuditStep(Schema):
    step = fields.Integer()
    seq = fields.Integer()
    type = fields.String()
    task_name = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.String()
    input = fields.Raw(allow_none=True)
    changed = fields.Dict()
    completed = fields.List(fields.String())
    active = fields.List(fields.String())


class AuditOut(Schema):
    ticket_id = fields.Integer()
    number = fields.String()
    verified = fields.Boolean()
    first_difference = fields.Raw(allow_none=True)
    steps = fields.List(fields.Nested(AuditStep))


# -- dashboard ----------------------------------------------------------------------------------------------
class DashboardQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    city = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"))
    since = Time(allow_none=True)


class UnitRate(Schema):
    unit = fields.String()
    signed = fields.Integer()
    signed_on_time = fields.Integer()
    handled = fields.Integer()
    handled_on_time = fields.Integer()
    callbacks = fields.Integer()
    satisfied = fields.Integer()
    sign_rate = fields.Float(allow_none=True)
    handle_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)


class DashboardOut(Schema):
    city = fields.String()
    at = fields.String()
    since = fields.String()
    intake_today = fields.Integer()
    open_total = fields.Integer()
    open_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    lights = fields.Dict(keys=fields.String(), values=fields.Integer())
    overdue_by_unit = fields.Dict(keys=fields.String(), values=fields.Integer())
    unit_rates = fields.List(fields.Nested(UnitRate))
    trend = fields.List(fields.Dict())


# -- reply quality check -------------------------------------------------------------------------------------
class ReplyCheckIn(Strict):
    reply = fields.String(required=True, validate=validate.Length(max=4000))


class ReplyProblem(Schema):
    code = fields.String()
    element = fields.String(allow_none=True)
    message_zh = fields.String()
    message_en = fields.String()


class ReplyCheckOut(Schema):
    problems = fields.List(fields.Nested(ReplyProblem))
    relevance = fields.Float()
    source = fields.String(allow_none=True)
