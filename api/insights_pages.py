"""The hot-issues page: 多人一投 clusters and 一人多投 citizens per day, week or month of a date range, and the
period's hot words (ECharts bar chart with a table of the same numbers)."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from marshmallow import ValidationError

from engine.cities import available_cities, load_city
from engine.errors import PermissionDenied, ValidationFailed
from engine.facade import DASHBOARD_ROLES
from engine.insights import category_names

from . import insight_schemas as IS
from .context import report_hotline
from .errors import error_text, localize_schema_messages
from .i18n import current_language, t
from .pages import chosen_city, login_required

bp = Blueprint("insights_pages", __name__)
CHART_TERMS = 15


@bp.get("/hot-issues")
@login_required
def hot_issues():
    if not g.principal.has(*DASHBOARD_ROLES):
        raise PermissionDenied()
    city = chosen_city()
    cities = [(code, load_city(code).name) for code in available_cities()]
    values = {"from": request.args.get("from", ""), "to": request.args.get("to", ""),
              "period": request.args.get("period", "day"), "by": request.args.get("by", ""),
              "include_merged": request.args.get("include_merged") in ("1", "true", "on")}
    issues = words = overall = None
    error, status = None, 200
    try:
        args = {"city": city, "period": values["period"], "include_merged": values["include_merged"]}
        args.update({k: values[k] for k in ("from", "to") if values[k]})
        query = IS.HotIssuesQuery().load(args)
        by = values["by"] if values["by"] in ("area", "category") else None
        facade = report_hotline()
        issues = facade.hot_issues(g.principal, city, query["start"], query["end"], query["period"],
                                   include_merged=query["include_merged"])
        # the same period as the clusters (hot words default to one day; here they follow the form)
        overall = facade.hot_words(g.principal, city, issues["from"], issues["to"], None,
                                   include_merged=query["include_merged"])
        words = facade.hot_words(g.principal, city, issues["from"], issues["to"], by,
                                 include_merged=query["include_merged"]) if by else overall
        values.update({"from": issues["from"].isoformat(), "to": issues["to"].isoformat(), "by": by or ""})
    except ValidationError as exc:
        error, status = error_text(ValidationFailed(details=localize_schema_messages(exc.messages)),
                                   current_language()), 422
    except ValidationFailed as exc:
        error, status = error_text(exc, current_language()), 422
    names = category_names(city)
    lang = 1 if current_language() == "en" else 0

    def group_name(group):
        if group is None:
            return t("hot_unknown") if words and words["by"] else t("hot_all")
        if words and words["by"] == "category":
            return names.get(group, (group, group))[lang]
        return group

    top = overall["groups"][0]["terms"][:CHART_TERMS] if overall and overall["groups"] else []
    chart = {"terms": [{"name": term["term"], "value": term["count"]} for term in top],
             "labels": {"count": t("hot_count")}}
    return render_template("hot_issues.html", city=city, cities=cities, values=values, issues=issues, words=words,
                           group_name=group_name,
                           chart=chart, error=error), status
