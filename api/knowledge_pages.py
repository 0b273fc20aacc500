"""Knowledge-base pages (知识库): the list with filters, the create/edit form, retiring an entry, and the
intake page's suggestions (an htmx fragment: entries that answer what the operator is typing)."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.cities import available_cities, effective_units, load_city
from engine.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from engine.knowledge import KINDS, READ_ROLES, categories, knowledge_dict, today_of

from .context import clock, hotline, session
from .errors import error_text, status_for
from .i18n import current_language, t
from .pages import chosen_city, login_required

bp = Blueprint("knowledge_pages", __name__)
KEYWORD_SEPARATORS = re.compile(r"[,，、;；\s]+")
DATE_FIELDS = ("valid_from", "valid_until", "review_due")


def _labels() -> dict:
    return {"unit": t("unit"), "kind": t("kb_kind"), "title": t("title"), "body": t("kb_body"),
            "keywords": t("kb_keywords"), "category": t("kb_category"), "valid_from": t("kb_valid_from"),
            "valid_until": t("kb_valid_until"), "review_due": t("kb_review_due"), "status": t("status"),
            "knowledge_entry_id": t("knowledge_base")}


def _units(city: str) -> list[dict]:
    return [u for u in effective_units(session(), city) if u.get("type") != "centre"]


def _form_data() -> tuple[dict, dict]:
    """The form as the facade takes it, and the date fields that are not dates."""
    form, errors = request.form, {}
    data = {"unit": form.get("unit") or None, "kind": form.get("kind", ""), "title": form.get("title", ""),
            "body": form.get("body", ""), "category": form.get("category") or None,
            "keywords": [k for k in KEYWORD_SEPARATORS.split(form.get("keywords", "")) if k]}
    for field in DATE_FIELDS:
        raw = (form.get(field) or "").strip()
        try:
            data[field] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[field] = [{"code": "invalid", "message_zh": "日期格式应为 YYYY-MM-DD",
                              "message_en": "The date must be YYYY-MM-DD"}]
    return data, errors


def _edit_page(city: str, entry=None, *, values=None, errors=None, error=None, status=200):
    actor = g.principal
    today = today_of(clock().now())
    may_manage = hotline().may_manage_knowledge(actor, entry.unit_code if entry else None)
    units = _units(city)
    if not actor.has("admin"):
        # A unit's staff keep their own unit's entries only: that is the one choice offered.
        units = [u for u in units if u["code"] == actor.unit_code or (entry and u["code"] == entry.unit_code)]
    if values is None:
        values = knowledge_dict(entry, today) if entry else {"unit": actor.unit_code, "kind": "script", "keywords": []}
    return render_template("knowledge_edit.html", city=city, entry=knowledge_dict(entry, today) if entry else None,
                           values=values, errors=errors or {}, error=error, labels=_labels(), units=units,
                           kinds=KINDS, categories=categories(city), may_manage=may_manage), status


def _refused(city: str, exc: DomainError, entry=None):
    session().rollback()
    values = {**request.form.to_dict(), "keywords": request.form.get("keywords", "")}
    if entry is not None and isinstance(exc, Conflict):
        # What was typed stays; saving again is now a deliberate change of the current revision.
        values["revision"] = entry.revision
    if isinstance(exc, ValidationFailed) and isinstance(exc.details, dict):
        return _edit_page(city, entry, values=values, errors=exc.details, status=status_for(exc))
    return _edit_page(city, entry, values=values, error=error_text(exc, current_language()), status=status_for(exc))


@bp.get("/knowledge/")
@login_required
def entries():
    actor, facade = g.principal, hotline()
    city = chosen_city()
    f = {k: request.args.get(k, "").strip() for k in ("unit", "kind", "status", "overdue", "q")}
    status = f["status"] if f["status"] in ("active", "retired") else (None if f["status"] == "all" else "active")
    items = facade.list_knowledge(actor, city=city, unit=f["unit"] or None, kind=f["kind"] if f["kind"] in KINDS else None,
                                  status=status, review_overdue=True if f["overdue"] else None, q=f["q"] or None)
    today = today_of(clock().now())
    return render_template("knowledge_list.html", city=city, cities=[(c, load_city(c).name) for c in available_cities()],
                           entries=[knowledge_dict(e, today) for e in items], filters=f, units=_units(city), kinds=KINDS,
                           may_create=facade.may_manage_knowledge(actor),
                           manageable={e.id for e in items if facade.may_manage_knowledge(actor, e.unit_code)})


@bp.route("/knowledge/new", methods=["GET", "POST"])
@login_required
def new_entry():
    city = chosen_city()
    if not hotline().may_manage_knowledge(g.principal):
        raise PermissionDenied("只能维护本单位的知识库条目", "You may only manage your own unit's entries")
    if request.method == "GET":
        return _edit_page(city)
    data, errors = _form_data()
    if errors:
        return _edit_page(city, values={**request.form.to_dict()}, errors=errors, status=422)
    try:
        entry = hotline().create_knowledge(g.principal, city, data)
    except DomainError as exc:
        return _refused(city, exc)
    flash(t("saved"))
    return redirect(url_for("knowledge_pages.edit_entry", entry_id=entry.id))


@bp.route("/knowledge/<int:entry_id>", methods=["GET", "POST"])
@login_required
def edit_entry(entry_id):
    facade = hotline()
    entry = facade.get_knowledge(g.principal, entry_id)
    if request.method == "GET":
        return _edit_page(entry.city, entry)
    data, errors = _form_data()
    if errors:
        return _edit_page(entry.city, entry, values={**request.form.to_dict()}, errors=errors, status=422)
    try:
        facade.update_knowledge(g.principal, entry_id, data, revision=request.form.get("revision", type=int) or 0)
    except DomainError as exc:
        return _refused(entry.city, exc, facade.get_knowledge(g.principal, entry_id))
    flash(t("saved"))
    return redirect(url_for("knowledge_pages.edit_entry", entry_id=entry_id))


@bp.post("/knowledge/<int:entry_id>/retire")
@login_required
def retire_entry(entry_id):
    facade = hotline()
    entry = facade.get_knowledge(g.principal, entry_id)
    try:
        facade.retire_knowledge(g.principal, entry_id, revision=request.form.get("revision", type=int))
    except DomainError as exc:
        return _refused(entry.city, exc, facade.get_knowledge(g.principal, entry_id))
    flash(t("kb_retired"))
    return redirect(url_for("knowledge_pages.entries", city=entry.city))


@bp.get("/intake/knowledge")
@login_required
def intake_suggestions():
    """htmx (the intake form, as the operator types): entries that answer a consultation. Other request
    types get no suggestions, and an entry chosen before is let go."""
    if not g.principal.has(*READ_ROLES):
        raise PermissionDenied()
    request_type = request.args.get("request_type") or "consult"
    if request_type != "consult":
        return render_template("_knowledge_suggestions.html", hits=[], consult=False, text="")
    city = chosen_city()
    text = " ".join(request.args.get(k, "") for k in ("title", "content")).strip()
    hits = hotline().search_knowledge(g.principal, city, text) if text else []
    today = today_of(clock().now())
    return render_template("_knowledge_suggestions.html", consult=True, text=text, city=city,
                           hits=[{"entry": knowledge_dict(h.entry, today), "score": h.score,
                                  "matched_keywords": h.matched_keywords, "review_overdue": h.review_overdue}
                                 for h in hits])
