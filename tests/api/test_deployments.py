"""Deploying diagrams and rule tables: versions, content hashing, validation, and refusing code."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BPMN = (ROOT / "bpmn" / "ticket_lifecycle.bpmn").read_text(encoding="utf-8")
DMN = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "rules" / "nantong").glob("*.dmn")}
# the case processes (supervision, consultation) deployed with the lifecycle
CASES = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "bpmn").glob("*.bpmn") if p.name != "ticket_lifecycle.bpmn"}


def upload(api, files: dict[str, str], name="nantong", activate=False):
    data = {"name": name, "activate": "true" if activate else "false",
            "files": [(io.BytesIO(text.encode()), filename) for filename, text in files.items()]}
    return api.client.post("/api/v1/deployments", data=data, headers=api.headers, content_type="multipart/form-data")


def test_same_content_is_stored_once_and_a_change_is_a_new_version(as_user):
    analyst = as_user("analyst")
    first = upload(analyst, {"ticket_lifecycle.bpmn": BPMN, **CASES, **DMN})
    assert first.status_code == 200 and first.get_json()["created"] is False   # the city fixture deployed it
    version = first.get_json()["version"]
    changed = DMN["sign_limit.dmn"].replace("<text>2</text>", "<text>3</text>", 1)
    assert changed != DMN["sign_limit.dmn"]
    second = upload(analyst, {"ticket_lifecycle.bpmn": BPMN, **DMN, "sign_limit.dmn": changed})
    assert second.status_code == 201 and second.get_json()["version"] == version + 1
    # An analyst's deployment is a new immutable version; only an administrator activates it.
    listed = analyst.get("/api/v1/deployments?city=nantong").get_json()["items"]
    assert [(d["version"], d["active"]) for d in listed] == [(version + 1, False), (version, True)]


def test_running_tickets_stay_on_their_deployment(as_user):
    from tests.conftest import complaint
    operator, dispatcher, analyst = as_user("operator"), as_user("dispatcher"), as_user("analyst")
    operator.set_clock("2025-11-03T09:00:00+08:00")
    old = operator.post("/api/v1/tickets", json=complaint()).get_json()
    changed = DMN["sign_limit.dmn"].replace("<text>2</text>", "<text>3</text>", 1)
    created = upload(analyst, {"ticket_lifecycle.bpmn": BPMN, **DMN, "sign_limit.dmn": changed})
    assert created.status_code == 201 and created.get_json()["active"] is False
    version = created.get_json()["version"]
    assert analyst.post(f"/api/v1/rules/nantong/versions/{version}/activate").status_code == 403
    activated = as_user("admin").post(f"/api/v1/rules/nantong/versions/{version}/activate")
    assert activated.status_code == 200 and activated.get_json()["active"] is True
    new = operator.post("/api/v1/tickets", json=complaint()).get_json()
    assert new["deployment_version"] == old["deployment_version"] + 1
    old = dispatcher.complete(old["id"], "dispatch", {"unit": "nt_chongchuan"})
    new = dispatcher.complete(new["id"], "dispatch", {"unit": "nt_chongchuan"})
    assert old["sign_due_at"] == "2025-11-03T11:00:00+08:00"
    assert new["sign_due_at"] == "2025-11-03T12:00:00+08:00"


def test_only_analysts_and_admins_deploy(as_user):
    response = upload(as_user("operator"), {"ticket_lifecycle.bpmn": BPMN, **DMN})
    assert response.status_code == 403


def script_bpmn(script: str) -> str:
    marker = "<bpmn:script>"
    start = BPMN.index(marker) + len(marker)
    end = BPMN.index("</bpmn:script>", start)
    return BPMN[:start] + script + BPMN[end:]


@pytest.mark.parametrize("script", [
    "import os",
    "x = ().__class__.__bases__[0].__subclasses__()",
    "x = open('/etc/passwd').read()",
    "x = __import__('os').system('touch /tmp/pwned')",
    "x = getattr(1, '__class__')",
])
def test_scripts_that_reach_outside_are_refused_at_deploy(as_user, script):
    response = upload(as_user("analyst"), {"ticket_lifecycle.bpmn": script_bpmn(script), **DMN})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["error"]["details"]
    assert errors and all(e["code"].startswith("unsafe_") for e in errors)
    assert errors[0]["element"]


def test_dmn_cells_that_reach_outside_are_refused(as_user):
    bad = DMN["sign_limit.dmn"].replace("<text>2</text>", "<text>__import__('os').getcwd()</text>", 1)
    response = upload(as_user("analyst"), {"ticket_lifecycle.bpmn": BPMN, **DMN, "sign_limit.dmn": bad})
    assert response.status_code == 422
    errors = response.get_json()["error"]["details"]
    assert any(e["code"].startswith("dmn_") and e["element"] == "sign_limit" and e["rule"] == 2 for e in errors), errors


def test_malformed_and_entity_laden_xml_is_refused(as_user):
    analyst = as_user("analyst")
    broken = upload(analyst, {"ticket_lifecycle.bpmn": BPMN[:500], **DMN})
    assert broken.status_code == 422 and broken.get_json()["error"]["details"][0]["code"] == "xml_syntax"
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + BPMN.split("?>", 1)[1]
    refused = upload(analyst, {"ticket_lifecycle.bpmn": xxe, **DMN})
    assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["code"] == "dtd_forbidden"
    other = upload(analyst, {"ticket_lifecycle.bpmn": BPMN, "notes.txt": "hi"})
    assert other.status_code == 422


def test_missing_form_is_reported_on_the_element(as_user):
    bad = BPMN.replace('name="form" value="sign"', 'name="form" value="no_such_form"', 1)
    response = upload(as_user("analyst"), {"ticket_lifecycle.bpmn": bad, **DMN})
    assert response.status_code == 422
    assert {"element": "sign", "code": "unknown_form"}.items() <= response.get_json()["error"]["details"][0].items()
