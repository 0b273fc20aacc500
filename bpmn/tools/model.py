"""Declaring a diagram model: the node and flow tables that ``layout.py`` lays out.

A model module (``lifecycle.py``, ``supervision.py``, ``consultation.py``) defines ``FILE``,
``PROCESS``, ``LANES`` and builds its nodes and flows with a ``Diagram``; it exposes
``NODES``/``FLOWS`` (and ``SIGNALS``/``MESSAGES`` when it has any) for the layout engine::

    d = Diagram({"system": "lane_system", ...})
    d.script("archive", "办结归档", 12, 'outcome = "archived"')
    d.flow("archive", "end_archived")
    NODES, FLOWS, SIGNALS, MESSAGES = d.nodes, d.flows, d.signals, d.messages

Each node carries its process semantics plus layout hints (lane, column, row); each flow its
condition and routing hints (ports, style, options).  See ``layout.py`` for the routing styles.
"""
from __future__ import annotations


class Diagram:
    def __init__(self, lane_short: dict[str, str]):
        self.lane_short = lane_short
        self.nodes: dict[str, dict] = {}
        self.flows: list[dict] = []
        self.signals: dict[str, dict] = {}     # signal id -> dict(id, name, variable)
        self.messages: dict[str, dict] = {}    # message id -> dict(id, name, payload)

    # -- flow nodes
    def node(self, id_, kind, name, lane, col, row=0, **extra):
        """kind: startEvent | endEvent | userTask | scriptTask | businessRuleTask | exclusiveGateway |
        boundaryEvent | intermediateThrowEvent | intermediateCatchEvent."""
        assert id_ not in self.nodes, id_
        self.nodes[id_] = dict(id=id_, kind=kind, name=name, lane=self.lane_short[lane], col=col, row=row,
                               **extra)
        return self.nodes[id_]

    def user(self, id_, name, lane, col, role, unit_scoped, doc, row=0, form=None, multi=None, **props):
        """A user task with the spiffworkflow properties form (default: the id), role and unit_scoped,
        then the optional ones given as keywords (role_from, unit_from, due, subject_from), in that
        order.  ``multi``: dict(collection, item, output, output_collection) makes it a parallel
        multi-instance task."""
        properties = [("form", form or id_), ("role", role), ("unit_scoped", str(unit_scoped).lower())]
        for key in ("role_from", "unit_from", "due", "subject_from"):
            if props.get(key) is not None:
                properties.append((key, props.pop(key)))
        assert not props, f"{id_}: unknown user task properties {sorted(props)}"
        return self.node(id_, "userTask", name, lane, col, row, properties=properties, doc=doc, multi=multi)

    def script(self, id_, name, col, body, row=0, doc=None, lane="system", event=None, event_fields=()):
        """A script task; ``event``/``event_fields`` become spiffworkflow properties telling the engine
        to record an auditable event of that type with those data fields after the script ran."""
        properties = []
        if event:
            properties = [("event", event), ("event_fields", ",".join(event_fields))]
        return self.node(id_, "scriptTask", name, lane, col, row, script=body.strip("\n"), doc=doc,
                         properties=properties)

    def rule(self, id_, name, col, decision, doc, row=0, lane="system"):
        return self.node(id_, "businessRuleTask", name, lane, col, row, decision=decision, doc=doc)

    def gateway(self, id_, name, lane, col, row=0, label="T"):
        return self.node(id_, "exclusiveGateway", name, lane, col, row, label=label)

    def timer(self, id_, name, host, time_date, offset=0, label="R"):
        """A non-interrupting timeDate timer boundary event on ``host`` (``offset``: x shift along the
        host's bottom edge; ``label``: R or L of the event)."""
        h = self.nodes[host]
        return self.node(id_, "boundaryEvent", name, _short(self, h["lane"]), h["col"], h["row"],
                         attached_to=host, time_date=time_date, interrupting=False, offset=offset,
                         label=label)

    def signal_boundary(self, id_, name, host, signal, offset=0, label="R", doc=None):
        """An interrupting signal boundary event on ``host`` catching the signal id ``signal``."""
        assert signal in self.signals, signal
        h = self.nodes[host]
        return self.node(id_, "boundaryEvent", name, _short(self, h["lane"]), h["col"], h["row"],
                         attached_to=host, signal=signal, interrupting=True, offset=offset, label=label,
                         doc=doc)

    def throw_message(self, id_, name, col, message, row=0, lane="system", doc=None):
        """An intermediate throw event sending the message id ``message`` (its payload expression)."""
        assert message in self.messages, message
        return self.node(id_, "intermediateThrowEvent", name, lane, col, row, message=message, doc=doc)

    def catch_signal(self, id_, name, col, signal, row=0, lane="system", doc=None):
        """An intermediate catch event waiting for the signal id ``signal`` (its payload lands in the
        signal's variable)."""
        assert signal in self.signals, signal
        return self.node(id_, "intermediateCatchEvent", name, lane, col, row, signal=signal, doc=doc)

    # -- top-level definitions
    def signal(self, id_, name, variable):
        """A bpmn:signal whose payload lands in task data under ``variable`` when caught."""
        self.signals[id_] = dict(id=id_, name=name, variable=variable)

    def message(self, id_, name, payload):
        """A bpmn:message; ``payload`` (a Python expression) is sent by every event throwing it."""
        self.messages[id_] = dict(id=id_, name=name, payload=payload)

    # -- sequence flows
    def flow(self, src, tgt, name=None, cond=None, default=False, style="auto", sp="R", tp="L", **opts):
        """(source, target, name, condition, is_default) plus routing: ports ``sp``/``tp`` (L, R, T, B),
        ``style`` (auto | track | hvh | via) and its options (see layout.py)."""
        assert src in self.nodes and tgt in self.nodes, (src, tgt)
        self.flows.append(dict(id=f"flow_{src}_to_{tgt}", src=src, tgt=tgt, name=name, cond=cond,
                               default=default, style=style, sp=sp, tp=tp, opts=opts))


def _short(diagram, lane_id):
    return next(k for k, v in diagram.lane_short.items() if v == lane_id)
