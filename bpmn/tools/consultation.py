"""The consultation diagram (会商（1+X）), ``bpmn/consultation.bpmn``: 001 附件4 会商制度.

Start data: topic, description, proposer, proposer_unit (or None), ticket_ids (linked tickets),
lead_unit (suggested, may be None), assisting_units (suggested), mode ("1+X" | "one_matter") and
unit (None until the lead unit is confirmed).  The office confirms the topic and the lead unit, the
lead unit convenes and files the minutes, every agreed item becomes a parallel task for its unit,
and the lead unit sums up the reply.

Declared here, laid out and written by ``layout.py`` (``.venv/bin/python bpmn/tools/layout.py``).
"""
from __future__ import annotations

from pathlib import Path

try:
    from .model import Diagram
except ImportError:  # run as a script: bpmn/tools is on sys.path
    from model import Diagram

FILE = Path(__file__).resolve().parent.parent / "consultation.bpmn"

PROCESS = dict(
    definitions="definitions_consultation",
    target_namespace="urn:hotline12345:bpmn",
    collaboration="collaboration_consultation",
    participant="participant_consultation",
    participant_name="会商",
    id="consultation",
    name="会商（1+X）",
    documentation="001 附件4 会商制度：“一事一议”和“1+X”会商（1为牵头责任单位，X为协办单位）。"
                  "领导小组办公室确定议题和牵头单位，牵头单位组织会商并形成纪要，议定事项分解到责任单位限时落实，"
                  "牵头单位汇总答复相关诉求工单（ticket_ids）。",
    lane_set="laneset_consultation",
    diagram="diagram_consultation",
    plane="plane_consultation",
)

LANES = [
    ("lane_office", "领导小组办公室", 150, {0: 75}, {}),
    ("lane_lead_unit", "牵头责任单位", 150, {0: 75}, {}),
    ("lane_action_unit", "议定事项责任单位", 150, {0: 75}, {}),
    ("lane_system", "系统", 270, {0: 75, 1: 200}, {}),
]

LANE_SHORT = {
    "office": "lane_office",
    "lead": "lane_lead_unit",
    "action": "lane_action_unit",
    "system": "lane_system",
}

d = Diagram(LANE_SHORT)
node, user, script, rule, gateway, flow = d.node, d.user, d.script, d.rule, d.gateway, d.flow

node("start", "startEvent", "提请会商", "office", 0,
     doc="001 附件4 第三条：承办单位在工单办理中发现重点难点堵点问题，提请纳入会商议题库并提出牵头单位和协办单位建议名单。")
user("confirm_topic", "确定会商议题", "office", 1, "supervisor", False,
     "001 附件4 第四条：结合实际和工作需要确定会商主题，按“首接负责制”和“1+X会商”机制明确牵头责任单位和协办责任单位。"
     "表单写入 approved、lead_unit、assisting_units、mode、comment。")
gateway("gw_topic", "确定议题？", "system", 2, label="TL")
script("reject_topic", "不予会商", 2, 'outcome = "rejected"\nclosed_at = now()', row=1)
node("end_rejected", "endEvent", "不予会商", "system", 3, row=1)
script("assign_lead", "交牵头单位", 3, "unit = lead_unit\nminutes_due_at = add_working_days(now(), 5)",
       event="consultation_confirmed", event_fields=("lead_unit", "assisting_units", "mode", "minutes_due_at"),
       doc="001 附件4 第六条：会商纪要于会商次周报领导小组办公室（按5个工作日计）。")
user("convene", "组织会商并形成纪要", "lead", 4, "handler", True,
     "001 附件4 第五条、第六条：牵头单位组织“一事一议”或“1+X”会商；纪要明确会商主题、参会人员、会商经过、议定事项、"
     "职责分工和落实时限；未议定明确方案的提出解决思路和建议。表单写入 attendees、proceedings、"
     "agreed_items（item、unit、due_days、ticket_id）、division、no_solution_plan。", due="minutes_due_at")
script("schedule_actions", "分解议定事项", 5, """
actions = [{"item": i["item"], "unit": i["unit"], "ticket_id": i.get("ticket_id"), "due_at": add_working_days(now(), i["due_days"])} for i in agreed_items]
action_results = []
""", event="minutes_filed",
       event_fields=("attendees", "proceedings", "agreed_items", "division", "no_solution_plan"),
       doc="每个议定事项一个落实任务：责任单位、关联工单与落实期限（due_days 个工作日）。")
gateway("gw_actions", "有议定事项？", "system", 6, label="B")
user("carry_out_action", "落实议定事项", "action", 7, "handler", True,
     "001 附件4 第二条：协办单位服从牵头单位的协调、调度，做好本单位职责范围内相关工作并及时汇报结果。"
     "每个议定事项一个并行实例（action），结果写入 action_result，汇总为 action_results。",
     multi=dict(collection="actions", item="action", output="action_result", output_collection="action_results"),
     unit_from="action", due="action.due_at", subject_from="action.ticket_id")
user("summarize_consultation", "汇总答复", "lead", 8, "handler", True,
     "001 附件4 第二条：牵头责任单位负责会商结果的分解落实及相关诉求工单的汇总答复。表单写入 summary。")
script("conclude", "会商办结", 9, 'outcome = "concluded"\nclosed_at = now()',
       event="consultation_concluded", event_fields=("summary",))
node("end_concluded", "endEvent", "会商办结", "system", 10)

flow("start", "confirm_topic")
flow("confirm_topic", "gw_topic", sp="R", tp="T")
flow("gw_topic", "assign_lead", "确定", "approved")
flow("gw_topic", "reject_topic", "不予会商", default=True, sp="B", tp="T")
flow("reject_topic", "end_rejected")
flow("assign_lead", "convene", sp="R", tp="B")
flow("convene", "schedule_actions", sp="R", tp="T")
flow("schedule_actions", "gw_actions")
flow("gw_actions", "carry_out_action", "分解落实", "actions", sp="R", tp="B")
flow("gw_actions", "summarize_consultation", "无议定事项", default=True, sp="T", tp="L")
flow("carry_out_action", "summarize_consultation", sp="T", tp="L")
flow("summarize_consultation", "conclude", sp="R", tp="T")
flow("conclude", "end_concluded")

NODES, FLOWS, SIGNALS, MESSAGES = d.nodes, d.flows, d.signals, d.messages
