"""Hot-issue clustering (engine/ai/clustering.py): on the real messages of hot_messages.csv the messages
about one matter end up together and nothing else joins them, and the people who wrote twice are found;
small synthetic cases for places, chaining, people without a number and oversized components."""
from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta

import numpy as np
import pytest
import scipy.sparse as sp

from engine.ai import clustering as C
from engine.ai.shared_data import gov_messages_dir

DATA = gov_messages_dir() / "hot_messages.csv"

# Ten messages about the restaurants under 魅力之城小区 (劳动东路, A5区): smoke and night noise.
MEILI = {360100, 360101, 360102, 360103, 360104, 360105, 360106, 360107, 360108, 360109}
# Five about A市经济学院 sending its students to compulsory internships and factory work.
ECONOMICS = {360110, 360111, 360112, 360113, 360114}
# The two people who wrote twice, both about 魅力之城.
REPEATED = {"A0283523": [360107, 360108], "A324156": [360101, 360100]}


@pytest.fixture(scope="module")
def messages() -> list[C.Record]:
    if not DATA.is_file():
        pytest.skip(f"the real-message sample is not here: {DATA.resolve()} (../shared/data/gov_messages)")
    with DATA.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [C.Record(id=int(r["留言编号"]), citizen=r["留言用户"].strip(), title=r["留言主题"], content=r["留言详情"],
                     received_at=datetime.fromisoformat(r["留言时间"])) for r in rows]


def groups_of(records, threshold=C.THRESHOLD) -> list[set]:
    return [{records[i].id for i in group} for group in C.cluster(records, threshold)]


def test_the_sample_is_the_one_these_expectations_were_read_from(messages):
    ids = {r.id for r in messages}
    assert len(messages) == 30 and MEILI | ECONOMICS <= ids
    assert all("魅力之城" in r.title for r in messages if r.id in MEILI)


def test_messages_about_one_matter_end_up_together_and_nothing_else_joins_them(messages):
    groups = groups_of(messages)
    assert MEILI in groups
    assert ECONOMICS in groups
    # every other message is on its own
    others = [g for g in groups if g not in (MEILI, ECONOMICS)]
    assert all(len(g) == 1 for g in others) and len(others) == 30 - len(MEILI) - len(ECONOMICS)


def test_the_grouping_does_not_depend_on_the_order_of_the_tickets(messages):
    shuffled = list(messages)
    random.Random(7).shuffle(shuffled)
    assert sorted(map(sorted, groups_of(shuffled))) == sorted(map(sorted, groups_of(messages)))


def test_the_threshold_has_room_on_both_sides(messages):
    """Not a knife edge: a bit lower or higher still gives the same two groups."""
    for threshold in (C.THRESHOLD - 0.03, C.THRESHOLD + 0.03):
        groups = [g for g in groups_of(messages, threshold) if len(g) > 1]
        assert sorted(map(sorted, groups)) == sorted(map(sorted, [MEILI, ECONOMICS])), threshold
    # and far too low a threshold does merge unrelated messages, so the test above can fail
    assert any(g - MEILI - ECONOMICS and len(g) > 1 for g in groups_of(messages, 0.03))


def test_hot_issues_are_the_two_clusters_with_representative_titles_terms_and_places(messages):
    result = C.hot_issues(messages)
    assert result["tickets"] == 30
    issues = result[C.MANY_PEOPLE]
    assert [set(c["ticket_ids"]) for c in issues] == [MEILI, ECONOMICS]     # the bigger crowd first
    meili, economics = issues
    assert (meili["size"], meili["citizens"]) == (10, 8)                    # two people wrote twice
    assert (economics["size"], economics["citizens"]) == (5, 5)
    by_id = {r.id: r for r in messages}
    for cluster in issues:
        assert cluster["representative_id"] in cluster["ticket_ids"]
        assert cluster["title"] == by_id[cluster["representative_id"]].title
        assert cluster["key"] == cluster["ticket_ids"][0]
        assert cluster["first_at"] == min(by_id[i].received_at for i in cluster["ticket_ids"])
        assert cluster["last_at"] == max(by_id[i].received_at for i in cluster["ticket_ids"])
        times = [by_id[i].received_at for i in cluster["ticket_ids"]]
        assert times == sorted(times)
        assert 0 < cluster["cohesion"] <= 1
    assert "魅力之城" in meili["title"] and "经济学院" in economics["title"]
    assert {"油烟", "扰民"} <= set(meili["terms"]) and "实习" in economics["terms"]
    assert meili["places"][0] == "魅力之城" and "劳动东路" in meili["places"] and economics["places"] == []


def test_the_people_who_wrote_more_than_once_are_found_with_their_matter(messages):
    result = C.hot_issues(messages)
    people = {p["citizen"]: p for p in result[C.ONE_PERSON]}
    assert {c: p["ticket_ids"] for c, p in people.items()} == REPEATED
    meili_key = result[C.MANY_PEOPLE][0]["key"]
    for person in people.values():
        assert person["count"] == 2 and person["same_matter"] is True
        assert person["matters"] == [{"ticket_ids": person["ticket_ids"], "title": result[C.MANY_PEOPLE][0]["title"],
                                      "cluster": meili_key}]
        assert person["first_at"] < person["last_at"]


# -- synthetic cases -------------------------------------------------------------------------------------
BASE = datetime(2025, 9, 1, 9, 0)
FILLER = [
    ("医保卡异地就医如何备案", "我在外地工作，想问一下医保异地就医备案需要什么材料。"),
    ("公积金提取到账时间", "上周申请了公积金提取，什么时候能到账？"),
    ("孩子入学报名材料咨询", "今年孩子上小学，户口和房产不在一起，报名需要哪些材料？"),
    ("出租车拒载", "在火车站打出租车，司机嫌距离近拒载。"),
    ("居民养老保险缴费标准", "灵活就业人员养老保险每年缴费档次是多少？"),
    ("燃气费缴纳渠道", "燃气公司营业厅关门了，请问还能在哪里缴纳燃气费。"),
]


def batch(*tickets, filler=True) -> list[C.Record]:
    """Records from (citizen, title, content[, address]) tuples, plus unrelated filler tickets."""
    rows = list(tickets) + ([(f"1390000000{i}", t, c) for i, (t, c) in enumerate(FILLER)] if filler else [])
    return [C.Record(id=i + 1, citizen=row[0], title=row[1], content=row[2], address=row[3] if len(row) > 3 else None,
                     received_at=BASE + timedelta(minutes=17 * i)) for i, row in enumerate(rows)]


def test_the_same_complaint_in_other_words_from_three_people_is_one_issue():
    records = batch(
        ("13800000001", "文峰路地铁工地夜间施工噪音扰民", "崇川区文峰路地铁工地每天晚上十一点以后还在施工，噪音很大，影响休息。", "崇川区文峰路"),
        ("13800000002", "文峰路工地晚上施工太吵", "文峰路的地铁施工工地夜里施工，机器轰鸣，孩子没法睡觉。"),
        ("13800000003", "投诉文峰路夜间施工噪声", "文峰路地铁站工地夜间施工噪声扰民，请执法部门查处。", "文峰路12号"))
    issues = C.hot_issues(records)[C.MANY_PEOPLE]
    assert [c["ticket_ids"] for c in issues] == [[1, 2, 3]]
    assert issues[0]["places"] == ["文峰路"] and {"施工", "工地"} <= set(issues[0]["terms"])


def test_two_matters_at_one_compound_stay_apart():
    records = batch(
        ("13800000004", "紫琅花园小区电梯经常故障", "紫琅花园小区3栋电梯一个月坏了好几次，老人被困在电梯里。", "紫琅花园"),
        ("13800000005", "紫琅花园小区门口垃圾堆放无人清理", "紫琅花园小区门口的垃圾桶满了好几天没人清运，臭气熏天。", "紫琅花园"))
    assert C.hot_issues(records)[C.MANY_PEOPLE] == []


def test_the_same_complaint_about_two_different_roads_is_two_matters_but_about_one_road_one():
    first = ("13800000001", "工农路工地夜间施工噪音扰民", "工农路的工地每天夜里施工，噪音很大影响休息。")
    apart = batch(first, ("13800000002", "青年路一工地晚上施工太吵", "青年路有个工地晚上施工，机器声音太吵了，没法睡觉。"))
    together = batch(first, ("13800000002", "工农路一工地晚上施工太吵", "工农路有个工地晚上施工，机器声音太吵了，没法睡觉。"))
    assert C.hot_issues(apart)[C.MANY_PEOPLE] == []
    assert [c["ticket_ids"] for c in C.hot_issues(together)[C.MANY_PEOPLE]] == [[1, 2]]


def test_a_person_with_two_different_matters_and_callers_without_a_number():
    records = batch(
        ("13800000006", "医保异地就医备案", "异地就医备案需要带什么材料？"),
        ("13800000006", "城南街道工农路路灯不亮", "工农路一段路灯坏了一个多星期，晚上走路很危险。"),
        (None, "工农路路灯不亮很危险", "工农路路灯坏了一个多星期没人修。"), filler=False)
    result = C.hot_issues(records)
    person, = result[C.ONE_PERSON]
    assert person["citizen"] == "13800000006" and person["same_matter"] is False
    assert [m["ticket_ids"] for m in person["matters"]] == [[1], [2]]
    # the anonymous caller is another person: the street-light cluster has two citizens
    lamp, = result[C.MANY_PEOPLE]
    assert lamp["ticket_ids"] == [2, 3] and lamp["citizens"] == 2
    assert person["matters"][1]["cluster"] == lamp["key"] and person["matters"][0]["cluster"] is None


def test_one_person_repeating_one_matter_is_not_a_many_people_issue():
    records = batch(("13800000007", "小区停车位被外来车辆占用", "我们小区的停车位天天被外来车辆占用，物业不管。"),
                    ("13800000007", "小区停车位又被外来车辆占用", "小区停车位还是天天被外来车辆占用。"))
    result = C.hot_issues(records)
    assert result[C.MANY_PEOPLE] == []
    person, = result[C.ONE_PERSON]
    assert person["same_matter"] is True and person["matters"][0]["cluster"] is None


def test_average_link_does_not_chain():
    """A~B and B~C at 0.7, A and C unrelated: single link would make one group, average link two."""
    half = np.sqrt(0.5)
    vectors = C.Vectors(sp.csr_matrix(np.array([[1.0, 0.0], [half, half], [0.0, 1.0]])))
    groups = C.agglomerate(vectors, threshold=0.5)
    assert sorted(map(len, groups)) == [1, 2] and sorted(i for g in groups for i in g) == [0, 1, 2]
    assert C.agglomerate(vectors, threshold=0.3) == [[0, 1, 2]]     # the average 0.47 (0.7, 0.7, 0) clears 0.3


def test_an_oversized_component_is_split_and_every_ticket_stays_in_one_group(monkeypatch):
    monkeypatch.setattr(C, "MAX_COMPONENT", 3)
    records = batch(*[(f"1380000{i:04d}", "文峰路工地夜间施工噪音", f"文峰路工地夜间施工噪音扰民第{i}次") for i in range(6)])
    groups = C.cluster(records)
    assert sorted(i for g in groups for i in g) == list(range(len(records)))
    assert [len(g) for g in groups][0] == 6          # near-copies stay one matter


def test_empty_and_single():
    assert C.hot_issues([]) == {"tickets": 0, C.MANY_PEOPLE: [], C.ONE_PERSON: []}
    only = batch(("13800000001", "路灯不亮", "路灯坏了"), filler=False)
    assert C.cluster(only) == [[0]] and C.hot_issues(only)[C.MANY_PEOPLE] == []


def test_specific_places_leave_out_districts_and_vague_names():
    assert C.specific_places("A5区劳动东路魅力之城小区临街门面") == {"劳动东路", "魅力之城"}
    assert C.specific_places("崇川区", "本小区楼下") == set()
