"""The administrator console: users and roles, the working calendar, and a city's units, channels and
working hours (rule-set versions are activated on /rules/)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.accounts import ROLES
from engine.cities import available_cities, load_city
from engine.errors import DomainError, PermissionDenied

from .context import hotline, session
from .errors import error_text, status_for
from .i18n import current_language, t
from .pages import chosen_city, login_required

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")


def _page(city: str, *, status: int = 200, error: str | None = None, values=None):
    facade = hotline()
    year = request.values.get("year", type=int) or facade.clock.now().year
    return render_template("admin.html", city=city, year=year, roles=ROLES, error=error, values=values or {},
                           cities=[(c, load_city(c).name) for c in available_cities()],
                           users=facade.users(g.principal), overview=facade.city_overview(g.principal, city),
                           overrides=facade.calendar_overrides(g.principal, city, year)), status


def _refused(city: str, exc: DomainError):
    session().rollback()
    return _page(city, status=status_for(exc), error=error_text(exc, current_language()), values=request.form)


@bp.get("/")
@login_required
def console():
    if not g.principal.has("admin"):
        raise PermissionDenied()
    return _page(chosen_city())


@bp.post("/users")
@login_required
def save_user():
    city = request.form.get("city") or chosen_city()
    try:
        hotline().save_user(g.principal, username=request.form.get("username", ""),
                            roles=request.form.getlist("roles"), city=request.form.get("city") or None,
                            unit_code=request.form.get("unit") or None,
                            display_name=request.form.get("display_name") or None,
                            password=request.form.get("password") or None,
                            active=request.form.get("active", "true") == "true")
    except DomainError as exc:
        return _refused(city, exc)
    flash(t("saved"))
    return redirect(url_for("admin_pages.console", city=city))


@bp.post("/calendar")
@login_required
def set_day():
    city = request.form.get("city") or chosen_city()
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        return _refused(city, DomainError("日期格式应为 YYYY-MM-DD", "The date must be YYYY-MM-DD"))
    try:
        facade = hotline()
        if request.form.get("_action") == "remove":
            facade.remove_calendar_day(g.principal, request.form.get("scope") or city, day)
        else:
            facade.set_calendar_day(g.principal, request.form.get("scope") or city, day,
                                    request.form.get("is_working") == "true", request.form.get("note") or None)
    except DomainError as exc:
        return _refused(city, exc)
    flash(t("saved"))
    return redirect(url_for("admin_pages.console", city=city, year=day.year))


@bp.post("/settings")
@login_required
def city_settings():
    """Working hours (one field), channels (one per line: code name) or a unit, by the button pressed."""
    city = request.form.get("city") or chosen_city()
    facade, what = hotline(), request.form.get("_action")
    try:
        if what == "working_hours":
            periods = [p.strip() for p in request.form.get("working_hours", "").replace("，", ",").split(",") if p.strip()]
            facade.set_working_hours(g.principal, city, periods)
        elif what == "channels":
            rows = [line.strip().split(None, 1) for line in request.form.get("channels", "").splitlines() if line.strip()]
            facade.set_channels(g.principal, city, [{"code": r[0], "name": r[1] if len(r) > 1 else ""} for r in rows])
        else:
            facade.save_unit(g.principal, city, code=request.form.get("code", ""), name=request.form.get("name", ""),
                             type_=request.form.get("type", ""), parent=request.form.get("parent") or None,
                             active=request.form.get("active", "true") == "true")
    except DomainError as exc:
        return _refused(city, exc)
    flash(t("saved"))
    return redirect(url_for("admin_pages.console", city=city))
