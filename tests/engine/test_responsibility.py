"""The responsibility matrix for cross-department matters (Rugao 003: 98 matters with lead/host/assisting
units). The seed names none of its matters, so no matrix ships; these tests write one into a copy of the
rule sets and check loading, inheritance, validation and the suggestion shown on the dispatch task."""
from __future__ import annotations

import json
import shutil

import pytest

from engine import cities, responsibility, setup
from engine.accounts import principal_for_username
from engine.facade import Hotline
from tests.conftest import complaint

MATRIX = [  # test data in the seed's shape (domains from 003: 规划建设、市容市政、社区管理)
    {"matter": "占道经营", "domain": "市容市政", "keywords": ["摊贩", "占道"], "lead": "rg_city_management",
     "host": "rg_rucheng", "assisting": ["rg_market_regulation"]},
    {"matter": "违法建设", "domain": "规划建设", "keywords": ["违建", "搭建"], "lead": "rg_natural_resources",
     "host": None, "assisting": ["rg_city_management", "rg_housing"]},
]


@pytest.fixture
def rules_copy(tmp_path, monkeypatch):
    target = tmp_path / "rules"
    shutil.copytree(cities.RULES_DIR, target)
    monkeypatch.setattr(cities, "RULES_DIR", target)

    def write(city, rows):
        (target / city / responsibility.FILE).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return write


def test_no_matrix_means_no_suggestion(rules_copy):
    assert responsibility.load_matrix("rugao") == [] and responsibility.suggest("rugao", "路边摊贩占道") == []


def test_suggestions_rank_matters_by_the_terms_found(rules_copy):
    rules_copy("rugao", MATRIX)
    found = responsibility.suggest("rugao", "小区旁有人违建搭建棚子，还有摊贩占道经营")
    assert [(f["matter"], len(f["matched"])) for f in found] == [("占道经营", 3), ("违法建设", 2)]
    first = responsibility.suggest("rugao", "路边摊贩占道经营，影响通行")[0]
    assert first == {"matter": "占道经营", "domain": "市容市政", "lead": "rg_city_management", "host": "rg_rucheng",
                     "assisting_units": ["rg_rucheng", "rg_market_regulation"], "matched": ["占道", "占道经营", "摊贩"]}
    assert responsibility.suggest("rugao", "咨询公积金提取") == []


def test_a_rule_set_inherits_its_parents_matrix_unless_it_has_its_own(rules_copy):
    nantong_rows = [{"matter": "群租房", "lead": "nt_housing", "host": None, "assisting": ["nt_chongchuan"]}]
    rules_copy("nantong", nantong_rows)
    assert [r["matter"] for r in responsibility.load_matrix("nantong")] == ["群租房"]
    with pytest.raises(responsibility.MatrixError, match="unknown units"):   # Rugao has its own units
        responsibility.load_matrix("rugao")
    rules_copy("rugao", MATRIX)
    assert [r["matter"] for r in responsibility.load_matrix("rugao")] == ["占道经营", "违法建设"]


@pytest.mark.parametrize("rows, message", [
    ({"matter": "x"}, "must be a list"),
    ([{"lead": "rg_housing"}], "needs a matter"),
    ([{**MATRIX[0], "owner": "x"}], "unknown keys"),
    ([MATRIX[0], MATRIX[0]], "listed twice"),
    ([{**MATRIX[0], "assisting": ["nowhere"]}], "unknown units"),
    ([{**MATRIX[0], "keywords": [""]}], "keywords"),
])
def test_bad_matrices_are_refused(rules_copy, rows, message):
    rules_copy("rugao", rows)
    with pytest.raises(responsibility.MatrixError, match=message):
        responsibility.load_matrix("rugao")


def test_the_dispatch_task_shows_the_suggestion(rules_copy, db, clock, city):
    rules_copy("rugao", MATRIX)
    with db.unit_of_work() as session:
        setup.load_city_into_db(session, clock, "rugao")
        facade = Hotline(session, clock)
        payload = {**complaint(city="rugao", channel="phone_12345", title="路边摊贩占道经营",
                               content="每天晚上有摊贩占道经营，影响通行。"), "received_at": clock.now()}
        ticket = facade.start_ticket(principal_for_username(session, "operator"), payload)
        row = facade.list_tasks(principal_for_username(session, "dispatcher"), ticket_id=ticket.id)[0]
        context = {c["name"]: c["value"] for c in facade.task_context(row)}
    assert context["responsibility_matrix"][0]["lead"] == "rg_city_management"
