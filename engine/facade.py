"""The engine's facade: the only entry the HTTP API, the task forms, the scheduler and the CLI use.

Every method runs inside the caller's unit of work (the caller commits) and takes the ticket's lock
before changing it: a row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite, and the ticket's version
column everywhere, so two writers can never both advance one ticket.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session


from . import deployments, notifications
from .accounts import Principal
from .cities import load_city
from .cities import LIFECYCLE_PROCESS, effective_channels, effective_units
from .clock import Clock
from .errors import Conflict, NotFound, PermissionDenied, TaskNotOpen, ValidationFailed
from .models import Deployment, Event, Message, TaskRow, Ticket, Timer
from .intake import lifecycle_start_data
from .admin_commands import AdminCommands
from .attachments import AttachmentCommands
from .channel_clients import ChannelClientCommands
from .channel_intake import ChannelIntakeCommands
from .emergency import EMERGENCY_OUTCOME, EmergencyCommands, agency_problem, open_transfer
from .audit_commands import AuditCommands
from .escalation import EscalationCommands
from .dispatch_model import DispatchModelCommands, city_categories
from .duplicates import DuplicateCommands
from .merging import MergeCommands
from .forms_registry import deployment_form
from .knowledge import KnowledgeCommands
from .insights import InsightCommands
from .kpis import KpiCommands
from .scoring import ScoringCommands
from .reports import ReportCommands
from .cockpit import CockpitCommands
from .ruleset_commands import RuleSetCommands
from .runtime import TicketRun
from .studio import StudioCommands
from .task_aids import TaskAidCommands
from .open311 import Open311Commands
from .upstream import UpstreamCommands
from .webhooks import WebhookCommands
from .portal import PortalCommands
from .citizen_rating import CITIZEN_TASKS, CitizenRatingCommands

REQUEST_TYPES = ("consult", "help", "suggestion", "complaint", "report", "praise")
SCOPES = ("normal", "emergency", "litigation", "petition", "arbitration", "reconsideration", "discipline",
          "disclosure", "outside_jurisdiction", "secret_privacy", "invalid", "public_order", "repeat")
INTAKE_ROLES = ("operator", "dispatcher", "admin")
SENSITIVITIES = ("normal", "high")
DASHBOARD_ROLES = ("dispatcher", "supervisor", "inspector", "city_leader", "analyst", "admin", "auditor")
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _msg(code: str, zh: str, en: str) -> dict:
    """A field error in the same shape as the task forms': a code plus both languages."""
    return {"code": code, "message_zh": zh, "message_en": en}


class Hotline(RuleSetCommands, EscalationCommands, AuditCommands, AdminCommands, StudioCommands,
              AttachmentCommands, TaskAidCommands, MergeCommands, KnowledgeCommands, DuplicateCommands,
              DispatchModelCommands, InsightCommands, KpiCommands, UpstreamCommands, WebhookCommands,
              ScoringCommands, ReportCommands, CockpitCommands, ChannelClientCommands, ChannelIntakeCommands,
              EmergencyCommands, PortalCommands, CitizenRatingCommands, Open311Commands):
    def __init__(self, session: Session, clock: Clock):
        self.session = session
        self.clock = clock

    @staticmethod
    def _require(actor: Principal, *roles: str) -> None:
        if not actor.has(*roles, "system"):
            raise PermissionDenied()

    # -- tickets ---------------------------------------------------------------------------------
    def start_ticket(self, actor: Principal, payload: dict) -> Ticket:
        if not actor.has(*INTAKE_ROLES, "system"):
            raise PermissionDenied()
        now = self.clock.now()
        city = load_city(payload["city"])
        errors = {}
        if payload["channel"] not in {c["code"] for c in effective_channels(self.session, city.code)}:
            errors["channel"] = [_msg("unknown_channel", f"未知渠道：{payload['channel']}",
                                      f"unknown channel {payload['channel']!r}")]
        if payload["request_type"] not in REQUEST_TYPES:
            errors["request_type"] = [_msg("not_an_option", f"诉求类型必须是{list(REQUEST_TYPES)}之一",
                                           f"must be one of {list(REQUEST_TYPES)}")]
        scope = payload.get("scope") or "normal"
        if scope not in SCOPES:
            errors["scope"] = [_msg("not_an_option", f"受理范围必须是{list(SCOPES)}之一", f"must be one of {list(SCOPES)}")]
        sensitivity = payload.get("sensitivity") or "normal"
        if sensitivity not in SENSITIVITIES:
            errors["sensitivity"] = [_msg("not_an_option", f"敏感程度必须是{list(SENSITIVITIES)}之一",
                                          f"must be one of {list(SENSITIVITIES)}")]
        category = payload.get("category")
        if category and category not in {c["code"] for c in city_categories(city.code)}:
            errors["category"] = [_msg("not_an_option", f"未知诉求分类：{category}", f"unknown category {category!r}")]
        received = payload.get("received_at") or now
        if received > now + MAX_CLOCK_SKEW:
            errors["received_at"] = [_msg("in_future", "受理时间不能晚于当前时间", "must not be in the future")]
        directive_due = payload.get("directive_due_at")
        if directive_due is not None and directive_due <= received:
            errors["directive_due_at"] = [_msg("before_received", "指令办理期限必须晚于受理时间",
                                               "must be after received_at")]
        entry = None       # a consultation answered from a knowledge-base entry (知识库)
        if payload.get("knowledge_entry_id") is not None:
            entry, problem = self.answer_entry(city.code, payload["knowledge_entry_id"], payload["request_type"],
                                               received)
            if problem:
                errors["knowledge_entry_id"] = [problem]
        if scope == "emergency" and agency_problem(payload.get("emergency_agency")):
            errors["emergency_agency"] = [agency_problem(payload.get("emergency_agency"))]
        if errors:
            raise ValidationFailed("工单信息不完整或有误", "The ticket data is invalid", details=errors)
        deployment = deployments.active_deployment(self.session, city.code)
        citizen = payload.get("citizen") or {}
        ticket = Ticket(city=city.code, deployment_id=deployment.id, channel=payload["channel"],
                        request_type=payload["request_type"], title=payload["title"], content=payload["content"],
                        citizen_name=citizen.get("name"), citizen_phone=citizen.get("phone"), category=category,
                        address=payload.get("address"), received_at=received, status="new", created_at=now,
                        updated_at=now, workflow_state="", version=0, knowledge_entry_id=entry.id if entry else None)
        self.session.add(ticket)
        self.session.flush()
        ticket.number = f"{city.number_prefix}{received:%Y%m%d}{ticket.id:07d}"
        start_data = lifecycle_start_data(ticket, scope=scope, directive_due_at=directive_due,
                                          direct_answer=payload.get("direct_answer") or (entry.body if entry else None),
                                          sensitivity=sensitivity)
        run = TicketRun(self.session, self.clock, ticket, deployment, actor.username)
        # The start data is kept so an auditor can replay the ticket from its first event.
        run.record("ticket_created", data={"number": ticket.number, "channel": ticket.channel,
                                           "request_type": ticket.request_type, "scope": scope,
                                           "received_at": received.isoformat(), "deployment": deployment.version,
                                           "directive_due_at": start_data["directive_due_at"],
                                           "start_data": start_data,
                                           **({"knowledge_entry": {"id": entry.id, "revision": entry.revision,
                                                                   "title": entry.title}} if entry else {})})
        run.create(start_data)
        run.save()
        if ticket.outcome == EMERGENCY_OUTCOME:     # the city's scope check sent it to 110/119/120/122
            open_transfer(self.session, ticket, payload.get("emergency_agency"), payload.get("emergency_reason"),
                          actor.username, now)
        return ticket

    def get_ticket(self, actor: Principal, ticket_id: int) -> Ticket:
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is None or not self._can_view(actor, ticket):
            # Same answer for "missing" and "not yours", so ids cannot be probed.
            raise NotFound("工单不存在", "Ticket not found")
        return ticket

    def list_tickets(self, actor: Principal, *, city=None, status=None, unit=None, kind=None, request_type=None,
                     overdue=None, q=None, process: str | None = LIFECYCLE_PROCESS, page: int = 1,
                     per_page: int = 20) -> tuple[list[Ticket], int]:
        """Tickets (by default; ``process`` selects supervision orders or consultations instead)."""
        query = select(Ticket)
        if process:
            query = query.where(Ticket.process == process)
        if not actor.is_centre:
            query = query.where(self._unit_visible(actor))
        for column, value in ((Ticket.city, city), (Ticket.status, status), (Ticket.unit_code, unit),
                              (Ticket.kind, kind), (Ticket.request_type, request_type)):
            if value:
                query = query.where(column == value)
        if overdue is not None:
            flag = or_(Ticket.sign_overdue, Ticket.handle_overdue)
            query = query.where(flag if overdue else ~flag)
        if q:
            like = f"%{q}%"
            query = query.where(or_(Ticket.title.like(like), Ticket.number.like(like), Ticket.content.like(like)))
        total = self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.session.scalars(query.order_by(Ticket.id.desc()).offset((page - 1) * per_page).limit(per_page))
        return list(rows), total

    def ticket_events(self, actor: Principal, ticket_id: int) -> list[Event]:
        self.get_ticket(actor, ticket_id)
        return list(self.session.scalars(select(Event).where(Event.ticket_id == ticket_id).order_by(Event.seq)))

    def returned_tickets(self, ticket_ids: list[int]) -> set[int]:
        """Which of these tickets came back to the dispatcher through an approved return."""
        if not ticket_ids:
            return set()
        return set(self.session.scalars(select(Event.ticket_id).where(
            Event.ticket_id.in_(ticket_ids), Event.type == "task_completed", Event.task_name == "approve_return")))

    # -- tasks -----------------------------------------------------------------------------------
    def list_tasks(self, actor: Principal, *, unit=None, assignee=None, state="ready", ticket_id=None,
                   name=None, limit: int = 200) -> list[TaskRow]:
        query = select(TaskRow).join(Ticket, Ticket.id == TaskRow.ticket_id)
        if state:
            query = query.where(TaskRow.state == state)
        if ticket_id is not None:
            self.get_ticket(actor, ticket_id)
            # a ticket's own tasks and the tasks cases created about it (a consultation's agreed actions)
            query = query.where(or_(TaskRow.ticket_id == ticket_id, TaskRow.subject_ticket_id == ticket_id))
        elif not actor.has("supervisor", "admin", "auditor"):
            # A worker's inbox: tasks of their roles, and for unit roles only their own unit.
            allowed = [TaskRow.role.in_(actor.roles & {"dispatcher", "callback", "operator", "inspector",
                                                       "city_leader"})]
            unit_roles = actor.roles & {"handler", "leader", "principal"}
            if unit_roles and actor.unit_code:
                allowed.append((TaskRow.role.in_(unit_roles)) & (TaskRow.unit_code == actor.unit_code))
            query = query.where(or_(*allowed))
        if unit:
            query = query.where(TaskRow.unit_code == unit)
        if assignee == "me":
            query = query.where(TaskRow.assignee == actor.username)
        elif assignee == "none":
            query = query.where(TaskRow.assignee.is_(None))
        elif assignee:
            query = query.where(TaskRow.assignee == assignee)
        if name:
            query = query.where(TaskRow.name == name)
        query = query.order_by(TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at).limit(limit)
        return list(self.session.scalars(query))

    def get_task(self, actor: Principal, task_id: str) -> TaskRow:
        row = self.session.get(TaskRow, task_id)
        if row is None:
            raise NotFound("任务不存在", "Task not found")
        ticket = self.session.get(Ticket, row.ticket_id)
        if not (self._can_view(actor, ticket) and (self.may_act(actor, row) or actor.is_centre)):
            raise NotFound("任务不存在", "Task not found")
        return row

    def task_form(self, row: TaskRow) -> dict:
        ticket = self.session.get(Ticket, row.ticket_id)
        units = [{"value": u["code"], "label": u["name"]} for u in effective_units(self.session, ticket.city)
                 if u.get("type") != "centre"]
        return self.task_form_definition(row).describe(units)

    def task_form_definition(self, row: TaskRow):
        """The task's form as its ticket's deployment has it (an analyst may have changed it in a version)."""
        ticket = self.session.get(Ticket, row.ticket_id)
        return deployment_form(self._deployment(ticket), row.form)

    def claim_task(self, actor: Principal, task_id: str) -> TaskRow:
        row, ticket = self._lock_task(actor, task_id)
        if row.assignee and row.assignee != actor.username:
            raise Conflict(f"任务已被{row.assignee}认领", f"Task already claimed by {row.assignee}")
        row.assignee = actor.username
        TicketRun(self.session, self.clock, ticket, self._deployment(ticket), actor.username).record(
            "task_claimed", task_name=row.name, data={"task_id": row.id})
        ticket.updated_at = self.clock.now()   # bumps the version: claims conflict like completions
        return row

    def complete_task(self, actor: Principal, task_id: str, data: dict) -> Ticket:
        row, ticket = self._lock_task(actor, task_id)
        if row.assignee and row.assignee != actor.username:
            raise Conflict(f"任务已被{row.assignee}认领", f"Task already claimed by {row.assignee}")
        form = self.task_form_definition(row)
        unit_codes = {u["code"] for u in effective_units(self.session, ticket.city)}
        cleaned, errors = form.validate(data, unit_codes)
        if errors:
            raise ValidationFailed(details={e.field: [{"code": e.code, "message_zh": e.zh, "message_en": e.en}]
                                            for e in errors})
        cleaned = form.apply_defaults(cleaned)
        run = TicketRun(self.session, self.clock, ticket, self._deployment(ticket), actor.username)
        run.load()
        now = self.clock.now()
        row.state, row.completed_at, row.completed_by = "completed", now, actor.username
        run.record("task_completed", task_name=row.name, data={"task_id": row.id, "unit": row.unit_code,
                                                               "form": cleaned})
        wrap = getattr(form, "wrap", None)
        # A multi-instance task's result goes into one variable (collected by the diagram), with its unit.
        run.complete(row.id, {wrap: {**cleaned, "unit": row.unit_code}} if wrap else cleaned)
        run.save()
        self._after_run(run)
        self.forward_master_reply(run)
        return ticket

    # -- timers ----------------------------------------------------------------------------------
    def due_timer_tickets(self, limit: int) -> list[int]:
        """Tickets with a pending timer due on the engine clock, oldest deadline first."""
        now = self.clock.now()
        rows = self.session.execute(select(Timer.ticket_id, func.min(Timer.due_at).label("due"))
                                    .where(Timer.state == "pending", Timer.due_at <= now)
                                    .group_by(Timer.ticket_id).order_by("due").limit(limit))
        return [r.ticket_id for r in rows]

    def fire_due_timers_of(self, ticket_id: int, worker: str) -> int:
        """Fire the due timers of one ticket; returns how many fired (0 if another worker has it)."""
        ticket = self._lock_ticket(ticket_id, skip_locked=True)
        if ticket is None:
            return 0
        now = self.clock.now()
        due = list(self.session.scalars(select(Timer).where(Timer.ticket_id == ticket_id, Timer.state == "pending",
                                                            Timer.due_at <= now)
                                        .execution_options(populate_existing=True)))
        if not due:
            return 0
        run = TicketRun(self.session, self.clock, ticket, self._deployment(ticket), worker)
        run.load()
        run.record("timers_due", data={"timers": sorted({t.name for t in due})})
        fired_names = run.fire_due_timers()
        for timer in due:
            if timer.name in fired_names:
                timer.state, timer.fired_at, timer.fired_by = "fired", now, worker
        run.save()
        self._after_run(run)
        return sum(1 for t in due if t.state == "fired")

    # -- messages (notifications) ---------------------------------------------------------------------
    def messages(self, actor: Principal, unread_only: bool = False, limit: int = 100) -> tuple[list[Message], int]:
        """The actor's own messages, newest first, and their unread count."""
        return (notifications.inbox(self.session, actor.username, unread_only, limit),
                notifications.unread_count(self.session, actor.username))

    def unread_messages(self, actor: Principal) -> int:
        return notifications.unread_count(self.session, actor.username)

    def read_message(self, actor: Principal, message_id: int) -> Message:
        return notifications.mark_read(self.session, actor.username, message_id, self.clock.now())

    # -- dashboard ---------------------------------------------------------------------------------
    def dashboard(self, actor: Principal, city: str, since: datetime | None = None) -> dict:
        """The centre's live board for a city (centre roles only: it spans every unit)."""
        self._require(actor, *DASHBOARD_ROLES)
        from .dashboard import centre_board
        load_city(city)
        return centre_board(self.session, city, self.clock.now(), since)

    # -- helpers ---------------------------------------------------------------------------------
    def _deployment(self, ticket: Ticket) -> Deployment:
        return self.session.get(Deployment, ticket.deployment_id)

    def _lock_ticket(self, ticket_id: int, skip_locked: bool = False) -> Ticket | None:
        query = (select(Ticket).where(Ticket.id == ticket_id)
                 .with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True))
        return self.session.scalar(query)

    def _lock_task(self, actor: Principal, task_id: str) -> tuple[TaskRow, Ticket]:
        row = self.get_task(actor, task_id)
        if not self.may_act(actor, row):
            raise PermissionDenied("您无权办理此任务", "You may not act on this task")
        ticket = self._lock_ticket(row.ticket_id)
        # Re-read the task after the lock: the other writer may have completed it meanwhile.
        row = self.session.scalar(select(TaskRow).where(TaskRow.id == task_id)
                                  .execution_options(populate_existing=True))
        if row.state != "ready":
            raise TaskNotOpen()
        return row, ticket

    @staticmethod
    def may_act(actor: Principal, row: TaskRow) -> bool:
        """Whether the actor may claim/complete this task: their role, and their unit for unit tasks."""
        # A citizen answers their own callback on the portal (the HTTP layer proved the ticket is theirs).
        if row.role not in actor.roles and not (actor.has("citizen") and row.name in CITIZEN_TASKS):
            return False
        return row.unit_code is None or row.unit_code == actor.unit_code

    def _unit_visible(self, actor: Principal):
        return or_(Ticket.unit_code == actor.unit_code,
                   exists().where(TaskRow.ticket_id == Ticket.id, TaskRow.unit_code == actor.unit_code),
                   exists().where(TaskRow.subject_ticket_id == Ticket.id, TaskRow.unit_code == actor.unit_code))

    def _can_view(self, actor: Principal, ticket: Ticket) -> bool:
        if actor.is_centre or actor.has("system"):
            return True
        if not actor.unit_code:
            return False
        if ticket.unit_code == actor.unit_code:
            return True
        return self.session.scalar(select(exists().where(
            or_(TaskRow.ticket_id == ticket.id, TaskRow.subject_ticket_id == ticket.id),
            TaskRow.unit_code == actor.unit_code)))
