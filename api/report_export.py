"""Reports (daily, weekly, monthly, chokepoint, supervision and consultation) as Excel and PDF files.

The engine builds one plain *report dict* (title, period, and a list of metrics and table sections with
typed columns); this module only renders it, so the browser page, the spreadsheet and the PDF show the
same numbers. Offices rework the figures in Excel, so cells keep their types there (counts are numbers,
rates are numbers shown as percentages); the PDF is for filing and printing, so it carries the tables and
leaves the charts to the page. The data is never evaluated: strings are written as strings (a value
starting with "=" stays text, not a formula), and PDF cell text is XML-escaped before reportlab reads it.
The PDF uses the same CID font (STSong-Light) as the audit-trail export, so nothing is embedded.
"""
from __future__ import annotations

import io
import math
import re
import unicodedata
from datetime import date, datetime
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .audit_export import FONT  # importing it registers the CID font once

MAX_CELL_CHARS = 500
NUMERIC = {"int": "#,##0", "number": "0.00", "rate": "0.0%", "hours": "0.0"}
_KEYS = "overview measure value no_data report city period from to generated_at range generated yes no page"
LABELS = {
    "zh": dict(zip(_KEYS.split(), ["概况", "指标", "数值", "无数据", "报告", "城市", "周期", "起始日期", "截止日期",
                                   "生成时间", "{a} 至 {b}", "生成于 {t}", "是", "否", "第 {n} 页"])),
    "en": dict(zip(_KEYS.split(), ["Overview", "Measure", "Value", "No data", "Report", "City", "Period", "From",
                                   "To", "Generated at", "{a} to {b}", "generated {t}", "Yes", "No", "Page {n}"])),
}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _labels(lang: str) -> dict:
    return LABELS.get(lang, LABELS["zh"])


def _text(value, lang: str) -> str:
    """A {"zh": .., "en": ..} label in `lang` (falling back to the other language), or str(value)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        for key in (lang, "zh", "en"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        return next((str(v) for v in value.values() if v not in (None, "")), "")
    return str(value)


def _cut(text: str) -> str:
    text = _CONTROL.sub("", text)
    return text[:MAX_CELL_CHARS] + "…" if len(text) > MAX_CELL_CHARS else text


def _number(value):
    """The value as a finite float or int, or None when it is not a number (bool counts as not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _ticket(value, lang: str) -> str:
    if isinstance(value, dict):
        return _text(value.get("number"), lang) or (f"#{value['id']}" if value.get("id") is not None else "")
    return _text(value, lang)


def _when(value, with_time: bool) -> str:
    """ISO text of a date or datetime (object or ISO string): YYYY-MM-DD, or YYYY-MM-DD HH:MM."""
    try:
        if not isinstance(value, (date, datetime)):
            value = datetime.fromisoformat(str(value)) if with_time else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    if with_time:
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def format_cell(value, fmt: str | None, lang: str = "zh") -> str:
    """The display text of one value in the column format `fmt` (None is ""; text is cut at 500 chars)."""
    return "" if value is None else _cut(_format(value, fmt, lang))


def _format(value, fmt: str | None, lang: str) -> str:
    if isinstance(value, bool):
        return _labels(lang)["yes" if value else "no"]
    number = _number(value)
    if fmt in NUMERIC and number is not None:
        if fmt == "int":
            return f"{round(number):,}"
        return {"number": f"{number:,.2f}", "rate": f"{number * 100:.1f}%", "hours": f"{number:.1f}"}[fmt]
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if fmt in ("date", "datetime"):
        return _when(value, fmt == "datetime")
    if fmt in ("ticket", "tickets"):
        items = value if isinstance(value, (list, tuple)) else [value]
        return "、".join(t for t in (_ticket(v, lang) for v in items if v is not None) if t)
    if isinstance(value, (list, tuple, set)):
        return "、".join(_text(v, lang) for v in value if v is not None)
    return _text(value, lang)


def _columns(section: dict) -> list[dict]:
    columns = section.get("columns")
    if columns:
        return columns
    keys: dict = {}
    for row in section.get("rows") or []:
        keys.update(dict.fromkeys(row if isinstance(row, dict) else {}))
    return [{"key": k, "label": k, "format": "text"} for k in keys]


def _grid(section: dict, lang: str) -> tuple[list[dict], list[list[tuple]]]:
    """Columns and rows of (value, format) pairs; a metrics section becomes a Measure/Value table."""
    labels = _labels(lang)
    if section.get("type") == "metrics":
        columns = [{"label": labels["measure"], "format": "text"}, {"label": labels["value"], "format": "text"}]
        rows = [[(_text(i.get("label") or i.get("key"), lang), "text"), (i.get("value"), i.get("format"))]
                for i in section.get("items") or [] if isinstance(i, dict)]
        return columns, rows
    columns = _columns(section)
    rows = [[(row.get(c.get("key")), c.get("format")) for c in columns]
            for row in section.get("rows") or [] if isinstance(row, dict)]
    return columns, rows


def _display_width(text: str) -> int:
    """Terminal-style width: CJK (wide and full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_title(title: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub("_", _CONTROL.sub("", title)).strip().strip("'").strip() or "Sheet"
    base, name, n = base[:31], base[:31], 1
    while name.lower() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[:31 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _xlsx_cell(ws, row: int, col: int, value, fmt, lang: str, bold: bool = False):
    number = _number(value)
    cell = ws.cell(row=row, column=col)
    if fmt in NUMERIC and number is not None:
        cell.value = round(number) if fmt == "int" else float(number)
        cell.number_format = NUMERIC[fmt]
    else:
        text = ILLEGAL_CHARACTERS_RE.sub("", format_cell(value, fmt, lang))
        cell.value = text or None
        if text:
            cell.data_type = "s"  # never a formula, even when the text starts with "="
    if bold:
        cell.font = Font(bold=True)
    return cell


def _fit_columns(ws, widths: dict[int, int]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 60)
        if width > 58:
            for (cell,) in ws.iter_rows(min_col=col, max_col=col, min_row=2):
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def report_xlsx(report: dict, lang: str = "zh") -> bytes:
    """The report as a workbook: an overview sheet, then one sheet per section."""
    labels, wb, taken = _labels(lang), Workbook(), {"history"}  # Excel reserves "History"
    ws = wb.active
    ws.title = _sheet_title(labels["overview"], taken)
    overview = [("report", _text(report.get("title"), lang), "text"),
                ("city", report.get("city_name") or report.get("city"), "text"),
                ("period", report.get("period"), "text"), ("from", report.get("from"), "date"),
                ("to", report.get("to"), "date"), ("generated_at", report.get("generated_at"), "datetime")]
    for r, (key, value, fmt) in enumerate(overview, start=1):
        _xlsx_cell(ws, r, 1, labels[key], "text", lang, bold=True)
        _xlsx_cell(ws, r, 2, value, fmt, lang)
    _fit_columns(ws, {1: max(_display_width(labels[k]) for k, _, _ in overview),
                      2: max(_display_width(format_cell(v, f, lang)) for _, v, f in overview)})
    for section in (s for s in report.get("sections") or [] if isinstance(s, dict)):
        ws = wb.create_sheet(_sheet_title(_text(section.get("title") or section.get("key"), lang), taken))
        columns, rows = _grid(section, lang)
        widths: dict[int, int] = {}
        for c, column in enumerate(columns, start=1):
            header = _text(column.get("label") or column.get("key"), lang)
            _xlsx_cell(ws, 1, c, header, "text", lang, bold=True)
            widths[c] = _display_width(header)
        for r, row in enumerate(rows, start=2):
            for c, (value, fmt) in enumerate(row, start=1):
                widths[c] = max(widths[c], _display_width(format_cell(value, fmt, lang)))
                _xlsx_cell(ws, r, c, value, fmt, lang)
        if not rows:
            _xlsx_cell(ws, 2, 1, labels["no_data"], "text", lang)
        ws.freeze_panes = "A2"
        _fit_columns(ws, widths)
        if section.get("note"):
            _xlsx_cell(ws, max(len(rows), 1) + 3, 1, _text(section["note"], lang), "text", lang)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


_BODY = ParagraphStyle("report-cell", fontName=FONT, fontSize=8, leading=10, wordWrap="CJK")
_NUM = ParagraphStyle("report-num", parent=_BODY, alignment=TA_RIGHT)
_HEAD = ParagraphStyle("report-head", parent=_BODY, fontSize=8.5, leading=11)
_TITLE = ParagraphStyle("report-title", fontName=FONT, fontSize=16, leading=20, spaceAfter=4)
_H2 = ParagraphStyle("report-h2", fontName=FONT, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=4)
_META = ParagraphStyle("report-meta", fontName=FONT, fontSize=9, leading=12, textColor=colors.grey)


def _para(text: str, style=_BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _pdf_table(section: dict, lang: str, width: float):
    columns, rows = _grid(section, lang)
    if not columns:
        return _para(_labels(lang)["no_data"])
    headers = [_text(c.get("label") or c.get("key"), lang) for c in columns]
    texts = [[format_cell(v, f, lang) for v, f in row] for row in rows]
    weights = [min(max([_display_width(h) for h in [headers[i]] + [t[i] for t in texts]]), 40) + 4
               for i in range(len(headers))]
    col_widths = [width * w / sum(weights) for w in weights]
    data = [[_para(h, _HEAD) for h in headers]]
    data += [[_para(t, _NUM if f in NUMERIC else _BODY) for t, (_, f) in zip(text_row, row)]
             for text_row, row in zip(texts, rows)]
    style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb"))]
    if not rows:
        data.append([_para(_labels(lang)["no_data"])] + [""] * (len(headers) - 1))
        style.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(data, colWidths=col_widths, repeatRows=1, splitInRow=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table


def report_pdf(report: dict, lang: str = "zh") -> bytes:
    """The report as an A4 PDF (landscape when a table has more than seven columns)."""
    labels, sections = _labels(lang), [s for s in report.get("sections") or [] if isinstance(s, dict)]
    wide = any(s.get("type") != "metrics" and len(_columns(s)) > 7 for s in sections)
    pagesize = landscape(A4) if wide else A4
    title = _text(report.get("title"), lang)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=pagesize, leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=14 * mm, bottomMargin=16 * mm, title=title)

    def footer(canvas, doc_):
        canvas.setFont(FONT, 7.5)
        canvas.drawRightString(pagesize[0] - 14 * mm, 8 * mm, labels["page"].format(n=doc_.page))

    meta = [report.get("city_name") or report.get("city"), report.get("period")]
    if report.get("from") or report.get("to"):
        meta.append(labels["range"].format(a=format_cell(report.get("from"), "date", lang),
                                           b=format_cell(report.get("to"), "date", lang)))
    if report.get("generated_at"):
        meta.append(labels["generated"].format(t=format_cell(report["generated_at"], "datetime", lang)))
    story = [_para(title, _TITLE), _para(" | ".join(format_cell(m, "text", lang) for m in meta if m), _META)]
    for section in sections:
        story.append(_para(_text(section.get("title") or section.get("key"), lang), _H2))
        story.append(_pdf_table(section, lang, doc.width * (0.6 if section.get("type") == "metrics" else 1.0)))
        if section.get("note"):
            story += [Spacer(1, 3), _para(format_cell(section["note"], "text", lang), _META)]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
