"""The audit trail as a PDF (A4, Chinese text in the standard Adobe CJK font STSong-Light, which PDF
readers supply, so nothing has to be embedded or downloaded)."""
from __future__ import annotations

import io
import json

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
from xml.sax.saxutils import escape

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
TEXT = ParagraphStyle("text", fontName=FONT, fontSize=7.5, leading=9.5)
TITLE = ParagraphStyle("title", fontName=FONT, fontSize=14, leading=18, spaceAfter=6)
MAX_DATA_CHARS = 600


def audit_pdf(ticket, events, labels: dict, event_name) -> bytes:
    """One row per event: sequence, time, type, actor, task, data (long data is cut and says so)."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"{labels['title']} {ticket.number}")
    rows = [[Paragraph(escape(h), TEXT) for h in labels["columns"]]]
    for e in events:
        data = json.dumps(e.data, ensure_ascii=False, sort_keys=True)
        if len(data) > MAX_DATA_CHARS:
            data = data[:MAX_DATA_CHARS] + f" …（{labels['cut']} {len(data)}）"
        rows.append([Paragraph(str(e.seq), TEXT), Paragraph(e.at.strftime("%Y-%m-%d %H:%M:%S"), TEXT),
                     Paragraph(escape(f"{event_name(e.type)} ({e.type})"), TEXT), Paragraph(escape(e.actor or ""), TEXT),
                     Paragraph(escape(e.task_name or ""), TEXT), Paragraph(escape(data), TEXT)])
    table = Table(rows, colWidths=[10 * mm, 30 * mm, 40 * mm, 30 * mm, 30 * mm, 133 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    doc.build([Paragraph(escape(f"{labels['title']} {ticket.number} · {ticket.title}"), TITLE), table])
    return out.getvalue()
