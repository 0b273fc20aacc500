"""Report exports: the workbook and the PDF are read back and checked, not just produced."""
import io
import re

import openpyxl
import pytest

from api.report_export import format_cell, report_pdf, report_xlsx


def col(key, zh, en, fmt="text"):
    return {"key": key, "label": {"zh": zh, "en": en}, "format": fmt}


def make_report(rows=None, sections=None, **extra):
    rows = [{"category": "城乡建设", "count": 10, "share": 0.25, "hours": 12.345,
             "ticket": {"id": 5, "number": "NT20261101-0005"}, "units": ["住建局", "崇川区"],
             "closed": "2026-11-03T09:30:00+08:00", "day": "2026-11-02",
             "related": [{"id": 6, "number": "NT20261101-0006"}, {"id": 7, "number": "NT20261101-0007"}]},
            {"category": None, "count": None, "share": None, "hours": None, "ticket": None, "units": None,
             "closed": None, "day": None, "related": []}] if rows is None else rows
    table = {"key": "by_category", "type": "table", "title": {"zh": "按类别", "en": "By category"},
             "columns": [col("category", "类别", "Category"), col("count", "件数", "Count", "int"),
                         col("share", "占比", "Share", "rate"), col("hours", "平均用时", "Mean hours", "hours"),
                         col("ticket", "典型工单", "Sample ticket", "ticket"),
                         col("units", "承办单位", "Units", "list"), col("closed", "办结时间", "Closed", "datetime"),
                         col("day", "日期", "Day", "date"), col("related", "关联工单", "Related", "tickets")],
             "rows": rows, "chart": {"type": "bar", "x": "category", "y": ["count"]},
             "note": {"zh": "注：按受理时间统计。", "en": "Note: counted by intake time."}}
    summary = {"key": "summary", "type": "metrics", "title": {"zh": "总体情况", "en": "Overview"},
               "items": [{"key": "received", "label": {"zh": "受理工单", "en": "Tickets received"},
                          "value": 1234, "format": "int"},
                         {"key": "on_time_rate", "label": {"zh": "按时办结率", "en": "On-time rate"},
                          "value": 0.9312, "format": "rate"}]}
    report = {"kind": "monthly", "city": "nantong", "city_name": "南通", "period": "2026-11",
              "from": "2026-11-01", "to": "2026-11-30", "generated_at": "2026-12-01T08:00:00+08:00",
              "title": {"zh": "重点问题月报", "en": "Monthly key-issue report"},
              "sections": [summary, table] if sections is None else sections}
    report.update(extra)
    return report


def workbook(report, lang="zh"):
    return openpyxl.load_workbook(io.BytesIO(report_xlsx(report, lang)))


def header(ws):
    return [c.value for c in ws[1]]


def test_sheets_headers_and_overview_in_chinese():
    wb = workbook(make_report())
    assert wb.sheetnames == ["概况", "总体情况", "按类别"]
    overview = {r[0]: r[1] for r in wb["概况"].iter_rows(values_only=True)}
    assert overview == {"报告": "重点问题月报", "城市": "南通", "周期": "2026-11", "起始日期": "2026-11-01",
                        "截止日期": "2026-11-30", "生成时间": "2026-12-01 08:00"}
    ws = wb["按类别"]
    assert header(ws) == ["类别", "件数", "占比", "平均用时", "典型工单", "承办单位", "办结时间", "日期", "关联工单"]
    assert ws["A1"].font.bold and ws.freeze_panes == "A2"
    assert ws.column_dimensions["F"].width >= len("住建局、崇川区") * 2


def test_typed_values():
    ws = workbook(make_report())["按类别"]
    count, share, hours, ticket = ws["B2"], ws["C2"], ws["D2"], ws["E2"]
    assert count.value == 10 and isinstance(count.value, int)
    assert share.value == pytest.approx(0.25) and share.number_format == "0.0%"
    assert hours.value == pytest.approx(12.345) and hours.number_format == "0.0"
    assert ticket.value == "NT20261101-0005"
    assert [c.value for c in ws[2]][5:] == ["住建局、崇川区", "2026-11-03 09:30", "2026-11-02",
                                            "NT20261101-0006、NT20261101-0007"]
    assert all(c.value is None for c in ws[3])  # None everywhere stays an empty cell
    assert ws["A5"].value == "注：按受理时间统计。"
    metrics = workbook(make_report())["总体情况"]
    assert list(metrics.iter_rows(values_only=True)) == [("指标", "数值"), ("受理工单", 1234),
                                                         ("按时办结率", pytest.approx(0.9312))]
    assert metrics["B3"].number_format == "0.0%"


def test_english_headers_and_unique_sheet_names():
    wb = workbook(make_report(), lang="en")
    # The metrics section is also titled "Overview": it must not clash with the overview sheet.
    assert wb.sheetnames == ["Overview", "Overview (2)", "By category"]
    assert header(wb["By category"])[:3] == ["Category", "Count", "Share"]
    assert header(wb["Overview (2)"]) == ["Measure", "Value"]
    assert wb["By category"]["A5"].value == "Note: counted by intake time."


def test_sheet_titles_are_sanitised_and_unique():
    base = make_report()["sections"][1]
    long_title = "投诉/举报:[重点]*问题?\\" + "很长的标题" * 10
    sections = [dict(base, title={"zh": long_title}), dict(base, title={"zh": long_title}),
                dict(base, title={"zh": "概况"}), dict(base, title=None, key="")]
    names = workbook(make_report(sections=sections)).sheetnames
    assert len(names) == len(set(names)) == 5
    for name in names:
        assert len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name)
    assert names[1].startswith("投诉_举报_") and names[2].endswith(" (2)") and names[3] == "概况 (2)"


def test_empty_rows_missing_keys_and_long_text():
    ws = workbook(make_report(rows=[]))["按类别"]
    assert ws["A2"].value == "无数据" and ws.max_row == 4  # header, no-data row, blank, note
    assert workbook(make_report(rows=[]), "en")["By category"]["A2"].value == "No data"
    long = "长" * 800
    ws = workbook(make_report(rows=[{"category": long, "units": ["x" * 600]}]))["按类别"]
    assert ws["A2"].value == "长" * 500 + "…" and ws["F2"].value == "x" * 500 + "…"
    assert ws["B2"].value is None
    bare = {"sections": [{"key": "x", "rows": [{"a": 1, "b": "=HYPERLINK(\"http://x\")"}]}]}
    ws = workbook(bare)["x"]
    assert header(ws) == ["a", "b"]
    assert ws["B2"].value.startswith("=") and ws["B2"].data_type == "s"  # text, never a formula


def test_format_cell():
    assert format_cell(0.9312, "rate", "zh") == "93.1%"
    assert format_cell(None, "rate", "zh") == ""
    assert format_cell(1234, "int", "en") == "1,234"
    assert format_cell(2.5, "number", "zh") == "2.50"
    assert format_cell(12.345, "hours", "zh") == "12.3"
    assert format_cell("2026-12-01T08:00:00+08:00", "datetime", "zh") == "2026-12-01 08:00"
    assert format_cell("2026-12-01T08:00:00", "date", "zh") == "2026-12-01"
    assert format_cell({"id": 5, "number": "NT-5"}, "ticket", "zh") == "NT-5"
    assert format_cell(["a", None, "b"], "list", "zh") == "a、b"
    assert format_cell({"zh": "城建", "en": "Construction"}, "text", "en") == "Construction"
    assert format_cell("n/a", "rate", "zh") == "n/a"
    assert format_cell(float("nan"), "number", "zh") == ""


def pages(pdf):
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def is_landscape(pdf):
    width, height = map(float, re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf).groups())
    return width > height


def test_pdf_renders_cjk_and_grows_to_many_pages():
    small = report_pdf(make_report())
    assert small.startswith(b"%PDF-") and b"STSong-Light" in small and pages(small) == 1
    assert is_landscape(small)  # nine columns: landscape A4
    many = [{"category": f"类别<{i}>&\"x\"", "count": i, "share": i / 300, "units": ["单位"]} for i in range(300)]
    big = report_pdf(make_report(rows=many), lang="en")
    assert big.startswith(b"%PDF-") and pages(big) > 3 and len(big) > len(small)


def test_pdf_copes_with_empty_narrow_and_huge_cells():
    report = make_report(rows=[])
    report["sections"][1]["columns"] = report["sections"][1]["columns"][:3]
    narrow = report_pdf(report)
    assert pages(narrow) == 1 and not is_landscape(narrow)  # portrait when no table is wide
    wide_cols = [col(f"c{i}", f"列{i}", f"C{i}") for i in range(20)]
    huge = {"sections": [{"key": "h", "type": "table", "title": "h", "columns": wide_cols,
                          "rows": [{f"c{i}": "<script>&" + "字" * 900 for i in range(20)}]},
                         {"key": "e", "type": "table", "title": {"en": "empty"}, "rows": []},
                         {"key": "m", "type": "metrics", "title": {"zh": "m"}, "items": [{"value": None}]}]}
    assert pages(report_pdf(huge)) >= 2  # a row taller than a page is split, not an error
