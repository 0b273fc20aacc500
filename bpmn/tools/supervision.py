"""The supervision diagram (督办): one instance per supervision order, ``bpmn/supervision.bpmn``.

The runtime starts an instance from a ticket's ``supervision_request`` message (or a supervisor's
request) with the start data parent_ticket_id, parent_number, title, unit (the lead unit), kind,
origin, trigger, reason, requested_by, prior_tier (-1), routine_done (False), tier (None) and
refer_requested (False).  The city's ``supervision_policy`` table decides tier, owner and method;
routine supervision (tier 0) comes first, an order that fails verification escalates one tier, and
a failed tier-3 order (or one the verifier refers) goes to discipline inspection.

Declared here, laid out and written by ``layout.py`` (``.venv/bin/python bpmn/tools/layout.py``).
"""
from __future__ import annotations

from pathlib import Path

try:
    from .model import Diagram
except ImportError:  # run as a script: bpmn/tools is on sys.path
    from model import Diagram

FILE = Path(__file__).resolve().parent.parent / "supervision.bpmn"

PROCESS = dict(
    definitions="definitions_supervision",
    target_namespace="urn:hotline12345:bpmn",
    collaboration="collaboration_supervision",
    participant="participant_supervision",
    participant_name="督办单",
    id="supervision",
    name="督办",
    documentation="督办单（一单一实例，关联原工单 parent_ticket_id）：001 附件3 三级督办制度与 000 第十一条督办指令。"
                  "督办层级、责任方、方式与时限由 rules/<city>/supervision_policy.dmn 决定；日常督办未解决的升至一级，"
                  "复核未通过的逐级升级，三级仍未通过或复核认定需移交的移交纪委监委。",
    lane_set="laneset_supervision",
    diagram="diagram_supervision",
    plane="plane_supervision",
)

LANES = [
    ("lane_owner", "督办责任方", 180, {0: 110}, {"o1": 26}),
    ("lane_unit_handler", "承办单位经办人", 170, {0: 100}, {"h1": 28}),
    ("lane_unit_principal", "承办单位主要领导", 150, {0: 75}, {}),
    ("lane_system", "系统", 330, {0: 75, 1: 205}, {"sd": 272, "sr": 297}),
]

LANE_SHORT = {
    "owner": "lane_owner",
    "handler": "lane_unit_handler",
    "principal": "lane_unit_principal",
    "system": "lane_system",
}

d = Diagram(LANE_SHORT)
node, user, script, rule, gateway, flow = d.node, d.user, d.script, d.rule, d.gateway, d.flow

CLOSED = dict(event="supervision_closed", event_fields=("tier", "outcome"))

# -- decide the tier ------------------------------------------------------------
node("start", "startEvent", "发起督办", "system", 0,
     doc="超期未办理、重办后仍不满意等情形由运行时发起督办（启动数据见合同）。")
rule("decide_tier", "确定督办层级", 1, "supervision_policy",
     "001 附件3 第四条：日常督办、一级（领导小组办公室下发督办单）、二级（市委督查办立项重点督办）、"
     "三级（市委市政府负责同志挂牌督办）；000 第十一条：督办指令。输出 tier、owner_role、owner、method、"
     "order_limit_days、public_commitment、refer_discipline、notify_citizen。")
script("open_order", "生成督办单", 2, "order_due_at = add_working_days(now(), order_limit_days)",
       event="supervision_decided",
       event_fields=("trigger", "first_trigger", "reason", "tier", "owner", "owner_role", "method", "public_commitment",
                     "refer_discipline", "notify_citizen", "order_due_at", "prior_tier"))
gateway("gw_tier", "督办层级", "system", 3, label="TL")

# -- routine supervision (tier 0) -------------------------------------------------
user("routine_supervision", "日常督办", "owner", 4, "supervisor", False,
     "001 附件3 第四条：通过电话督办、现场督办、工作提示函等方式开展日常性督办，督促承办单位履责限时办理。"
     "表单写入 method、note、resolved。", due="order_due_at")
gateway("gw_routine", "已解决？", "owner", 5, label="T")
script("close_routine", "日常督办办结", 5, 'outcome = "resolved"\nclosed_at = now()', **CLOSED)
node("end_routine_resolved", "endEvent", "日常督办办结", "system", 5, row=1)
script("routine_unresolved", "日常督办未解决", 6,
       'routine_done = True\nprior_tier = 0\ntrigger = "supervision_failed"',
       doc="001 附件3 第四条（一）2：合理诉求经日常性督办后仍超期未办结的，启动一级督办。日常督办未解决即督办未通过，"
           "由各城市的督办分级表按 supervision_failed 自日常督办升级（最初的督办情形见 first_trigger）。")

# -- supervision order (tier 1-3) ---------------------------------------------------
user("register_order", "督办立项", "owner", 8, "supervisor", False,
     "001 附件3 第五条（一）立项：明确立项日期、督办内容、主办单位、协办单位、办结时限和办理意见。"
     "表单写入 content、opinion、due_at（可空）、assisting_units；办理角色由督办层级确定（owner_role）。",
     role_from="owner_role", due="order_due_at")
script("issue_order", "交办督办单", 9, "if due_at:\n    order_due_at = due_at",
       event="supervision_order_issued",
       event_fields=("tier", "owner", "method", "order_due_at", "public_commitment", "refer_discipline",
                     "notify_citizen", "content"),
       doc="001 附件3 第五条（二）交办：登记后向承办单位交办，并以短信告知诉求人（notify_citizen）。")
user("supervision_feedback", "督办反馈", "handler", 10, "handler", True,
     "001 附件3 第五条（四）反馈：承办单位按要求向诉求人和督办方反馈完成情况；二级、三级督办责任单位负责人"
     "公开承诺（public_commitment 非 none 时填写 commitment）。表单写入 feedback、commitment。",
     due="order_due_at")
d.timer("feedback_overdue_timer", "反馈超期", "supervision_feedback", "order_due_at")
script("record_feedback_overdue", "标记反馈超期", 10, "feedback_overdue = True", row=1)
node("end_feedback_overdue", "endEvent", "记录反馈超期", "system", 11, row=1)
user("approve_supervision_feedback", "督办反馈审核（主要领导）", "principal", 11, "principal", True,
     "001 附件5：反馈件须经单位分管负责同志（督办件经主要负责同志）审核、签批。表单写入 approved、comment。",
     due="order_due_at")
gateway("gw_feedback_approved", "审核通过？", "principal", 12, label="B")
user("verify_supervision", "督办复核", "owner", 13, "supervisor", False,
     "001 附件3 第五条（五）复核：对督办事项落实情况调查复核，重点督办事项视情况再督查。"
     "表单写入 passed、comment、refer（需移交纪委监委）。", role_from="owner_role")
gateway("gw_verified", "复核通过？", "owner", 14, label="T")
script("close_order", "督办办结", 15, 'outcome = "resolved"\nclosed_at = now()', **CLOSED,
       doc="001 附件3 第五条（七）归档：督办事项办结后立卷归档。")
node("end_order_resolved", "endEvent", "督办办结", "system", 16)
script("escalate_order", "升级督办", 14, """
prior_tier = tier
trigger = "supervision_failed"
refer_requested = bool(refer)
""", row=1, doc="复核未通过：按上一层级重新确定督办层级（逐级升级）。")
gateway("gw_refer", "移交纪委监委？", "system", 15, row=1, label="T")
script("refer_discipline_inspection", "移交纪委监委", 16, """
refer_discipline = True
outcome = "referred"
closed_at = now()
""", row=1, event="discipline_referral", event_fields=("tier", "trigger", "reason", "comment"),
       doc="001 附件3 第四条（二）：涉及失职渎职、违纪违规问题由市纪委监委介入调查；"
           "000 第十一条：仍未解决的移交纪委监委/督查室。")
node("end_referred", "endEvent", "已移交纪委监委", "system", 17, row=1)

# -- flows ------------------------------------------------------------------------
flow("start", "decide_tier")
flow("decide_tier", "open_order")
flow("open_order", "gw_tier")
flow("gw_tier", "routine_supervision", "日常督办", "tier == 0", sp="T", tp="L")
flow("gw_tier", "register_order", "一至三级", default=True, style="via", sp="B", tp="L",
     via=[("t", "sd"), ("x", 7)])
flow("routine_supervision", "gw_routine")
flow("gw_routine", "close_routine", "已解决", "resolved", sp="B", tp="T")
flow("gw_routine", "routine_unresolved", "未解决", default=True, sp="R", tp="T")
flow("close_routine", "end_routine_resolved", sp="B", tp="T")
flow("routine_unresolved", "decide_tier", style="via", sp="R", tp="T", tdx=15,
     via=[("x", 6, 65), ("t", "o1")])

flow("register_order", "issue_order", sp="B", tp="L")
flow("issue_order", "supervision_feedback", sp="T", tp="L")
flow("feedback_overdue_timer", "record_feedback_overdue", sp="B", tp="T")
flow("record_feedback_overdue", "end_feedback_overdue")
flow("supervision_feedback", "approve_supervision_feedback", sp="R", tp="T")
flow("approve_supervision_feedback", "gw_feedback_approved")
flow("gw_feedback_approved", "verify_supervision", "通过", "approved", sp="R", tp="B")
flow("gw_feedback_approved", "supervision_feedback", "退回", default=True, style="track", sp="T", tp="T",
     track="h1", tdx=20)
flow("verify_supervision", "gw_verified")
flow("gw_verified", "close_order", "通过", "passed", sp="R", tp="T")
flow("gw_verified", "escalate_order", "未通过", default=True, sp="B", tp="T")
flow("close_order", "end_order_resolved")
flow("escalate_order", "gw_refer")
flow("gw_refer", "refer_discipline_inspection", "移交", "tier >= 3 or refer_requested")
flow("gw_refer", "decide_tier", "升级", default=True, style="via", sp="B", tp="B",
     via=[("t", "sr"), ("x", 1)])
flow("refer_discipline_inspection", "end_referred")

NODES, FLOWS, SIGNALS, MESSAGES = d.nodes, d.flows, d.signals, d.messages
