"""SQLAlchemy 2 models: deployments, tickets, open tasks, due timers, the event log, users, messages,
calendar.

Queries that the inbox, the dashboard and the scheduler need (tasks by unit/assignee/deadline, due
timers) read plain columns here and never deserialize a workflow.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, TypeDecorator, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .clock import SHANGHAI

# SQLite has no sequence for BIGINT primary keys; use INTEGER there, BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Stores UTC without zone (portable across SQLite/PostgreSQL); returns aware Shanghai times."""
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc).astimezone(SHANGHAI)


class Base(DeclarativeBase):
    pass


class Deployment(Base):
    """One BPMN + DMN set as deployed for a city; stored once per content hash."""
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("city", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    process_id: Mapped[str] = mapped_column(String(100))
    serializer_version: Mapped[str] = mapped_column(String(20))
    spiff_version: Mapped[str] = mapped_column(String(20))
    # Large columns load only when used: every command needs the deployment's id, hash and version,
    # while the spec is read once per process (the codec cache) and the files only for download/diff.
    files: Mapped[dict] = mapped_column(JSON, deferred=True)        # filename -> XML text
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)     # serialized spec + subprocess specs, once
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("city", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(60))
    # Units come from the rule set's city.json; an administrator may add, rename or retire one ("admin"),
    # and loading the rule set again then leaves that row alone.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    source: Mapped[str] = mapped_column(String(10), default="rule_set", server_default="rule_set")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_city_status", "city", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    city: Mapped[str] = mapped_column(String(40))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    # The BPMN process this row runs: the ticket lifecycle, or a case linked to tickets (a supervision
    # order 督办单, a consultation 会商) that reuses the same tasks, timers, event log and lock.
    process: Mapped[str] = mapped_column(String(40), default="ticket_lifecycle", server_default="ticket_lifecycle",
                                         index=True)
    kind: Mapped[str] = mapped_column(String(20), default="event")
    channel: Mapped[str] = mapped_column(String(40))
    request_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    citizen_name: Mapped[str | None] = mapped_column(String(100))
    citizen_phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(60), index=True)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    sign_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    handle_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_reason: Mapped[str | None] = mapped_column(String(300))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    workflow_state: Mapped[str] = mapped_column(Text)   # serialized instance WITHOUT the spec
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # Intelligence: the subject category (set at dispatch, suggested by the model), the master ticket a
    # duplicate was merged into (一体派发), and the knowledge-base entry an operator answered from.
    category: Mapped[str | None] = mapped_column(String(60), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    knowledge_entry_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_entries.id"))

    __mapper_args__ = {"version_id_col": version}


class TaskRow(Base):
    """A user task of a ticket, mirrored from the workflow so inboxes are plain queries."""
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_unit_state_due", "unit_code", "state", "due_at"),
                      Index("ix_tasks_role_state_due", "role", "state", "due_at"),
                      # the warning sweep's tasks only: ready and not yet warned (bench: a full scan per sweep)
                      Index("ix_tasks_warn_pending", "warn_at", postgresql_where=text("state = 'ready' AND "
                            "warned_at IS NULL"), sqlite_where=text("state = 'ready' AND warned_at IS NULL")))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)   # the SpiffWorkflow task id
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))       # BPMN id: dispatch, sign, handle ...
    title: Mapped[str] = mapped_column(String(200))     # BPMN name (Chinese)
    form: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(30))
    unit_code: Mapped[str | None] = mapped_column(String(60))
    assignee: Mapped[str | None] = mapped_column(String(80), index=True)
    state: Mapped[str] = mapped_column(String(20))      # ready | completed | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # the warning sweep notified once
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    # A case's task about one of its linked tickets (a consultation's agreed action): shown on that ticket.
    subject_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)


class TicketLink(Base):
    """A case (supervision order, consultation) and the tickets it concerns."""
    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("case_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))     # supervision | consultation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Timer(Base):
    """A due-timer row: the scheduler sweeps pending rows whose due_at has passed."""
    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("ticket_id", "name", "due_at"),
                      Index("ix_timers_state_due", "state", "due_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))        # BPMN id of the timer event
    task_id: Mapped[str] = mapped_column(String(36))     # the waiting SpiffWorkflow task
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))       # pending | fired | cancelled
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_by: Mapped[str | None] = mapped_column(String(80))


class Event(Base):
    """Append-only ticket history; the application never updates or deletes a row."""
    __tablename__ = "events"
    # (type, task_name, at): the dashboard's and KPIs' reads of one kind of step in a period (callbacks ...)
    __table_args__ = (UniqueConstraint("ticket_id", "seq"), Index("ix_events_type_task_at", "type", "task_name", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    task_name: Mapped[str | None] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # sha256 over the content and the previous event's hash in the same log (engine/audit_chain.py)
    hash: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list] = mapped_column(JSON)
    city: Mapped[str | None] = mapped_column(String(40))
    unit_code: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(200))   # outbound e-mail channel
    phone: Mapped[str | None] = mapped_column(String(40))    # outbound SMS channel


class Message(Base):
    """One notification for one user: the in-app inbox row and its outbound delivery state."""
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_username_read", "username", "read_at"),
                      Index("ix_messages_delivery", "delivered_at", "deliver_after"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))        # the recipient, expanded when created
    city: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))            # task | warning | overdue
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deliver_after: Mapped[datetime] = mapped_column(UTCDateTime)   # held until working time unless urgent
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link: Mapped[str | None] = mapped_column(String(300))      # a page the message points to (an issued report)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Attachment(Base):
    """A photo or file added to a ticket; the bytes live in the attachment store under ``storage_key``."""
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    filename: Mapped[str] = mapped_column(String(160))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(40), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # the bytes were deleted at retention end


class CitySetting(Base):
    """An administrator's working hours or channel list for a city, in place of the rule set's city.json."""
    __tablename__ = "city_settings"

    city: Mapped[str] = mapped_column(String(40), primary_key=True)
    working_hours: Mapped[list | None] = mapped_column(JSON)     # ["08:30-12:00", "13:30-17:30"]
    channels: Mapped[list | None] = mapped_column(JSON)          # [{"code", "name"}]
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Draft(Base):
    """An analyst's unsaved change to one file of a city's rule set (.bpmn/.dmn), until it is deployed."""
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("city", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    content: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(Integer)    # the active version it was started from
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarOverride(Base):
    """Admin-entered working/non-working days; they win over the chinese_calendar package."""
    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("city", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))       # '*' applies to every city
    day: Mapped[date] = mapped_column(Date)
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))


class ClockSetting(Base):
    """The shared engine time when the app runs with HOTLINE_TEST_CLOCK=1 (all processes read it)."""
    __tablename__ = "test_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    now: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KnowledgeEntry(Base):
    """A knowledge-base entry (知识库) owned by a unit: a policy, an answer script (答复口径) or a procedure.

    ``valid_until`` ends its use for answers; ``review_due`` is the date its unit must have checked it by.
    An edit raises ``revision``; answers record the entry id and the revision they used."""
    __tablename__ = "knowledge_entries"
    __table_args__ = (Index("ix_knowledge_city_status", "city", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    unit_code: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(20))            # policy | script | procedure
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    category: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    review_due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")   # active | retired
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AiModel(Base):
    """A trained dispatch model (category or unit classifier), versioned per city with its evaluation.

    ``blob`` is the model in our own array format (numpy ``.npz`` without pickles), so loading a model
    can never run code."""
    __tablename__ = "ai_models"
    __table_args__ = (UniqueConstraint("city", "target", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(20))          # category | unit
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))          # cold_start | closed_tickets | file
    trained_on: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    blob: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoreEntry(Base):
    """A manual scoring item for a unit and month (an award, a media exposure, a document check), entered
    by the centre with its evidence; computed items never live here (they come from the event log)."""
    __tablename__ = "score_entries"
    __table_args__ = (Index("ix_score_entries_city_period", "city", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(7))            # YYYY-MM
    unit_code: Mapped[str] = mapped_column(String(60))
    item: Mapped[str] = mapped_column(String(60))             # the item code in rules/<city>/scoring.json
    points: Mapped[float] = mapped_column(Float)              # negative: deduction; positive: addition
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)               # document number, link, attachment reference
    ticket_ids: Mapped[list] = mapped_column(JSON, default=list)
    entered_by: Mapped[str] = mapped_column(String(80))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketFactsCache(Base):
    """A ticket's KPI facts folded from its event log (engine/kpis.py), with the keywords of its text, so
    a month's reports read one row per ticket instead of its whole history. Valid while ``last_seq`` is
    the ticket's last event; a newer event makes it stale and it is folded again on the next read."""
    __tablename__ = "ticket_facts"
    __table_args__ = (Index("ix_ticket_facts_city", "city"),)

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    last_seq: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict] = mapped_column(JSON)
    terms: Mapped[dict] = mapped_column(JSON)                # word -> count in the title and content


class IssuedReport(Base):
    """A periodic report as it was issued (on schedule or on demand) and to whom it was sent."""
    __tablename__ = "reports"
    # Issued once per city, kind and period: a second scheduler issuing the same report fails to insert.
    __table_args__ = (UniqueConstraint("city", "kind", "period", name="uq_reports_city_kind_period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(JSON)
    recipients: Mapped[list] = mapped_column(JSON, default=list)


class PersonalDataView(Base):
    """Someone was shown a citizen's unmasked name and phone (engine/personal_data.py): who, when, where."""
    __tablename__ = "personal_data_views"
    __table_args__ = (Index("ix_personal_data_views_ticket", "ticket_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    username: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(120))        # the page or endpoint that showed it


# The channels part keeps its tables in their own module; importing it here puts them in the metadata.
from . import channel_models  # noqa: E402,F401
