"""Rule-set versions through the API: hot swap, diff, migration, decision console, audit, backtest."""
from __future__ import annotations

import io
from pathlib import Path

from tests.conftest import complaint

ROOT = Path(__file__).resolve().parents[2]
BPMN = (ROOT / "bpmn" / "ticket_lifecycle.bpmn").read_text(encoding="utf-8")
DMN = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "rules" / "nantong").glob("*.dmn")}
# Candidate: events get 3 working hours to sign instead of 2.
SLOWER_SIGN = DMN["sign_limit.dmn"].replace("<text>2</text>", "<text>3</text>", 1)


def deploy_candidate(as_user, sign_limit=SLOWER_SIGN) -> int:
    data = {"name": "nantong", "files": [(io.BytesIO(BPMN.encode()), "ticket_lifecycle.bpmn")] +
            [(io.BytesIO((sign_limit if n == "sign_limit.dmn" else t).encode()), n) for n, t in DMN.items()]}
    api = as_user("analyst")
    response = api.client.post("/api/v1/deployments", data=data, headers=api.headers, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["version"]


def dispatched(as_user, **overrides):
    operator, dispatcher = as_user("operator"), as_user("dispatcher")
    ticket = operator.post("/api/v1/tickets", json=complaint(**overrides)).get_json()
    return dispatcher.complete(ticket["id"], "dispatch", {"unit": "nt_chongchuan"})


def test_activation_is_a_hot_swap_for_new_tickets_only_and_the_backtest_sees_it(as_user):
    admin, operator = as_user("admin"), as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    before = dispatched(as_user)
    candidate = deploy_candidate(as_user)
    assert dispatched(as_user)["sign_due_at"] == "2025-11-03T11:00:00+08:00"   # not active yet

    report = as_user("analyst").post("/api/v1/rules/nantong/backtest", json={"version": candidate, "days": 30}).get_json()
    assert report["totals"]["tickets"] == 2 and report["totals"]["sign_deadline_changed"] == 2
    assert report["totals"]["handle_deadline_changed"] == 0
    assert report["changed"][0]["sign_due_at"] == {"current": "2025-11-03T11:00:00+08:00",
                                                   "candidate": "2025-11-03T12:00:00+08:00"}

    assert admin.post(f"/api/v1/rules/nantong/versions/{candidate}/activate").status_code == 200
    after = dispatched(as_user)
    assert after["sign_due_at"] == "2025-11-03T12:00:00+08:00" and after["deployment_version"] == candidate
    kept = operator.get(f"/api/v1/tickets/{before['id']}").get_json()
    assert kept["sign_due_at"] == "2025-11-03T11:00:00+08:00" and kept["deployment_version"] == candidate - 1

    log = admin.get("/api/v1/rules/log?city=nantong").get_json()["items"]
    assert [e["type"] for e in log][:2] == ["ruleset_activated", "ruleset_deployed"]
    assert log[0]["actor"] == "admin" and log[0]["data"]["version"] == candidate


def test_diff_shows_the_changed_row(as_user):
    candidate = deploy_candidate(as_user)
    diff = as_user("analyst").get(f"/api/v1/rules/nantong/diff?from={candidate - 1}&to={candidate}").get_json()
    assert diff["files"]["changed"] == ["sign_limit.dmn"]
    [decision] = diff["decisions"]
    assert decision["decision"] == "sign_limit"
    [row] = decision["rows"]
    assert row["change"] == "changed" and row["before"]["outputs"][0] == "2" and row["after"]["outputs"][0] == "3"


def test_migration_is_previewed_then_applied_and_audited(as_user):
    admin, operator = as_user("admin"), as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = dispatched(as_user)
    candidate = deploy_candidate(as_user)
    request = {"from_version": candidate - 1, "to_version": candidate}
    preview = admin.post("/api/v1/rules/nantong/migrations", json=request).get_json()
    assert [t["ticket_id"] for t in preview["movable"]] == [ticket["id"]] and preview["migrated"] == []
    assert operator.get(f"/api/v1/tickets/{ticket['id']}").get_json()["deployment_version"] == candidate - 1
    assert as_user("analyst").post("/api/v1/rules/nantong/migrations", json=request).status_code == 403
    done = admin.post("/api/v1/rules/nantong/migrations", json={**request, "dry_run": False}).get_json()
    assert done["migrated"] == [ticket["id"]]
    moved = operator.get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert moved["deployment_version"] == candidate
    assert moved["sign_due_at"] == ticket["sign_due_at"]          # computed deadlines are kept
    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    assert events[-1]["type"] == "ticket_migrated"
    # The migrated instance keeps working on the new version.
    assert as_user("nt_chongchuan.handler").complete(ticket["id"], "sign", {"decision": "accept"})["status"] == "handling"


def test_every_decision_is_audited_with_inputs_matched_rules_and_version(as_user, app):
    operator = as_user("operator")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    ticket = dispatched(as_user)
    events = operator.get(f"/api/v1/tickets/{ticket['id']}/events").get_json()["items"]
    decisions = {e["data"]["decision"]: e["data"] for e in events if e["type"] == "decision_evaluated"}
    assert set(decisions) == {"ticket_kind", "scope_check", "category_unit", "upgrade_policy", "sign_limit",
                              "handle_limit"}
    handle = decisions["handle_limit"]
    assert handle["version"] == ticket["deployment_version"] and handle["matched_rules"]
    assert "event" in handle["inputs"].values() and "complaint" in handle["inputs"].values()
    assert handle["outputs"] == {"handle_limit_days": 15}
    from tests.api.test_pages import Browser
    browser = Browser(app.test_client())
    browser.login("dispatcher")
    page = browser.client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    rule = handle["matched_rules"][0]
    assert f"依据《{handle['name']}》v{handle['version']} 第{rule}条规则" in page


def test_decision_console_on_the_active_version_and_on_a_draft(as_user):
    analyst = as_user("analyst")
    result = analyst.post("/api/v1/rules/nantong/decisions/handle_limit/evaluate",
                          json={"inputs": {"kind": "event", "request_type": "suggestion"}}).get_json()
    assert result["outputs"] == {"handle_limit_days": 10} and len(result["matched_rules"]) == 1
    draft = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="handle_limit" name="办理时限草稿">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i1" label="类型"><inputExpression id="e1" typeRef="string"><text>request_type</text></inputExpression></input>
      <output id="o1" name="handle_limit_days" typeRef="integer"/>
      <rule id="r1"><inputEntry id="a"><text>"consult","help"</text></inputEntry><outputEntry id="b"><text>2</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="c"><text>not("consult","help")</text></inputEntry><outputEntry id="d2"><text>7 + 1</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""
    result = analyst.post("/api/v1/rules/nantong/decisions/handle_limit/evaluate",
                          json={"inputs": {"request_type": "complaint"}, "files": {"draft.dmn": draft}}).get_json()
    assert result["outputs"] == {"handle_limit_days": 8} and result["matched_rules"] == [2]
    missing = analyst.post("/api/v1/rules/nantong/decisions/nope/evaluate", json={"inputs": {}})
    assert missing.status_code == 422
    assert as_user("operator").post("/api/v1/rules/nantong/decisions/handle_limit/evaluate",
                                    json={"inputs": {}}).status_code == 403


def test_downloading_a_deployed_file(as_user):
    api = as_user("analyst")
    version = api.get("/api/v1/rules/nantong/versions").get_json()["items"][0]["version"]
    response = api.get(f"/api/v1/rules/nantong/versions/{version}/files/sign_limit.dmn")
    assert response.status_code == 200 and b"sign_limit" in response.data
