"""Escalation decisions of every city: event -> directive upgrade (upgrade_policy), supervision tiers
(supervision_policy) and the return rules that depend on how responsibility was assigned (return_policy).

Each row is one seed clause: the decision is evaluated through the project's engine
(``engine.decisions.evaluate_for_console`` on the city's effective rule set, Rugao inheriting Nantong's
tables) and every output plus the matched rule is asserted.  Seeds: Nantong 000 第二十条 (upgrade),
第十一条/第二十九条/第三十二条 (supervision), 第三十条 (designated / fallback units); Suzhou 001 附件3
督办制度; Changzhou 002 第八章; Suqian 004 五 (supervision) and 三（四） (no second return after a
re-dispatch).
"""
from __future__ import annotations

from functools import lru_cache

import pytest

from engine.cities import rule_files
from engine.decisions import evaluate_for_console, parse_rule_files
from engine.deployments import _legacy_python_ok
from engine.dmn import lint
from engine.scripting import make_script_engine

from tests.rules.city_harness import CITIES, ESCALATION_DECISIONS


@lru_cache(maxsize=None)
def decisions(city: str):
    return parse_rule_files(rule_files(city))


def decide(city: str, decision: str, inputs: dict) -> tuple[dict, list[int]]:
    result = evaluate_for_console(decisions(city), decision, inputs, make_script_engine({}))
    return result["outputs"], result["matched_rules"]


def with_rugao(rows):
    """Nantong's rows, and the same rows for Rugao (which inherits Nantong's tables)."""
    return [*rows, *[("rugao", *row[1:]) for row in rows if row[0] == "nantong"]]


# =========================================================================== upgrade_policy
UPGRADE_BASE = {"kind": "event", "upgrade_point": "dispatch", "dispatch_count": 0, "extension_requests": 0,
                "sensitivity": "normal", "upgrade_requested": False}
EVERYTHING = {"upgrade_point": "centre", "dispatch_count": 5, "extension_requests": 3, "sensitivity": "high",
              "upgrade_requested": True}
NO_UPGRADE = (False, "")

# (city, case, inputs over UPGRADE_BASE, (upgrade, upgrade_trigger), matched rule)
UPGRADES = with_rugao([
    # Nantong 第二十条
    ("nantong", "directive_is_never_upgraded", {"kind": "directive", **EVERYTHING}, NO_UPGRADE, 1),
    ("nantong", "4_centre_decision", {"upgrade_point": "centre", "upgrade_requested": True},
     (True, "centre_decision"), 2),
    ("nantong", "4_centre_decision_first", {"upgrade_requested": True, "sensitivity": "high", "dispatch_count": 3},
     (True, "centre_decision"), 2),
    ("nantong", "3_high_sensitivity_at_dispatch", {"sensitivity": "high"}, (True, "high_sensitivity"), 3),
    ("nantong", "3_high_sensitivity_at_extension", {"upgrade_point": "extension", "sensitivity": "high",
                                                    "extension_requests": 1}, (True, "high_sensitivity"), 3),
    ("nantong", "1_fourth_dispatch", {"dispatch_count": 3}, (True, "dispatched_three_units"), 4),
    ("nantong", "1_fifth_dispatch", {"dispatch_count": 4}, (True, "dispatched_three_units"), 4),
    ("nantong", "1_third_dispatch_is_not_yet", {"dispatch_count": 2}, NO_UPGRADE, 6),
    ("nantong", "1_only_at_dispatch", {"upgrade_point": "extension", "dispatch_count": 3, "extension_requests": 1},
     NO_UPGRADE, 6),
    ("nantong", "2_second_extension", {"upgrade_point": "extension", "extension_requests": 2},
     (True, "extension_twice"), 5),
    ("nantong", "2_third_extension", {"upgrade_point": "extension", "extension_requests": 3},
     (True, "extension_twice"), 5),
    ("nantong", "2_first_extension_is_not_yet", {"upgrade_point": "extension", "extension_requests": 1},
     NO_UPGRADE, 6),
    ("nantong", "plain_event", {}, NO_UPGRADE, 6),
    ("nantong", "unknown_kind", {"kind": None, "upgrade_requested": True}, NO_UPGRADE, 6),
    # Suzhou, Changzhou, Suqian: no automatic trigger in their seeds, only the centre's decision
    *[row for city in ("suzhou_ah", "changzhou", "suqian") for row in [
        (city, "directive_is_never_upgraded", {"kind": "directive", **EVERYTHING}, NO_UPGRADE, 1),
        (city, "centre_decision", {"upgrade_point": "centre", "upgrade_requested": True},
         (True, "centre_decision"), 2),
        (city, "no_automatic_trigger", {**EVERYTHING, "upgrade_point": "dispatch", "upgrade_requested": False},
         NO_UPGRADE, 3),
        (city, "no_extension_trigger", {"upgrade_point": "extension", "extension_requests": 2}, NO_UPGRADE, 3),
    ]],
])


@pytest.mark.parametrize("city, case, inputs, expected, rule", UPGRADES,
                         ids=[f"{r[0]}-{r[1]}" for r in UPGRADES])
def test_upgrade_policy(city, case, inputs, expected, rule):
    outputs, matched = decide(city, "upgrade_policy", {**UPGRADE_BASE, **inputs})
    assert outputs == dict(zip(("upgrade", "upgrade_trigger"), expected))
    assert matched == [rule]


# =========================================================================== supervision_policy
SUPERVISION_OUTPUTS = ("tier", "owner_role", "owner", "method", "order_limit_days", "public_commitment",
                       "refer_discipline", "notify_citizen")
DAYS = {0: 1, 1: 5, 2: 5, 3: 10}      # default feedback days of an order, by tier


def order(tier, role, owner, method, commit="none", refer=False, notify=False):
    return (tier, role, owner, method, DAYS[tier], commit, refer, notify)


# Nantong 000
NT_CENTRE, NT_INSPECTION = "市指挥中心", "市委市政府（督查室）"
NT_ROUTINE = order(0, "supervisor", NT_CENTRE, "日常督办（全流程跟踪）")
NT_BIG = order(0, "supervisor", NT_CENTRE, "大督查（现场核查）")
NT_ORDER = order(1, "supervisor", NT_CENTRE, "督办指令")
NT_ACCOUNT = order(2, "inspector", NT_INSPECTION, "效能问责（市纪委监委、市委市政府（督查室））", refer=True)
# Suzhou 001 附件3
SZ_OFFICE = "“宿事速办”工作领导小组办公室"
SZ_ROUTINE = order(0, "supervisor", SZ_OFFICE, "日常督办（电话督办、现场督办、工作提示函）")
SZ_1 = order(1, "supervisor", SZ_OFFICE, "督办单（函）", notify=True)
SZ_2 = order(2, "inspector", "市委督查办", "立项重点督办", commit="deputy", notify=True)
SZ_2_REFER = order(2, "inspector", "市委督查办", "立项重点督办", commit="deputy", refer=True, notify=True)
SZ_3 = order(3, "city_leader", "市委市政府负责同志", "挂牌督办（工作专报）", commit="principal", notify=True)
SZ_3_REFER = order(3, "city_leader", "市委市政府负责同志", "挂牌督办（工作专报）", commit="principal", refer=True,
                   notify=True)
# Changzhou 002 第八章
CZ_ROUTINE = order(0, "supervisor", "12345平台", "跟踪、催办")
CZ_1 = order(1, "supervisor", "12345平台", "工单督办")
CZ_2 = order(2, "supervisor", "联席会议办公室", "专题协调督办（指定牵头办理责任部门）")
CZ_3 = order(3, "supervisor", "联席会议办公室", "约谈、通报、信息专报")
CZ_3_REFER = order(3, "supervisor", "联席会议办公室", "约谈、通报、信息专报", refer=True)
# Suqian 004 五
SQ_JOINT_GROUP = "联席研判工作小组（市指挥中心牵头，市纪委监委机关、市委编办、市司法局等）"
SQ_ROUTINE = order(0, "supervisor", "指挥中心", "日常工作督办（系统督办）")
SQ_SITE = order(1, "supervisor", "指挥中心", "现场协调督办")
SQ_MEDIA = order(1, "supervisor", "指挥中心", "联合媒体督办")
SQ_MEETING = order(1, "supervisor", "指挥中心", "专项会议督办")
SQ_JOINT = order(2, "supervisor", SQ_JOINT_GROUP, "联席会议督办")
SQ_JOINT_REFER = order(2, "supervisor", SQ_JOINT_GROUP, "联席会议督办", refer=True)
SQ_REPORT = order(3, "city_leader", "市委市政府相关领导", "专报批示督办")
SQ_REPORT_REFER = order(3, "city_leader", "市委市政府相关领导", "专报批示督办", refer=True)

# (city, trigger, origin, prior_tier, routine_done, expected outputs, matched rule)
SUPERVISION = with_rugao([
    # ---------------------------------------------------------------- Nantong 000
    ("nantong", "supervision_failed", "normal", 0, True, NT_ORDER, 1),                           # 第十一条
    ("nantong", "supervision_failed", "normal", 1, True,                                         # 第十一条第二款
     order(2, "inspector", NT_INSPECTION, "移交推动处置（市纪委监委、市委市政府（督查室））", refer=True), 2),
    ("nantong", "supervision_failed", "leader", 2, True,                                         # 第三十二条第二句
     order(2, "inspector", NT_INSPECTION, "市纪委监委调查核实、实时跟踪督办", refer=True), 3),
    ("nantong", "supervision_failed", "normal", 3, True,                                         # 第四十二条
     order(3, "city_leader", "市政府领导", "专报督办、效能问责", refer=True), 4),
    ("nantong", "supervision_failed", "normal", -1, False, NT_ROUTINE, 22),      # nothing to escalate from yet
    ("nantong", "dissatisfied_again", "normal", -1, False, NT_ORDER, 5),                         # 第十一条第一款
    ("nantong", "risk_remains", "leader", -1, False, NT_ORDER, 6),                               # 第十一条第二款
    ("nantong", "buck_passing", "normal", 0, True,                                               # 第三十二条
     order(2, "inspector", NT_INSPECTION, "提请市委市政府（督查室）下发《交办单》"), 7),
    ("nantong", "inaction_petition", "normal", -1, False, NT_ACCOUNT, 8),                        # 第三十六、四十二条
    ("nantong", "false_handling", "normal", -1, False, NT_ACCOUNT, 9),                           # 第三十六、四十二条
    ("nantong", "leak_retaliation", "normal", -1, False, NT_ACCOUNT, 10),                        # 第三十八、四十二条
    ("nantong", "major", "normal", -1, False,                                                    # 第二十九条
     order(3, "city_leader", "市政府领导", "专报提请市政府领导推动解决"), 11),
    ("nantong", "wide_impact", "normal", -1, False,                                              # 第三十一条
     order(3, "city_leader", "市委市政府领导", "协商会议（会商、协调、分工、联动）"), 12),
    ("nantong", "jurisdiction_dispute", "normal", -1, False,                                     # 第二十八、三十条
     order(1, "supervisor", NT_CENTRE, "协调会办（首问负责、指定负责、兜底负责）"), 13),
    ("nantong", "media_exposure", "normal", -1, False, NT_ORDER, 14),                            # 第九条
    ("nantong", "hot_issue", "normal", -1, False, NT_ORDER, 15),                                 # 第九条
    ("nantong", "provincial_repeat", "provincial", -1, False, NT_BIG, 16),                       # 第十条第二款
    ("nantong", "poor_reply", "normal", -1, False,                                               # 第二十三条
     order(0, "supervisor", NT_CENTRE, "日常督办（发回重办）"), 17),
    ("nantong", "overdue", "normal", -1, False, NT_ROUTINE, 18),                                 # 第三十七条
    ("nantong", "overdue", "leader", -1, True, NT_ROUTINE, 18),
    ("nantong", "overdue_unhandled", "normal", -1, False, NT_ROUTINE, 19),                       # 第三十七条
    ("nantong", "repeat_complaint", "leader", -1, False, NT_BIG, 20),                            # 第十条第二款
    ("nantong", "repeat_complaint", "provincial", -1, False, NT_BIG, 21),
    ("nantong", "repeat_complaint", "normal", -1, False, NT_ROUTINE, 22),                        # catch-all
    # ---------------------------------------------------------------- Suzhou 001 附件3
    ("suzhou_ah", "supervision_failed", "normal", 0, True, SZ_1, 1),                             # 第四条（一）2、3
    ("suzhou_ah", "supervision_failed", "normal", 1, True, SZ_2, 2),                             # 第四条（二）
    ("suzhou_ah", "supervision_failed", "normal", 2, True, SZ_3, 3),                             # 第四条（三）
    ("suzhou_ah", "supervision_failed", "normal", 3, True, SZ_3_REFER, 4),
    ("suzhou_ah", "supervision_failed", "normal", -1, False, SZ_ROUTINE, 25),
    # 第四条（二）1: leader-instructed and provincial items, before the tier-1 rows
    ("suzhou_ah", "overdue_unhandled", "leader", -1, False, SZ_2, 5),
    ("suzhou_ah", "overdue_unhandled", "provincial", -1, False, SZ_2, 6),
    ("suzhou_ah", "overdue", "leader", -1, False, SZ_2, 7),
    ("suzhou_ah", "overdue", "provincial", -1, True, SZ_2, 8),
    ("suzhou_ah", "dissatisfied_again", "leader", -1, False, SZ_2, 9),
    ("suzhou_ah", "dissatisfied_again", "provincial", 0, True, SZ_2, 10),
    ("suzhou_ah", "media_exposure", "normal", -1, False, SZ_2, 11),                              # （二）2
    ("suzhou_ah", "buck_passing", "normal", -1, False, SZ_2, 12),                                # （二）3
    ("suzhou_ah", "false_handling", "normal", -1, False, SZ_2_REFER, 13),                        # （二）4
    ("suzhou_ah", "leak_retaliation", "normal", -1, False, SZ_2_REFER, 14),                      # （二）5
    ("suzhou_ah", "wide_impact", "normal", -1, False, SZ_3, 15),                                 # （三）1
    ("suzhou_ah", "jurisdiction_dispute", "normal", -1, False, SZ_3, 16),                        # （三）2
    ("suzhou_ah", "inaction_petition", "normal", -1, False, SZ_3, 17),                           # （三）3
    ("suzhou_ah", "major", "leader", -1, False, SZ_3, 18),                                       # （三）4
    ("suzhou_ah", "overdue_unhandled", "normal", -1, False, SZ_1, 19),                           # （一）1
    ("suzhou_ah", "overdue", "normal", 0, True, SZ_1, 20),                                       # （一）2
    ("suzhou_ah", "dissatisfied_again", "normal", -1, False, SZ_1, 21),                          # （一）3
    ("suzhou_ah", "hot_issue", "normal", -1, False, SZ_1, 22),                                   # （一）4
    ("suzhou_ah", "provincial_repeat", "provincial", -1, False, SZ_1, 23),                       # （一）5
    ("suzhou_ah", "overdue", "normal", -1, False, SZ_ROUTINE, 24),                               # 第二条（一）、第四条
    ("suzhou_ah", "repeat_complaint", "normal", -1, False, SZ_ROUTINE, 25),                      # 第二条（三）
    ("suzhou_ah", "poor_reply", "normal", -1, False, SZ_ROUTINE, 25),
    ("suzhou_ah", "risk_remains", "leader", -1, False, SZ_ROUTINE, 25),
    # ---------------------------------------------------------------- Changzhou 002 第八章
    ("changzhou", "supervision_failed", "normal", 0, True, CZ_1, 1),                             # 第二十六条第一款
    ("changzhou", "supervision_failed", "normal", 1, True, CZ_2, 2),                             # 第二十六条第一款
    ("changzhou", "supervision_failed", "normal", 2, True, CZ_3, 3),                             # 第二十六条第二款
    ("changzhou", "supervision_failed", "normal", 3, True, CZ_3_REFER, 4),                       # 第三十条
    ("changzhou", "supervision_failed", "normal", -1, False, CZ_ROUTINE, 23),
    ("changzhou", "buck_passing", "normal", -1, False, CZ_3, 5),                                 # 第二十六条第二款
    ("changzhou", "inaction_petition", "normal", -1, False, CZ_3_REFER, 6),                      # 第二十八条（一）
    ("changzhou", "leak_retaliation", "normal", -1, False, CZ_3_REFER, 7),                       # 第二十八条（六）
    ("changzhou", "jurisdiction_dispute", "normal", -1, False, CZ_2, 8),                         # 第二十六条第一款
    ("changzhou", "major", "normal", -1, False, CZ_2, 9),                                        # 第四、二十五条
    ("changzhou", "wide_impact", "normal", -1, False, CZ_2, 10),                                 # 第二十五条
    ("changzhou", "false_handling", "normal", -1, False,                                         # 第二十六条第一款
     order(1, "supervisor", "12345平台", "回访复核、工单督办"), 11),
    ("changzhou", "poor_reply", "normal", -1, False, CZ_1, 12),                                  # 第二十五条
    ("changzhou", "media_exposure", "normal", -1, False, CZ_1, 13),                              # 第二十五条
    ("changzhou", "provincial_repeat", "provincial", -1, False, CZ_1, 14),                       # 第二十五条
    ("changzhou", "dissatisfied_again", "normal", -1, False, CZ_1, 15),                          # 第十一条（五）
    ("changzhou", "overdue_unhandled", "normal", -1, False, CZ_1, 16),                           # 第二十六条第一款
    ("changzhou", "hot_issue", "normal", -1, False, CZ_1, 17),                                   # 第十九、二十五条
    ("changzhou", "repeat_complaint", "normal", -1, False, CZ_1, 18),                            # 第二十五条
    ("changzhou", "risk_remains", "normal", -1, False, CZ_1, 19),                                # 第二十五条
    ("changzhou", "overdue", "leader", -1, False, CZ_1, 20),                                     # 第二十五条
    ("changzhou", "overdue", "provincial", -1, False, CZ_1, 21),                                 # 第二十五条
    ("changzhou", "overdue", "normal", -1, False, CZ_ROUTINE, 22),                               # 第二十四条
    ("changzhou", "overdue", "normal", -1, True, CZ_ROUTINE, 22),
    # ---------------------------------------------------------------- Suqian 004 五
    ("suqian", "supervision_failed", "normal", 0, True, SQ_MEETING, 1),                          # 五（三）4
    ("suqian", "supervision_failed", "normal", 1, True, SQ_JOINT, 2),                            # 五（三）5
    ("suqian", "supervision_failed", "normal", 2, True, SQ_REPORT, 3),                           # 五（三）6
    ("suqian", "supervision_failed", "normal", 3, True, SQ_REPORT_REFER, 4),                     # 七（二）（三）
    ("suqian", "supervision_failed", "normal", -1, False, SQ_ROUTINE, 16),
    ("suqian", "major", "normal", -1, False, SQ_REPORT, 5),                                      # 五（三）6
    ("suqian", "wide_impact", "normal", -1, False, SQ_REPORT, 6),                                # 五（三）6
    ("suqian", "inaction_petition", "normal", -1, False, SQ_JOINT_REFER, 7),                     # 五（三）5、七（二）
    ("suqian", "false_handling", "normal", -1, False, SQ_JOINT_REFER, 8),                        # 五（二）2、七（三）
    ("suqian", "leak_retaliation", "normal", -1, False, SQ_JOINT_REFER, 9),                      # 七（三）7
    ("suqian", "jurisdiction_dispute", "normal", -1, False, SQ_SITE, 10),                        # 五（三）2
    ("suqian", "media_exposure", "normal", -1, False, SQ_MEDIA, 11),                             # 五（三）3
    ("suqian", "buck_passing", "normal", -1, False, SQ_MEDIA, 12),                               # 五（二）4
    ("suqian", "poor_reply", "normal", -1, False, SQ_MEDIA, 13),                                 # 五（二）2、3、7
    ("suqian", "hot_issue", "normal", -1, False, SQ_MEETING, 14),                                # 五（三）4
    ("suqian", "overdue", "normal", -1, False, SQ_ROUTINE, 15),                                  # 五（二）5
    ("suqian", "overdue_unhandled", "leader", -1, False, SQ_ROUTINE, 16),                        # 五（三）1
    ("suqian", "dissatisfied_again", "normal", -1, False, SQ_ROUTINE, 16),
    ("suqian", "repeat_complaint", "normal", -1, False, SQ_ROUTINE, 16),
])


@pytest.mark.parametrize("city, trigger, origin, prior_tier, routine_done, expected, rule", SUPERVISION,
                         ids=[f"{r[0]}-{r[6]}-{r[1]}-{r[2]}-{r[3]}" for r in SUPERVISION])
def test_supervision_policy(city, trigger, origin, prior_tier, routine_done, expected, rule):
    inputs = {"trigger": trigger, "origin": origin, "prior_tier": prior_tier, "routine_done": routine_done}
    outputs, matched = decide(city, "supervision_policy", inputs)
    assert outputs == dict(zip(SUPERVISION_OUTPUTS, expected))
    assert matched == [rule]


TRIGGERS = ("overdue", "overdue_unhandled", "dissatisfied_again", "repeat_complaint", "hot_issue",
            "provincial_repeat", "media_exposure", "buck_passing", "false_handling", "leak_retaliation",
            "wide_impact", "jurisdiction_dispute", "inaction_petition", "risk_remains", "poor_reply", "major",
            "supervision_failed")


@pytest.mark.parametrize("city", CITIES)
def test_supervision_outputs_are_complete_for_every_input(city):
    """Every trigger, origin, prior tier and routine flag (and unknown values) gives a full, valid order."""
    for trigger in (*TRIGGERS, "something_else", None):
        for origin in ("normal", "leader", "provincial", None):
            for prior_tier in (-1, 0, 1, 2, 3):
                for routine_done in (True, False, None):
                    inputs = {"trigger": trigger, "origin": origin, "prior_tier": prior_tier,
                              "routine_done": routine_done}
                    out, matched = decide(city, "supervision_policy", inputs)
                    where = f"{city} {inputs}"
                    assert set(out) == set(SUPERVISION_OUTPUTS) and len(matched) == 1, where
                    assert out["tier"] in DAYS and out["order_limit_days"] == DAYS[out["tier"]], where
                    assert out["owner_role"] in ("supervisor", "inspector", "city_leader"), where
                    assert out["owner"] and out["method"], where
                    assert out["public_commitment"] in ("none", "deputy", "principal"), where
                    assert isinstance(out["refer_discipline"], bool) and isinstance(out["notify_citizen"], bool), where
                    if trigger == "supervision_failed" and prior_tier >= 0:
                        # escalation never goes down, and staying on a tier means a discipline referral
                        assert out["tier"] >= prior_tier, where
                        assert out["tier"] > prior_tier or out["refer_discipline"], where


# =========================================================================== return_policy
RETURN_BASE = {"kind": "event", "current_return_number": 1, "request_type": "complaint", "responsibility": "duty",
               "redispatched_after_return": False}
REFUSED = (False, "", 1)

# (city, case, inputs over RETURN_BASE, (return_allowed, return_approver, return_window_days), matched rule)
RETURNS = with_rugao([
    # Nantong 第三十条: designated and fallback units may not return; 第二十四条 otherwise unchanged
    ("nantong", "30_designated", {"responsibility": "designated"}, REFUSED, 2),
    ("nantong", "30_fallback", {"responsibility": "fallback"}, REFUSED, 3),
    ("nantong", "30_fallback_second_return", {"responsibility": "fallback", "current_return_number": 2}, REFUSED, 3),
    ("nantong", "24_first_asked_may_return", {"responsibility": "first_asked"}, (True, "deputy", 1), 4),
    ("nantong", "24_first_return", {}, (True, "deputy", 1), 4),
    ("nantong", "24_no_responsibility_given", {"responsibility": None}, (True, "deputy", 1), 4),
    ("nantong", "24_second_return", {"current_return_number": 2}, (True, "principal", 1), 5),
    ("nantong", "24_directive", {"kind": "directive", "responsibility": "designated"}, REFUSED, 1),
    ("nantong", "unknown_kind", {"kind": None}, REFUSED, 6),
    # Suqian 三（四）: re-dispatched to the same unit after an unjustified return -> no second return
    ("suqian", "redispatched_to_same_unit", {"redispatched_after_return": True}, REFUSED, 1),
    ("suqian", "redispatched_directive", {"kind": "directive", "redispatched_after_return": True}, REFUSED, 1),
    ("suqian", "first_return", {}, (True, "deputy", 1), 2),
    ("suqian", "flag_missing", {"redispatched_after_return": None}, (True, "deputy", 1), 2),
    ("suqian", "directive_may_return", {"kind": "directive"}, (True, "deputy", 1), 2),
    ("suqian", "second_return", {"current_return_number": 2}, REFUSED, 3),
    ("suqian", "return_number_missing", {"current_return_number": None}, REFUSED, 4),
    # Suzhou and Changzhou: their seeds say nothing about either, so the new inputs change nothing
    ("suzhou_ah", "designated_and_redispatched", {"responsibility": "designated", "redispatched_after_return": True},
     (True, "deputy", 1), 1),
    ("changzhou", "designated_and_redispatched", {"request_type": "consult", "responsibility": "fallback",
                                                  "redispatched_after_return": True}, (True, "deputy", 1), 1),
    ("changzhou", "non_consult", {"responsibility": "designated"}, (True, "deputy", 2), 4),
])


@pytest.mark.parametrize("city, case, inputs, expected, rule", RETURNS, ids=[f"{r[0]}-{r[1]}" for r in RETURNS])
def test_return_policy(city, case, inputs, expected, rule):
    outputs, matched = decide(city, "return_policy", {**RETURN_BASE, **inputs})
    assert outputs == dict(zip(("return_allowed", "return_approver", "return_window_days"), expected))
    assert matched == [rule]


# =========================================================================== tables
@pytest.mark.parametrize("city", CITIES)
def test_every_table_passes_the_deployment_lint(city):
    """What engine.deployments runs on upload: no errors; only the Python spelling of booleans is flagged."""
    issues = lint(decisions(city), python_ok=_legacy_python_ok)
    assert [i.message_en for i in issues if i.severity == "error"] == []
    assert {i.code for i in issues if i.decision in (*ESCALATION_DECISIONS, "return_policy")} <= {"python_spelling"}


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("decision", [*ESCALATION_DECISIONS, "return_policy"])
def test_every_rule_sets_every_output_and_the_last_is_a_catch_all(city, decision):
    d = decisions(city)[decision]
    assert d.hit_policy == "FIRST"
    for rule in d.rules:
        assert len(rule.outputs) == len(d.outputs) and all(t.strip() for t in rule.outputs), rule.number
        assert (rule.description or "").strip(), rule.number
    assert all(t.strip() in ("", "-") for t in d.rules[-1].inputs)
