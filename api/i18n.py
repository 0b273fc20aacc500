"""UI strings: Chinese by default, English as the second language."""
from __future__ import annotations

from flask import request

STRINGS = {
    "app_name": ("12345政务服务便民热线工单平台", "12345 Hotline Ticket Platform"),
    "login": ("登录", "Sign in"), "logout": ("退出", "Sign out"), "username": ("用户名", "Username"),
    "password": ("密码", "Password"), "inbox": ("待办任务", "Inbox"), "intake": ("工单受理", "Intake"),
    "tickets": ("工单查询", "Tickets"), "api_docs": ("接口文档", "API docs"),
    "task": ("任务", "Task"), "ticket": ("工单", "Ticket"), "deadline": ("时限", "Deadline"),
    "status": ("状态", "Status"), "unit": ("承办单位", "Unit"), "submit": ("提交", "Submit"),
    "claim": ("认领", "Claim"), "assignee": ("认领人", "Assignee"), "history": ("办理过程", "History"),
    "no_tasks": ("暂无待办任务", "No open tasks"), "to_sign": ("待签收", "To sign"),
    "to_handle": ("待办理", "To handle"), "overdue": ("已超时", "Overdue"), "returned": ("退单待派", "Returned"),
    "yes": ("是", "Yes"), "no": ("否", "No"), "choose": ("请选择", "Choose"), "content": ("诉求内容", "Content"),
    "title": ("标题", "Title"), "citizen": ("诉求人", "Citizen"), "phone": ("联系电话", "Phone"),
    "address": ("地址", "Address"), "channel": ("渠道", "Channel"), "request_type": ("诉求类型", "Request type"),
    "received_at": ("受理时间", "Received"), "sign_due": ("签收时限", "Sign-off due"),
    "handle_due": ("办理时限", "Handling due"), "provisional": ("（节假日安排未公布，时限暂定）",
                                                          "(holiday schedule not yet published: provisional)"),
    "created": ("工单已创建", "Ticket created"), "completed": ("任务已提交", "Task completed"),
    "login_failed": ("用户名或密码错误", "Wrong username or password"), "kind": ("类别", "Kind"),
    "event": ("事件", "Event"), "directive": ("指令", "Directive"), "outcome": ("办理结果", "Outcome"),
    "scope": ("受理范围", "Scope"), "direct_answer": ("直接答复内容（咨询类）", "Direct answer (consultations)"),
    "open_tasks": ("当前任务", "Open tasks"), "search": ("搜索", "Search"), "number": ("工单编号", "Number"),
    "language": ("English", "中文"), "light_green": ("正常", "On time"), "light_yellow": ("临期", "Due soon"),
    "light_red": ("超时", "Overdue"), "claimed": ("已认领", "Claimed"),
    "rule_source": ("依据《%(name)s》v%(version)s 第%(rules)s条规则", "From rule %(rules)s of %(name)s v%(version)s"),
    "inputs": ("输入", "inputs"), "rule_sets": ("规则集版本", "Rule sets"), "version": ("版本", "Version"),
    "created_by": ("部署人", "Deployed by"), "created_at": ("部署时间", "Deployed at"), "active": ("生效中", "Active"),
    "activate": ("启用", "Activate"), "diff": ("差异", "Diff"), "files": ("文件", "Files"), "change": ("变更", "Change"),
    "before": ("变更前", "Before"), "after": ("变更后", "After"), "admin_log": ("管理操作记录", "Admin log"),
    "console": ("决策测试台", "Decision console"), "city": ("城市", "City"), "decision": ("决策", "Decision"),
    "draft": ("草稿DMN（可选，留空则用生效版本）", "Draft DMN (optional; empty = active version)"),
    "evaluate": ("试算", "Evaluate"), "outputs": ("输出", "Outputs"), "matched": ("命中规则", "Matched rules"),
    "inputs_not_json": ("输入必须是JSON对象", "Inputs must be a JSON object"),
    "messages": ("消息", "Messages"), "mark_read": ("标为已读", "Mark read"), "no_messages": ("暂无消息", "No messages"),
    "unread": ("未读", "Unread"), "read": ("已读", "Read"), "urgent": ("紧急", "Urgent"), "time": ("时间", "Time"),
    "message_kind": ("类型", "Type"), "only_unread": ("只看未读", "Unread only"), "all": ("全部", "All"),
    "delivery": ("外发", "Outbound"), "held_until": ("非工作时间，待%(at)s发送", "Held until %(at)s (outside working hours)"),
    "activated": ("%(city)s 规则集 v%(version)s 已启用", "%(city)s rule set v%(version)s is active"),
}
REQUEST_TYPE_NAMES = {"consult": ("咨询", "Consult"), "help": ("求助", "Help"), "suggestion": ("建议", "Suggestion"),
                      "complaint": ("投诉", "Complaint"), "report": ("举报", "Report"), "praise": ("表扬", "Praise")}
STATUS_NAMES = {
    "new": ("新建", "New"), "dispatching": ("待派单", "To dispatch"), "signing": ("待签收", "To sign"),
    "return_approval": ("退单审批", "Return approval"), "handling": ("办理中", "Handling"),
    "extension_approval": ("延期审批", "Extension approval"), "extension_review": ("延期审核", "Extension review"),
    "reply_approval": ("答复审核", "Reply approval"), "reply_review": ("答复认定", "Reply review"),
    "callback": ("待回访", "Callback"), "closed": ("已办结", "Closed"),
}
OUTCOME_NAMES = {"archived": ("办结归档", "Archived"), "rejected": ("不予受理", "Not accepted"),
                 "emergency_transfer": ("转应急联动", "Transferred to emergency services"),
                 "answered": ("直接答复办结", "Answered directly"), "supervision": ("转督办", "Sent to supervision")}

MESSAGE_KINDS = {"task": ("新任务", "New task"), "warning": ("临期预警", "Due soon"), "overdue": ("已超时", "Overdue")}

EVENT_NAMES = {"ticket_created": ("受理登记", "Ticket created"), "decision_evaluated": ("规则判定", "Rule decision"),
               "task_created": ("生成任务", "Task created"), "task_completed": ("完成任务", "Task completed"),
               "task_claimed": ("认领任务", "Task claimed"), "timer_fired": ("时限到期", "Deadline passed"),
               "status_changed": ("状态变更", "Status changed")}


def current_language() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    return lang if lang in ("zh", "en") else "zh"


def _pick(pair):
    return pair[1] if current_language() == "en" else pair[0]


def t(key: str) -> str:
    return _pick(STRINGS[key]) if key in STRINGS else key


def named(table: dict, value) -> str:
    return _pick(table[value]) if value in table else (value or "")


def register(app) -> None:
    app.jinja_env.globals.update(
        t=t, lang=current_language,
        request_type_name=lambda v: named(REQUEST_TYPE_NAMES, v),
        status_name=lambda v: named(STATUS_NAMES, v),
        outcome_name=lambda v: named(OUTCOME_NAMES, v),
        event_name=lambda v: named(EVENT_NAMES, v),
        message_kind_name=lambda v: named(MESSAGE_KINDS, v),
        unit_name=unit_name,
    )


def unit_name(code: str | None, city: str = "nantong") -> str:
    """A unit's display name; the code itself when unknown."""
    if not code:
        return "—"
    from engine.cities import available_cities, load_city
    for candidate in [city, *available_cities()]:
        unit = load_city(candidate).unit(code)
        if unit:
            return unit["name"]
    return code
