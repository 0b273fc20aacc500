"""Every city's city.json (merged along ``extends``): settings, channels, the unit tree and the notes."""
from __future__ import annotations

import pytest

from engine.calendar import WorkingHours

from tests.rules.city_harness import (AUTHORED, CITIES, CJK, PREFIX, cell_texts, city_settings, dmn_rules,
                                     dmn_tables, own_city_json)

NAME = {"nantong": "南通市", "suzhou_ah": "宿州市", "changzhou": "常州市", "suqian": "宿迁市", "rugao": "如皋市"}
NANTONG_KEYS = {"city", "name", "timezone", "number_prefix", "working_hours", "lights", "channels", "units"}
UNIT_TYPES = {"centre", "district", "department", "utility", "street"}


@pytest.mark.parametrize("city", CITIES)
def test_city_settings(city):
    settings = city_settings(city)
    assert NANTONG_KEYS <= set(settings)
    assert settings["city"] == city and settings["name"] == NAME[city] and settings["number_prefix"] == PREFIX[city]
    assert settings["timezone"] == "Asia/Shanghai"
    assert 0 < settings["lights"]["yellow_at"] < 1
    WorkingHours.parse(settings["working_hours"])

    codes = [c["code"] for c in settings["channels"]]
    assert len(codes) == len(set(codes)) and all(c["name"] for c in settings["channels"])
    assert {"phone_12345", "web", "provincial_platform"} <= set(codes)
    kind_table = dmn_tables(city)["ticket_kind"]
    named = {c.strip('"') for rule in dmn_rules(kind_table) for c in cell_texts(rule, "dmn:inputEntry") if c != "-"}
    if city == "rugao":
        # inherits Nantong's ticket_kind: its own new channels fall to the catch-all ("事件")
        assert named >= set(codes) - {"enterprise_line", "one_number_answer", "foreign_line", "public_opinion",
                                      "online_station"}
    else:
        assert named == set(codes), "every channel of the city is classified, and only those"


@pytest.mark.parametrize("city", CITIES)
def test_units_form_a_tree_with_three_demo_units(city):
    units = city_settings(city)["units"]
    assert len(units) >= 15
    by_code = {u["code"]: u for u in units}
    assert len(by_code) == len(units)
    roots = [u for u in units if u["parent"] is None]
    assert len(roots) == 1 and roots[0]["type"] == "centre"
    for u in units:
        assert set(u) <= {"code", "name", "type", "parent", "demo"}
        assert u["type"] in UNIT_TYPES and u["name"] and u["code"].isascii()
        assert u["code"].startswith(PREFIX[city].lower() + "_")
        seen, cur = set(), u
        while cur["parent"] is not None:
            assert cur["code"] not in seen and cur["parent"] in by_code
            seen.add(cur["code"])
            cur = by_code[cur["parent"]]
    demo = [u for u in units if u.get("demo")]
    assert len(demo) == 3 and all(u["demo"] is True for u in demo)
    assert not any(u["type"] == "centre" for u in demo)


def test_unit_codes_are_unique_across_cities():
    # demo user names are "<unit code>.handler", and user names are global
    codes = [u["code"] for city in CITIES for u in city_settings(city)["units"]]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("city", AUTHORED + ("rugao",))
def test_assumptions_are_written_down(city):
    notes = own_city_json(city)["notes"]
    assert notes and all(CJK.search(n) for n in notes)
