"""Intelligence on the pages: the smart-dispatch suggestion and possible duplicates (htmx partials on the
dispatch task and the intake form), and merging a duplicate into its master ticket."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.errors import DomainError
from engine.merging import MERGE_ROLES

from .context import hotline
from .escalation_pages import _render_with_error
from .errors import status_for
from .i18n import t
from .pages import login_required

bp = Blueprint("intelligence_pages", __name__)


@bp.get("/tickets/<int:ticket_id>/intelligence")
@login_required
def ticket_panel(ticket_id):
    """Suggestion and similar tickets for one ticket (the dispatch task page loads it)."""
    facade, actor = hotline(), g.principal
    ticket = facade.get_ticket(actor, ticket_id)
    suggestion = facade.dispatch_suggestion(actor, ticket_id) if actor.has("dispatcher", "operator", "admin",
                                                                             "supervisor", "analyst") else None
    similar = facade.similar_tickets(actor, ticket_id, limit=8)
    may_merge = actor.has(*MERGE_ROLES) and ticket.status == "dispatching"
    return render_template("_intelligence.html", ticket=ticket, suggestion=suggestion, similar=similar,
                           may_merge=may_merge)


@bp.get("/intake/suggestions")
@login_required
def intake_panel():
    """Possible duplicates and the suggested category/unit while a request is being typed."""
    args = request.args
    title, content, city = args.get("title", "").strip(), args.get("content", "").strip(), args.get("city", "")
    if len(title + content) < 4 or not city:
        return ""
    facade, actor = hotline(), g.principal
    similar = facade.similar_to_text(actor, city, title, content, address=args.get("address") or None,
                                     citizen_phone=args.get("citizen_phone") or None, limit=5)
    suggestion = facade.suggest_for_text(actor, city, title, content)
    return render_template("_intelligence.html", ticket=None, suggestion=suggestion, similar=similar,
                           may_merge=False)


@bp.post("/tickets/<int:ticket_id>/merge")
@login_required
def merge(ticket_id):
    try:
        into = int(request.form.get("into", ""))
    except ValueError:
        return _render_with_error(ticket_id, DomainError("请选择主工单", "Choose the master ticket"), 422)
    try:
        hotline().merge_ticket(g.principal, ticket_id, into, reason=request.form.get("reason", "").strip() or None)
    except DomainError as exc:
        return _render_with_error(ticket_id, exc, status_for(exc))
    flash(t("merged_into"))
    return redirect(url_for("pages.ticket_page", ticket_id=ticket_id))
