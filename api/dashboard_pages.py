"""The centre's dashboard page: figures and ECharts charts (with tables of the same numbers)."""
from __future__ import annotations

from flask import Blueprint, g, render_template

from engine.cities import available_cities, load_city
from engine.errors import PermissionDenied
from engine.facade import DASHBOARD_ROLES

from .context import hotline
from .i18n import STATUS_NAMES, named, unit_name
from .pages import chosen_city, login_required

bp = Blueprint("dashboard_pages", __name__)


@bp.get("/dashboard")
@login_required
def dashboard():
    if not g.principal.has(*DASHBOARD_ROLES):
        raise PermissionDenied()
    city = chosen_city()
    board = hotline().dashboard(g.principal, city)
    # Labels resolved here so the chart script only draws.
    charts = {
        "status": [{"name": named(STATUS_NAMES, k), "value": v} for k, v in sorted(board["open_by_status"].items())],
        "lights": board["lights"],
        "overdue": [{"name": unit_name(k, city), "value": v} for k, v in board["overdue_by_unit"].items()],
        "trend": board["trend"],
        "rates": [{"name": unit_name(r["unit"], city), "sign": r["sign_rate"], "handle": r["handle_rate"],
                   "satisfaction": r["satisfaction_rate"]} for r in board["unit_rates"]],
    }
    cities = [(code, load_city(code).name) for code in available_cities()]
    return render_template("dashboard.html", board=board, charts=charts, city=city, cities=cities)
