"""Server-rendered pages: sign-in, the inbox, task forms, ticket pages, messages and a quick intake form."""
from __future__ import annotations

from functools import wraps

from flask import (Blueprint, flash, g, make_response, redirect, render_template, request, session as cookie,
                   url_for)
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from engine import accounts
from engine.dispatch_model import city_categories
from engine.cities import available_cities, effective_channels, load_city
from engine.attachments import may_upload
from engine.audit_commands import AUDIT_ROLES
from engine.emergency import AGENCIES
from engine.errors import AuthenticationFailed, DomainError, NotFound, ValidationFailed
from engine.facade import REQUEST_TYPES, SCOPES

from . import schemas as S
from .context import clock, hotline, page_principal, session
from .errors import localize_schema_messages
from .i18n import current_language, t
from .presenters import task_dict, task_dicts, ticket_dict, ticket_dicts

bp = Blueprint("pages", __name__)


def chosen_city() -> str:
    """The city a page works on: the request's choice if it is a known city, else the user's own."""
    cities = available_cities()
    city = request.values.get("city") or (g.principal.city if g.principal.city in cities else cities[0])
    return city if city in cities else cities[0]


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.principal = page_principal()
        if g.principal is None:
            return redirect(url_for("pages.login", next=request.path))
        return view(*args, **kwargs)
    return wrapper


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            user = accounts.authenticate(session(), request.form.get("username", ""), request.form.get("password", ""))
        except AuthenticationFailed:
            error = t("login_failed")
        else:
            cookie.clear()
            cookie["user"] = user.username
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.inbox"))
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    cookie.clear()
    return redirect(url_for("pages.login"))


@bp.get("/lang/<code>")
def switch_language(code):
    response = make_response(redirect(request.referrer or url_for("pages.inbox")))
    if code in ("zh", "en"):
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.get("/")
@login_required
def home():
    return redirect(url_for("pages.inbox"))


@bp.get("/inbox")
@login_required
def inbox():
    facade = hotline()
    rows = facade.list_tasks(g.principal, state="ready")
    now = clock().now()
    tasks = task_dicts(session(), rows, now)
    returned = facade.returned_tickets([x["ticket_id"] for x in tasks if x["name"] == "dispatch"])
    counts = {"to_sign": sum(x["name"] == "sign" for x in tasks), "to_handle": sum(x["name"] == "handle" for x in tasks),
              "overdue": sum(x["light"] == "red" for x in tasks),
              "returned": sum(x["name"] == "dispatch" and x["ticket_id"] in returned for x in tasks)}
    names = sorted({(x["name"], x["title"]) for x in tasks})
    # Filters: search (ticket number or title), task kind, deadline light, returned, claimed by me.
    f = {k: request.args.get(k, "").strip() for k in ("q", "task", "light", "returned", "mine")}
    if f["q"]:
        tasks = [x for x in tasks if f["q"] in (x["ticket_number"] or "") or f["q"] in (x["ticket_title"] or "")
                 or f["q"] in x["title"]]
    if f["task"]:
        tasks = [x for x in tasks if x["name"] == f["task"]]
    if f["light"]:
        tasks = [x for x in tasks if x["light"] == f["light"]]
    if f["returned"]:
        tasks = [x for x in tasks if x["name"] == "dispatch" and x["ticket_id"] in returned]
    if f["mine"]:
        tasks = [x for x in tasks if x["assignee"] == g.principal.username]
    # htmx (the filter form) asks for the task table only; without JavaScript the whole page is sent.
    template = "_inbox_table.html" if request.headers.get("HX-Request") == "true" else "inbox.html"
    return render_template(template, tasks=tasks, counts=counts, q=f["q"], filters=f, task_names=names)


@bp.post("/tasks/<task_id>/reply-check")
@login_required
def reply_check(task_id):
    """htmx: the reply rules applied to what the handler has typed, as a small list under the field."""
    result = hotline().check_reply(g.principal, task_id, request.form.get("reply", ""))
    return render_template("_reply_check.html", result=result)


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id):
    facade = hotline()
    row = facade.get_task(g.principal, task_id)
    ticket = facade.get_ticket(g.principal, row.ticket_id)
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        if request.form.get("_action") == "claim":
            facade.claim_task(g.principal, task_id)
            return redirect(url_for("pages.task_page", task_id=task_id))
        # checkbox lists and table rows come as several inputs: the form definition reassembles them
        values = facade.task_form_definition(row).from_html(request.form)
        try:
            facade.complete_task(g.principal, task_id, values)
        except ValidationFailed as exc:
            # Nothing is lost: the form is shown again with what the handler typed.
            session().rollback()
            errors, status = exc.details or {}, 422
        else:
            flash(t("completed"))
            return redirect(url_for("pages.inbox"))
    now = clock().now()
    return render_template("task_form.html", task=task_dict(session(), row, now), form=facade.task_form(row),
                           context=facade.task_context(row), attachments=facade.attachments(g.principal, ticket.id),
                           may_upload=may_upload(g.principal),
                           ticket=ticket_dict(session(), ticket, now), events=facade.ticket_events(g.principal, ticket.id),
                           errors=errors, values=values, may_act=facade.may_act(g.principal, row)), status


@bp.get("/tickets")
@login_required
def ticket_list():
    items, total = hotline().list_tickets(g.principal, q=request.args.get("q") or None,
                                          page=max(1, request.args.get("page", 1, type=int)), per_page=50)
    now = clock().now()
    return render_template("tickets.html", tickets=ticket_dicts(session(), items, now), total=total,
                           q=request.args.get("q", ""))


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket_page(ticket_id):
    return render_ticket_page(ticket_id)


def render_ticket_page(ticket_id: int, *, status: int = 200, action_error: str | None = None, values=None):
    """The ticket page; an escalation action that was refused shows it again with its message and input."""
    facade = hotline()
    ticket = facade.get_ticket(g.principal, ticket_id)
    now = clock().now()
    from .escalation_pages import escalation_context   # the escalation routes import this module
    try:
        diagram = facade.ticket_diagram(g.principal, ticket_id)
    except NotFound:           # a deployment without this process's diagram file: the page still works
        diagram = None
    return render_template("ticket.html", ticket=ticket_dict(session(), ticket, now),
                           tasks=task_dicts(session(), facade.list_tasks(g.principal, ticket_id=ticket_id, state=None), now),
                           events=facade.ticket_events(g.principal, ticket_id), escalation=escalation_context(ticket_id),
                           action_error=action_error, values=values or {}, diagram=diagram,
                           may_audit=g.principal.has(*AUDIT_ROLES), attachments=facade.attachments(g.principal, ticket_id),
                           may_upload=may_upload(g.principal),
                           may_read=bool(g.principal.unit_code) and g.principal.has("leader", "principal")), status


@bp.get("/messages")
@login_required
def messages():
    items, unread = hotline().messages(g.principal, unread_only=request.args.get("unread") == "1", limit=200)
    return render_template("messages.html", messages=items, unread=unread)


@bp.post("/messages/<int:message_id>/read")
@login_required
def read_message(message_id):
    hotline().read_message(g.principal, message_id)
    return redirect(url_for("pages.messages"))


@bp.app_context_processor
def unread_badge():
    """The header's unread-message count: one COUNT, and only when someone is signed in."""
    actor = g.get("principal")
    if actor is None:
        return {}
    try:
        return {"unread_messages": hotline().unread_messages(actor)}
    except SQLAlchemyError:   # e.g. an error page after a failed transaction: no badge rather than a 500
        return {}


@bp.route("/intake", methods=["GET", "POST"])
@login_required
def intake():
    cities = available_cities()
    city = load_city(chosen_city())
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        values = request.form.to_dict()
        payload = {k: values.get(k) or None for k in ("city", "channel", "request_type", "title", "content",
                                                        "address", "scope", "direct_answer", "sensitivity",
                                                        "knowledge_entry_id", "category", "emergency_agency",
                                                        "emergency_reason")}
        payload["scope"] = payload["scope"] or "normal"
        payload["sensitivity"] = payload["sensitivity"] or "normal"
        payload["citizen"] = {"name": values.get("citizen_name") or None, "phone": values.get("citizen_phone") or None}
        try:
            ticket = hotline().start_ticket(g.principal, S.TicketCreate().load(payload))
        except ValidationError as exc:
            errors, status = localize_schema_messages(exc.messages), 422
        except ValidationFailed as exc:
            session().rollback()
            errors, status = exc.details or {}, 422
        else:
            flash(f"{t('created')}：{ticket.number}")
            return redirect(url_for("pages.ticket_page", ticket_id=ticket.id))
    return render_template("intake.html", city=city, cities=cities, request_types=REQUEST_TYPES, scopes=SCOPES,
                           agencies=AGENCIES,
                           categories=city_categories(city.code),
                           channels=effective_channels(session(), city.code), errors=errors, values=values), status


def register_error_pages(app) -> None:
    @app.errorhandler(DomainError)
    def _domain_page(error):
        from .errors import domain_error, status_for
        if request.path.startswith("/api/"):
            return domain_error(error)
        return render_template("error.html", message=error.message(current_language())), status_for(error)
