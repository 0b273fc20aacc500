"""Malicious diagrams and tables through the deployment API: entity tricks, oversize files and code that
reaches outside (in scripts, gateway conditions, timer expressions and DMN cells) are refused with a
clear message in both languages, and nothing is stored."""
from __future__ import annotations

import pytest

from tests.api.test_deployments import BPMN, DMN, upload

LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + ']><lolz>&lol9;</lolz>')
XXE = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
ESCAPES = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "now.__globals__['__builtins__']",
    "add_working_days.__code__.co_consts",
    "now.__self__.__class__",
    "open('/etc/passwd').read()",
    "[c for c in ().__class__.__mro__[1].__subclasses__()]",
]


def _refused(response, *codes):
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["message"] and error["details"], error
    found = {d["code"] for d in error["details"]}
    assert not codes or found & set(codes), found
    for detail in error["details"]:
        assert detail.get("message_zh") and detail.get("message_en"), detail
    return error


def _versions(api):
    return [d["version"] for d in api.get("/api/v1/deployments?city=nantong").get_json()["items"]]


@pytest.mark.parametrize("where", ["bpmn", "dmn"])
def test_entity_expansion_and_external_entities_are_refused(as_user, where):
    analyst = as_user("analyst")
    before = _versions(analyst)
    for prolog in (LAUGHS.split("<lolz>")[0], XXE):
        if where == "bpmn":
            files = {"ticket_lifecycle.bpmn": prolog + BPMN.split("?>", 1)[1], **DMN}
        else:
            files = {"ticket_lifecycle.bpmn": BPMN, **DMN,
                     "sign_limit.dmn": prolog + DMN["sign_limit.dmn"].split("?>", 1)[1]}
        _refused(upload(analyst, files), "dtd_forbidden", "xml_syntax")
    assert _versions(analyst) == before


def test_an_oversized_file_is_refused(as_user):
    big = BPMN.replace("</bpmn:definitions>", "<!--" + "x" * (2 * 1024 * 1024) + "--></bpmn:definitions>")
    _refused(upload(as_user("analyst"), {"ticket_lifecycle.bpmn": big, **DMN}), "file_too_large")


@pytest.mark.parametrize("code", ESCAPES)
def test_code_reaching_outside_is_refused_in_conditions_timers_and_cells(as_user, code):
    analyst = as_user("analyst")
    condition = BPMN.replace('scope_outcome == "reject"</bpmn:conditionExpression>',
                             f"{code} == 1</bpmn:conditionExpression>".replace("'", "&apos;"), 1)
    _refused(upload(analyst, {"ticket_lifecycle.bpmn": condition, **DMN}))
    timer = BPMN.replace('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">sign_due_at</bpmn:timeDate>',
                         f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">{code}</bpmn:timeDate>'.replace("'", "&apos;"), 1)
    _refused(upload(analyst, {"ticket_lifecycle.bpmn": timer, **DMN}))
    cell = DMN["sign_limit.dmn"].replace("<text>2</text>", f"<text>{code}</text>".replace("'", "&apos;"), 1)
    _refused(upload(analyst, {"ticket_lifecycle.bpmn": BPMN, **DMN, "sign_limit.dmn": cell}))
