"""Drive bpmn/ticket_lifecycle.bpmn + rules/nantong/*.dmn directly with SpiffWorkflow 3.2.0.

No project runtime is involved: the script functions (now, add_working_hours, ...) are
simple stand-ins here (calendar hours/days; the real working-time calendar lives
elsewhere).  Times are in 2099 on purpose: SpiffWorkflow's timeDate timers compare
their date with the real wall clock, so a date in the future never fires on its own
and the timer tests fire them explicitly.
"""
from __future__ import annotations

import ast
import json
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
BPMN_FILE = ROOT / "bpmn" / "ticket_lifecycle.bpmn"
RULES_DIR = ROOT / "rules" / "nantong"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DMN_NS = {
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "dc": "http://www.omg.org/spec/DMN/20180521/DC/",
}

T0 = "2099-03-02T09:00:00+08:00"

# The public contract: user task id -> (lane, role, unit_scoped)
USER_TASKS = {
    "dispatch": ("lane_centre", "dispatcher", "false"),
    "sign": ("lane_unit_handler", "handler", "true"),
    "approve_return": ("lane_unit_leader", "leader", "true"),
    "handle": ("lane_unit_handler", "handler", "true"),
    "approve_extension_unit": ("lane_unit_leader", "leader", "true"),
    "approve_extension": ("lane_centre", "dispatcher", "false"),
    "approve_reply": ("lane_unit_leader", "leader", "true"),
    "review_reply": ("lane_centre", "dispatcher", "false"),
    "callback": ("lane_callback", "callback", "false"),
}
DECISIONS = {
    "decide_kind": "ticket_kind",
    "check_scope": "scope_check",
    "sign_limit": "sign_limit",
    "handle_limit": "handle_limit",
    "return_policy": "return_policy",
    "extension_policy": "extension_policy",
    "callback_policy": "callback_policy",
}
FUNCTIONS = ("now", "add_working_hours", "add_working_days", "working_hours_between", "is_before",
             "half_day_deadline")


# --------------------------------------------------------------------------- helpers
def _dt(iso):
    return datetime.fromisoformat(iso)


def _iso(dt):
    return dt.isoformat()


def plus(iso, days=0, hours=0):
    return _iso(_dt(iso) + timedelta(days=days, hours=hours))


class Clock:
    def __init__(self, iso=T0):
        self.iso = iso

    def advance(self, days=0, hours=0):
        self.iso = plus(self.iso, days=days, hours=hours)


def make_engine(clock):
    return PythonScriptEngine(environment=TaskDataEnvironment({
        "now": lambda: clock.iso,
        "add_working_hours": lambda iso, hours: plus(iso, hours=hours),
        "add_working_days": lambda iso, days: plus(iso, days=days),
        "working_hours_between": lambda a, b: (_dt(b) - _dt(a)).total_seconds() / 3600,
        "is_before": lambda a, b: _dt(a) <= _dt(b),
        "half_day_deadline": lambda iso: plus(iso, hours=8),
    }))


def parse(validator=None):
    parser = SpiffBpmnParser(validator=validator)
    parser.add_bpmn_str(BPMN_FILE.read_bytes(), filename=str(BPMN_FILE))
    for path in sorted(RULES_DIR.glob("*.dmn")):
        parser.add_dmn_str(path.read_bytes(), filename=str(path))
    return parser.get_spec("ticket_lifecycle"), parser.get_subprocess_specs("ticket_lifecycle")


@pytest.fixture(scope="module")
def specs():
    # validate against the BPMN / DMN / spiffworkflow schemas as well
    return parse(validator=VALIDATOR)


def start_data(**overrides):
    data = {
        "ticket_id": "NT-2099-000001",
        "city": "nantong",
        "channel": "phone_12345",
        "request_type": "complaint",
        "title": "小区噪声扰民",
        "received_at": T0,
        "scope": "normal",
        "directive_due_at": None,
        "direct_answer": None,
        "dispatch_count": 0,
        "return_count": 0,
        "extension_count": 0,
        "rehandle_count": 0,
        "sign_overdue": False,
        "handle_overdue": False,
        "unit": None,
        "outcome": None,
    }
    data.update(overrides)
    return data


class Run:
    """A workflow instance plus the little helpers the tests need."""

    def __init__(self, specs, **overrides):
        spec, subprocess_specs = specs
        self.clock = Clock()
        self.wf = BpmnWorkflow(spec, subprocess_specs, script_engine=make_engine(self.clock))
        # The first READY task is the synthetic 'Start' task; its data is inherited by everything after it.
        first = self.wf.get_next_task(state=TaskState.READY)
        assert first.task_spec.name == "Start"
        first.data.update(start_data(**overrides))
        self.wf.do_engine_steps()

    def ready(self):
        return [t for t in self.wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]

    def ready_names(self):
        return sorted(t.task_spec.name for t in self.ready())

    def task(self, name):
        tasks = [t for t in self.ready() if t.task_spec.name == name]
        assert tasks, f"{name} is not ready; ready: {self.ready_names()}"
        assert len(tasks) == 1
        return tasks[0]

    def data(self, name):
        """Data of the READY user task `name` (what the form would be shown)."""
        return self.task(name).data

    def complete(self, name, **form):
        task = self.task(name)
        task.data.update(form)
        task.run()
        self.wf.do_engine_steps()
        return task

    def waiting(self, name):
        tasks = [t for t in self.wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name == name]
        assert len(tasks) == 1, [t.task_spec.name for t in self.wf.get_tasks(state=TaskState.WAITING)]
        return tasks[0]

    def fire(self, timer_name):
        """Fire a WAITING timer boundary event as if its date had passed."""
        self.waiting(timer_name)._set_internal_data(event_fired=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.2.0 alias of refresh_timers()
            self.wf.refresh_waiting_tasks()
        self.wf.do_engine_steps()

    def completed(self, name):
        return [t for t in self.wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name == name]

    # common stretches of the flow
    def to_handle(self, unit="nt_chongchuan"):
        self.complete("dispatch", unit=unit)
        self.complete("sign", decision="accept", reason=None, suggested_unit=None)
        assert self.ready_names() == ["handle"]

    def reply_and_pass(self):
        self.complete("handle", action="reply", reply="已现场处理并答复诉求人", extension_days=None,
                      extension_reason=None)
        self.complete("approve_reply", approved=True, comment="同意")
        self.complete("review_reply", approved=True, comment="认定通过")
        assert self.ready_names() == ["callback"]


# --------------------------------------------------------------------------- paths
def test_complaint_happy_path(specs):
    run = Run(specs)
    assert run.ready_names() == ["dispatch"]
    assert run.data("dispatch")["kind"] == "event"
    assert run.data("dispatch")["scope_outcome"] == "accept"

    run.complete("dispatch", unit="nt_chongchuan")
    d = run.data("sign")
    assert d["dispatched_at"] == T0
    assert d["dispatch_count"] == 1
    assert d["current_return_number"] == 1
    assert d["sign_limit_hours"] == 2
    assert d["sign_due_at"] == plus(T0, hours=2)
    assert d["handle_limit_days"] == 15
    assert d["handle_due_at"] == plus(T0, days=15)

    run.clock.advance(hours=1)
    run.complete("sign", decision="accept", reason=None, suggested_unit=None)
    assert run.data("handle")["signed_at"] == plus(T0, hours=1)
    assert run.data("handle")["sign_overdue"] is False

    run.clock.advance(days=3)
    run.reply_and_pass()
    assert run.data("callback")["replied_at"] == plus(T0, days=3, hours=1)
    run.complete("callback", satisfied=True, unit_at_fault=False, comment="满意")

    assert run.wf.is_completed()
    data = run.wf.data
    assert data["callback_outcome"] == "archive"
    assert data["outcome"] == "archived"
    assert data["closed_at"] == plus(T0, days=3, hours=1)
    assert data["handle_due_at"] == plus(T0, days=15)
    assert data["handle_overdue"] is False
    assert data["sign_overdue"] is False
    assert data["unit"] == "nt_chongchuan"
    assert len(run.completed("end_archived")) == 1


def test_litigation_is_rejected(specs):
    run = Run(specs, scope="litigation")
    assert run.wf.is_completed()
    assert run.ready() == []
    assert run.wf.data["outcome"] == "rejected"
    assert run.wf.data["scope_outcome"] == "reject"
    assert "诉讼" in run.wf.data["scope_reason"]
    assert run.completed("end_rejected")


def test_rejection_wins_over_direct_answer(specs):
    # gw_scope checks reject before the direct-answer branch (conditions are tested in the
    # order of their targets' y position, so this also guards the layout).
    run = Run(specs, scope="petition", request_type="consult", direct_answer="请咨询信访部门")
    assert run.wf.data["outcome"] == "rejected"


@pytest.mark.parametrize("scope", ["petition", "arbitration", "reconsideration", "discipline", "disclosure",
                                   "outside_jurisdiction", "secret_privacy", "invalid"])
def test_other_out_of_scope_matters_are_rejected_with_a_reason(specs, scope):
    run = Run(specs, scope=scope)
    assert run.wf.data["outcome"] == "rejected"
    assert run.wf.data["scope_reason"]


def test_emergency_is_transferred(specs):
    run = Run(specs, scope="emergency", request_type="help")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "emergency_transfer"
    assert run.wf.data["scope_outcome"] == "emergency"
    assert "110" in run.wf.data["scope_reason"]
    assert run.completed("end_emergency")


def test_direct_answer_consult_is_closed(specs):
    run = Run(specs, request_type="consult", direct_answer="公积金提取请携带身份证到服务大厅办理")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "answered"
    assert run.wf.data["closed_at"] == T0
    assert run.completed("end_direct_answer")


def test_consult_without_direct_answer_is_dispatched(specs):
    run = Run(specs, request_type="consult")
    run.complete("dispatch", unit="nt_hrss")
    assert run.data("sign")["handle_due_at"] == plus(T0, days=3)


def test_unknown_scope_falls_back_to_accept(specs):
    run = Run(specs, scope="something_new")
    assert run.ready_names() == ["dispatch"]


@pytest.mark.parametrize("request_type, days", [
    ("consult", 3), ("help", 5), ("suggestion", 10), ("complaint", 15), ("report", 15), ("praise", 5),
])
def test_event_handle_limits(specs, request_type, days):
    run = Run(specs, request_type=request_type)
    run.complete("dispatch", unit="nt_housing")
    d = run.data("sign")
    assert d["handle_limit_days"] == days
    assert d["handle_due_at"] == plus(T0, days=days)
    assert d["sign_limit_hours"] == 2


@pytest.mark.parametrize("channel", ["national_platform", "provincial_platform", "leader_assigned",
                                     "cross_unit_major", "early_warning"])
def test_directive_channels(specs, channel):
    run = Run(specs, channel=channel)
    assert run.data("dispatch")["kind"] == "directive"


@pytest.mark.parametrize("channel", ["phone_12345", "web", "app", "grid", "city_management", "river_chief",
                                     "mini_program", "mayor_mailbox", "emergency_platform", "unheard_of"])
def test_event_channels(specs, channel):
    run = Run(specs, channel=channel)
    assert run.data("dispatch")["kind"] == "event"


def test_directive_sign_limit_no_return_no_extension(specs):
    due = plus(T0, days=7)
    run = Run(specs, channel="provincial_platform", directive_due_at=due)
    run.complete("dispatch", unit="nt_ecology")
    d = run.data("sign")
    assert d["kind"] == "directive"
    assert d["sign_limit_hours"] == 1
    assert d["sign_due_at"] == plus(T0, hours=1)
    assert d["handle_due_at"] == due

    # a directive cannot be returned: the request is refused and the unit signs again
    run.complete("sign", decision="return", reason="不属本单位职责", suggested_unit="nt_housing")
    assert run.ready_names() == ["sign"]
    d = run.data("sign")
    assert d["return_allowed"] is False
    assert d["return_refused"] is True
    assert d["return_count"] == 0
    assert d["dispatch_count"] == 1

    run.complete("sign", decision="accept")
    # ... nor extended
    run.complete("handle", action="extend", extension_days=3, extension_reason="需协调多部门")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_allowed"] is False
    assert d["extension_ok"] is False
    assert d["extension_refused"] is True
    assert d["extension_count"] == 0
    assert d["handle_due_at"] == due


def test_directive_without_deadline_falls_back_to_five_days(specs):
    run = Run(specs, channel="leader_assigned")
    run.complete("dispatch", unit="nt_city_management")
    assert run.data("sign")["handle_due_at"] == plus(T0, days=5)


def test_event_returns_first_deputy_then_principal(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_housing")
    run.clock.advance(hours=3)
    run.complete("sign", decision="return", reason="属物业管理，应由街道处理", suggested_unit="nt_cc_xuetian")
    d = run.data("approve_return")
    assert d["return_allowed"] is True
    assert d["return_in_window"] is True
    assert d["return_approver"] == "deputy"
    assert d["return_window_days"] == 1

    run.complete("approve_return", approved=True, comment="同意退回")
    d = run.data("dispatch")
    assert d["return_count"] == 1
    assert d["returned_from"] == "nt_housing"
    assert d["return_reason"] == "属物业管理，应由街道处理"

    run.complete("dispatch", unit="nt_cc_xuetian")
    d = run.data("sign")
    assert d["dispatch_count"] == 2
    assert d["current_return_number"] == 2
    assert d["dispatched_at"] == plus(T0, hours=3)
    run.complete("sign", decision="return", reason="应由区住建局处理", suggested_unit="nt_chongchuan")
    assert run.data("approve_return")["return_approver"] == "principal"
    run.complete("approve_return", approved=True, comment="同意")
    assert run.ready_names() == ["dispatch"]
    assert run.data("dispatch")["return_count"] == 2
    assert run.data("dispatch")["returned_from"] == "nt_cc_xuetian"


def test_return_rejected_by_leader_goes_back_to_sign(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_housing")
    run.complete("sign", decision="return", reason="非本单位职责", suggested_unit="nt_ecology")
    run.complete("approve_return", approved=False, comment="属本单位职责，请签收")
    assert run.ready_names() == ["sign"]
    assert run.data("sign")["return_count"] == 0


def test_return_after_one_working_day_is_refused(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_housing")
    run.clock.advance(days=1, hours=1)
    run.complete("sign", decision="return", reason="非本单位职责", suggested_unit="nt_ecology")
    assert run.ready_names() == ["sign"]
    d = run.data("sign")
    assert d["return_allowed"] is True
    assert d["return_in_window"] is False
    assert d["return_refused"] is True


def test_extension_approved_moves_handle_due_at(specs):
    run = Run(specs)
    run.to_handle()
    run.clock.advance(days=5)
    run.complete("handle", action="extend", extension_days=10, extension_reason="需等待第三方检测报告")
    d = run.data("approve_extension_unit")
    assert d["extension_allowed"] is True
    assert d["extension_approver"] == "principal"
    assert d["extension_notice_days"] == 1
    assert d["extension_max_days"] == 15
    assert d["extension_in_time"] is True
    assert d["extension_ok"] is True
    run.complete("approve_extension_unit", approved=True, comment="同意延期")
    run.complete("approve_extension", approved=True, comment="中心同意")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_count"] == 1
    assert d["handle_due_at"] == plus(T0, days=25)
    # the new handle task's overdue timer uses the new deadline
    run.fire("handle_overdue_timer")
    assert run.completed("end_handle_overdue")[0].data["handle_due_at"] == plus(T0, days=25)


@pytest.mark.parametrize("unit_ok, centre_ok", [(False, None), (True, False)])
def test_extension_refused_by_an_approver(specs, unit_ok, centre_ok):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="extend", extension_days=5, extension_reason="客观原因")
    run.complete("approve_extension_unit", approved=unit_ok, comment="")
    if centre_ok is not None:
        run.complete("approve_extension", approved=centre_ok, comment="理由不充分")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["extension_refused"] is True
    assert d["extension_count"] == 0
    assert d["handle_due_at"] == plus(T0, days=15)


def test_extension_longer_than_original_limit_is_refused(specs):
    run = Run(specs, request_type="suggestion")
    run.to_handle()
    run.complete("handle", action="extend", extension_days=11, extension_reason="")
    assert run.ready_names() == ["handle"]
    assert run.data("handle")["extension_ok"] is False
    assert run.data("handle")["extension_refused"] is True


def test_extension_requested_too_late_is_refused(specs):
    run = Run(specs, request_type="consult")  # due after 3 days
    run.to_handle()
    run.clock.advance(days=2, hours=1)  # less than 1 working day left
    run.complete("handle", action="extend", extension_days=2, extension_reason="")
    d = run.data("handle")
    assert d["extension_allowed"] is True
    assert d["extension_in_time"] is False
    assert d["extension_refused"] is True


def test_third_extension_is_refused(specs):
    run = Run(specs)
    run.to_handle()
    for n in (1, 2):
        run.complete("handle", action="extend", extension_days=2, extension_reason=f"第{n}次")
        run.complete("approve_extension_unit", approved=True)
        run.complete("approve_extension", approved=True)
        assert run.data("handle")["extension_count"] == n
    run.complete("handle", action="extend", extension_days=2, extension_reason="第3次")
    assert run.ready_names() == ["handle"]
    assert run.data("handle")["extension_allowed"] is False
    assert run.data("handle")["handle_due_at"] == plus(T0, days=19)


def test_review_reply_rejected_goes_back_to_handle(specs):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="reply", reply="已处理")
    run.complete("approve_reply", approved=True, comment="")
    run.complete("review_reply", approved=False, comment="答复不具体，发回重办")
    assert run.ready_names() == ["handle"]
    run.reply_and_pass()


def test_approve_reply_rejected_goes_back_to_handle(specs):
    run = Run(specs)
    run.to_handle()
    run.complete("handle", action="reply", reply="已处理")
    run.complete("approve_reply", approved=False, comment="请补充现场照片")
    assert run.ready_names() == ["handle"]


def test_callback_dissatisfied_rehandle_then_supervision(specs):
    run = Run(specs)
    run.to_handle()
    run.reply_and_pass()
    run.clock.advance(days=4)
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="问题未解决")
    assert run.ready_names() == ["handle"]
    d = run.data("handle")
    assert d["callback_outcome"] == "rehandle"
    assert d["rehandle_count"] == 1
    assert d["handle_due_at"] == plus(T0, days=4 + 15)

    run.reply_and_pass()
    run.complete("callback", satisfied=False, unit_at_fault=True, comment="仍未解决")
    assert run.wf.is_completed()
    data = run.wf.data
    assert data["callback_outcome"] == "supervise"
    assert data["outcome"] == "supervision"
    assert data["supervision_required"] is True
    assert data["closed_at"] == plus(T0, days=4)
    assert run.completed("end_supervision")


def test_callback_dissatisfied_not_at_fault_is_archived(specs):
    run = Run(specs)
    run.to_handle()
    run.reply_and_pass()
    run.complete("callback", satisfied=False, unit_at_fault=False, comment="诉求不符合政策")
    assert run.wf.is_completed()
    assert run.wf.data["outcome"] == "archived"


def test_sign_timer_records_overdue_and_keeps_sign_open(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_chongchuan")
    timer = run.waiting("sign_overdue_timer")
    assert timer.task_spec.cancel_activity is False
    run.fire("sign_overdue_timer")

    ends = run.completed("end_sign_overdue")
    assert len(ends) == 1 and ends[0].data["sign_overdue"] is True
    assert run.completed("record_sign_overdue")
    assert run.ready_names() == ["sign"]  # non-interrupting: the unit still has to sign

    # The timer branch's data does not flow into the main branch; signing late sets the flag there too.
    run.clock.advance(hours=3)
    run.complete("sign", decision="accept")
    assert run.data("handle")["sign_overdue"] is True
    run.reply_and_pass()
    run.complete("callback", satisfied=True, unit_at_fault=False)
    assert run.wf.is_completed()
    assert run.wf.data["sign_overdue"] is True


def test_handle_timer_records_overdue_and_keeps_handle_open(specs):
    run = Run(specs, request_type="consult")
    run.to_handle()
    run.waiting("handle_overdue_timer")
    run.fire("handle_overdue_timer")
    assert run.completed("end_handle_overdue")[0].data["handle_overdue"] is True
    assert run.ready_names() == ["handle"]
    run.clock.advance(days=4)
    run.reply_and_pass()
    assert run.data("callback")["handle_overdue"] is True


def test_timers_wait_until_fired(specs):
    run = Run(specs)
    run.complete("dispatch", unit="nt_chongchuan")
    run.wf.refresh_timers()
    run.wf.do_engine_steps()
    assert run.waiting("sign_overdue_timer")
    assert not run.completed("record_sign_overdue")
    # signing cancels the pending timer
    run.complete("sign", decision="accept")
    assert [t for t in run.wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name == "sign_overdue_timer"] == []


def test_workflow_survives_serialization(specs):
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

    run = Run(specs)
    run.to_handle()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    dumped = serializer.serialize_json(run.wf)
    wf = serializer.deserialize_json(dumped)
    wf.script_engine = make_engine(run.clock)
    run.wf = wf
    run.reply_and_pass()
    run.complete("callback", satisfied=True, unit_at_fault=False)
    assert run.wf.is_completed() and run.wf.data["outcome"] == "archived"


# --------------------------------------------------------------------------- structure
@pytest.fixture(scope="module")
def bpmn_tree():
    return etree.fromstring(BPMN_FILE.read_bytes())


def _process(tree):
    procs = tree.findall("bpmn:process", NS)
    assert len(procs) == 1
    return procs[0]


FLOW_NODE_TAGS = ("startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "exclusiveGateway",
                  "boundaryEvent", "task", "serviceTask", "parallelGateway", "inclusiveGateway",
                  "intermediateCatchEvent", "intermediateThrowEvent", "subProcess", "callActivity",
                  "manualTask", "sendTask", "receiveTask", "eventBasedGateway")


def _flow_nodes(process):
    return [el for el in process if etree.QName(el).localname in FLOW_NODE_TAGS]


def test_process_header(bpmn_tree):
    process = _process(bpmn_tree)
    assert process.get("id") == "ticket_lifecycle"
    assert process.get("name") == "工单生命周期"
    assert process.get("isExecutable") == "true"
    parts = bpmn_tree.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [(p.get("name"), p.get("processRef")) for p in parts] == [("12345工单", "ticket_lifecycle")]
    assert bpmn_tree.nsmap["spiffworkflow"] == NS["spiffworkflow"]


def test_every_element_has_diagram_interchange(bpmn_tree):
    process = _process(bpmn_tree)
    shapes = {s.get("bpmnElement"): s for s in bpmn_tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in bpmn_tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    plane = bpmn_tree.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == bpmn_tree.find("bpmn:collaboration", NS).get("id")

    for el in _flow_nodes(process):
        assert el.get("id") in shapes, f"no shape for {el.get('id')}"
        assert shapes[el.get("id")].find("dc:Bounds", NS) is not None
    for lane in process.iterfind(".//bpmn:lane", NS):
        assert lane.get("id") in shapes
    for part in bpmn_tree.iterfind(".//bpmn:participant", NS):
        assert part.get("id") in shapes
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        edge = edges.get(flow.get("id"))
        assert edge is not None, f"no edge for {flow.get('id')}"
        assert len(edge.findall("di:waypoint", NS)) >= 2
    # nothing in the diagram points at a missing element
    ids = {el.get("id") for el in bpmn_tree.iter() if el.get("id")}
    for ref in list(shapes) + list(edges):
        assert ref in ids


def _bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_layout_has_no_overlaps_and_nodes_sit_in_their_lanes(bpmn_tree):
    process = _process(bpmn_tree)
    shapes = {s.get("bpmnElement"): _bounds(s) for s in bpmn_tree.iterfind(".//bpmndi:BPMNShape", NS)}
    nodes = _flow_nodes(process)
    attached = {el.get("id"): el.get("attachedToRef") for el in nodes if el.get("attachedToRef")}
    ids = [el.get("id") for el in nodes]
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if attached.get(a) == b or attached.get(b) == a:
                continue
            assert not _overlap(shapes[a], shapes[b]), f"{a} overlaps {b}"
    for lane in process.iterfind(".//bpmn:lane", NS):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, f"{ref.text} outside its lane"
    lanes = [shapes[lane.get("id")] for lane in process.iterfind(".//bpmn:lane", NS)]
    for i, a in enumerate(lanes):
        for b in lanes[i + 1:]:
            assert not _overlap(a, b)


def test_edges_do_not_run_through_shapes(bpmn_tree):
    process = _process(bpmn_tree)
    shapes = {s.get("bpmnElement"): _bounds(s) for s in bpmn_tree.iterfind(".//bpmndi:BPMNShape", NS)}
    nodes = {el.get("id"): el for el in _flow_nodes(process)}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        ends = {flow.get("sourceRef"), flow.get("targetRef"), nodes[flow.get("sourceRef")].get("attachedToRef")}
        edge = bpmn_tree.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow.get('id')}']", NS)
        pts = [(float(w.get("x")), float(w.get("y"))) for w in edge.findall("di:waypoint", NS)]
        for nid in nodes:
            if nid in ends:
                continue
            x, y, w, h = shapes[nid]
            for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
                hit = (min(x0, x1) < x + w - 1 and max(x0, x1) > x + 1 and
                       min(y0, y1) < y + h - 1 and max(y0, y1) > y + 1)
                assert not hit, f"{flow.get('id')} runs through {nid}"


def test_lanes_and_user_task_properties(bpmn_tree):
    process = _process(bpmn_tree)
    lanes = {lane.get("id"): lane for lane in process.iterfind(".//bpmn:lane", NS)}
    assert set(lanes) == {"lane_centre", "lane_unit_handler", "lane_unit_leader", "lane_callback", "lane_system"}
    lane_of = {ref.text: lid for lid, lane in lanes.items() for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    for el in _flow_nodes(process):
        assert el.get("id") in lane_of, f"{el.get('id')} is in no lane"
        assert el.get("name"), f"{el.get('id')} has no name"

    user_tasks = {el.get("id"): el for el in process.iterfind("bpmn:userTask", NS)}
    assert set(user_tasks) == set(USER_TASKS)
    for tid, (lane, role, scoped) in USER_TASKS.items():
        props = {p.get("name"): p.get("value") for p in
                 user_tasks[tid].iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
        assert props == {"form": tid, "role": role, "unit_scoped": scoped}, tid
        assert lane_of[tid] == lane, tid


def test_spec_exposes_properties_and_decisions(specs):
    spec, subprocess_specs = specs
    assert subprocess_specs == {}
    for tid, (_lane, role, scoped) in USER_TASKS.items():
        ts = spec.task_specs[tid]
        assert ts.manual
        assert ts.extensions["properties"] == {"form": tid, "role": role, "unit_scoped": scoped}
    for tid, decision in DECISIONS.items():
        assert spec.task_specs[tid].extensions["calledDecisionId"] == decision


def test_gateways_timers_and_expressions(bpmn_tree):
    process = _process(bpmn_tree)
    flows = {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", NS)}
    for gw in process.iterfind("bpmn:exclusiveGateway", NS):
        default = gw.get("default")
        assert default in flows and flows[default].get("sourceRef") == gw.get("id"), gw.get("id")
        for f in flows.values():
            if f.get("sourceRef") == gw.get("id") and f.get("id") != default:
                cond = f.find("bpmn:conditionExpression", NS)
                assert cond is not None, f.get("id")
                ast.parse(cond.text, mode="eval")
    timers = {b.get("id"): b for b in process.iterfind("bpmn:boundaryEvent", NS)}
    assert set(timers) == {"sign_overdue_timer", "handle_overdue_timer"}
    for tid, host, expr in (("sign_overdue_timer", "sign", "sign_due_at"),
                            ("handle_overdue_timer", "handle", "handle_due_at")):
        b = timers[tid]
        assert b.get("attachedToRef") == host
        assert b.get("cancelActivity") == "false"
        assert b.find("bpmn:timerEventDefinition/bpmn:timeDate", NS).text.strip() == expr
    for br in process.iterfind("bpmn:businessRuleTask", NS):
        ref = br.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS).text
        assert DECISIONS[br.get("id")] == ref
        assert (RULES_DIR / f"{ref}.dmn").exists()


ALLOWED_SCRIPT_NODES = (
    ast.Module, ast.Assign, ast.If, ast.Expr, ast.Name, ast.Load, ast.Store, ast.Constant, ast.BinOp,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Call,
)


def test_scripts_are_plain_python(bpmn_tree):
    process = _process(bpmn_tree)
    assigned = set()
    for st in process.iterfind("bpmn:scriptTask", NS):
        tree = ast.parse(st.find("bpmn:script", NS).text)
        for node in ast.walk(tree):
            assert isinstance(node, ALLOWED_SCRIPT_NODES), (st.get("id"), type(node).__name__)
            if isinstance(node, ast.Name):
                assert not node.id.startswith("_"), st.get("id")
                if isinstance(node.ctx, ast.Store):
                    assigned.add(node.id)
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS, st.get("id")
    assert not assigned & set(FUNCTIONS)


# --------------------------------------------------------------------------- rules and city
def test_dmn_tables_are_well_formed():
    files = sorted(RULES_DIR.glob("*.dmn"))
    assert {p.stem for p in files} == set(DECISIONS.values())
    for path in files:
        tree = etree.fromstring(path.read_bytes())
        assert etree.QName(tree).namespace == DMN_NS["dmn"]
        decisions = tree.findall("dmn:decision", DMN_NS)
        assert [d.get("id") for d in decisions] == [path.stem]
        table = decisions[0].find("dmn:decisionTable", DMN_NS)
        assert table.get("hitPolicy") == "FIRST"
        rules = table.findall("dmn:rule", DMN_NS)
        assert rules
        for rule in rules:
            assert (rule.findtext("dmn:description", namespaces=DMN_NS) or "").strip(), rule.get("id")
        last = [e.findtext("dmn:text", namespaces=DMN_NS) for e in rules[-1].findall("dmn:inputEntry", DMN_NS)]
        assert all((t or "-").strip() in ("", "-") for t in last), f"{path.name}: last rule is not a catch-all"
        shape = tree.find("dmndi:DMNDI/dmndi:DMNDiagram/dmndi:DMNShape", DMN_NS)
        assert shape is not None and shape.get("dmnElementRef") == path.stem
        assert shape.find("dc:Bounds", DMN_NS) is not None


def test_city_settings():
    city = json.loads((RULES_DIR / "city.json").read_text(encoding="utf-8"))
    assert city["city"] == "nantong" and city["name"] == "南通市" and city["timezone"] == "Asia/Shanghai"
    assert city["working_hours"] == ["08:30-12:00", "13:30-17:30"]
    assert city["lights"] == {"yellow_at": 0.8}

    codes = [c["code"] for c in city["channels"]]
    assert len(codes) == len(set(codes))
    table = etree.fromstring((RULES_DIR / "ticket_kind.dmn").read_bytes())
    dmn_channels = {t.strip().strip('"') for t in table.xpath("//dmn:inputEntry/dmn:text/text()", namespaces=DMN_NS)
                    if t.strip() not in ("", "-")}
    assert dmn_channels == set(codes)

    units = city["units"]
    assert len(units) >= 25
    by_code = {u["code"]: u for u in units}
    assert len(by_code) == len(units)
    roots = [u for u in units if u["parent"] is None]
    assert [u["code"] for u in roots] == ["nt_centre"] and roots[0]["type"] == "centre"
    for u in units:
        assert u["type"] in {"centre", "district", "department", "utility", "street"}
        assert u["code"].isascii() and u["name"]
        if u["parent"] is not None:
            assert u["parent"] in by_code
        # no cycles
        seen, cur = set(), u
        while cur["parent"] is not None:
            assert cur["code"] not in seen
            seen.add(cur["code"])
            cur = by_code[cur["parent"]]
    assert any(u["type"] == "street" and by_code[u["parent"]]["type"] == "district" for u in units)
    demo = sorted(u["name"] for u in units if u.get("demo"))
    assert demo == sorted(["崇川区人民政府", "市住房和城乡建设局", "市生态环境局"])
