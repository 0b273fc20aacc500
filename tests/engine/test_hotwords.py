"""Hot words (engine/ai/hotwords.py): top terms by weight, rising terms against the previous period with a
smoothed ratio and a minimum count, grouping by area (district) and by category."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.ai import hotwords as H
from engine.ai.clustering import Record

DAY = datetime(2025, 9, 26, 9, 0)


def tickets(*rows, day=DAY) -> list[Record]:
    """Records from (title, content[, address[, category]]) tuples."""
    return [Record(id=i + 1, citizen=None, title=r[0], content=r[1], address=r[2] if len(r) > 2 else None,
                   category=r[3] if len(r) > 3 else None, received_at=day + timedelta(minutes=i))
            for i, r in enumerate(rows)]


PREVIOUS = tickets(
    ("路灯坏了", "工农路的路灯坏了"), ("路灯损坏", "青年路的路灯坏了"), ("路灯坏了", "小区门口的路灯坏了"),
    ("停水通知", "明天是否停水"), ("公交线路调整", "公交线路调整后不方便"), ("噪音扰民", "广场舞噪音"),
    day=DAY - timedelta(days=1))
CURRENT = tickets(
    ("突然停水", "小区突然停水没有通知"), ("停水", "家里停水一上午"), ("停水问题", "整栋楼停水了"),
    ("停水多久", "停水到什么时候恢复"), ("又停水", "又停水了"), ("停水没有通知", "停水没提前通知"),
    ("路灯坏了", "工农路的路灯坏了"), ("路灯坏了", "路灯坏了很危险"), ("路灯损坏", "小区的路灯坏了"),
    ("燃气异味", "楼道燃气异味"), ("燃气异味", "闻到燃气味"))


def group(result, key=None):
    return next(g for g in result["groups"] if g["group"] == key)


def test_rising_terms_have_counts_previous_counts_and_a_smoothed_growth():
    result = H.hot_words(CURRENT, PREVIOUS)
    assert (result["tickets"], result["previous_tickets"]) == (11, 6)
    rising = {e["term"]: e for e in group(result)["rising"]}
    assert rising["停水"] == {"term": "停水", "count": 6, "previous": 1, "growth": 3.5,           # (6+1)/(1+1)
                              "weight": rising["停水"]["weight"]}
    assert "路灯" not in rising                          # 3 tickets now, 3 before: steady
    assert "燃气" not in rising and "异味" not in rising   # new, but only 2 tickets (< MIN_COUNT)
    assert list(rising)[0] == "停水"
    looser = {e["term"] for e in group(H.hot_words(CURRENT, PREVIOUS, min_count=2))["rising"]}
    assert {"停水", "燃气", "异味"} <= looser and "路灯" not in looser


def test_top_terms_come_by_weight_with_their_counts():
    terms = group(H.hot_words(CURRENT, PREVIOUS))["terms"]
    assert terms[0]["term"] == "停水" and terms[0]["count"] == 6
    by_term = {e["term"]: e for e in terms}
    assert by_term["路灯"]["count"] == 3 and by_term["路灯"]["previous"] == 3 and by_term["路灯"]["growth"] == 1.0
    weights = [e["weight"] for e in terms]
    assert weights == sorted(weights, reverse=True)
    assert all(w not in by_term for w in ("问题", "没有", "什么"))     # stop words are not hot words


def test_nothing_before_still_gives_a_finite_growth():
    rising = group(H.hot_words(CURRENT, []))["rising"]
    assert {e["term"]: e["growth"] for e in rising}["停水"] == 7.0      # (6+1)/(0+1)


def test_by_area_from_the_ticket_text_or_the_unit():
    known = H.area_names(["崇川区人民政府", "通州区人民政府", "如东县人民政府", "南通市市域治理现代化指挥中心"])
    assert known == ["崇川区", "通州区", "如东县"]
    rows = tickets(("停水", "崇川区和平桥街道停水", None), ("停水", "家里停水", "通州区金沙街道"),
                   ("停水", "在崇川那边停水了"), ("停水", "停水一上午"), ("路灯", "路灯坏了"))
    units = {4: "通州区", 5: None}
    result = H.hot_words(rows, [], group_of=lambda r: H.area_of(r, known, {"南通市"}, units.get(r.id)), min_count=1)
    sizes = {g["group"]: g["tickets"] for g in result["groups"]}
    assert sizes == {"崇川区": 2, "通州区": 2, None: 1}
    assert result["groups"][-1]["group"] is None                         # the unidentified come last
    assert group(result, "崇川区")["terms"][0]["term"] == "停水"


def test_area_of_falls_back_to_district_like_place_names_but_not_the_city_or_a_compound():
    record = tickets(("皋城小区停水", "如皋市城南街道皋城小区停水"))[0]
    assert H.area_of(record, [], {"南通市"}) == "如皋市"
    assert H.area_of(tickets(("南通市小区停水", "小区停水"))[0], [], {"南通市"}) is None
    assert H.area_of(tickets(("停水", "家里停水"), )[0], [], (), unit_area="海门区") == "海门区"


def test_by_category_with_uncategorised_tickets_in_their_own_group():
    rows = tickets(("停水", "停水了", None, "urban_construction"), ("停水", "又停水", None, "urban_construction"),
                   ("噪音", "夜间噪音", None, "environment"), ("咨询", "随便问问", None, None))
    result = H.hot_words(rows, [], group_of=lambda r: r.category)
    assert [(g["group"], g["tickets"]) for g in result["groups"]] == [("urban_construction", 2), ("environment", 1),
                                                                     (None, 1)]
    assert group(result, "environment")["terms"][0]["term"] == "噪音"


@pytest.mark.parametrize("top", [1, 3])
def test_top_limits_both_lists(top):
    g = group(H.hot_words(CURRENT, PREVIOUS, top=top, min_count=1))
    assert len(g["terms"]) == top and len(g["rising"]) == top
