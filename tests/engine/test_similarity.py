"""The incremental duplicate index: ranking, windows, growth across segments, and the real hot messages."""
from __future__ import annotations

import csv
import sys

import pytest

from engine.ai.similarity import DuplicateIndex
from engine.ai.shared_data import gov_messages_dir

DATA = gov_messages_dir()
A = "幸福路小区夜间施工噪音扰民\n幸福路小区旁工地每天夜里施工到凌晨，噪音很大影响休息。"
A2 = "幸福路小区工地夜间施工扰民\n幸福路小区附近工地夜里一直施工，噪音吵得居民无法休息。"
B = "人民医院挂号难\n人民医院专家号很难挂到，网上预约总是满号。"


def test_most_similar_first_and_exclusions():
    index = DuplicateIndex()
    index.add(1, A, 100)
    index.add(2, B, 100)
    hits = index.query(A2, k=5)
    assert hits[0].doc_id == 1 and all(h.doc_id != 2 or h.score < hits[0].score / 3 for h in hits)
    assert [h.doc_id for h in index.query(A, exclude=1)] in ([], [2]) or index.query(A, exclude=1)[0].doc_id != 1
    assert index.similarity(A, A2) > index.similarity(A, B)
    assert abs(index.similarity(A, A) - 1.0) < 1e-6


def test_time_window_and_duplicate_ids_are_skipped():
    index = DuplicateIndex()
    index.add_many([(1, A, 100), (2, A2, 500), (2, B, 500)])
    assert len(index) == 2
    assert [h.doc_id for h in index.query(A2, since=200, exclude=2)] == []
    assert [h.doc_id for h in index.query(A2, until=200)] == [1]


def test_grows_across_segments_and_compacts():
    index = DuplicateIndex(segment_size=10, max_segments=3)
    for i in range(1, 101):
        index.add(i, f"{B}{i}" if i != 57 else A, i)
        if i % 7 == 0:
            index.query(A2)          # a lookup turns the tail into a segment
    assert len(index._segments) <= 12
    assert index.query(A2, k=1)[0].doc_id == 57
    assert index.nbytes() > 0


@pytest.mark.skipif(not (DATA / "hot_messages.csv").exists(), reason="no ../shared/data/gov_messages")
def test_real_messages_about_one_compound_rank_above_the_rest():
    csv.field_size_limit(sys.maxsize)
    with open(DATA / "hot_messages.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    index = DuplicateIndex()
    index.add_many([(int(r["留言编号"]), f"{r['留言主题']}\n{r['留言详情']}", i) for i, r in enumerate(rows)])
    same = {int(r["留言编号"]) for r in rows if "魅力之城" in r["留言主题"] + r["留言详情"]}
    probe = next(r for r in rows if int(r["留言编号"]) in same)
    hits = index.query(f"{probe['留言主题']}\n{probe['留言详情']}", k=len(same) - 1, exclude=int(probe["留言编号"]))
    assert len(same) >= 5 and {h.doc_id for h in hits} <= same
    assert len(hits) >= len(same) - 3
