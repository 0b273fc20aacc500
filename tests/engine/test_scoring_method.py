"""Suzhou's scoring method item by item (table-driven): deductions, caps, thresholds, rounding, proration."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.scoring import month_bounds, score_item, scoring_method, unit_score

METHOD = scoring_method("suzhou_ah")
ITEMS = {i["code"]: i for s in METHOD["sections"] for i in s["items"]}


def row(**overrides):
    base = {"leader_reading_rate": 0.6, "satisfaction_rate": 0.9,
            "evidence": {"sign_overdue": [], "improper_return": {}, "overdue": [], "tiers": {}}}
    evidence = {**base["evidence"], **overrides.pop("evidence", {})}
    return {**base, **overrides, "evidence": evidence}


def entry(item, points, id_=1):
    return SimpleNamespace(id=id_, item=item, points=points, reason="r", evidence="e", ticket_ids=[],
                           entered_by="supervisor", entered_at=SimpleNamespace(isoformat=lambda: "2025-11-30"))


@pytest.mark.parametrize("code, data, unit_type, expected_points, expected_tickets", [
    ("timely_sign", row(evidence={"sign_overdue": [7, 3]}), "department", 1.0, [3, 7]),           # 2 − 2 × 0.5
    ("timely_sign", row(evidence={"sign_overdue": list(range(9))}), "department", 0.0, list(range(9))),  # 扣完为止
    ("return_in_time", row(evidence={"late_return": [8, 6, 4]}), "department", 0.5, [4, 6, 8]),      # 2 − 3 × 0.5
    ("return_in_time", row(evidence={"late_return": [1, 2, 3, 4, 5]}), "district", 0.0, [1, 2, 3, 4, 5]),
    ("improper_return", row(evidence={"improper_return": {5: 1}}), "department", 2.0, [5]),
    ("improper_return", row(evidence={"improper_return": {5: 2}}), "department", 0.0, [5]),     # twice on one ticket
    ("on_time", row(evidence={"overdue": [1, 2, 4]}), "department", 3.5, [1, 2, 4]),
    ("escalated_supervision", row(evidence={"tiers": {"0": [9], "1": [1], "3": [2]}}), "department", 4.0, [1, 2]),
    ("escalated_supervision", row(evidence={"tiers": {"3": [1, 2, 3]}}), "department", 0.0, [1, 2, 3]),
])
def test_ticket_items(code, data, unit_type, expected_points, expected_tickets):
    result = score_item(ITEMS[code], data, {}, unit_type, [])
    assert result["points"] == expected_points and result["tickets"] == expected_tickets
    assert result["deduction"] == ITEMS[code]["max"] - expected_points


@pytest.mark.parametrize("days, average, limit, expected", [
    (3.0, 4.0, 5.0, 6), (5.0, 4.0, 5.0, 6), (5.99, 4.0, 5.0, 6), (6.0, 4.0, 5.0, 5.5),   # baseline = the limit
    (7.5, 7.0, 5.0, 6), (8.0, 7.0, 5.0, 5.5), (9.2, 7.0, 5.0, 5),                       # baseline = the average
    (30.0, 4.0, 5.0, 0), (None, 4.0, 5.0, 6), (8.0, None, 5.0, 4.5), (8.0, 6.0, None, 5),
])
def test_handling_time_loses_half_a_point_per_full_day_over_the_longer_of_average_and_limit(days, average, limit, expected):
    result = score_item(ITEMS["handling_time"], row(avg_handling_days=days, avg_limit_days=limit),
                        {("avg_handling_days", "department"): average}, "department", [])
    assert result["points"] == expected
    assert result["baseline"] == (None if average is None and limit is None else max(v for v in (average, limit) if v is not None))


def test_averages_are_per_unit_type():
    """A district is measured against the districts' mean, not the departments'."""
    averages = {("satisfaction_rate", "district"): 0.80, ("satisfaction_rate", "department"): 0.95}
    assert score_item(ITEMS["satisfaction"], row(satisfaction_rate=0.80), averages, "district", [])["points"] == 10
    assert score_item(ITEMS["satisfaction"], row(satisfaction_rate=0.80), averages, "department", [])["points"] == 2.5


@pytest.mark.parametrize("rate, unit_type, expected", [
    (0.50, "department", 3), (0.46, "department", 3), (0.45, "department", 2), (0.41, "department", 2),
    (0.20, "department", 0), (None, "department", 3), (0.30, "district", 3), (0.2499, "district", 2), (0.1999, "district", 1),
])
def test_leader_reading_loses_a_point_per_full_five_percent_below_its_threshold(rate, unit_type, expected):
    assert score_item(ITEMS["leader_reading"], row(leader_reading_rate=rate), {}, unit_type, [])["points"] == expected


@pytest.mark.parametrize("rate, average, expected", [
    (0.90, 0.90, 10), (0.95, 0.90, 10), (0.895, 0.90, 10), (0.889, 0.90, 9.5), (0.88, 0.90, 9), (0.845, 0.90, 7.5),
    (0.5, 0.9, 0),
])
def test_satisfaction_loses_half_a_point_per_full_point_below_the_average(rate, average, expected):
    result = score_item(ITEMS["satisfaction"], row(satisfaction_rate=rate), {("satisfaction_rate", "department"): average},
                        "department", [])
    assert result["points"] == expected and result["average"] == average


def test_manual_deductions_bonuses_caps_and_proration():
    entries = [entry("organisation", -1), entry("rules", -5), entry("leader_endorsement", 1.5),
               entry("leader_endorsement", 1), entry("penalties", -1)]
    score = unit_score(METHOD, row(evidence={"sign_overdue": [1]}), {"satisfaction_rate": 0.9}, "department", entries)
    sections = {s["code"]: s for s in score["sections"]}
    # daily: 80 − 0.5 (sign) − 1 (organisation) − 2 (rules, capped at its 2 points)
    assert sections["daily"]["points"] == 76.5
    assert sections["key_work"]["absent"] is True and score["prorated"] is True
    extra = {i["code"]: i["points"] for i in sections["extra"]["items"]}
    assert extra["leader_endorsement"] == 2 and extra["penalties"] == -1 and sections["extra"]["points"] == 1
    assert score["total"] == 96.63                  # 76.5 × 100 / 80 + 1 = 96.625, halves rounded up


def test_a_unit_with_key_work_entries_is_scored_out_of_one_hundred():
    score = unit_score(METHOD, row(), {"satisfaction_rate": 0.9}, "department", [entry("work_plan", -5)])
    assert score["prorated"] is False and score["total"] == 95.0      # 80 + (20 − 5)


def test_periods():
    assert [d.isoformat() for d in month_bounds("2024-02")] == ["2024-02-01", "2024-02-29"]
    with pytest.raises(Exception):
        month_bounds("2024-13")


SUQIAN = scoring_method("suqian")


@pytest.mark.parametrize("rates, expected", [
    (dict(on_time_rate=1.0, satisfaction_rate=1.0, resolution_rate=1.0), 100.0),
    (dict(on_time_rate=0.9, satisfaction_rate=0.8, resolution_rate=0.75), 83.5),     # 10 + 27 + 24 + 22.5
    (dict(on_time_rate=None, satisfaction_rate=None, resolution_rate=None), 100.0),   # nothing to rate
    (dict(on_time_rate=0.3333, satisfaction_rate=0.0, resolution_rate=0.0), 20.0),    # 10 + 9.999 → 20.00
])
def test_suqian_hundred_point_month(rates, expected):
    assert unit_score(SUQIAN, row(**rates), {}, "department", [])["total"] == expected


def test_suqian_attention_is_a_manual_deduction_with_evidence():
    score = unit_score(SUQIAN, row(on_time_rate=1.0, satisfaction_rate=1.0, resolution_rate=1.0,
                                   evidence={"overdue": []}), {}, "department", [entry("attention", -4)])
    item = score["sections"][0]["items"][0]
    assert (item["points"], item["deduction"], score["total"]) == (6.0, 4.0, 96.0)
    assert item["entries"][0]["evidence"] == "e"
