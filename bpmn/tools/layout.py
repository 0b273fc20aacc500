"""Generator for ``bpmn/ticket_lifecycle.bpmn``.

The diagram (process semantics *and* the BPMNDI layout) is described once, in
the tables below, and written out as a normal BPMN 2.0 XML file that opens in
Camunda Modeler and bpmn.io.  The generated file is committed; re-run this
script after changing the tables::

    .venv/bin/python bpmn/tools/layout.py            # writes bpmn/ticket_lifecycle.bpmn
    .venv/bin/python bpmn/tools/layout.py --check    # exit 1 if the file is stale

Editing the .bpmn file in a modeler is fine too; this script is only a
convenience for keeping the orthogonal layout tidy (it also checks that no two
shapes overlap and that no edge runs through a shape it does not connect).

Layout model: every flow node sits in a lane, a column and (for the system
lane, which has several) a row.  Columns are ``COL_W`` apart; all shapes of a
row share one centre line.  Edges are orthogonal polylines built from ports
(``L``/``R``/``T``/``B`` of a shape) and a routing style.  Back edges (loops
to 派单/签收/办理) run in horizontal "tracks" at the top of the centre and
handler lanes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "ticket_lifecycle.bpmn"

# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------
COL_W = 150
X0 = 270  # centre x of column 0
POOL_X = 150
POOL_Y = 80
POOL_LABEL_W = 30

SIZES = {
    "task": (100, 80),
    "gateway": (50, 50),
    "event": (36, 36),
}

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
#   style "hvh"   : horizontal, vertical at x=options["x"] (default midway), horizontal
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

# --------------------------------------------------------------------------
# Geometry computation
# --------------------------------------------------------------------------
N_COLS = max(n["col"] for n in NODES.values()) + 1
POOL_W = (X0 + (N_COLS - 1) * COL_W + 90) - POOL_X
LANE_X = POOL_X + POOL_LABEL_W
LANE_W = POOL_W - POOL_LABEL_W

LANE_GEOM = {}
_y = POOL_Y
for lane_id, lane_name, height, rows, tracks in LANES:
    LANE_GEOM[lane_id] = dict(name=lane_name, y=_y, h=height,
                              rows={r: _y + off for r, off in rows.items()},
                              tracks={t: _y + off for t, off in tracks.items()})
    _y += height
POOL_H = _y - POOL_Y
TRACKS = {t: y for g in LANE_GEOM.values() for t, y in g["tracks"].items()}


def size_of(n):
    k = n["kind"]
    if k.endswith("Task"):
        return SIZES["task"]
    if k == "exclusiveGateway":
        return SIZES["gateway"]
    return SIZES["event"]


def compute_bounds():
    for n in NODES.values():
        w, h = size_of(n)
        cx = X0 + n["col"] * COL_W
        if n["kind"] == "boundaryEvent":
            host = NODES[n["attached_to"]]
            hb = host_bounds(host)
            cy = hb[1] + hb[3]  # centred on the host's bottom edge
        else:
            cy = LANE_GEOM[n["lane"]]["rows"][n["row"]]
        n["cx"], n["cy"] = cx, cy
        n["bounds"] = (cx - w // 2, cy - h // 2, w, h)


def host_bounds(host):
    w, h = size_of(host)
    cx = X0 + host["col"] * COL_W
    cy = LANE_GEOM[host["lane"]]["rows"][host["row"]]
    return (cx - w // 2, cy - h // 2, w, h)


def port(n, side, dx=0):
    x, y, w, h = n["bounds"]
    cx, cy = x + w / 2, y + h / 2
    return {
        "L": (x, cy),
        "R": (x + w, cy),
        "T": (cx + dx, y),
        "B": (cx + dx, y + h),
    }[side]


def route(f):
    s, t = NODES[f["src"]], NODES[f["tgt"]]
    sp, tp, o = f["sp"], f["tp"], f["opts"]
    p0 = port(s, sp, o.get("sdx", 0))
    p1 = port(t, tp, o.get("tdx", 0))
    style = f["style"]
    if style == "track":
        ty = TRACKS[o["track"]]
        pts = [p0, (p0[0], ty), (p1[0], ty), p1]
    elif style == "hvh":
        mx = p0[0] + o["dx"] if "dx" in o else (p0[0] + p1[0]) / 2
        pts = [p0, (mx, p0[1]), (mx, p1[1]), p1]
    elif p0[0] == p1[0] or p0[1] == p1[1]:
        pts = [p0, p1]
    elif sp in "LR" and tp in "TB":
        pts = [p0, (p1[0], p0[1]), p1]
    elif sp in "TB" and tp in "LR":
        pts = [p0, (p0[0], p1[1]), p1]
    else:
        raise ValueError(f"cannot route {f['id']} {sp}->{tp}")
    # drop duplicate consecutive points
    out = [pts[0]]
    for p in pts[1:]:
        if p != out[-1]:
            out.append(p)
    f["points"] = [(int(round(x)), int(round(y))) for x, y in out]


def text_width(text):
    return max(20, sum(13 if ord(ch) > 0x2E80 else 7 for ch in text) + 4)


def node_label(n):
    """Label bounds for events and gateways (tasks carry their label inside)."""
    x, y, w, h = n["bounds"]
    tw = text_width(n["name"])
    if n["kind"] == "exclusiveGateway":
        pos = n.get("label", "T")
        if pos == "T":
            return (x + w / 2 - tw / 2, y - 22, tw, 14)
        if pos == "B":
            return (x + w / 2 - tw / 2, y + h + 6, tw, 14)
        if pos == "TL":
            return (x - tw - 2, y - 16, tw, 14)
        if pos == "TR":
            return (x + w + 2, y - 16, tw, 14)
    if n["kind"] == "boundaryEvent":
        return (x + w + 4, y + h - 8, tw, 14)
    return (x + w / 2 - tw / 2, y + h + 5, tw, 14)


def edge_label(f):
    if not f["name"]:
        return None
    tw = text_width(f["name"])
    if f["opts"].get("label") == "end":  # above the last segment, just before the target
        (x0, y0), (x1, y1) = f["points"][-2], f["points"][-1]
        if y0 == y1:
            return (x1 - tw - 6, y1 - 18, tw, 14) if x1 > x0 else (x1 + 6, y1 - 18, tw, 14)
        return (x1 + 6, y1 - 24, tw, 14) if y1 > y0 else (x1 + 6, y1 + 6, tw, 14)
    (x0, y0), (x1, y1) = f["points"][0], f["points"][1]
    if y0 == y1:  # horizontal first segment
        if x1 > x0:
            return (x0 + 8, y0 - 18, tw, 14)
        return (x0 - tw - 8, y0 - 18, tw, 14)
    if y1 < y0:  # going up
        return (x0 + 6, y0 - 24, tw, 14)
    return (x0 + 6, y0 + 6, tw, 14)


# --------------------------------------------------------------------------
# Layout checks
# --------------------------------------------------------------------------
def _overlap(a, b, pad=0):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + pad and bx < ax + aw + pad and ay < by + bh + pad and by < ay + ah + pad


def _segment_hits(p, q, rect):
    x, y, w, h = rect
    x0, x1 = sorted((p[0], q[0]))
    y0, y1 = sorted((p[1], q[1]))
    # strictly inside (1px tolerance) counts as a hit
    return x0 < x + w - 1 and x1 > x + 1 and y0 < y + h - 1 and y1 > y + 1


def check_layout():
    problems = []
    nodes = list(NODES.values())
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            if a.get("attached_to") == b["id"] or b.get("attached_to") == a["id"]:
                continue
            if _overlap(a["bounds"], b["bounds"], pad=10):
                problems.append(f"shapes overlap: {a['id']} / {b['id']}")
    for n in nodes:
        lane = LANE_GEOM[n["lane"]]
        x, y, w, h = n["bounds"]
        if not (lane["y"] < y and y + h < lane["y"] + lane["h"]):
            problems.append(f"{n['id']} sticks out of its lane {n['lane']}")
        if x < LANE_X + 30 or x + w > LANE_X + LANE_W:
            problems.append(f"{n['id']} outside the pool horizontally")
    for f in FLOWS:
        ends = {f["src"], f["tgt"]}
        src = NODES[f["src"]]
        if src.get("attached_to"):
            ends.add(src["attached_to"])
        pts = f["points"]
        for n in nodes:
            if n["id"] in ends:
                continue
            for p, q in zip(pts, pts[1:]):
                if _segment_hits(p, q, n["bounds"]):
                    problems.append(f"edge {f['id']} crosses {n['id']}")
                    break
    labels = [(n["id"], node_label(n)) for n in nodes if not n["kind"].endswith("Task")]
    labels += [(f["id"], edge_label(f)) for f in FLOWS if f["name"]]
    for lid, lb in labels:
        for n in nodes:
            if _overlap(lb, n["bounds"]):
                problems.append(f"label of {lid} overlaps {n['id']}")
    for i, (aid, a) in enumerate(labels):
        for bid, b in labels[i + 1:]:
            if _overlap(a, b):
                problems.append(f"labels overlap: {aid} / {bid}")
    return problems


# --------------------------------------------------------------------------
# XML output
# --------------------------------------------------------------------------
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}


def a(v):
    return quoteattr(str(v))


def fmt(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


def bounds_xml(b, indent):
    x, y, w, h = b
    return f'{indent}<dc:Bounds x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" height="{fmt(h)}" />'


def build_xml():
    incoming = {nid: [] for nid in NODES}
    outgoing = {nid: [] for nid in NODES}
    for f in FLOWS:
        outgoing[f["src"]].append(f["id"])
        incoming[f["tgt"]].append(f["id"])

    L = []
    w = L.append
    w('<?xml version="1.0" encoding="UTF-8"?>')
    nsdecl = " ".join(f"xmlns:{k}={a(v)}" for k, v in NS.items())
    w(f'<bpmn:definitions {nsdecl} id="definitions_ticket_lifecycle" '
      'targetNamespace="urn:hotline12345:bpmn" exporter="bpmn/tools/layout.py" '
      'exporterVersion="1.0">')
    w('  <bpmn:collaboration id="collaboration_ticket">')
    w('    <bpmn:participant id="participant_ticket" name="12345工单" processRef="ticket_lifecycle" />')
    w('  </bpmn:collaboration>')
    w('  <bpmn:process id="ticket_lifecycle" name="工单生命周期" isExecutable="true">')
    w('    <bpmn:documentation>12345热线工单生命周期（南通规则起步，规则表见 rules/&lt;city&gt;/*.dmn）。'
      '脚本与条件为 Python 表达式；时间均为 +08:00 的 ISO 8601 字符串，'
      '由运行时提供 now()、add_working_hours()、add_working_days()、working_hours_between()、is_before()。</bpmn:documentation>')
    w('    <bpmn:laneSet id="laneset_ticket">')
    for lane_id, lane_name, *_ in LANES:
        w(f'      <bpmn:lane id="{lane_id}" name={a(lane_name)}>')
        for n in NODES.values():
            if n["lane"] == lane_id:
                w(f'        <bpmn:flowNodeRef>{n["id"]}</bpmn:flowNodeRef>')
        w('      </bpmn:lane>')
    w('    </bpmn:laneSet>')

    for n in NODES.values():
        k = n["kind"]
        attrs = f'id="{n["id"]}" name={a(n["name"])}'
        if k == "exclusiveGateway":
            d = [f["id"] for f in FLOWS if f["src"] == n["id"] and f["default"]]
            assert len(d) == 1, n["id"]
            attrs += f' default="{d[0]}"'
        if k == "businessRuleTask":
            attrs += f' camunda:decisionRef="{n["decision"]}"'
        if k == "boundaryEvent":
            attrs += f' cancelActivity="false" attachedToRef="{n["attached_to"]}"'
        w(f'    <bpmn:{k} {attrs}>')
        if n.get("doc"):
            w(f'      <bpmn:documentation>{escape(n["doc"])}</bpmn:documentation>')
        if k == "userTask":
            w('      <bpmn:extensionElements>')
            w('        <spiffworkflow:properties>')
            w(f'          <spiffworkflow:property name="form" value="{n["id"]}" />')
            w(f'          <spiffworkflow:property name="role" value="{n["role"]}" />')
            w(f'          <spiffworkflow:property name="unit_scoped" value="{str(n["unit_scoped"]).lower()}" />')
            w('        </spiffworkflow:properties>')
            w('      </bpmn:extensionElements>')
        if k == "businessRuleTask":
            w('      <bpmn:extensionElements>')
            w(f'        <spiffworkflow:calledDecisionId>{n["decision"]}</spiffworkflow:calledDecisionId>')
            w('      </bpmn:extensionElements>')
        for fid in incoming[n["id"]]:
            w(f'      <bpmn:incoming>{fid}</bpmn:incoming>')
        for fid in outgoing[n["id"]]:
            w(f'      <bpmn:outgoing>{fid}</bpmn:outgoing>')
        if k == "scriptTask":
            w(f'      <bpmn:script>{escape(n["script"])}</bpmn:script>')
        if k == "boundaryEvent":
            w(f'      <bpmn:timerEventDefinition id="{n["id"]}_definition">')
            w(f'        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">{n["time_date"]}</bpmn:timeDate>')
            w('      </bpmn:timerEventDefinition>')
        w(f'    </bpmn:{k}>')

    for f in FLOWS:
        attrs = f'id="{f["id"]}"'
        if f["name"]:
            attrs += f' name={a(f["name"])}'
        attrs += f' sourceRef="{f["src"]}" targetRef="{f["tgt"]}"'
        if f["cond"]:
            w(f'    <bpmn:sequenceFlow {attrs}>')
            w(f'      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(f["cond"])}</bpmn:conditionExpression>')
            w('    </bpmn:sequenceFlow>')
        else:
            w(f'    <bpmn:sequenceFlow {attrs} />')
    w('  </bpmn:process>')

    # ---- diagram interchange
    w('  <bpmndi:BPMNDiagram id="diagram_ticket_lifecycle">')
    w('    <bpmndi:BPMNPlane id="plane_ticket_lifecycle" bpmnElement="collaboration_ticket">')
    w('      <bpmndi:BPMNShape id="participant_ticket_di" bpmnElement="participant_ticket" isHorizontal="true">')
    w(bounds_xml((POOL_X, POOL_Y, POOL_W, POOL_H), "        "))
    w('        <bpmndi:BPMNLabel />')
    w('      </bpmndi:BPMNShape>')
    for lane_id, *_ in LANES:
        g = LANE_GEOM[lane_id]
        w(f'      <bpmndi:BPMNShape id="{lane_id}_di" bpmnElement="{lane_id}" isHorizontal="true">')
        w(bounds_xml((LANE_X, g["y"], LANE_W, g["h"]), "        "))
        w('        <bpmndi:BPMNLabel />')
        w('      </bpmndi:BPMNShape>')
    # hosts before their boundary events so the events are drawn on top
    ordered = [n for n in NODES.values() if n["kind"] != "boundaryEvent"]
    ordered += [n for n in NODES.values() if n["kind"] == "boundaryEvent"]
    for n in ordered:
        extra = ' isMarkerVisible="true"' if n["kind"] == "exclusiveGateway" else ""
        w(f'      <bpmndi:BPMNShape id="{n["id"]}_di" bpmnElement="{n["id"]}"{extra}>')
        w(bounds_xml(n["bounds"], "        "))
        if not n["kind"].endswith("Task"):
            w('        <bpmndi:BPMNLabel>')
            w(bounds_xml(node_label(n), "          "))
            w('        </bpmndi:BPMNLabel>')
        w('      </bpmndi:BPMNShape>')
    for f in FLOWS:
        w(f'      <bpmndi:BPMNEdge id="{f["id"]}_di" bpmnElement="{f["id"]}">')
        for x, y in f["points"]:
            w(f'        <di:waypoint x="{fmt(x)}" y="{fmt(y)}" />')
        lb = edge_label(f)
        if lb:
            w('        <bpmndi:BPMNLabel>')
            w(bounds_xml(lb, "          "))
            w('        </bpmndi:BPMNLabel>')
        w('      </bpmndi:BPMNEdge>')
    w('    </bpmndi:BPMNPlane>')
    w('  </bpmndi:BPMNDiagram>')
    w('</bpmn:definitions>')
    return "\n".join(L) + "\n"


def generate():
    compute_bounds()
    for f in FLOWS:
        route(f)
    return build_xml(), check_layout()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    ap.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = ap.parse_args(argv)
    xml, problems = generate()
    for p in problems:
        print("layout:", p, file=sys.stderr)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != xml:
            print(f"{args.output} is out of date; run bpmn/tools/layout.py", file=sys.stderr)
            return 1
        return 1 if problems else 0
    args.output.write_text(xml, encoding="utf-8")
    print(f"wrote {args.output} ({len(NODES)} nodes, {len(FLOWS)} flows)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
