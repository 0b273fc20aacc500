"""The ticket lifecycle diagram: lanes, flow nodes and sequence flows of ``bpmn/ticket_lifecycle.bpmn``.

This module only *declares* the diagram (process semantics plus the layout hints the engine in
``layout.py`` needs: each node's lane, column and row, each flow's ports and routing style).  The
geometry, the layout checks and the XML are produced by ``layout.py`` / ``bpmn_xml.py``::

    .venv/bin/python bpmn/tools/layout.py            # writes bpmn/ticket_lifecycle.bpmn
    .venv/bin/python bpmn/tools/layout.py --check    # exit 1 if the file is stale
"""
from __future__ import annotations

from pathlib import Path

FILE = Path(__file__).resolve().parent.parent / "ticket_lifecycle.bpmn"

# Ids and names of the elements around the flow nodes (definitions, pool, process, diagram).
PROCESS = dict(
    definitions="definitions_ticket_lifecycle",
    target_namespace="urn:hotline12345:bpmn",
    collaboration="collaboration_ticket",
    participant="participant_ticket",
    participant_name="12345工单",
    id="ticket_lifecycle",
    name="工单生命周期",
    documentation="12345热线工单生命周期（南通规则起步，规则表见 rules/<city>/*.dmn）。"
                  "脚本与条件为 Python 表达式；时间均为 +08:00 的 ISO 8601 字符串，"
                  "由运行时提供 now()、add_working_hours()、add_working_days()、working_hours_between()、is_before()。",
    lane_set="laneset_ticket",
    diagram="diagram_ticket_lifecycle",
    plane="plane_ticket_lifecycle",
)

# --------------------------------------------------------------------------
# Lanes
# --------------------------------------------------------------------------
# lane id, name, height, {row: centre y offset from lane top}, {track: y offset}
LANES = [
    ("lane_centre", "指挥中心（派单员）", 170, {0: 95}, {"t0": 24}),
    ("lane_unit_handler", "承办单位经办人", 225,
     {0: 130}, {"t1": 26, "t2": 38, "t3": 50, "t4": 62, "t5": 74}),
    ("lane_system", "系统", 410, {0: 75, 1: 205, 2: 335}, {}),
    ("lane_unit_leader", "承办单位领导", 170, {0: 85}, {}),
    ("lane_callback", "回访员", 150, {0: 75}, {}),
]

LANE_SHORT = {
    "centre": "lane_centre",
    "handler": "lane_unit_handler",
    "system": "lane_system",
    "leader": "lane_unit_leader",
    "callback": "lane_callback",
}

# --------------------------------------------------------------------------
# Flow nodes
# --------------------------------------------------------------------------
# Every node: id -> dict(kind, name, lane, col, row, ...).
#   kind: startEvent | endEvent | userTask | scriptTask | businessRuleTask |
#         exclusiveGateway | boundaryEvent
NODES: dict[str, dict] = {}


def node(id_, kind, name, lane, col, row=0, **extra):
    assert id_ not in NODES, id_
    NODES[id_] = dict(id=id_, kind=kind, name=name, lane=LANE_SHORT[lane], col=col, row=row, **extra)


def user(id_, name, lane, col, role, unit_scoped, doc, row=0):
    node(id_, "userTask", name, lane, col, row, role=role, unit_scoped=unit_scoped, doc=doc)


def script(id_, name, col, body, row=0, doc=None):
    node(id_, "scriptTask", name, "system", col, row, script=body.strip("\n"), doc=doc)


def rule(id_, name, col, decision, doc, row=0):
    node(id_, "businessRuleTask", name, "system", col, row, decision=decision, doc=doc)


def gateway(id_, name, lane, col, row=0, label="T"):
    node(id_, "exclusiveGateway", name, lane, col, row, label=label)


# -- intake and scope check -------------------------------------------------
node("start", "startEvent", "受理", "centre", 0,
     doc="一门受理（第六条）：话务员/各渠道受理诉求后由运行时创建工单实例，启动数据见合同。")
rule("decide_kind", "判定工单类别", 1, "ticket_kind",
     "第十七条至第十九条：按来源渠道划分“事件”与“指令”。")
rule("check_scope", "受理范围审查", 2, "scope_check",
     "受理范围审查：不予受理事项直接办结，紧急事项转110/119/120应急联动。")
gateway("gw_scope", "是否受理？", "system", 3, label="TL")
script("close_out_of_scope", "不予受理办结", 4, 'outcome = "rejected"')
node("end_rejected", "endEvent", "不予受理", "system", 5)
script("mark_emergency", "转应急联动", 4, 'outcome = "emergency_transfer"', row=1)
node("end_emergency", "endEvent", "转应急联动", "system", 5, row=1)
script("close_direct_answer", "直接答复", 4, 'outcome = "answered"\nclosed_at = now()', row=2,
       doc="第八条：入驻部门/知识库直接解答的咨询类诉求当场办结。")
node("end_direct_answer", "endEvent", "直接答复办结", "system", 5, row=2)

# -- dispatch and deadlines ---------------------------------------------------
user("dispatch", "派单", "centre", 5, "dispatcher", False,
     "一体派发（第十七条）：派单员选择承办单位（表单写入 unit）。退单获批后回到此处重新派单。")
script("start_clock", "开始计时", 6, """
dispatched_at = now()
dispatch_count = dispatch_count + 1
current_return_number = return_count + 1
""")
rule("sign_limit", "签收时限", 7, "sign_limit", "第二十二条：事件2个工作小时内签收，指令1个工作小时内签收。")
rule("handle_limit", "办理时限", 8, "handle_limit",
     "第二十二条：咨询3、求助5、建议10、投诉举报15个工作日；指令按任务单要求时间。")
script("compute_deadlines", "计算时限", 9, """
if sign_rule == "half_day":
    sign_due_at = half_day_deadline(dispatched_at)
else:
    sign_due_at = add_working_hours(dispatched_at, sign_limit_hours)
if kind == "directive" and directive_due_at:
    handle_due_at = directive_due_at
else:
    handle_due_at = add_working_days(dispatched_at, handle_limit_days)
""")

# -- sign / return ------------------------------------------------------------
user("sign", "签收", "handler", 10, "handler", True,
     "第二十二条、第二十四条：承办单位签收（decision=accept）或申请退单（decision=return，填写 reason 与 suggested_unit）。")
node("sign_overdue_timer", "boundaryEvent", "签收超时", "handler", 10, attached_to="sign",
     time_date="sign_due_at")
script("record_sign_overdue", "标记签收超时", 10, "sign_overdue = True", row=1)
node("end_sign_overdue", "endEvent", "记录签收超时", "system", 11, row=1)
gateway("gw_sign", "签收还是退单？", "handler", 11)
rule("return_policy", "退单规则", 11, "return_policy",
     "第二十四条：仅“事件”可退单，1个工作日内；一次退单分管领导审核，二次退单主要领导审核；指令不得退单。")
script("check_return_window", "校验退单时限", 12,
       "return_in_window = is_before(now(), add_working_days(dispatched_at, return_window_days))")
gateway("gw_return", "允许退单？", "system", 13)
user("approve_return", "退单审批", "leader", 14, "leader", True,
     "第二十四条：一次退单由分管领导、二次及以上由主要领导审核（见 return_approver）。表单写入 approved、comment。")
script("refuse_return", "驳回退单", 14, "return_refused = True")
gateway("gw_return_approved", "领导同意退单？", "leader", 15, label="B")
script("accept_return", "退回中心重派", 16, """
return_count = return_count + 1
returned_from = unit
return_reason = reason
""")
script("record_signed", "记录签收", 17, """
signed_at = now()
if not is_before(signed_at, sign_due_at):
    sign_overdue = True
""", doc="签收时间晚于签收时限时同时置 sign_overdue（超时计时器分支的数据不会并入主分支）。")

# -- handle / extension ---------------------------------------------------------
user("handle", "办理", "handler", 18, "handler", True,
     "第二十一条至第二十三条：承办单位办理并提交答复（action=reply，reply），或申请延期（action=extend，extension_days、extension_reason）。")
node("handle_overdue_timer", "boundaryEvent", "办理超期", "handler", 18, attached_to="handle",
     time_date="handle_due_at")
script("record_handle_overdue", "标记办理超期", 18, "handle_overdue = True", row=1)
node("end_handle_overdue", "endEvent", "记录办理超期", "system", 19, row=1)
gateway("gw_handle", "答复还是延期？", "handler", 19)
rule("extension_policy", "延期规则", 19, "extension_policy",
     "第二十五条：仅“事件”可延期，期满前1个工作日提出，单位主要领导书面同意、市指挥中心同意；第二十四条：指令不得延期。")
script("check_extension", "校验延期申请", 20, """
extension_in_time = is_before(add_working_days(now(), extension_notice_days), handle_due_at)
extension_ok = extension_allowed and extension_in_time and extension_days <= extension_max_days
""")
gateway("gw_extension", "符合延期条件？", "system", 21)
user("approve_extension_unit", "延期审批（单位主要领导）", "leader", 22, "leader", True,
     "第二十五条：延期申请须经本单位主要领导同意。表单写入 approved、comment。")
gateway("gw_extension_unit", "单位领导同意？", "leader", 23, label="B")
script("refuse_extension", "驳回延期", 23, "extension_refused = True", row=1)
user("approve_extension", "延期审核（中心）", "centre", 24, "dispatcher", False,
     "第二十五条：获市指挥中心同意予以延期。表单写入 approved、comment。")
gateway("gw_extension_centre", "中心同意延期？", "centre", 25, label="T")
script("apply_extension", "延长办理时限", 26, """
extension_count = extension_count + 1
handle_due_at = add_working_days(handle_due_at, extension_days)
""")

# -- reply / review ---------------------------------------------------------------
user("approve_reply", "答复审核", "leader", 27, "leader", True,
     "第二十二条、第二十三条：办理结果经单位主要领导或分管领导审核后反馈（指令须主要领导审核）。表单写入 approved、comment。")
gateway("gw_approve_reply", "审核通过？", "leader", 28, label="B")
user("review_reply", "答复认定", "centre", 29, "dispatcher", False,
     "第二十三条：办理结果不规范、不具体、不完整的，由市指挥中心发回重办。表单写入 approved、comment。")
gateway("gw_review_reply", "认定通过？", "centre", 30, label="T")
script("record_replied", "记录答复", 31, """
replied_at = now()
if not is_before(replied_at, handle_due_at):
    handle_overdue = True
""", doc="答复时间晚于办理时限时同时置 handle_overdue（超期计时器分支的数据不会并入主分支）。")

# -- callback ---------------------------------------------------------------------
user("callback", "回访", "callback", 32, "callback", False,
     "第十条：电话询问、现场查看、当面访谈、视频点调等方式核实办理情况，记录满意度（satisfied、unit_at_fault、comment）。")
rule("callback_policy", "回访结果处理", 33, "callback_policy",
     "第十一条、第十二条：满意办结归档；不满意且属承办单位责任退回重办；重办后仍不满意下发督办指令。")
gateway("gw_callback", "回访结果", "system", 34, label="T")
script("start_rehandle", "退回重办", 35, """
rehandle_count = rehandle_count + 1
handle_due_at = add_working_days(now(), handle_limit_days)
""")
script("archive", "办结归档", 35, 'outcome = "archived"\nclosed_at = now()', row=1,
       doc="第十二条：评价满意和问题实际解决的事项直接办结并归档。")
node("end_archived", "endEvent", "办结归档", "system", 36, row=1)
script("mark_supervision", "下发督办指令", 35, """
supervision_required = True
outcome = "supervision"
closed_at = now()
""", row=2, doc="第十一条：经重新办理评价仍不满意且属承办单位责任的，下发督办指令。")
node("end_supervision", "endEvent", "转督办", "system", 36, row=2)

# --------------------------------------------------------------------------
# Sequence flows
# --------------------------------------------------------------------------
# (source, target, name, condition, is_default, route)
# route: (style, source port, target port, options)
#   style "auto"  : straight when aligned, otherwise inferred from the ports
#   style "track" : vertical up/down to a named lane track, horizontal, vertical into target
#   style "hvh"   : horizontal, vertical at x = source x + options["dx"] (default midway), horizontal
FLOWS: list[dict] = []


def flow(src, tgt, name=None, cond=None, default=False, style="auto", sp="R", tp="L", **opts):
    FLOWS.append(dict(id=f"flow_{src}_to_{tgt}", src=src, tgt=tgt, name=name, cond=cond,
                      default=default, style=style, sp=sp, tp=tp, opts=opts))


flow("start", "decide_kind", style="hvh", dx=40)
flow("decide_kind", "check_scope")
flow("check_scope", "gw_scope")
flow("gw_scope", "close_out_of_scope", "不予受理", 'scope_outcome == "reject"')
flow("gw_scope", "mark_emergency", "紧急事项", 'scope_outcome == "emergency"', sp="B", tp="L", label="end")
flow("gw_scope", "close_direct_answer", "直接答复", 'request_type == "consult" and direct_answer',
     sp="B", tp="L", label="end")
flow("gw_scope", "dispatch", "受理", default=True, sp="T", tp="L")
flow("close_out_of_scope", "end_rejected")
flow("mark_emergency", "end_emergency")
flow("close_direct_answer", "end_direct_answer")

flow("dispatch", "start_clock", sp="R", tp="T")
flow("start_clock", "sign_limit")
flow("sign_limit", "handle_limit")
flow("handle_limit", "compute_deadlines")
flow("compute_deadlines", "sign", style="hvh")

flow("sign_overdue_timer", "record_sign_overdue", sp="B", tp="T")
flow("record_sign_overdue", "end_sign_overdue")
flow("sign", "gw_sign")
flow("gw_sign", "return_policy", "退单", 'decision == "return"', sp="B", tp="T")
flow("gw_sign", "record_signed", "签收", default=True, sp="R", tp="T")
flow("return_policy", "check_return_window")
flow("check_return_window", "gw_return")
flow("gw_return", "approve_return", "允许退单", "return_allowed and return_in_window", sp="B", tp="L")
flow("gw_return", "refuse_return", "不可退单", default=True)
flow("refuse_return", "sign", style="track", sp="T", tp="T", track="t3", tdx=20)
flow("approve_return", "gw_return_approved")
flow("gw_return_approved", "accept_return", "同意", "approved", sp="R", tp="B")
flow("gw_return_approved", "sign", "不同意", default=True, style="track", sp="T", tp="T",
     track="t2", tdx=-20)
flow("accept_return", "dispatch", style="track", sp="T", tp="T", track="t0")
flow("record_signed", "handle", style="hvh")

flow("handle_overdue_timer", "record_handle_overdue", sp="B", tp="T")
flow("record_handle_overdue", "end_handle_overdue")
flow("handle", "gw_handle")
flow("gw_handle", "extension_policy", "申请延期", 'action == "extend"', sp="B", tp="T")
flow("gw_handle", "approve_reply", "提交答复", default=True, sp="R", tp="T")
flow("extension_policy", "check_extension")
flow("check_extension", "gw_extension")
flow("gw_extension", "approve_extension_unit", "符合", "extension_ok", sp="B", tp="L")
flow("gw_extension", "refuse_extension", "不符合", default=True, style="hvh", sp="R", tp="L", dx=70)
flow("approve_extension_unit", "gw_extension_unit")
flow("gw_extension_unit", "approve_extension", "同意", "approved", sp="R", tp="B")
flow("gw_extension_unit", "refuse_extension", "不同意", default=True, sp="T", tp="B")
flow("approve_extension", "gw_extension_centre")
flow("gw_extension_centre", "apply_extension", "同意", "approved", sp="B", tp="L")
flow("gw_extension_centre", "refuse_extension", "不同意", default=True, style="hvh", sp="R", tp="R", dx=45)
flow("apply_extension", "handle", style="track", sp="T", tp="T", track="t4", tdx=20)
flow("refuse_extension", "handle", style="track", sp="T", tp="T", track="t5", tdx=40)

flow("approve_reply", "gw_approve_reply")
flow("gw_approve_reply", "review_reply", "通过", "approved", sp="R", tp="B")
flow("gw_approve_reply", "handle", "退回修改", default=True, style="track", sp="T", tp="T", track="t3", tdx=0)
flow("review_reply", "gw_review_reply")
flow("gw_review_reply", "record_replied", "通过", "approved", sp="R", tp="T")
flow("gw_review_reply", "handle", "发回重办", default=True, style="track", sp="B", tp="T", track="t1", tdx=-40)
flow("record_replied", "callback", style="hvh")
flow("callback", "callback_policy", style="hvh")
flow("callback_policy", "gw_callback")
flow("gw_callback", "start_rehandle", "退回重办", 'callback_outcome == "rehandle"')
flow("gw_callback", "archive", "办结", default=True, sp="B", tp="L", label="end")
flow("gw_callback", "mark_supervision", "督办", 'callback_outcome == "supervise"', sp="B", tp="L", label="end")
flow("start_rehandle", "handle", style="track", sp="T", tp="T", track="t2", tdx=-20)
flow("archive", "end_archived")
flow("mark_supervision", "end_supervision")
