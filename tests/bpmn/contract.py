"""The public contract of the diagrams in bpmn/: what the engine, the forms and the rule tables rely on.

User tasks (lane, role, unit_scoped and the extra properties), business-rule tasks and their decisions,
script tasks that make the engine record an audit event, multi-instance tasks, signals and messages.
tests/bpmn checks the diagrams against these tables; tests/rules reads ``DECISIONS`` (via harness.py).
"""
from __future__ import annotations

# The public contract of the lifecycle: user task id -> (lane, role, unit_scoped)
USER_TASKS = {
    "dispatch": ("lane_centre", "dispatcher", "false"),
    "sign": ("lane_unit_handler", "handler", "true"),
    "approve_return": ("lane_unit_leader", "leader", "true"),
    "assist": ("lane_assist_handler", "handler", "true"),
    "handle": ("lane_unit_handler", "handler", "true"),
    "approve_extension_unit": ("lane_unit_leader", "leader", "true"),
    "approve_extension": ("lane_centre", "dispatcher", "false"),
    "approve_reply": ("lane_unit_leader", "leader", "true"),
    "review_reply": ("lane_centre", "dispatcher", "false"),
    "callback": ("lane_callback", "callback", "false"),
    "callback_merged": ("lane_callback", "callback", "false"),
}
# user task id -> its properties beyond form/role/unit_scoped
USER_TASK_EXTRAS = {
    "assist": {"unit_from": "assist_unit", "due": "assist_due_at"},
    "approve_reply": {"role_from": "reply_approver"},
}
# business-rule task id -> the decision it calls
DECISIONS = {
    "decide_kind": "ticket_kind",
    "suggest_unit": "category_unit",
    "check_scope": "scope_check",
    "check_upgrade_at_dispatch": "upgrade_policy",
    "sign_limit": "sign_limit",
    "handle_limit": "handle_limit",
    "return_policy": "return_policy",
    "check_upgrade_by_centre": "upgrade_policy",
    "check_upgrade_at_extension": "upgrade_policy",
    "handle_limit_after_upgrade": "handle_limit",
    "extension_policy": "extension_policy",
    "callback_policy": "callback_policy",
}
# script task id -> (event type, event fields) the engine records after it ran
UPGRADE_FIELDS = ("upgrade_trigger", "upgrade_point", "upgrade_reason", "sensitivity", "dispatch_count",
                  "extension_requests")
SCRIPT_EVENTS = {
    "apply_upgrade_at_dispatch": ("ticket_upgraded", UPGRADE_FIELDS),
    "apply_upgrade_in_handling": ("ticket_upgraded", UPGRADE_FIELDS),
    "record_replied": ("reply_recorded", ("unit", "reply", "handle_overdue", "kind", "dispatched_at",
                                          "handle_due_at", "handle_limit_days")),
    "record_merge": ("ticket_merged", ("merged_into", "merge_reason")),
    "take_master_reply": ("master_reply_received", ("merged_into", "unit", "reply")),
    "leave_merge": ("ticket_unmerged", ("comment",)),
}
# multi-instance user task id -> (collection, item, output item, output collection)
MULTI_INSTANCE = {"assist": ("assisting_units", "assist_unit", "assist_result", "assist_results")}
SIGNALS = {"upgrade": "upgrade_request", "merge": "merge_request", "master_reply": "master_reply"}                      # signal name -> variableName
SUPERVISION_PAYLOAD = ('{"trigger": supervision_trigger, "reason": supervision_reason, "unit": unit, '
                       '"kind": kind, "origin": origin}')
MESSAGES = {"supervision_request": SUPERVISION_PAYLOAD}       # message name -> payload expression
THROWS = {"request_supervision_overdue": "supervision_request",
          "request_supervision_dissatisfied": "supervision_request"}

# The same contract for the supervision and consultation processes.
CLOSED = ("supervision_closed", ("tier", "outcome"))
CONTRACTS = {
    "ticket_lifecycle": dict(user_tasks=USER_TASKS, extras=USER_TASK_EXTRAS, forms={"callback_merged": "callback"},
                             decisions=DECISIONS,
                             script_events=SCRIPT_EVENTS, multi=MULTI_INSTANCE),
    "supervision": dict(
        user_tasks={
            "routine_supervision": ("lane_owner", "supervisor", "false"),
            "register_order": ("lane_owner", "supervisor", "false"),
            "supervision_feedback": ("lane_unit_handler", "handler", "true"),
            "approve_supervision_feedback": ("lane_unit_principal", "principal", "true"),
            "verify_supervision": ("lane_owner", "supervisor", "false"),
        },
        extras={
            "routine_supervision": {"due": "order_due_at"},
            "register_order": {"role_from": "owner_role", "due": "order_due_at"},
            "supervision_feedback": {"due": "order_due_at"},
            "approve_supervision_feedback": {"due": "order_due_at"},
            "verify_supervision": {"role_from": "owner_role"},
        },
        decisions={"decide_tier": "supervision_policy"},
        script_events={
            "open_order": ("supervision_decided", ("trigger", "first_trigger", "reason", "tier", "owner", "owner_role", "method",
                                                   "public_commitment", "refer_discipline", "notify_citizen",
                                                   "order_due_at", "prior_tier")),
            "close_routine": CLOSED,
            "issue_order": ("supervision_order_issued", ("tier", "owner", "method", "order_due_at",
                                                         "public_commitment", "refer_discipline",
                                                         "notify_citizen", "content")),
            "close_order": CLOSED,
            "refer_discipline_inspection": ("discipline_referral", ("tier", "trigger", "reason", "comment")),
        },
        multi={}),
    "consultation": dict(
        user_tasks={
            "confirm_topic": ("lane_office", "supervisor", "false"),
            "convene": ("lane_lead_unit", "handler", "true"),
            "carry_out_action": ("lane_action_unit", "handler", "true"),
            "summarize_consultation": ("lane_lead_unit", "handler", "true"),
        },
        extras={
            "convene": {"due": "minutes_due_at"},
            "carry_out_action": {"unit_from": "action", "due": "action.due_at", "subject_from": "action.ticket_id"},
        },
        decisions={},
        script_events={
            "assign_lead": ("consultation_confirmed", ("lead_unit", "assisting_units", "mode", "minutes_due_at")),
            "schedule_actions": ("minutes_filed", ("attendees", "proceedings", "agreed_items", "division",
                                                   "no_solution_plan")),
            "conclude": ("consultation_concluded", ("summary",)),
        },
        multi={"carry_out_action": ("actions", "action", "action_result", "action_results")}),
}
