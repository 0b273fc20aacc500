"""The structure of bpmn/ticket_lifecycle.bpmn and rules/nantong/: BPMNDI shapes and edges, lanes,
user-task properties, gateways and timers, plain-Python scripts, and the DMN tables and city.json.
"""
from __future__ import annotations

import ast
import json

import pytest
from lxml import etree

from tests.bpmn.harness import BPMN_FILE, DECISIONS, DMN_NS, FUNCTIONS, NS, RULES_DIR, USER_TASKS


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
