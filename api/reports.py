"""JSON API for the periodic reports: compute one now (JSON, or as an HTML page, Excel or PDF), issue one
(store and send it), and list what was issued."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from marshmallow import Schema, fields, validate

from . import schemas as S
from .context import hotline, principal, report_hotline, require_token
from .v1 import body

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")
KINDS = ["daily", "weekly", "monthly", "chokepoint", "supervision_monthly", "consultation_monthly"]
FORMATS = ["json", "html", "xlsx", "pdf"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportQuery(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    period = fields.String(validate=validate.Length(4, 10),
                           metadata={"description": "YYYY-MM-DD (daily), YYYY-Www (weekly) or YYYY-MM; default: the latest due"})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class DownloadQuery(S.Strict):
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class IssueIn(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    period = fields.String(validate=validate.Length(4, 10))


class IssuedQuery(S.Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    kind = fields.String(validate=validate.OneOf(KINDS))


class ReportOut(Schema):
    kind = fields.String()
    city = fields.String()
    city_name = fields.String()
    period = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    generated_at = fields.String()
    title = fields.Dict(metadata={"description": "{zh, en}"})
    sections = fields.List(fields.Dict(), metadata={"description": "metrics or tables with typed columns, rows and a chart"})


class IssuedOut(Schema):
    id = fields.Integer()
    city = fields.String()
    kind = fields.String()
    period = fields.String()
    issued_at = S.Time()
    issued_by = fields.String()
    recipients = fields.List(fields.String())


class IssuedList(Schema):
    items = fields.List(fields.Nested(IssuedOut))


def deliver(report: dict, fmt: str, lang: str):
    """The report in the asked format; downloads are named after kind, city and period."""
    from .report_export import report_pdf, report_xlsx
    name = f"{report['kind']}-{report['city']}-{report['period']}"
    if fmt == "xlsx":
        return Response(report_xlsx(report, lang), mimetype=XLSX,
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    if fmt == "pdf":
        return Response(report_pdf(report, lang), mimetype="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename={name}.pdf"})
    if fmt == "html":
        return render_template("report.html", report=report, issued=None, kinds=KINDS)
    return ReportOut().dump(report)


@bp.get("/reports/<kind>")
@require_token
def report(kind):
    args = ReportQuery().load(request.args)
    data = report_hotline().report(principal(), args["city"], kind, args.get("period"))
    return deliver(data, args["format"], args["lang"])


@bp.post("/reports/<kind>/issue")
@require_token
def issue(kind):
    args = body(IssueIn())
    issued = hotline().issue_report(principal(), args["city"], kind, args.get("period"))
    return IssuedOut().dump(issued), 201


@bp.get("/reports")
@require_token
def issued_list():
    args = IssuedQuery().load(request.args)
    return IssuedList().dump({"items": hotline().issued_reports(principal(), args["city"], args.get("kind"))})


@bp.get("/reports/issued/<int:report_id>")
@require_token
def issued_one(report_id):
    args = DownloadQuery().load(request.args)
    return deliver(hotline().issued_report(principal(), report_id).data, args["format"], args["lang"])


E = S.ErrorOut
OPERATIONS = [
    ("get", "/api/v1/reports/{kind}", "A periodic report computed now from the event log (kind: daily, weekly, monthly, chokepoint, supervision_monthly, consultation_monthly); format=json|html|xlsx|pdf", None, {200: ReportOut, 403: E, 404: E, 422: E}, ReportQuery, True),
    ("post", "/api/v1/reports/{kind}/issue", "Issue a report now: store it and send it to its recipients (supervisor, admin)", IssueIn, {201: IssuedOut, 403: E, 404: E, 409: E, 422: E}, None, True),
    ("get", "/api/v1/reports", "The reports issued for a city, newest first", None, {200: IssuedList, 403: E, 404: E, 422: E}, IssuedQuery, True),
    ("get", "/api/v1/reports/issued/{report_id}", "An issued report as it was sent; format=json|html|xlsx|pdf", None, {200: ReportOut, 404: E, 422: E}, DownloadQuery, True),
]
