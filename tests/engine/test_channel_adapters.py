"""Channel adapters and the cities' channel mappings: codes map most-specific first, unmapped codes and
cities without a file leave the category open, a rule set inherits its parent's file, broken files are
refused, and each kind's payload becomes the ticket, location and photos it describes."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.cities import available_cities
from engine.channel_adapters import (MappingError, adapt, adapt_city_management, adapt_generic, adapt_grid, classify,
                                     load_mappings, location_row, validate_mappings)
from engine.clock import SHANGHAI
from engine.dispatch_model import city_categories
from engine.errors import ValidationFailed

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 50
FOUND = datetime(2025, 11, 3, 8, 40, tzinfo=SHANGHAI)


def grid(**overrides) -> dict:
    data = {"event_no": "WG-0042", "grid_code": "320602001003", "grid_name": "北濠社区第3网格",
            "reporter": {"name": "李明", "phone": "13800002222", "id": "WGY0173"}, "happened_at": FOUND,
            "description": "人行道有流动摊贩占道经营。", "event_type_code": "0401", "address": "南大街88号",
            "lat": 32.0083, "lng": 120.8571, "photos": [{"filename": "a.jpg", "content": JPEG}]}
    data.update(overrides)
    return data


def case(**overrides) -> dict:
    data = {"case_no": "CG17", "case_class": "event", "big_class": "05", "small_class": "05",
            "cell_code": "32060200100302", "description": "机动车占用人行道停放。", "reporter": {"name": "王强", "id": "JDY017"}}
    data.update(overrides)
    return data


def test_every_shipped_mapping_names_real_categories():
    assert load_mappings("nantong")["grid"] and load_mappings("nantong")["city_management"]
    for city in available_cities():
        codes = {c["code"] for c in city_categories(city)}
        for table in load_mappings(city).values():
            assert all(e["category"] in codes for e in table.values() if e["category"])


@pytest.mark.parametrize("kind, code, matched, category, request_type", [
    ("grid", "0401", "0401", "urban_construction", "report"),
    ("grid", "0499", "04", "urban_construction", None),          # an unlisted small class: its big class
    ("grid", "0503", "0503", "environment", "complaint"),
    ("city_management", "event:0505", "event:0505", "transport", "report"),
    ("city_management", "event:0599", "event:05", "urban_construction", "report"),
    ("city_management", "component:0102", "component:0102", "urban_construction", None),
])
def test_codes_map_most_specific_first(kind, code, matched, category, request_type):
    entry = classify("nantong", kind, code)
    assert (entry["code"], entry["category"], entry["request_type"]) == (matched, category, request_type)


@pytest.mark.parametrize("kind, code", [("grid", "9901"), ("grid", None), ("city_management", "event:9901"),
                                        ("city_management", "0505"), ("grid", "event:0505")])
def test_unlisted_codes_are_not_mapped(kind, code):
    assert classify("nantong", kind, code) is None


def test_a_rule_set_inherits_its_parents_mapping_and_others_have_none():
    assert classify("rugao", "grid", "0401")["category"] == "urban_construction"      # rugao extends nantong
    assert load_mappings("changzhou") == {}
    mapped = adapt_grid("changzhou", "grid", grid())
    assert (mapped.ticket["category"], mapped.ticket["request_type"], mapped.external_category) == (None, "help", "0401")
    assert mapped.location["external_category"] == "0401"


@pytest.mark.parametrize("raw, problem", [
    ({"fax": {}}, "unknown kind"),
    ({"grid": {"01": {"name": "x", "category": "astrology"}}}, "no category"),
    ({"grid": {"01": {"name": "x", "request_type": "gossip"}}}, "request_type"),
    ({"grid": {"01": {"name": "x", "unit": "nt_housing"}}}, "unknown keys"),
    ({"grid": {"01": {"category": "environment"}}}, "needs a name"),
    ({"grid": ["01"]}, "map codes"),
    (["grid"], "object of kinds"),
])
def test_a_broken_mapping_file_is_refused(raw, problem):
    with pytest.raises(MappingError, match=problem):
        validate_mappings("nantong", raw)


def test_comments_in_a_mapping_file_are_ignored():
    assert validate_mappings("nantong", {"_comment": "x", "grid": {"_scheme": "y", "01": {"name": "矛盾纠纷"}}}) == \
        {"grid": {"01": {"name": "矛盾纠纷", "category": None, "request_type": None}}}


def test_a_grid_report_becomes_a_ticket_with_its_place_and_photos():
    mapped = adapt_grid("nantong", "grid", grid(reported_at=FOUND, emergency={"agency": "119", "reason": "冒烟"}))
    ticket = mapped.ticket
    assert (ticket["city"], ticket["channel"], ticket["category"], ticket["request_type"]) == \
        ("nantong", "grid", "urban_construction", "report")
    assert ticket["title"] == "占道经营（南大街88号）" and ticket["received_at"] == FOUND
    assert ticket["content"].startswith("人行道有流动摊贩占道经营。\n\n网格事件编号：WG-0042\n")
    assert "上报网格员：李明（WGY0173）" in ticket["content"] and "事件类型：0401 占道经营" in ticket["content"]
    assert ticket["citizen"] == {"name": "李明", "phone": "13800002222"}
    assert (ticket["scope"], ticket["emergency_agency"], ticket["emergency_reason"]) == ("emergency", "119", "冒烟")
    assert mapped.location == {"latitude": 32.0083, "longitude": 120.8571, "grid_code": "320602001003",
                               "external_category": "0401"}
    assert [(u.field, u.filename, u.data) for u in mapped.uploads] == [("photos.0", "a.jpg", JPEG)]
    assert mapped.reference == "WG-0042" and mapped.fields["received_at"] == "reported_at"


def test_a_relayed_resident_is_the_citizen_and_an_own_title_wins():
    mapped = adapt_grid("nantong", "grid", grid(citizen={"name": "赵大爷", "phone": "13700001111"}, title="摊贩占道",
                                                event_type_code=None, lat=None, lng=None))
    assert mapped.ticket["citizen"] == {"name": "赵大爷", "phone": "13700001111"}
    assert mapped.ticket["title"] == "摊贩占道" and mapped.ticket["category"] is None
    assert mapped.location == {"latitude": None, "longitude": None, "grid_code": "320602001003", "external_category": None}


def test_a_city_management_case_names_its_class_cell_and_component():
    mapped = adapt_city_management("nantong", "city_management",
                                   case(case_class="component", big_class="01", small_class="02",
                                        component_id="320602010200311", address=None))
    assert mapped.external_category == "component:0102" and mapped.ticket["title"] == "污水井盖"
    assert "案件类别：部件 0102 污水井盖" in mapped.ticket["content"]
    assert "部件标识码：320602010200311" in mapped.ticket["content"]
    assert "万米单元网格：32060200100302" in mapped.ticket["content"]
    assert mapped.location["grid_code"] == "32060200100302" and mapped.ticket["request_type"] == "help"
    untitled = adapt("city_management", "changzhou", "city_management", case(description="第一行说明\n第二行"))
    assert untitled.ticket["title"] == "第一行说明" and untitled.ticket["category"] is None


def test_a_generic_request_passes_through():
    mapped = adapt_generic("nantong", "web", {
        "title": "路灯不亮", "content": "南门路灯不亮", "request_type": "help", "citizen": {"name": "王芳"},
        "category": "urban_construction", "location": {"lat": 32.0, "lng": 120.8},
        "attachments": [{"filename": "p.jpg", "content": JPEG}]})
    assert mapped.ticket["category"] == "urban_construction" and "scope" not in mapped.ticket
    assert mapped.ticket["citizen"] == {"name": "王芳", "phone": None}
    assert mapped.location == {"latitude": 32.0, "longitude": 120.8, "grid_code": None, "external_category": None}
    assert mapped.uploads[0].field == "attachments.0" and mapped.mapping is None
    assert adapt_generic("nantong", "web", {"title": "t", "content": "c", "request_type": "consult",
                                            "citizen": {}}).location is None


@pytest.mark.parametrize("lat, lng, field", [(32.0, None, "lng"), (None, 120.0, "lat"), (90.5, 120.0, "lat"),
                                             (-91, 120.0, "lat"), (32.0, 180.01, "lng"), (32.0, -181, "lng")])
def test_a_location_is_whole_and_within_range(lat, lng, field):
    with pytest.raises(ValidationFailed) as refused:
        location_row(lat, lng, None, None)
    assert list(refused.value.details) == [field]
    assert refused.value.details[field][0]["code"] == "invalid_location"


def test_edges_of_the_range_are_places():
    assert location_row(90, -180, None, None) == {"latitude": 90, "longitude": -180, "grid_code": None,
                                                  "external_category": None}
    assert location_row(None, None, None, None) is None
