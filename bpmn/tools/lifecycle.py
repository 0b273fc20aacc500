"""The ticket lifecycle diagram: lanes, flow nodes and sequence flows of ``bpmn/ticket_lifecycle.bpmn``.

This module only *declares* the diagram (process semantics plus the layout hints the engine in
``layout.py`` needs: each node's lane, column and row, each flow's ports and routing style).  The
geometry, the layout checks and the XML are produced by ``layout.py`` / ``bpmn_xml.py``::

    .venv/bin/python bpmn/tools/layout.py            # writes every diagram, this one included
    .venv/bin/python bpmn/tools/layout.py --check    # exit 1 if a file is stale
"""
from __future__ import annotations

from pathlib import Path

try:
    from .model import Diagram
except ImportError:  # run as a script: bpmn/tools is on sys.path
    from model import Diagram

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
# Lanes: lane id, name, height, {row: centre y offset from lane top}, {track: y offset}
# --------------------------------------------------------------------------
LANES = [
    ("lane_centre", "指挥中心（派单员）", 170, {0: 95}, {"t0": 24}),
    ("lane_unit_handler", "承办单位经办人", 235,
     {0: 140}, {"t6": 24, "t1": 36, "t2": 48, "t3": 60, "t4": 72, "t5": 84}),
    ("lane_assist_handler", "协办单位经办人", 140, {0: 70}, {}),
    ("lane_system", "系统", 560, {0: 75, 1: 205, 2: 335, 3: 475}, {"s1": 397, "s2": 412}),
    ("lane_unit_leader", "承办单位领导", 170, {0: 85}, {}),
    ("lane_callback", "回访员", 150, {0: 75}, {}),
]

LANE_SHORT = {
    "centre": "lane_centre",
    "handler": "lane_unit_handler",
    "assist": "lane_assist_handler",
    "system": "lane_system",
    "leader": "lane_unit_leader",
    "callback": "lane_callback",
}

d = Diagram(LANE_SHORT)
node, user, script, rule, gateway, flow = d.node, d.user, d.script, d.rule, d.gateway, d.flow

d.signal("signal_upgrade", "upgrade", "upgrade_request")
d.signal("signal_merge", "merge", "merge_request")
d.signal("signal_master_reply", "master_reply", "master_reply")
d.message("message_supervision_request", "supervision_request",
          '{"trigger": supervision_trigger, "reason": supervision_reason, "unit": unit, "kind": kind, '
          '"origin": origin}')

UPGRADE_EVENT = dict(event="ticket_upgraded",
                     event_fields=("upgrade_trigger", "upgrade_point", "upgrade_reason", "sensitivity",
                                   "dispatch_count", "extension_requests"))
UPGRADE_SCRIPT = 'kind = "directive"\nupgraded = True\nupgraded_at = now()'

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

# -- dispatch, upgrade check and deadlines -------------------------------------
rule("suggest_unit", "建议承办单位", 4, "category_unit",
     "第七条【一体派发】、第十七条：经AI辨重与智能分拨，按诉求分类（category，受理时由分拨模型建议、话务员确认）"
     "查本市分类对应承办单位表，得出建议承办单位（recommended_unit），由派单员决定。", lane="centre")
user("dispatch", "派单", "centre", 5, "dispatcher", False,
     "一体派发（第十七条）：派单员选择承办单位（表单写入 unit），第三十条按首问负责/指定负责/兜底负责确定"
     "牵头单位（responsibility）与协办单位（assisting_units）、协办时限（assist_days），"
     "并可标注敏感程度（sensitivity）、申请升级为指令（upgrade、upgrade_reason）。退单获批后回到此处重新派单。")
script("prepare_dispatch", "派单登记", 6, """
upgrade_requested = bool(upgrade)
upgrade_point = "dispatch"
redispatched_after_return = returned_from is not None and unit == returned_from
""", doc="记录派单员是否申请升级；重派回原退单单位的作标记（004：无理退单的重新派发一次且不得再退）。")
rule("check_upgrade_at_dispatch", "升级审查（派单）", 7, "upgrade_policy",
     "第二十条：先后派发三个及以上成员单位仍未有效办理、敏感程度较高社会影响较大、或市指挥中心确认有必要的，"
     "“事件”升级为“指令”（dispatch_count 为本次派单前的派单次数）。")
gateway("gw_upgrade_at_dispatch", "升级为指令？", "system", 8)
script("apply_upgrade_at_dispatch", "升级为指令", 8, UPGRADE_SCRIPT, row=1, **UPGRADE_EVENT,
       doc="第二十条：“事件”升级为“指令”，签收与办理时限按指令执行（第二十二条）。")
script("start_clock", "开始计时", 9, """
dispatched_at = now()
dispatch_count = dispatch_count + 1
current_return_number = return_count + 1
""")
rule("sign_limit", "签收时限", 10, "sign_limit", "第二十二条：事件2个工作小时内签收，指令1个工作小时内签收。")
rule("handle_limit", "办理时限", 11, "handle_limit",
     "第二十二条：咨询3、求助5、建议10、投诉举报15个工作日；指令按任务单要求时间。")
script("compute_deadlines", "计算时限", 12, """
if sign_rule == "half_day":
    sign_due_at = half_day_deadline(dispatched_at)
else:
    sign_due_at = add_working_hours(dispatched_at, sign_limit_hours)
if kind == "directive" and directive_due_at:
    handle_due_at = directive_due_at
else:
    handle_due_at = add_working_days(dispatched_at, handle_limit_days)
""")

# -- duplicates merged into a master ticket (一体派发) ---------------------------
d.signal_boundary("merge_signal", "合并至主工单", "dispatch", "signal_merge", offset=30, label="R",
                  doc="辨重：派单员将重复诉求合并至主工单（merge 信号：into、reason），本工单不再单独派发，"
                      "随主工单办理，主工单答复后由本工单的回访员回访本诉求人。")
script("record_merge", "登记合并", 6, """
merged_into = merge_request.get("into")
merge_reason = merge_request.get("reason")
""", row=3, event="ticket_merged", event_fields=("merged_into", "merge_reason"))
d.catch_signal("await_master_reply", "等待主工单答复", 7, "signal_master_reply", row=3,
               doc="主工单答复认定通过后，运行时向每个合并工单发送 master_reply 信号（答复、承办单位、时限）。")
script("take_master_reply", "接收主工单答复", 8, """
reply = master_reply.get("reply")
unit = master_reply.get("unit")
kind = master_reply.get("kind") or kind
handle_due_at = master_reply.get("handle_due_at")
handle_limit_days = master_reply.get("handle_limit_days")
dispatched_at = master_reply.get("dispatched_at")
replied_at = now()
""", row=3, event="master_reply_received", event_fields=("merged_into", "unit", "reply"))
user("callback_merged", "回访（合并工单）", "callback", 9, "callback", False,
     "第十条：主工单的答复同样送达本工单诉求人并回访（satisfied、unit_at_fault、comment）。", form="callback")
gateway("gw_callback_merged", "满意？", "callback", 10, label="B")
script("archive_merged", "合并工单办结", 11, 'outcome = "archived"\nclosed_at = now()', lane="callback",
       doc="诉求人对主工单的答复满意的，本工单办结归档。")
node("end_merged", "endEvent", "合并工单办结", "callback", 12)
script("leave_merge", "退出合并单独派发", 11, """
merged_into = None
unit = None
""", row=3, event="ticket_unmerged", event_fields=("comment",),
       doc="诉求人不满意的，本工单退出合并，回到派单环节单独办理。")

# -- sign / return ------------------------------------------------------------
user("sign", "签收", "handler", 13, "handler", True,
     "第二十二条、第二十四条：承办单位签收（decision=accept）或申请退单（decision=return，填写 reason 与 suggested_unit）。")
d.timer("sign_overdue_timer", "签收超时", "sign", "sign_due_at")
script("record_sign_overdue", "标记签收超时", 13, "sign_overdue = True", row=1)
node("end_sign_overdue", "endEvent", "记录签收超时", "system", 14, row=1)
gateway("gw_sign", "签收还是退单？", "handler", 14)
rule("return_policy", "退单规则", 14, "return_policy",
     "第二十四条：仅“事件”可退单，1个工作日内；一次退单分管领导审核，二次退单主要领导审核；指令不得退单。")
script("check_return_window", "校验退单时限", 15,
       "return_in_window = is_before(now(), add_working_days(dispatched_at, return_window_days))")
gateway("gw_return", "允许退单？", "system", 16)
user("approve_return", "退单审批", "leader", 17, "leader", True,
     "第二十四条：一次退单由分管领导、二次及以上由主要领导审核（见 return_approver）。表单写入 approved、comment。")
script("refuse_return", "驳回退单", 17, "return_refused = True")
gateway("gw_return_approved", "领导同意退单？", "leader", 18, label="B")
script("accept_return", "退回中心重派", 19, """
return_count = return_count + 1
returned_from = unit
return_reason = reason
""")
script("record_signed", "记录签收", 20, """
signed_at = now()
if not is_before(signed_at, sign_due_at):
    sign_overdue = True
""", doc="签收时间晚于签收时限时同时置 sign_overdue（超时计时器分支的数据不会并入主分支）。")

# -- co-handling (lead + assisting units) ---------------------------------------
gateway("gw_cohandle", "有协办单位？", "system", 21, label="B")
script("start_assist", "启动协办", 22, """
assist_due_at = add_working_days(now(), assist_days)
if not is_before(assist_due_at, handle_due_at):
    assist_due_at = handle_due_at
assist_results = []
""", doc="协办时限为派单时确定的 assist_days 个工作日，且不晚于牵头单位的办理时限。")
user("assist", "协办", "assist", 23, "handler", True,
     "000 第三十条：职能交叉事项由市指挥中心明确牵头单位，其他相关成员单位为协办单位；001 附件4：协办单位服从"
     "牵头单位的协调、调度，配合做好本单位职责范围内相关工作，将协调处理的结果及时汇报牵头单位。"
     "每个协办单位一个并行实例（assist_unit），意见写入 assist_result，汇总为 assist_results 交牵头单位办理。",
     multi=dict(collection="assisting_units", item="assist_unit", output="assist_result",
                output_collection="assist_results"),
     unit_from="assist_unit", due="assist_due_at")

# -- handle, centre upgrade, extension -------------------------------------------
user("handle", "办理", "handler", 24, "handler", True,
     "第二十一条至第二十三条：承办单位（牵头单位，可参考协办意见 assist_results）办理并提交答复（action=reply，reply）、"
     "最终答复（action=final_reply）或申请延期（action=extend，extension_days、extension_reason）。")
d.timer("handle_overdue_timer", "办理超期", "handle", "handle_due_at", offset=30)
d.signal_boundary("upgrade_signal", "中心升级", "handle", "signal_upgrade", offset=-30, label="L",
                  doc="第二十条（四）：市指挥中心确认有必要升级的，发送 upgrade 信号（reason、sensitivity、due_at），"
                      "中断办理并重新审查。")
script("record_handle_overdue", "标记办理超期", 25, 'handle_overdue = True\nsupervision_trigger = "overdue"', row=1)
d.throw_message("request_supervision_overdue", "申请督办", 26, "message_supervision_request", row=1,
                doc="超期未办理：发出 supervision_request，由运行时启动督办实例（001 附件3 第四条）。")
node("end_handle_overdue", "endEvent", "记录办理超期", "system", 27, row=1)
script("take_upgrade_request", "登记升级指令", 25, """
upgrade_requested = True
upgrade_point = "centre"
upgrade_reason = upgrade_request.get("reason")
sensitivity = upgrade_request.get("sensitivity") or sensitivity
if upgrade_request.get("due_at"):
    directive_due_at = upgrade_request.get("due_at")
""", row=2)
rule("check_upgrade_by_centre", "升级审查（中心）", 26, "upgrade_policy",
     "第二十条（四）：其他经市指挥中心确认有必要升级的“事件”。", row=2)
gateway("gw_upgrade_by_centre", "升级为指令？", "system", 27, row=2, label="T")
gateway("gw_handle", "答复还是延期？", "handler", 25)
script("count_extension_request", "登记延期申请", 26, """
extension_requests = extension_requests + 1
upgrade_point = "extension"
upgrade_requested = False
""")
rule("check_upgrade_at_extension", "升级审查（延期）", 27, "upgrade_policy",
     "第二十条（二）：“事件”派发后，成员单位两次以上申请延期处理的，升级为“指令”。")
gateway("gw_upgrade_at_extension", "升级为指令？", "system", 28)
script("apply_upgrade_in_handling", "升级为指令", 28, UPGRADE_SCRIPT, row=1, **UPGRADE_EVENT,
       doc="第二十条：办理中升级为“指令”，重新确定办理时限；指令不得延期（第二十四条）。")
rule("handle_limit_after_upgrade", "指令办理时限", 29, "handle_limit",
     "第二十二条：“指令”按任务单明确要求时间办理，未载明的按办理时限表指令行。", row=1)
script("recompute_handle_deadline", "重算办理时限", 30, """
if directive_due_at:
    handle_due_at = directive_due_at
else:
    limit_due = add_working_days(dispatched_at, handle_limit_days)
    if is_before(limit_due, handle_due_at):
        handle_due_at = limit_due
""", row=1, doc="指令有任务单期限的按其期限；否则按指令时限自派单起算，且不晚于原办理时限。")
gateway("gw_upgrade_point", "延期申请？", "system", 31, row=1, label="TL")
rule("extension_policy", "延期规则", 31, "extension_policy",
     "第二十五条：仅“事件”可延期，期满前1个工作日提出，单位主要领导书面同意、市指挥中心同意；第二十四条：指令不得延期。")
script("check_extension", "校验延期申请", 32, """
extension_in_time = is_before(add_working_days(now(), extension_notice_days), handle_due_at)
extension_ok = extension_allowed and extension_in_time and extension_days <= extension_max_days
""")
gateway("gw_extension", "符合延期条件？", "system", 33)
user("approve_extension_unit", "延期审批（单位主要领导）", "leader", 34, "leader", True,
     "第二十五条：延期申请须经本单位主要领导同意。表单写入 approved、comment。")
gateway("gw_extension_unit", "单位领导同意？", "leader", 35, label="B")
script("refuse_extension", "驳回延期", 35, "extension_refused = True", row=1)
user("approve_extension", "延期审核（中心）", "centre", 36, "dispatcher", False,
     "第二十五条：获市指挥中心同意予以延期。表单写入 approved、comment。")
gateway("gw_extension_centre", "中心同意延期？", "centre", 37, label="T")
script("apply_extension", "延长办理时限", 38, """
extension_count = extension_count + 1
handle_due_at = add_working_days(handle_due_at, extension_days)
""")

# -- reply / review ---------------------------------------------------------------
script("prepare_reply", "确定审核人", 39, """
final_reply = action == "final_reply"
if kind == "directive" or final_reply or supervised:
    reply_approver = "principal"
else:
    reply_approver = "deputy"
""")
user("approve_reply", "答复审核", "leader", 39, "leader", True,
     "第二十二条、第二十三条：办理结果经单位主要领导或分管领导审核后反馈，“指令”须经本单位主要领导审核；"
     "004 四（四）：最终答复须经单位主要领导审核同意；001 附件5：反馈件须经单位分管负责同志（督办件经主要负责同志）"
     "审核、签批（审核人见 reply_approver）。表单写入 approved、comment。", role_from="reply_approver")
gateway("gw_approve_reply", "审核通过？", "leader", 40, label="B")
user("review_reply", "答复认定", "centre", 41, "dispatcher", False,
     "第二十三条：办理结果不规范、不具体、不完整的，由市指挥中心发回重办。表单写入 approved、comment。")
gateway("gw_review_reply", "认定通过？", "centre", 42, label="T")
script("record_replied", "记录答复", 43, """
replied_at = now()
if not is_before(replied_at, handle_due_at):
    handle_overdue = True
""", event="reply_recorded",
       event_fields=("unit", "reply", "handle_overdue", "kind", "dispatched_at", "handle_due_at", "handle_limit_days"),
       doc="答复时间晚于办理时限时同时置 handle_overdue（超期计时器分支的数据不会并入主分支）。")

# -- callback ---------------------------------------------------------------------
user("callback", "回访", "callback", 44, "callback", False,
     "第十条：电话询问、现场查看、当面访谈、视频点调等方式核实办理情况，记录满意度（satisfied、unit_at_fault、comment）。")
gateway("gw_final_reply", "最终答复？", "system", 45)
script("archive_final_reply", "最终答复归档", 46, 'outcome = "final_reply"\nclosed_at = now()', row=3,
       doc="004 四（四）：无理诉求经单位主要领导审核同意后在答复中注明“此为最终答复”，回访后办结归档。")
node("end_final_reply", "endEvent", "最终答复办结", "system", 47, row=3)
rule("callback_policy", "回访结果处理", 46, "callback_policy",
     "第十一条、第十二条：满意办结归档；不满意且属承办单位责任退回重办；重办后仍不满意下发督办指令。")
gateway("gw_callback", "回访结果", "system", 47, label="T")
script("start_rehandle", "退回重办", 48, """
rehandle_count = rehandle_count + 1
handle_due_at = add_working_days(now(), handle_limit_days)
""")
script("archive", "办结归档", 48, 'outcome = "archived"\nclosed_at = now()', row=1,
       doc="第十二条：评价满意和问题实际解决的事项直接办结并归档。")
node("end_archived", "endEvent", "办结归档", "system", 49, row=1)
script("mark_supervision", "下发督办指令", 48, """
supervised = True
supervision_trigger = "dissatisfied_again"
rehandle_count = rehandle_count + 1
handle_due_at = add_working_days(now(), handle_limit_days)
""", row=2, doc="第十一条：经重新办理评价仍不满意且属承办单位责任的，下发督办指令督促办理（回到办理）。")
d.throw_message("request_supervision_dissatisfied", "申请督办", 49, "message_supervision_request", row=2,
                doc="重办后仍不满意：发出 supervision_request，由运行时启动督办实例。")

# --------------------------------------------------------------------------
# Sequence flows (routing: see layout.py)
# --------------------------------------------------------------------------
flow("start", "decide_kind", style="hvh", dx=40)
flow("decide_kind", "check_scope")
flow("check_scope", "gw_scope")
flow("gw_scope", "close_out_of_scope", "不予受理", 'scope_outcome == "reject"')
flow("gw_scope", "mark_emergency", "紧急事项", 'scope_outcome == "emergency"', sp="B", tp="L", label="end")
flow("gw_scope", "close_direct_answer", "直接答复", 'request_type == "consult" and direct_answer',
     sp="B", tp="L", label="end")
flow("gw_scope", "suggest_unit", "受理", default=True, sp="T", tp="L")
flow("suggest_unit", "dispatch")
flow("close_out_of_scope", "end_rejected")
flow("mark_emergency", "end_emergency")
flow("close_direct_answer", "end_direct_answer")

flow("dispatch", "prepare_dispatch", sp="R", tp="T")
flow("merge_signal", "record_merge", sp="B", tp="L")
flow("record_merge", "await_master_reply")
flow("await_master_reply", "take_master_reply")
flow("take_master_reply", "callback_merged", sp="R", tp="T")
flow("callback_merged", "gw_callback_merged")
flow("gw_callback_merged", "archive_merged", "满意", "satisfied")
flow("gw_callback_merged", "leave_merge", "不满意", default=True, sp="T", tp="L")
flow("archive_merged", "end_merged")
flow("leave_merge", "dispatch", style="via", sp="R", tp="T", via=[("x", 11, 62), ("t", "t0")])
flow("prepare_dispatch", "check_upgrade_at_dispatch")
flow("check_upgrade_at_dispatch", "gw_upgrade_at_dispatch")
flow("gw_upgrade_at_dispatch", "apply_upgrade_at_dispatch", "升级", 'upgrade and kind == "event"', sp="B", tp="T")
flow("gw_upgrade_at_dispatch", "start_clock", "不升级", default=True)
flow("apply_upgrade_at_dispatch", "start_clock", sp="R", tp="B")
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
flow("record_signed", "gw_cohandle")

flow("gw_cohandle", "start_assist", "有协办", "assisting_units")
flow("gw_cohandle", "handle", "无协办", default=True, sp="T", tp="L")
flow("start_assist", "assist", sp="R", tp="B")
flow("assist", "handle", sp="T", tp="L")

flow("handle_overdue_timer", "record_handle_overdue", sp="B", tp="L")
flow("record_handle_overdue", "request_supervision_overdue")
flow("request_supervision_overdue", "end_handle_overdue")
flow("upgrade_signal", "take_upgrade_request", sp="B", tp="L")
flow("take_upgrade_request", "check_upgrade_by_centre")
flow("check_upgrade_by_centre", "gw_upgrade_by_centre")
flow("gw_upgrade_by_centre", "apply_upgrade_in_handling", "升级", 'upgrade and kind == "event"', sp="R", tp="B")
flow("gw_upgrade_by_centre", "handle", "不升级", default=True, style="via", sp="B", tp="L",
     via=[("t", "s1"), ("x", 24, -65)])
flow("handle", "gw_handle")
flow("gw_handle", "count_extension_request", "申请延期", 'action == "extend"', sp="B", tp="L")
flow("gw_handle", "prepare_reply", "提交答复", default=True, sp="R", tp="T")
flow("count_extension_request", "check_upgrade_at_extension")
flow("check_upgrade_at_extension", "gw_upgrade_at_extension")
flow("gw_upgrade_at_extension", "apply_upgrade_in_handling", "升级", 'upgrade and kind == "event"',
     sp="B", tp="T")
flow("gw_upgrade_at_extension", "extension_policy", "不升级", default=True)
flow("apply_upgrade_in_handling", "handle_limit_after_upgrade")
flow("handle_limit_after_upgrade", "recompute_handle_deadline")
flow("recompute_handle_deadline", "gw_upgrade_point")
flow("gw_upgrade_point", "extension_policy", "延期审查", 'upgrade_point == "extension"', sp="T", tp="B")
flow("gw_upgrade_point", "handle", "返回办理", default=True, style="via", sp="B", tp="L",
     via=[("t", "s2"), ("x", 24, -85)])
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

flow("prepare_reply", "approve_reply", sp="B", tp="T")
flow("approve_reply", "gw_approve_reply")
flow("gw_approve_reply", "review_reply", "通过", "approved", sp="R", tp="B")
flow("gw_approve_reply", "handle", "退回修改", default=True, style="track", sp="T", tp="T", track="t3", tdx=0)
flow("review_reply", "gw_review_reply")
flow("gw_review_reply", "record_replied", "通过", "approved", sp="R", tp="T")
flow("gw_review_reply", "handle", "发回重办", default=True, style="track", sp="B", tp="T", track="t1", tdx=-40)
flow("record_replied", "callback", style="hvh")
flow("callback", "gw_final_reply", style="hvh")
flow("gw_final_reply", "archive_final_reply", "最终答复", "final_reply", sp="B", tp="L", label="end")
flow("gw_final_reply", "callback_policy", "否", default=True)
flow("archive_final_reply", "end_final_reply")
flow("callback_policy", "gw_callback")
flow("gw_callback", "start_rehandle", "退回重办", 'callback_outcome == "rehandle"')
flow("gw_callback", "archive", "办结", default=True, sp="B", tp="L", label="end")
flow("gw_callback", "mark_supervision", "督办", 'callback_outcome == "supervise"', sp="B", tp="L", label="end")
flow("start_rehandle", "handle", style="track", sp="T", tp="T", track="t2", tdx=-20)
flow("archive", "end_archived")
flow("mark_supervision", "request_supervision_dissatisfied")
flow("request_supervision_dissatisfied", "handle", style="via", sp="R", tp="T", tdx=-45,
     via=[("x", 49, 60), ("t", "t6")])

NODES, FLOWS, SIGNALS, MESSAGES = d.nodes, d.flows, d.signals, d.messages
