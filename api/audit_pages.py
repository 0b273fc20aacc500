"""The auditor's view: step through a ticket's history with the diagram showing the tokens after each
step and the variables each step changed; export the audit trail as CSV."""
from __future__ import annotations

from flask import Blueprint, Response, g, render_template

from engine.audit_commands import AUDIT_ROLES
from engine.errors import PermissionDenied

from .context import clock, hotline, session
from .i18n import EVENT_NAMES, named, t
from .pages import login_required
from .presenters import ticket_dict

bp = Blueprint("audit_pages", __name__, url_prefix="/audit")


@bp.get("/tickets/<int:ticket_id>")
@login_required
def audit_page(ticket_id):
    if not g.principal.has(*AUDIT_ROLES):
        raise PermissionDenied()
    facade = hotline()
    trail = facade.audit_trail(g.principal, ticket_id)
    diagram = facade.ticket_diagram(g.principal, ticket_id)
    for step in trail["steps"]:
        step["label"] = named(EVENT_NAMES, step["type"])
    first = trail["steps"][0] if trail["steps"] else {"completed": [], "active": []}
    diagram = {**diagram, "completed": first["completed"], "active": first["active"]}
    ticket = facade.get_ticket(g.principal, ticket_id)
    return render_template("audit.html", ticket=ticket_dict(session(), ticket, clock().now()), trail=trail,
                           diagram=diagram)


@bp.get("/tickets/<int:ticket_id>.csv")
@login_required
def audit_csv(ticket_id):
    text = hotline().audit_csv(g.principal, ticket_id)
    ticket = hotline().get_ticket(g.principal, ticket_id)
    return Response(text, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=audit-{ticket.number}.csv"})


@bp.get("/tickets/<int:ticket_id>.pdf")
@login_required
def audit_pdf_download(ticket_id):
    if not g.principal.has(*AUDIT_ROLES):
        raise PermissionDenied()
    from .audit_export import audit_pdf
    facade = hotline()
    ticket = facade.get_ticket(g.principal, ticket_id)
    labels = {"title": t("audit_trail"), "cut": t("cut_at"),
              "columns": ["#", t("time"), t("event"), t("actor"), t("task"), t("data")]}
    pdf = audit_pdf(ticket, facade.ticket_events(g.principal, ticket_id), labels, lambda v: named(EVENT_NAMES, v))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=audit-{ticket.number}.pdf"})
