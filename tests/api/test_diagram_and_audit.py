"""Where a ticket stands on its diagram, the auditor's step-by-step trail (API, page, CSV)."""
from __future__ import annotations

from tests.api.escalation_support import REPLY, start
from tests.api.test_pages import Browser

MONDAY = "2025-11-03T09:00:00+08:00"


def signed(as_user):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    operator.set_clock(MONDAY)
    ticket = start(operator)
    dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})
    as_user("nt_chongchuan.handler").complete(ticket["id"], "sign", {"decision": "accept"})
    return ticket


def test_the_diagram_shows_the_completed_path_and_the_token(as_user):
    ticket = signed(as_user)
    diagram = as_user("nt_chongchuan.handler").get(f"/api/v1/tickets/{ticket['id']}/diagram").get_json()
    assert diagram["file"] == "ticket_lifecycle.bpmn" and '<bpmn:process id="ticket_lifecycle"' in diagram["xml"]
    assert {"dispatch", "sign", "check_upgrade_at_dispatch", "compute_deadlines"} <= set(diagram["completed"])
    assert "handle" in diagram["active"] and "handle_overdue_timer" in diagram["active"]
    assert "approve_reply" not in diagram["completed"]
    # a unit that has nothing to do with the ticket gets the same 404 as for a missing one
    assert as_user("nt_housing.handler").get(f"/api/v1/tickets/{ticket['id']}/diagram").status_code == 404


def test_the_audit_trail_steps_through_the_history(as_user):
    ticket = signed(as_user)
    as_user("nt_chongchuan.handler").complete(ticket["id"], "handle", {"action": "reply", "reply": REPLY})
    auditor = as_user("auditor")
    trail = auditor.get(f"/api/v1/tickets/{ticket['id']}/audit").get_json()
    assert trail["verified"] is True
    steps = trail["steps"]
    assert [(s["type"], s["task_name"]) for s in steps] == [
        ("ticket_created", None), ("task_completed", "dispatch"), ("task_completed", "sign"),
        ("task_completed", "handle")]
    assert steps[0]["active"] == ["dispatch", "merge_signal"] and steps[1]["actor"] == "dispatcher"
    assert steps[1]["input"]["unit"] == "nt_chongchuan"
    assert steps[1]["changed"]["unit"] == {"before": None, "after": "nt_chongchuan"}
    assert steps[1]["changed"]["sign_due_at"]["after"] == "2025-11-03T11:00:00+08:00"
    assert "sign" in steps[1]["active"] and "handle" in steps[2]["active"] and "approve_reply" in steps[3]["active"]
    assert as_user("nt_chongchuan.handler").get(f"/api/v1/tickets/{ticket['id']}/audit").status_code == 403


def test_the_audit_page_and_csv(client, as_user):
    ticket = signed(as_user)
    browser = Browser(client)
    browser.login("auditor")
    page = client.get(f"/audit/tickets/{ticket['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-verified="true"' in html and 'id="diagram-data"' in html
    assert "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in html and "audit.js" in html
    csv = client.get(f"/audit/tickets/{ticket['id']}.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeffseq,at,type,actor,task") and "task_completed" in text
    assert "dispatcher" in text and "nt_chongchuan" in text
    # the ticket page embeds the diagram for everyone who may see the ticket, with a link for auditors
    html = client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert 'data-diagram="diagram-data"' in html and "逐步审计" in html
    Browser(client).login("nt_chongchuan.handler")
    html = client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert 'data-diagram="diagram-data"' in html and "逐步审计" not in html
    assert client.get(f"/audit/tickets/{ticket['id']}").status_code == 403


def test_the_front_end_libraries_are_served_from_the_app(client):
    """make deps installs them from npm (package-lock.json) and copies them into static/vendor."""
    manifest = client.get("/static/vendor/manifest.json")
    assert manifest.status_code == 200, "front-end build missing: run `make deps` (npm ci && npm run build)"
    assert set(manifest.get_json()) == {"bpmn-js", "dmn-js", "echarts", "htmx.org"}
    assert client.get("/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js").status_code == 200


def test_the_audit_trail_as_pdf(client, as_user):
    ticket = signed(as_user)
    Browser(client).login("auditor")
    response = client.get(f"/audit/tickets/{ticket['id']}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-") and b"STSong-Light" in response.data
    assert f"audit-{ticket['number']}.pdf" in response.headers["Content-Disposition"]
    from reportlab.pdfbase.pdfmetrics import getFont
    assert getFont("STSong-Light")                   # the CJK font the rows are set in
    assert "导出PDF" in client.get(f"/audit/tickets/{ticket['id']}").get_data(as_text=True)
    Browser(client).login("nt_chongchuan.handler")
    assert client.get(f"/audit/tickets/{ticket['id']}.pdf").status_code == 403
