"""Loading a city's rule set: one per city, parsed with the diagram, Rugao's inheritance from Nantong,
the engine loader's merge (checked once against a hand merge), deployment and the demo data.
"""
from __future__ import annotations

import json

import pytest

from engine.cities import city_raw, load_city, rule_files

from tests.rules.city_harness import (CITIES, DECISIONS, PREFIX, RULES_DIR, at, city_settings, lineage,
                                     own_city_json, parsed)


# =========================================================================== rule sets
def test_every_city_has_a_rule_set():
    assert sorted(p.parent.name for p in RULES_DIR.glob("*/city.json")) == sorted(CITIES)


@pytest.mark.parametrize("city", CITIES)
def test_full_rule_set_parses_with_the_diagram(city):
    assert sorted(name[:-4] for name in rule_files(city)) == sorted(DECISIONS)
    spec = parsed(city)
    for task_id in ("decide_kind", "check_scope", "sign_limit", "handle_limit", "return_policy",
                    "extension_policy", "callback_policy"):
        assert spec.spec.task_specs[task_id].extensions["calledDecisionId"] in DECISIONS
    assert set(spec.decision_ids.values()) == set(DECISIONS)


# =========================================================================== Rugao inherits Nantong
def test_rugao_extends_nantong_and_holds_only_its_differences():
    assert lineage("rugao") == ["nantong", "rugao"]
    own = own_city_json("rugao")
    assert own["extends"] == "nantong"
    assert set(own) <= {"city", "extends", "name", "number_prefix", "working_hours", "channels", "units", "notes"}
    for path in (RULES_DIR / "rugao").iterdir():
        if path.name in ("city.json", "responsibility_matrix.json"):
            continue
        assert path.suffix == ".dmn", f"unexpected file {path.name}"
        parent = RULES_DIR / "nantong" / path.name
        assert parent.is_file(), f"{path.name} replaces no Nantong table"
        assert path.read_bytes() != parent.read_bytes(), f"{path.name} is identical to Nantong's: delete it"
    # the effective DMN set is Nantong's with Rugao's overrides on top
    overrides = {p.name for p in (RULES_DIR / "rugao").glob("*.dmn")}
    for name, data in rule_files("rugao").items():
        source = RULES_DIR / ("rugao" if name in overrides else "nantong") / name
        assert data == source.read_bytes()


def test_rugao_settings_override_nantong():
    rugao, nantong = city_settings("rugao"), city_settings("nantong")
    assert rugao["lights"] == nantong["lights"] and rugao["timezone"] == nantong["timezone"]   # inherited
    assert rugao["name"] == "如皋市" and rugao["number_prefix"] == "RG"
    units = rugao["units"]
    assert not {u["code"] for u in units} & {u["code"] for u in nantong["units"]}          # replaced wholesale
    centre = next(u for u in units if u["type"] == "centre")
    towns = [u for u in units if u["parent"] == centre["code"] and u["type"] == "street"]
    assert len(towns) == 14                                       # 14 镇级指挥中心, the second tier
    assert any("长江镇" in u["name"] for u in towns)               # the one the seed names
    assert any(u["type"] == "department" for u in units)


def test_rugao_responsibility_matrix_if_present():
    path = RULES_DIR / "rugao" / "responsibility_matrix.json"
    if not path.exists():
        pytest.skip("the Rugao seed names no concrete matter with lead/host/assisting units")
    from engine.responsibility import load_matrix
    assert load_matrix("rugao")          # validates units, keys and duplicates (tests/engine/test_responsibility.py)


def _hand_merged(parent: str, child: str) -> tuple[dict, dict]:
    """The one independent merge: the parent's DMN files overlaid by the child's files of the same name,
    city.json keys merged with the child winning (lists such as units/channels replaced wholesale)."""
    files = {p.name: p.read_bytes() for p in sorted((RULES_DIR / parent).glob("*.dmn"))}
    files.update({p.name: p.read_bytes() for p in sorted((RULES_DIR / child).glob("*.dmn"))})
    settings = {k: v for k, v in own_city_json(parent).items() if k != "extends"}
    settings.update({k: v for k, v in own_city_json(child).items() if k != "extends"})
    return dict(sorted(files.items())), settings


def test_engine_loader_agrees_with_the_merge():
    """engine.cities (which the other tests use for the effective rule set) against a hand merge."""
    merged_files, merged_settings = _hand_merged("nantong", "rugao")
    assert rule_files("rugao") == merged_files
    settings = load_city("rugao")
    assert settings.name == "如皋市" and settings.number_prefix == "RG"
    assert [u["code"] for u in settings.units] == [u["code"] for u in merged_settings["units"]]
    assert [c["code"] for c in settings.channels] == [c["code"] for c in merged_settings["channels"]]
    assert city_raw("rugao") == {**merged_settings, "extends": ["nantong"]}
    for city in CITIES:          # the other rule sets extend nothing: effective = as shipped
        if city == "rugao":
            continue
        assert "extends" not in own_city_json(city)
        assert rule_files(city) == {p.name: p.read_bytes() for p in sorted((RULES_DIR / city).glob("*.dmn"))}
        assert city_raw(city) == {**own_city_json(city), "extends": []}


# =========================================================================== deployment
@pytest.mark.parametrize("city", CITIES)
def test_city_loads_and_deploys(db, clock, city):
    """The shipped rule set passes the deployment checks (restricted compiler, forms, roles)."""
    from engine import setup
    from engine.deployments import active_deployment
    with db.unit_of_work() as session:
        summary = setup.load_city_into_db(session, clock, city)
        assert summary["units"] == len(city_settings(city)["units"]) and summary["deployment"] == 1
        files = active_deployment(session, city).files
        assert {n for n in files if n.endswith(".dmn")} == set(rule_files(city))
        assert all(files[n] == data.decode("utf-8") for n, data in rule_files(city).items())


# The conftest clock stands at Fri 2025-09-26 09:00: the demo tickets are dispatched then.
@pytest.mark.parametrize("city, sign_due, handle_due", [
    ("nantong", "2025-09-26T11:00", "2025-09-30T09:00"),     # web consult: 3 working days (Sun Sep 28 worked)
    ("rugao", "2025-09-26T11:00", "2025-09-30T09:00"),
    ("suqian", "2025-09-26T11:00", "2025-09-30T09:00"),
    ("changzhou", "2025-09-26T10:00", "2025-09-30T09:00"),
    ("suzhou_ah", "2025-09-26T17:30", "2025-09-28T09:00"),   # morning -> 17:30; consult 1 working day
])
def test_demo_load_runs_tickets_on_the_city_rules(db, clock, city, sign_due, handle_due):
    """setup.load_demo (make run / flask demo load --city) works for every city, on its own calendar."""
    from sqlalchemy import select

    from engine import setup
    from engine.models import Ticket
    with db.unit_of_work() as session:
        summary = setup.load_demo(session, clock, city)
        assert summary["tickets"] == 5
        tickets = session.scalars(select(Ticket).where(Ticket.city == city, Ticket.process == "ticket_lifecycle")
                                  .order_by(Ticket.id)).all()
        assert all(t.number.startswith(PREFIX[city] + "20250926") for t in tickets)
        orders = session.scalars(select(Ticket).where(Ticket.city == city, Ticket.process == "supervision")).all()
        assert [o.number[:len(PREFIX[city]) + 2] for o in orders] == [PREFIX[city] + "DB"]   # the sample order
        consult = tickets[1]
        assert (consult.request_type, consult.status) == ("consult", "signing")
        assert consult.unit_code in {u["code"] for u in city_settings(city)["units"] if u.get("demo")}
        assert consult.sign_due_at == at(sign_due) and consult.handle_due_at == at(handle_due)
