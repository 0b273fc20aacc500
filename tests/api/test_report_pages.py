"""The report pages and the leaders' cockpit: charts' data, downloads, issuing from the page, and the
drill-down from the cockpit to a unit's KPIs and to the tickets."""
from __future__ import annotations

import io
import json
import re

from openpyxl import load_workbook

from tests.api.escalation_support import start
from tests.api.test_pages import Browser
from tests.api.test_reports import _handled


def _month_of_tickets(as_user):
    dispatcher = as_user("dispatcher")
    dispatcher.set_clock("2025-11-03T09:00:00+08:00")
    handled = _handled(as_user, dispatcher)
    late = start(dispatcher, title="道路井盖缺失")
    dispatcher.complete(late["id"], "dispatch", {"unit": "nt_chongchuan"})
    dispatcher.set_clock("2025-11-05T09:00:00+08:00")
    dispatcher.tick()
    return handled, late


def test_a_report_page_has_its_charts_tables_and_downloads(as_user, client):
    _month_of_tickets(as_user)
    Browser(client).login("supervisor")
    page = client.get("/reports/monthly?city=nantong&period=2025-11").get_data(as_text=True)
    assert "<h1>重点问题月报</h1>" in page and 'data-section="units"' in page
    chart = re.search(r'<script type="application/json" id="chart-by_category">(.*?)</script>', page, re.S)
    spec = json.loads(chart.group(1))
    assert spec["type"] == "bar" and spec["names"] == ["件数"] and spec["rows"][0]["count"] >= 1
    assert "/reports/monthly/download?" in page and "format=xlsx" in page
    xlsx = client.get("/reports/monthly/download?city=nantong&period=2025-11&format=xlsx")
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.data)).sheetnames[0] in ("概况", "Overview")
    english = client.get("/reports/monthly?city=nantong&period=2025-11&lang=en").get_data(as_text=True)
    assert "<h1>Monthly key-issue report</h1>" in english
    bad = client.get("/reports/monthly?city=nantong&period=2025-13")
    assert bad.status_code == 422 and "YYYY-MM" in bad.get_data(as_text=True)


def test_issuing_from_the_reports_page(as_user, client):
    as_user("supervisor").set_clock("2025-12-03T10:00:00+08:00")
    browser = Browser(client)
    browser.login("supervisor")
    token = browser.csrf("/reports?city=nantong")
    index = client.get("/reports?city=nantong").get_data(as_text=True)
    assert 'data-kind="monthly"' in index and 'value="2025-11"' in index and 'value="2025-W48"' in index
    response = client.post("/reports/monthly/issue?city=nantong", data={"csrf_token": token, "period": "2025-11"})
    assert response.status_code == 302 and "/reports/issued/" in response.headers["Location"]
    issued = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "签发时间" in issued and "重点问题月报" in issued
    assert "data-issued=" in client.get("/reports?city=nantong").get_data(as_text=True)
    Browser(client).login("city_leader")
    messages = client.get("/messages").get_data(as_text=True)
    assert re.search(r'<a href="/reports/issued/\d+">【重点问题月报】南通市 2025-11</a>', messages)


def test_the_cockpit_drills_down_to_units_and_tickets(as_user, client):
    _handled_ticket, late = _month_of_tickets(as_user)
    Browser(client).login("city_leader")
    page = client.get("/cockpit?city=nantong&month=2025-11").get_data(as_text=True)
    assert "<h1>领导驾驶舱</h1>" in page
    assert re.search(r'data-metric="received"><dt>受理工单</dt><dd>2</dd>', page)
    units = page.split('data-section="units"', 1)[1].split("</section>", 1)[0]
    assert "/kpis?city=nantong&amp;unit=nt_housing" in units or "unit=nt_housing" in units
    abnormal = page.split('data-section="abnormal"', 1)[1].split("</section>", 1)[0]
    assert f'href="/tickets/{late["id"]}"' in abnormal and "超时未签收" in abnormal
    assert client.get("/cockpit?city=nantong&month=11-2025").status_code == 422
    Browser(client).login("operator")
    assert client.get("/cockpit?city=nantong").status_code == 403
