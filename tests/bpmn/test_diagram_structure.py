"""The structure of the diagrams in bpmn/ (ticket_lifecycle, supervision, consultation) and of
rules/nantong/: BPMNDI shapes and edges, lanes, user-task properties, multi-instance tasks, gateways,
timers, signals and messages, plain-Python scripts and their audit events, and the DMN tables and
city.json.
"""
from __future__ import annotations

import ast
import json

import pytest
from lxml import etree

from engine.scripting import check_expression, check_script
from tests.bpmn.harness import (BPMN_FILE, CONTRACTS, DECISIONS, DMN_NS, FUNCTIONS, MESSAGES, NS, PROCESS_FILES,
                                RULES_DIR, SIGNALS, THROWS, parse)

PROCESSES = tuple(PROCESS_FILES)
LANES = {
    "ticket_lifecycle": {"lane_centre", "lane_unit_handler", "lane_assist_handler", "lane_unit_leader",
                         "lane_callback", "lane_system"},
    "supervision": {"lane_owner", "lane_unit_handler", "lane_unit_principal", "lane_system"},
    "consultation": {"lane_office", "lane_lead_unit", "lane_action_unit", "lane_system"},
}
HEADERS = {
    "ticket_lifecycle": ("工单生命周期", "12345工单"),
    "supervision": ("督办", "督办单"),
    "consultation": ("会商（1+X）", "会商"),
}
# boundary events: id -> (process, host, kind, interrupting, expression or signal name)
BOUNDARIES = {
    "sign_overdue_timer": ("ticket_lifecycle", "sign", "timer", False, "sign_due_at"),
    "handle_overdue_timer": ("ticket_lifecycle", "handle", "timer", False, "handle_due_at"),
    "upgrade_signal": ("ticket_lifecycle", "handle", "signal", True, "upgrade"),
    "merge_signal": ("ticket_lifecycle", "dispatch", "signal", True, "merge"),
    "feedback_overdue_timer": ("supervision", "supervision_feedback", "timer", False, "order_due_at"),
}


# --------------------------------------------------------------------------- structure
@pytest.fixture(scope="module", params=PROCESSES)
def diagram(request):
    """(process id, parsed XML tree) of each diagram."""
    return request.param, etree.fromstring(PROCESS_FILES[request.param].read_bytes())


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


def _props(el):
    return {p.get("name"): p.get("value") for p in
            el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


def test_process_header(diagram):
    pid, tree = diagram
    process = _process(tree)
    assert process.get("id") == pid
    assert process.get("name") == HEADERS[pid][0]
    assert process.get("isExecutable") == "true"
    assert process.findtext("bpmn:documentation", namespaces=NS).strip()
    parts = tree.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [(p.get("name"), p.get("processRef")) for p in parts] == [(HEADERS[pid][1], pid)]
    assert tree.nsmap["spiffworkflow"] == NS["spiffworkflow"]


def test_every_element_has_diagram_interchange(diagram):
    _pid, bpmn_tree = diagram
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


def test_layout_has_no_overlaps_and_nodes_sit_in_their_lanes(diagram):
    _pid, bpmn_tree = diagram
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


def test_edges_do_not_run_through_shapes(diagram):
    _pid, bpmn_tree = diagram
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


def test_lanes_and_user_task_properties(diagram):
    pid, bpmn_tree = diagram
    contract = CONTRACTS[pid]
    process = _process(bpmn_tree)
    lanes = {lane.get("id"): lane for lane in process.iterfind(".//bpmn:lane", NS)}
    assert set(lanes) == LANES[pid]
    lane_of = {ref.text: lid for lid, lane in lanes.items() for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    for el in _flow_nodes(process):
        assert el.get("id") in lane_of, f"{el.get('id')} is in no lane"
        assert el.get("name"), f"{el.get('id')} has no name"

    user_tasks = {el.get("id"): el for el in process.iterfind("bpmn:userTask", NS)}
    assert set(user_tasks) == set(contract["user_tasks"])
    for tid, (lane, role, scoped) in contract["user_tasks"].items():
        expected = {"form": contract.get("forms", {}).get(tid, tid), "role": role, "unit_scoped": scoped, **contract["extras"].get(tid, {})}
        assert _props(user_tasks[tid]) == expected, tid
        assert lane_of[tid] == lane, tid
        assert user_tasks[tid].findtext("bpmn:documentation", namespaces=NS).strip(), tid


@pytest.mark.parametrize("pid", PROCESSES)
def test_spec_exposes_properties_and_decisions(pid):
    contract = CONTRACTS[pid]
    spec, subprocess_specs = parse(process_id=pid)
    assert subprocess_specs == {}
    for tid, (_lane, role, scoped) in contract["user_tasks"].items():
        ts = spec.task_specs[tid]
        expected = {"form": contract.get("forms", {}).get(tid, tid), "role": role, "unit_scoped": scoped, **contract["extras"].get(tid, {})}
        if tid in contract["multi"]:
            # the parallel instances are the user tasks: they carry the properties and the task's bpmn id
            assert type(ts).__name__ == "ParallelMultiInstanceTask" and not ts.manual
            ts = spec.task_specs[ts.task_spec]
            assert ts.name == f"{tid} [child]" and ts.bpmn_id == tid
        assert ts.manual
        assert ts.extensions["properties"] == expected
    for tid, decision in contract["decisions"].items():
        assert spec.task_specs[tid].extensions["calledDecisionId"] == decision


def test_multi_instance_tasks(diagram):
    pid, tree = diagram
    process = _process(tree)
    found = {}
    for el in process.iterfind("bpmn:userTask", NS):
        mi = el.find("bpmn:multiInstanceLoopCharacteristics", NS)
        if mi is None:
            continue
        assert mi.get("isSequential") == "false"
        item, output = mi.find("bpmn:inputDataItem", NS), mi.find("bpmn:outputDataItem", NS)
        assert item.get("id") == item.get("name") and output.get("id") == output.get("name")
        found[el.get("id")] = (mi.findtext("bpmn:loopDataInputRef", namespaces=NS), item.get("name"),
                               output.get("name"), mi.findtext("bpmn:loopDataOutputRef", namespaces=NS))
    assert found == CONTRACTS[pid]["multi"]


def test_script_events(diagram):
    """Script tasks with an ``event`` property make the engine record an auditable event."""
    pid, tree = diagram
    process = _process(tree)
    events = {}
    for st in process.iterfind("bpmn:scriptTask", NS):
        props = _props(st)
        if props:
            assert set(props) == {"event", "event_fields"}, st.get("id")
            events[st.get("id")] = (props["event"], tuple(props["event_fields"].split(",")))
    assert events == CONTRACTS[pid]["script_events"]


def test_signals_and_messages(bpmn_tree):
    signals = {s.get("id"): s for s in bpmn_tree.findall("bpmn:signal", NS)}
    assert {s.get("name"): s.findtext("bpmn:extensionElements/spiffworkflow:variableName", namespaces=NS)
            for s in signals.values()} == SIGNALS
    messages = {m.get("id"): m.get("name") for m in bpmn_tree.findall("bpmn:message", NS)}
    assert sorted(messages.values()) == sorted(MESSAGES)          # one message for both throws
    process = _process(bpmn_tree)
    throws = {}
    for ev in process.iterfind("bpmn:intermediateThrowEvent", NS):
        definition = ev.find("bpmn:messageEventDefinition", NS)
        payload = definition.findtext("bpmn:extensionElements/spiffworkflow:messagePayload", namespaces=NS)
        name = messages[definition.get("messageRef")]
        assert payload == MESSAGES[name], ev.get("id")
        ast.parse(payload, mode="eval")
        assert not check_expression(payload)
        throws[ev.get("id")] = name
    assert throws == THROWS
    for ev in process.iterfind("bpmn:boundaryEvent/bpmn:signalEventDefinition", NS):
        assert ev.get("signalRef") in signals


def test_spec_throws_and_catches(specs):
    spec, _ = specs
    for tid in THROWS:
        definition = spec.task_specs[tid].event_definition
        assert definition.name == "supervision_request" and definition.expression == MESSAGES["supervision_request"]
    signal = spec.task_specs["upgrade_signal"]
    assert signal.cancel_activity is True
    assert signal.event_definition.name == "upgrade" and signal.event_definition.variable == "upgrade_request"


def test_gateways_timers_and_expressions(diagram):
    pid, bpmn_tree = diagram
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
                assert not check_expression(cond.text), f.get("id")
    boundaries = {b.get("id"): b for b in process.iterfind("bpmn:boundaryEvent", NS)}
    assert set(boundaries) == {bid for bid, spec in BOUNDARIES.items() if spec[0] == pid}
    signal_names = {s.get("id"): s.get("name") for s in bpmn_tree.findall("bpmn:signal", NS)}
    for bid, b in boundaries.items():
        _pid, host, kind, interrupting, expr = BOUNDARIES[bid]
        assert b.get("attachedToRef") == host
        assert b.get("cancelActivity") == str(interrupting).lower()
        if kind == "timer":
            assert b.find("bpmn:timerEventDefinition/bpmn:timeDate", NS).text.strip() == expr
        else:
            assert signal_names[b.find("bpmn:signalEventDefinition", NS).get("signalRef")] == expr
    decisions = CONTRACTS[pid]["decisions"]
    assert {br.get("id") for br in process.iterfind("bpmn:businessRuleTask", NS)} == set(decisions)
    for br in process.iterfind("bpmn:businessRuleTask", NS):
        ref = br.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS).text
        assert decisions[br.get("id")] == ref
        assert (RULES_DIR / f"{ref}.dmn").exists()


ALLOWED_SCRIPT_NODES = (
    ast.Module, ast.Assign, ast.If, ast.Expr, ast.Name, ast.Load, ast.Store, ast.Constant, ast.BinOp,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.Call, ast.Attribute,
    ast.Subscript, ast.Dict, ast.List, ast.ListComp, ast.comprehension,
)
BUILTINS = ("bool",)
METHODS = ("get",)               # dict.get


def test_scripts_are_plain_python(diagram):
    pid, tree = diagram
    process = _process(tree)
    assigned = set()
    for st in process.iterfind("bpmn:scriptTask", NS):
        source = st.find("bpmn:script", NS).text
        assert not check_script(source), st.get("id")          # the project's restricted engine runs it
        tree = ast.parse(source)
        for node in ast.walk(tree):
            assert isinstance(node, ALLOWED_SCRIPT_NODES), (st.get("id"), type(node).__name__)
            if isinstance(node, ast.Name):
                assert not node.id.startswith("_"), st.get("id")
                if isinstance(node.ctx, ast.Store):
                    assigned.add(node.id)
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute):
                    assert node.func.attr in METHODS, st.get("id")
                else:
                    assert isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS + BUILTINS, st.get("id")
    assert not assigned & set(FUNCTIONS + BUILTINS)


# --------------------------------------------------------------------------- rules and city
def test_dmn_tables_are_well_formed():
    files = sorted(RULES_DIR.glob("*.dmn"))
    assert {p.stem for p in files} == {d for c in CONTRACTS.values() for d in c["decisions"].values()}
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


# --------------------------------------------------------------------------- generator
def test_generated_files_are_current_and_tidy():
    """bpmn/tools/layout.py --check: every committed diagram equals its generated XML, layout checks pass."""
    from bpmn.tools import layout

    assert [m.PROCESS["id"] for m in layout.MODELS] == list(PROCESS_FILES)
    for model in layout.MODELS:
        xml, problems = layout.generate(model)
        assert problems == [], model.PROCESS["id"]
        assert model.FILE == PROCESS_FILES[model.PROCESS["id"]]
        assert model.FILE.read_text(encoding="utf-8") == xml, f"{model.FILE.name} is stale: run bpmn/tools/layout.py"
