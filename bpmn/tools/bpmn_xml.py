"""BPMN 2.0 XML (with BPMNDI) for a laid-out diagram (a ``layout.Layout``).

Semantics come from the model's nodes and flows, positions from the layout (``bounds``,
``points`` and ``label_bounds``).  User tasks carry the ``form``/``role``/``unit_scoped``
spiffworkflow properties (plus ``role_from``/``unit_from``/``due``/``subject_from`` when the model
gives them) and may be parallel multi-instance tasks; script tasks may carry ``event`` /
``event_fields`` properties; business-rule tasks name their decision both as
``camunda:decisionRef`` and as ``spiffworkflow:calledDecisionId``.  Boundary events are
non-interrupting timeDate timers or interrupting signal events; intermediate catch events wait for
a signal; intermediate throw events send a
message.  Signals (with the ``spiffworkflow:variableName`` their payload lands in) and messages are
top-level elements; a message's payload expression is written on every event definition that
throws it (``spiffworkflow:messagePayload``, where SpiffWorkflow 3.2 reads it without a
deprecation warning).
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

EXPORTER = "bpmn/tools/layout.py"

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


def build_xml(layout):
    L = []
    w = L.append
    _process_xml(layout, w)
    _diagram_xml(layout, w)
    w('</bpmn:definitions>')
    return "\n".join(L) + "\n"


def _process_xml(layout, w):
    proc, nodes, flows = layout.process, layout.nodes, layout.flows
    incoming = {nid: [] for nid in nodes}
    outgoing = {nid: [] for nid in nodes}
    for f in flows:
        outgoing[f["src"]].append(f["id"])
        incoming[f["tgt"]].append(f["id"])

    w('<?xml version="1.0" encoding="UTF-8"?>')
    nsdecl = " ".join(f"xmlns:{k}={a(v)}" for k, v in NS.items())
    w(f'<bpmn:definitions {nsdecl} id="{proc["definitions"]}" '
      f'targetNamespace="{proc["target_namespace"]}" exporter="{EXPORTER}" '
      'exporterVersion="1.0">')
    for sig in layout.signals.values():
        w(f'  <bpmn:signal id="{sig["id"]}" name={a(sig["name"])}>')
        w('    <bpmn:extensionElements>')
        w(f'      <spiffworkflow:variableName>{sig["variable"]}</spiffworkflow:variableName>')
        w('    </bpmn:extensionElements>')
        w('  </bpmn:signal>')
    for msg in layout.messages.values():
        w(f'  <bpmn:message id="{msg["id"]}" name={a(msg["name"])} />')
    w(f'  <bpmn:collaboration id="{proc["collaboration"]}">')
    w(f'    <bpmn:participant id="{proc["participant"]}" name={a(proc["participant_name"])} '
      f'processRef="{proc["id"]}" />')
    w('  </bpmn:collaboration>')
    w(f'  <bpmn:process id="{proc["id"]}" name={a(proc["name"])} isExecutable="true">')
    w(f'    <bpmn:documentation>{escape(proc["documentation"])}</bpmn:documentation>')
    w(f'    <bpmn:laneSet id="{proc["lane_set"]}">')
    for lane_id, lane_name, *_ in layout.lanes:
        w(f'      <bpmn:lane id="{lane_id}" name={a(lane_name)}>')
        for n in nodes.values():
            if n["lane"] == lane_id:
                w(f'        <bpmn:flowNodeRef>{n["id"]}</bpmn:flowNodeRef>')
        w('      </bpmn:lane>')
    w('    </bpmn:laneSet>')

    for n in nodes.values():
        _node_xml(n, flows, incoming[n["id"]], outgoing[n["id"]], layout.messages, w)

    for f in flows:
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


def _properties_xml(props, w, indent):
    w(f'{indent}<spiffworkflow:properties>')
    for name, value in props:
        w(f'{indent}  <spiffworkflow:property name="{name}" value={a(value)} />')
    w(f'{indent}</spiffworkflow:properties>')


def _node_xml(n, flows, incoming, outgoing, messages, w):
    k = n["kind"]
    attrs = f'id="{n["id"]}" name={a(n["name"])}'
    if k == "exclusiveGateway":
        d = [f["id"] for f in flows if f["src"] == n["id"] and f["default"]]
        assert len(d) == 1, n["id"]
        attrs += f' default="{d[0]}"'
    if k == "businessRuleTask":
        attrs += f' camunda:decisionRef="{n["decision"]}"'
    if k == "boundaryEvent":
        attrs += f' cancelActivity="{str(n["interrupting"]).lower()}" attachedToRef="{n["attached_to"]}"'
    w(f'    <bpmn:{k} {attrs}>')
    if n.get("doc"):
        w(f'      <bpmn:documentation>{escape(n["doc"])}</bpmn:documentation>')
    if n.get("properties"):
        w('      <bpmn:extensionElements>')
        _properties_xml(n["properties"], w, "        ")
        w('      </bpmn:extensionElements>')
    if k == "businessRuleTask":
        w('      <bpmn:extensionElements>')
        w(f'        <spiffworkflow:calledDecisionId>{n["decision"]}</spiffworkflow:calledDecisionId>')
        w('      </bpmn:extensionElements>')
    for fid in incoming:
        w(f'      <bpmn:incoming>{fid}</bpmn:incoming>')
    for fid in outgoing:
        w(f'      <bpmn:outgoing>{fid}</bpmn:outgoing>')
    if n.get("multi"):
        m = n["multi"]
        w('      <bpmn:multiInstanceLoopCharacteristics isSequential="false">')
        w(f'        <bpmn:loopDataInputRef>{m["collection"]}</bpmn:loopDataInputRef>')
        w(f'        <bpmn:loopDataOutputRef>{m["output_collection"]}</bpmn:loopDataOutputRef>')
        w(f'        <bpmn:inputDataItem id="{m["item"]}" name="{m["item"]}" />')
        w(f'        <bpmn:outputDataItem id="{m["output"]}" name="{m["output"]}" />')
        w('      </bpmn:multiInstanceLoopCharacteristics>')
    if k == "scriptTask":
        w(f'      <bpmn:script>{escape(n["script"])}</bpmn:script>')
    if k == "boundaryEvent" and n.get("time_date"):
        w(f'      <bpmn:timerEventDefinition id="{n["id"]}_definition">')
        w(f'        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">{n["time_date"]}</bpmn:timeDate>')
        w('      </bpmn:timerEventDefinition>')
    if k in ("boundaryEvent", "intermediateCatchEvent") and n.get("signal"):
        w(f'      <bpmn:signalEventDefinition id="{n["id"]}_definition" signalRef="{n["signal"]}" />')
    if k == "intermediateThrowEvent":
        msg = messages[n["message"]]
        w(f'      <bpmn:messageEventDefinition id="{n["id"]}_definition" messageRef="{msg["id"]}">')
        w('        <bpmn:extensionElements>')
        w(f'          <spiffworkflow:messagePayload>{escape(msg["payload"])}</spiffworkflow:messagePayload>')
        w('        </bpmn:extensionElements>')
        w('      </bpmn:messageEventDefinition>')
    w(f'    </bpmn:{k}>')


def _diagram_xml(layout, w):
    proc, nodes = layout.process, layout.nodes
    w(f'  <bpmndi:BPMNDiagram id="{proc["diagram"]}">')
    w(f'    <bpmndi:BPMNPlane id="{proc["plane"]}" bpmnElement="{proc["collaboration"]}">')
    w(f'      <bpmndi:BPMNShape id="{proc["participant"]}_di" bpmnElement="{proc["participant"]}" isHorizontal="true">')
    w(bounds_xml(layout.pool_bounds, "        "))
    w('        <bpmndi:BPMNLabel />')
    w('      </bpmndi:BPMNShape>')
    for lane_id, *_ in layout.lanes:
        g = layout.lane_geom[lane_id]
        w(f'      <bpmndi:BPMNShape id="{lane_id}_di" bpmnElement="{lane_id}" isHorizontal="true">')
        w(bounds_xml((layout.lane_x, g["y"], layout.lane_w, g["h"]), "        "))
        w('        <bpmndi:BPMNLabel />')
        w('      </bpmndi:BPMNShape>')
    # hosts before their boundary events so the events are drawn on top
    ordered = [n for n in nodes.values() if n["kind"] != "boundaryEvent"]
    ordered += [n for n in nodes.values() if n["kind"] == "boundaryEvent"]
    for n in ordered:
        extra = ' isMarkerVisible="true"' if n["kind"] == "exclusiveGateway" else ""
        w(f'      <bpmndi:BPMNShape id="{n["id"]}_di" bpmnElement="{n["id"]}"{extra}>')
        w(bounds_xml(n["bounds"], "        "))
        if not n["kind"].endswith("Task"):
            w('        <bpmndi:BPMNLabel>')
            w(bounds_xml(n["label_bounds"], "          "))
            w('        </bpmndi:BPMNLabel>')
        w('      </bpmndi:BPMNShape>')
    for f in layout.flows:
        w(f'      <bpmndi:BPMNEdge id="{f["id"]}_di" bpmnElement="{f["id"]}">')
        for x, y in f["points"]:
            w(f'        <di:waypoint x="{fmt(x)}" y="{fmt(y)}" />')
        lb = f["label_bounds"]
        if lb:
            w('        <bpmndi:BPMNLabel>')
            w(bounds_xml(lb, "          "))
            w('        </bpmndi:BPMNLabel>')
        w('      </bpmndi:BPMNEdge>')
    w('    </bpmndi:BPMNPlane>')
    w('  </bpmndi:BPMNDiagram>')
