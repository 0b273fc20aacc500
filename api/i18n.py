"""UI strings: Chinese by default, English as the second language."""
from __future__ import annotations

from flask import request

STRINGS = {
    "channel_clients": ("渠道接入方", "Channel clients"), "webhook_deliveries": ("上级平台回传", "Upstream status reports"),
    "emergency": ("应急移交", "Emergency hand-offs"), "emergency_agency": ("紧急事项移交机构", "Emergency: hand to"),
    "emergency_agency_none": ("（非紧急）", "(not an emergency)"), "emergency_reason": ("紧急情况说明", "Emergency details"),
    "emergency_requested": ("待移交", "To hand over"), "emergency_handed_over": ("已移交待确认", "Handed over"),
    "emergency_acknowledged": ("已确认接收", "Acknowledged"), "emergency_hand_over": ("已转接", "Mark handed over"),
    "emergency_acknowledge": ("确认接收", "Acknowledge"), "emergency_reference": ("接收机构编号", "Agency's incident no."),
    "emergency_requested_at": ("登记时间", "Requested"), "emergency_handed_over_at": ("移交时间", "Handed over"),
    "emergency_acknowledged_at": ("确认时间", "Acknowledged"), "emergency_none": ("没有应急移交记录", "No emergency hand-offs"),
    "emergency_note": ("备注", "Note"), "emergency_all": ("全部", "All"), "emergency_open": ("未完成", "Open"),
    "scores": ("单位考核得分", "Unit scores"), "score_period": ("考核周期（年-月或年）", "Period (YYYY-MM or YYYY)"),
    "score_rank": ("名次", "Rank"), "score_total": ("得分", "Score"), "score_scopes": ("单独考核", "Scored separately"),
    "score_prorated": ("（合理缺项，按比例折算）", "(reasonable absence, prorated)"), "score_absent": ("合理缺项", "reasonable absence"),
    "score_item": ("考核事项", "Item"), "score_points": ("得分/满分", "Points / max"), "score_why": ("扣分及依据", "Deductions and why"),
    "score_rate": ("比率", "rate"), "score_threshold": ("标准", "threshold"), "score_average": ("平均", "average"),
    "score_evidence": ("依据", "evidence"), "score_scope_provincial": ("省级工单", "Provincial tickets"),
    "score_scope_city": ("市级工单", "City tickets"),
    "reports": ("分析报告", "Reports"), "cockpit": ("领导驾驶舱", "Leaders' cockpit"),
    "report_kind": ("报告", "Report"), "report_period": ("周期", "Period"), "report_actions": ("下载与签发", "Download and issue"),
    "report_period_day": ("年-月-日", "YYYY-MM-DD"), "report_period_week": ("年-W周，如 2026-W48", "YYYY-Www, e.g. 2026-W48"),
    "report_period_month": ("年-月", "YYYY-MM"), "report_issue": ("签发并推送", "Issue and send"),
    "report_issued": ("报告已签发并推送给报送对象", "The report was issued and sent to its recipients"),
    "report_issued_list": ("已签发的报告", "Issued reports"), "report_issued_at": ("签发时间", "Issued at"),
    "report_recipients": ("报送对象", "Recipients"), "report_none_issued": ("尚未签发报告", "No report issued yet"),
    "report_generated": ("生成于", "Generated"), "report_no_rows": ("无数据", "No data"), "report_month": ("月份", "Month"),
    "download_xlsx": ("下载Excel", "Download Excel"), "download_pdf": ("下载PDF", "Download PDF"),
    "kpis": ("单位考核指标", "Unit KPIs"), "kpi_by": ("分组", "Group by"), "kpi_by_unit": ("按单位", "By unit"),
    "kpi_by_request_type": ("按单位和诉求类型", "By unit and request type"), "kpi_tickets": ("计入工单", "Tickets counted"),
    "kpi_rule_received": ("按受理时间计入周期", "Tickets count in the period they were received"),
    "kpi_rule_closed": ("按办结时间计入周期，未办结的顺延", "Tickets count in the period they closed; open ones roll forward"),
    "kpi_satisfaction_first_callback": ("满意率=首次回访满意数/回访数", "Satisfaction = satisfied first callbacks / answered first callbacks"),
    "kpi_satisfaction_second_evaluation": ("满意率=1−第二次评价不满意数/办理工单数", "Satisfaction = 1 − dissatisfied second evaluations / handled"),
    "kpi_dispatched": ("派发", "Dispatched"), "kpi_handled": ("办理", "Handled"), "kpi_sign_rate": ("及时签收率", "Timely sign-off"),
    "kpi_on_time_rate": ("按时办结率", "On time"), "kpi_avg_handling_hours": ("平均办理时长（工作小时）", "Avg. handling (working h)"),
    "kpi_return_rate": ("退单率", "Return rate"), "kpi_improper_returns": ("不当退单", "Improper returns"),
    "kpi_extensions": ("延期次数", "Extensions"), "kpi_satisfaction_rate": ("满意率", "Satisfaction"),
    "kpi_resolution_rate": ("解决率", "Resolution"), "kpi_reopened": ("重办", "Reopened"),
    "kpi_repeat_complaints": ("重复投诉", "Repeat complaints"), "kpi_leader_reading_rate": ("阅批率", "Leader reading rate"),
    "kpi_efficiency_index": ("效能指数", "Efficiency index"), "kpi_supervision": ("督办", "Supervision"),
    "kpi_none": ("本期没有工单", "No tickets in this period"), "kpi_abnormal": ("异常办件（不作为、慢作为、乱作为）", "Abnormal cases"),
    "kpi_no_abnormal": ("无异常办件", "No abnormal cases"), "kpi_kind": ("类型", "Kind"),
    "abnormal_inaction": ("不作为", "Inaction"), "abnormal_slow": ("慢作为", "Slow action"), "abnormal_misconduct": ("乱作为", "Misconduct"),
    "abnormal_sign_overdue": ("超时未签收", "Not signed by the deadline"), "abnormal_handle_overdue": ("超期未答复", "No reply by the deadline"),
    "abnormal_replied_late": ("超期答复", "Replied late"), "abnormal_repeated_extensions": ("两次以上延期", "Two or more extensions"),
    "abnormal_improper_return": ("不当退单", "Improper return"), "abnormal_reply_sent_back": ("答复被发回重办", "Reply sent back"),
    "tier_0": ("日常督办", "Routine"), "tier_1": ("一级督办", "Tier 1"), "tier_2": ("二级督办", "Tier 2"), "tier_3": ("三级督办", "Tier 3"),
    "leader_reading": ("领导阅批", "Leader's reading"), "leader_comment": ("阅批意见", "Instruction"),
    "leader_read_recorded": ("阅批已记录", "Reading recorded"),
    "smart_dispatch": ("智能分拨建议", "Smart dispatch suggestion"), "suggested_category": ("建议分类", "Suggested category"),
    "suggested_unit": ("建议承办单位", "Suggested unit"), "confidence": ("置信度", "confidence"),
    "source_rule": ("按分类对应单位表", "from the category-to-unit table"), "source_model": ("模型按历史办结单位建议", "model, from final units of closed tickets"),
    "low_confidence": ("置信度低于本市阈值，请派单员自行判断。", "Confidence is below the city's threshold: the dispatcher decides."),
    "similar_tickets": ("相似工单（辨重）", "Similar tickets (duplicate check)"), "score": ("相似度", "Score"),
    "reasons": ("依据", "Reasons"), "merge": ("合并", "Merge"), "merge_reason": ("合并理由", "Reason"),
    "merge_into_this": ("合并至此工单", "Merge into this ticket"), "is_merged": ("已合并", "Merged"),
    "no_similar": ("未发现相似工单", "No similar tickets found"), "merged_into": ("已合并至主工单，随主工单办理", "Merged: it follows its master ticket"),
    "merged_into_label": ("已合并至主工单", "Merged into"), "kb_answered_from": ("答复所用知识库条目", "Answered from entry"), "category": ("诉求分类", "Category"),
    "category_unset": ("（未分类，可由派单员确定）", "(none yet; the dispatcher may set it)"),
    "sensitivity": ("敏感程度", "Sensitivity"), "sensitivity_normal": ("一般", "Normal"),
    "sensitivity_high": ("敏感程度较高、社会影响力较大", "High (sensitive, wide social impact)"),
    "check_reply": ("检查答复", "Check the reply"), "reply_ok": ("未发现问题", "No problems found"),
    "reply_relevance": ("与诉求关联度", "Relevance to the request"),
    "all_tasks": ("全部任务", "All tasks"), "all_lights": ("全部时限状态", "All deadlines"),
    "claimed_by_me": ("我认领的", "Claimed by me"),
    "export_pdf": ("导出PDF", "Export PDF"), "cut_at": ("已截断，原长", "cut, full length"),
    "data": ("数据", "Data"),
    "attachments": ("附件（照片与文件）", "Attachments (photos and files)"), "add_attachment": ("添加附件", "Add a file"),
    "attachment_rules": ("接受 JPEG/PNG/GIF/WebP 照片和 PDF，单个不超过5MB", "JPEG/PNG/GIF/WebP photos and PDF, up to 5 MB each"),
    "upload_file": ("上传", "Upload"), "attachment_added": ("附件已上传", "File added"),
    "form_definition": ("任务表单定义（JSON）", "Task form definition (JSON)"), "task_forms": ("本流程的任务表单", "Task forms of this diagram"),
    "builtin": ("内置", "Built-in"),
    "studio": ("流程与规则编辑", "Studio"), "active_version": ("当前启用版本", "Active version"), "file": ("文件", "File"),
    "state": ("状态", "State"), "updated": ("更新", "Updated"), "draft_state": ("草稿", "Draft"), "download": ("下载", "Download"),
    "discard_draft": ("放弃草稿", "Discard draft"), "deploy_drafts": ("部署为新版本", "Deploy as a new version"),
    "deploy_hint": ("草稿与当前版本其余文件一起校验并部署为新的（未启用）版本，由管理员在规则集版本页启用。",
                    "The drafts and the active version's other files are validated and deployed as a new, inactive version; an administrator activates it on the rule-set page."),
    "validate": ("校验", "Validate"), "save_draft": ("保存草稿", "Save draft"), "upload": ("从文件载入", "Load a file"),
    "all_files": ("全部文件", "All files"), "valid": ("校验通过", "Valid"), "invalid": ("校验未通过", "Invalid"),
    "draft_saved": ("草稿已保存", "Draft saved"), "request_failed": ("请求失败", "The request failed"),
    "deployed_version": ("已部署为 v%(version)s（未启用）", "Deployed as v%(version)s (inactive)"),
    "admin_console": ("系统管理", "Administration"), "working_calendar": ("工作日历", "Working calendar"),
    "working_hours": ("工作时间", "Working hours"),
    "calendar_scope": ("适用范围", "Applies to"), "day": ("日期", "Date"), "day_kind": ("类型", "Kind"), "note": ("备注", "Note"), "all_cities": ("所有城市", "All cities"),
    "working_day": ("调休上班", "Working day"), "day_off": ("放假", "Day off"), "remove": ("删除", "Remove"),
    "save": ("保存", "Save"), "saved": ("已保存", "Saved"), "users_and_roles": ("用户与角色", "Users and roles"),
    "roles": ("角色", "Roles"), "enabled": ("启用", "Enabled"), "display_name": ("姓名", "Name"),
    "add_or_change_user": ("新增或修改用户（修改时密码可不填）", "Add or change a user (leave the password empty to keep it)"),
    "working_hours_hint": ("用逗号分隔各时段，如 08:30-12:00, 13:30-17:30；新的时限立即按此计算",
                           "Periods separated by commas, e.g. 08:30-12:00, 13:30-17:30; new deadlines use them at once"),
    "channels_hint": ("受理渠道（每行一个：代码 名称）", "Channels (one per line: code name)"),
    "add_or_change_unit": ("新增或修改单位", "Add or change a unit"), "unit_code": ("单位代码", "Unit code"),
    "unit_name": ("单位名称", "Unit name"), "unit_type": ("单位类型", "Unit type"), "parent_unit": ("上级单位", "Parent unit"),
    "unit_type_department": ("部门", "Department"), "unit_type_district": ("县（市、区）", "County/district"),
    "unit_type_street": ("乡镇（街道）", "Township/street"), "unit_type_company": ("公共服务企业", "Public utility"),
    "unit_type_centre": ("指挥中心", "Command centre"), "retired": ("已停用", "Retired"),
    "units_tree": ("单位（三级网络）", "Units"), "channels": ("受理渠道", "Channels"),
    "role_operator": ("话务员", "Operator"), "role_dispatcher": ("派单员", "Dispatcher"), "role_callback": ("回访员", "Callback agent"),
    "role_handler": ("经办人", "Handler"), "role_leader": ("单位领导（分管）", "Unit leader (deputy)"),
    "role_principal": ("单位主要领导", "Principal leader"), "role_supervisor": ("督办员", "Supervisor"),
    "role_inspector": ("督查办", "Inspection office"), "role_city_leader": ("市领导", "City leader"),
    "role_analyst": ("业务分析员", "Analyst"), "role_admin": ("管理员", "Administrator"), "role_auditor": ("审计员", "Auditor"),
    "dashboard": ("指挥中心看板", "Centre dashboard"), "show": ("显示", "Show"),
    "intake_today": ("今日受理", "Intake today"), "open_total": ("在办工单", "Open tickets"),
    "open_by_status": ("在办工单（按状态）", "Open tickets by status"), "count": ("数量", "Count"),
    "overdue_by_unit": ("超期工单（按单位）", "Overdue by unit"), "intake_trend": ("受理趋势（近14天）", "Intake, last 14 days"),
    "unit_rates": ("单位办理指标", "Unit rates"), "sign_rate": ("及时签收率", "Signed on time"),
    "handle_rate": ("按时办结率", "Handled on time"), "satisfaction_rate": ("满意率", "Satisfaction"),
    "rates_since": ("统计起始", "Since"),
    "diagram": ("流程图", "Process diagram"), "diagram_done": ("已完成", "Completed"),
    "diagram_active": ("当前所在环节", "Current step"), "diagram_needs_js": ("流程图需要启用JavaScript", "The diagram needs JavaScript"),
    "audit_view": ("逐步审计", "Step-by-step audit"), "audit_trail": ("审计轨迹", "Audit trail"),
    "step": ("步骤", "Step"), "previous": ("上一步", "Previous"), "next": ("下一步", "Next"),
    "replay_verified": ("重放校验通过", "Replay verified"), "replay_differs": ("重放结果与存储状态不一致", "Replay differs"),
    "variable": ("变量", "Variable"),
    "input": ("输入", "Input"), "export_csv": ("导出CSV", "Export CSV"), "actor": ("操作人", "Actor"),
    "no_change": ("无变量变化", "No variable changed"),
    "cases": ("督办与会商", "Supervision and consultation"), "no_cases": ("暂无督办或会商", "None yet"),
    "supervision": ("督办单", "Supervision order"), "consultation": ("会商", "Consultation"),
    "ticket_lifecycle": ("工单", "Ticket"),
    "upgrade_to_directive": ("升级为指令", "Upgrade to a directive"), "upgrade_reason": ("升级理由", "Reason"),
    "directive_due": ("指令办理期限（可不填）", "Directive deadline (optional)"),
    "open_supervision": ("启动督办", "Open a supervision order"), "supervision_trigger": ("督办情形", "Trigger"),
    "supervision_reason": ("督办理由", "Reason"), "propose_consultation": ("提请会商", "Propose a consultation"),
    "consultation_topic": ("会商议题", "Topic"), "consultation_description": ("议题说明", "Description"),
    "consultation_mode": ("会商形式", "Form"), "mode_1x": ("“1+X”会商", "1+X"), "mode_one_matter": ("一事一议", "One matter, one meeting"),
    "upgraded": ("已升级为指令", "Upgraded to a directive"), "supervision_opened": ("已启动督办", "Supervision opened"),
    "consultation_proposed": ("已提请会商", "Consultation proposed"),
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
    # api/security.py: sign-in throttling ({wait} is wait_minutes or wait_seconds)
    "too_many_logins": ("登录失败次数过多，请{wait}后再试", "Too many failed sign-ins; try again in {wait}"),
    "too_many_requests": ("请求过于频繁，请{wait}后再试", "Too many requests; try again in {wait}"),
    "wait_minutes": ("{n}分钟", "{n} min"), "wait_seconds": ("{n}秒", "{n} s"),
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
    "knowledge_base": ("知识库", "Knowledge base"), "kb_new": ("新建条目", "New entry"),
    "kb_create_title": ("新建知识库条目", "New knowledge entry"), "kb_kind": ("条目类型", "Entry type"),
    "kb_kind_policy": ("政策", "Policy"), "kb_kind_script": ("答复口径", "Answer script"),
    "kb_kind_procedure": ("办事流程", "Procedure"), "kb_body": ("正文", "Text"),
    "kb_keywords": ("关键词（用逗号分隔）", "Keywords (separated by commas)"), "kb_category": ("诉求分类", "Category"),
    "kb_valid_from": ("有效期起", "Valid from"), "kb_valid_until": ("有效期至", "Valid until"),
    "kb_validity": ("有效期", "Validity"), "kb_open_ended": ("不限", "open"),
    "kb_not_valid_today": ("今日不在有效期内", "not valid today"),
    "kb_review_due": ("复核更新期限", "Review by"), "kb_review_overdue": ("已过复核期限", "Review overdue"),
    "kb_review_hint": ("到期前请本单位核对条目并更新内容或期限；逾期未复核将提醒本单位经办人和领导。",
                       "Check the entry and update it or this date in time; after it the unit's handlers and leaders are reminded."),
    "kb_revision": ("修订版", "Revision"), "kb_status_active": ("启用中", "Active"),
    "kb_retire": ("停用", "Retire"), "kb_retired": ("条目已停用", "Entry retired"),
    "kb_all_units": ("全部单位", "All units"), "kb_all_kinds": ("全部类型", "All types"),
    "kb_empty": ("暂无条目", "No entries"), "kb_created": ("创建", "Created"), "kb_updated": ("最后修改", "Last changed"),
    "kb_suggestions": ("知识库建议答复（咨询类可直接答复办结）", "Suggested answers from the knowledge base (a consultation can be closed with one)"),
    "kb_use": ("用此条目答复", "Answer with this entry"), "kb_chosen": ("已选用知识库条目：", "Answering from entry: "),
    "kb_score": ("相关度", "relevance"), "kb_matched": ("命中关键词", "Matched keywords"),
    "kb_no_match": ("知识库中暂无匹配的条目", "No matching entry in the knowledge base"),
    "hot_issues": ("热点诉求", "Hot issues"), "hot_from": ("开始日期", "From"), "hot_to": ("结束日期", "To"),
    "hot_period": ("统计周期", "Period"), "hot_period_day": ("按日", "By day"), "hot_period_week": ("按周", "By week"),
    "hot_period_month": ("按月", "By month"), "hot_group_by": ("热词分组", "Hot words by"),
    "hot_by_none": ("不分组", "No grouping"), "hot_by_area": ("按区域", "By area"), "hot_by_category": ("按诉求分类", "By category"),
    "hot_include_merged": ("含已合并的重复件", "Include merged duplicates"),
    "hot_total": ("期间工单", "Tickets in the period"),
    "hot_many_people": ("多人一投（同一事项多人反映）", "Many people, one issue"),
    "hot_one_person": ("一人多投（同一诉求人多次反映）", "One person, many tickets"),
    "hot_representative": ("代表性标题", "Representative title"), "hot_tickets": ("工单数", "Tickets"),
    "hot_citizens": ("诉求人数", "Citizens"), "hot_terms": ("关键词", "Key terms"), "hot_places": ("地点", "Places"),
    "hot_span": ("时间", "Time"), "hot_ticket_numbers": ("工单", "Tickets"),
    "hot_same_matter": ("同一事项", "Same matter"), "hot_matters": ("事项", "Matters"),
    "hot_none": ("该期间没有多人一投或一人多投", "No hot issues in this period"),
    "hot_words": ("热词", "Hot words"), "hot_words_chart": ("热词（前15个，按工单数）", "Top 15 hot words by tickets"),
    "hot_rising": ("上升词（较上一等长期间）", "Rising terms (against the previous period)"),
    "hot_term": ("词语", "Term"), "hot_count": ("本期工单数", "Tickets"), "hot_previous": ("上期工单数", "Previous period"),
    "hot_growth": ("增长倍数", "Growth"), "hot_group": ("分组", "Group"), "hot_unknown": ("未识别", "Unidentified"),
    "hot_all": ("全部工单", "All tickets"), "hot_no_words": ("暂无热词", "No hot words"),
    "hot_previous_period": ("对比期间", "Compared with"),
}
REQUEST_TYPE_NAMES = {"consult": ("咨询", "Consult"), "help": ("求助", "Help"), "suggestion": ("建议", "Suggestion"),
                      "complaint": ("投诉", "Complaint"), "report": ("举报", "Report"), "praise": ("表扬", "Praise"),
                      "supervision": ("督办", "Supervision"), "consultation": ("会商", "Consultation")}
STATUS_NAMES = {
    "new": ("新建", "New"), "dispatching": ("待派单", "To dispatch"), "signing": ("待签收", "To sign"),
    "return_approval": ("退单审批", "Return approval"), "handling": ("办理中", "Handling"),
    "extension_approval": ("延期审批", "Extension approval"), "extension_review": ("延期审核", "Extension review"),
    "reply_approval": ("答复审核", "Reply approval"), "reply_review": ("答复认定", "Reply review"),
    "callback": ("待回访", "Callback"), "closed": ("已办结", "Closed"), "assisting": ("协办中", "Assisting units"),
    "routine_supervision": ("日常督办", "Routine supervision"), "order_registration": ("督办立项", "Order registration"),
    "supervision_feedback": ("督办反馈", "Supervision feedback"),
    "feedback_approval": ("督办反馈审核", "Feedback approval"),
    "supervision_verification": ("督办复核", "Supervision check"), "topic_confirmation": ("确定会商议题", "Topic confirmation"),
    "convening": ("会商中", "Convening"), "carrying_out": ("落实议定事项", "Carrying out agreed actions"),
    "summarizing": ("汇总答复", "Summarizing"),
}
OUTCOME_NAMES = {"archived": ("办结归档", "Archived"), "rejected": ("不予受理", "Not accepted"),
                 "emergency_transfer": ("转应急联动", "Transferred to emergency services"),
                 "answered": ("直接答复办结", "Answered directly"), "supervision": ("转督办", "Sent to supervision"),
                 "final_reply": ("最终答复办结", "Closed with a final reply"), "resolved": ("督办办结", "Resolved"),
                 "referred": ("移交纪委监委", "Referred to discipline inspection"),
                 "concluded": ("会商办结", "Consultation concluded")}

TRIGGER_NAMES = {
    "overdue": ("超出办理时限未办结", "Overdue"), "overdue_unhandled": ("超出办理时限未办理", "Overdue, not handled"),
    "dissatisfied_again": ("二次办理仍不满意", "Dissatisfied after re-handling"),
    "repeat_complaint": ("办结后重复投诉", "Repeat complaint on a closed matter"),
    "hot_issue": ("多次反映、存在舆情隐患的热点问题", "Hot issue with public-opinion risk"),
    "provincial_repeat": ("省级交办重复件", "Repeated provincial item"), "media_exposure": ("媒体曝光", "Media exposure"),
    "buck_passing": ("裁定责任后仍推诿扯皮", "Buck-passing after a ruling"),
    "false_handling": ("虚假办理、谎报瞒报", "False handling"), "leak_retaliation": ("失密泄密致打击报复", "Leak and retaliation"),
    "wide_impact": ("影响面广的热点难点问题", "Wide-impact issue"),
    "jurisdiction_dispute": ("职责、管辖边界争议", "Responsibility dispute"),
    "inaction_petition": ("不作为慢作为乱作为致越级访群体访", "Inaction causing escalated petitions"),
    "risk_remains": ("现场核查风险隐患仍未消除", "Risk remains after an on-site check"),
    "poor_reply": ("答复敷衍、答非所问", "Hollow or false reply"), "major": ("其他重大复杂疑难问题", "Other major matter"),
}
MESSAGE_KINDS = {"task": ("新任务", "New task"), "warning": ("临期预警", "Due soon"), "overdue": ("已超时", "Overdue"),
                 "escalation": ("升级督办", "Escalation"), "knowledge_review": ("知识库复核", "Knowledge review"),
                 "report": ("分析报告", "Report")}

EVENT_NAMES = {"channel_request_received": ("渠道接入登记", "Received from a channel"),
               "open311_request_received": ("Open311受理", "Received through Open311"),
               "emergency_transfer_requested": ("应急移交登记", "Emergency transfer requested"),
               "emergency_handed_over": ("已移交应急机构", "Handed to the emergency agency"),
               "emergency_acknowledged": ("应急机构确认接收", "Emergency agency acknowledged"),
               "ticket_created": ("受理登记", "Ticket created"), "decision_evaluated": ("规则判定", "Rule decision"),
               "task_created": ("生成任务", "Task created"), "task_completed": ("完成任务", "Task completed"),
               "task_claimed": ("认领任务", "Task claimed"), "timer_fired": ("时限到期", "Deadline passed"),
               "status_changed": ("状态变更", "Status changed"), "ticket_upgraded": ("事件升级为指令", "Upgraded to a directive"),
               "signal_received": ("收到指令操作", "Request received"),
               "supervision_opened": ("启动督办", "Supervision opened"), "supervision_decided": ("督办定级", "Supervision tier decided"),
               "supervision_order_issued": ("下发督办单", "Supervision order issued"),
               "supervision_closed": ("督办办结", "Supervision closed"), "discipline_referral": ("移交纪委监委", "Referred to discipline inspection"),
               "consultation_opened": ("提请会商", "Consultation proposed"), "consultation_confirmed": ("确定会商议题", "Consultation confirmed"),
               "minutes_filed": ("会商纪要", "Minutes filed"), "case_task_created": ("议定事项交办", "Agreed action assigned"),
               "consultation_concluded": ("会商办结", "Consultation concluded"),
               "attachment_added": ("添加附件", "Attachment added"),
               "knowledge_created": ("新建知识库条目", "Knowledge entry created"),
               "knowledge_changed": ("修改知识库条目", "Knowledge entry changed"),
               "knowledge_retired": ("停用知识库条目", "Knowledge entry retired"),
               "knowledge_review_due": ("知识库条目复核提醒", "Knowledge review reminder"),
               "ticket_merged": ("合并至主工单", "Merged into a master ticket"),
               "ticket_merged_in": ("重复工单并入", "Duplicate merged in"),
               "merge_moved": ("随上级工单改并", "Moved to the new master"),
               "reply_recorded": ("记录答复", "Reply recorded"),
               "master_reply_received": ("收到主工单答复", "Master ticket's reply received"),
               "ticket_unmerged": ("退出合并单独办理", "Left the merge"),
               "leader_read": ("领导阅批", "Leader's reading")}


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
        trigger_name=lambda v: named(TRIGGER_NAMES, v),
        unit_name=unit_name, category_name=category_name,
    )


def category_name(code: str | None, city: str = "nantong") -> str:
    """A subject category's name in the UI language; the code itself when the city does not list it."""
    from engine.dispatch_model import city_categories
    for category in city_categories(city):
        if category["code"] == code:
            return category["name_en"] if current_language() == "en" else category["name_zh"]
    return code or "—"


def unit_name(code: str | None, city: str = "nantong") -> str:
    """A unit's display name (as the administrator may have renamed it); the code itself when unknown."""
    if not code:
        return "—"
    from flask import g
    from sqlalchemy import select
    from engine.cities import available_cities, load_city
    from engine.models import Unit
    from .context import session
    # One query per city and request, not one per table row.
    names = g.setdefault("unit_names", {})
    if city not in names:
        names[city] = dict(session().execute(select(Unit.code, Unit.name).where(Unit.city == city)).all())
    if code in names[city]:
        return names[city][code]
    name = session().scalar(select(Unit.name).where(Unit.code == code).limit(1))
    if name:
        return name
    for candidate in [city, *available_cities()]:
        unit = load_city(candidate).unit(code)
        if unit:
            return unit["name"]
    return code
