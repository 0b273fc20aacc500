"""Generator for the diagrams in ``bpmn/``: ticket_lifecycle.bpmn, supervision.bpmn, consultation.bpmn.

Each diagram (process semantics *and* the BPMNDI layout) is described once, in the tables of a model
module (``lifecycle.py``, ``supervision.py``, ``consultation.py``, built with ``model.Diagram``) and
written out as a normal BPMN 2.0 XML file (``bpmn_xml.py``) that opens in Camunda Modeler and
bpmn.io.  The generated files are committed; re-run this script after changing the tables::

    .venv/bin/python bpmn/tools/layout.py            # writes all three diagrams
    .venv/bin/python bpmn/tools/layout.py --check    # exit 1 if a file is stale or a layout untidy

Editing the .bpmn file in a modeler is fine too; this script is only a
convenience for keeping the orthogonal layout tidy (it also checks that no two
shapes overlap and that no edge runs through a shape it does not connect).

Layout model: every flow node sits in a lane, a column and (for the system
lane, which has several) a row.  Columns are ``COL_W`` apart; all shapes of a
row share one centre line.  Edges are orthogonal polylines built from ports
(``L``/``R``/``T``/``B`` of a shape) and a routing style.  Back edges (loops
to 派单/签收/办理) run in horizontal "tracks": named y positions of a lane
(e.g. at the top of the centre and handler lanes).  Boundary events sit on
their host's bottom edge, shifted by their ``offset``.

Routing styles of a flow (``model.Diagram.flow``: ports ``sp``/``tp``, ``style`` and options):

- ``auto``: straight when the ports are aligned, else one corner (L/R -> T/B or T/B -> L/R);
- ``track``: vertical from the source port to the lane track ``track``, horizontal, vertical into
  the target port (``sdx``/``tdx`` shift a T/B port along its edge);
- ``hvh``: horizontal, vertical at x = source port + ``dx`` (default: midway), horizontal;
- ``via``: through the listed moves ``("x", col, dx)`` / ``("t", track)``, then into the target
  port (see ``Layout._via``).

This module is the generic part: geometry, routing, label placement, the layout checks and the
command line.  It knows nothing about the diagrams beyond the models it is given (``MODELS``: the ones
the command line writes and checks).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:  # imported as part of a package
    from . import bpmn_xml, consultation, lifecycle, supervision
except ImportError:  # run as a script: bpmn/tools is on sys.path
    import bpmn_xml
    import consultation
    import lifecycle
    import supervision

MODELS = (lifecycle, supervision, consultation)

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


def size_of(n):
    k = n["kind"]
    if k.endswith("Task"):
        return SIZES["task"]
    if k == "exclusiveGateway":
        return SIZES["gateway"]
    return SIZES["event"]


def text_width(text):
    return max(20, sum(13 if ord(ch) > 0x2E80 else 7 for ch in text) + 4)


class Layout:
    """A diagram model (``lanes``, ``nodes``, ``flows``, ``process``, optional ``signals`` and
    ``messages``) with every position worked out.

    The model's node and flow dicts are copied; the copies gain ``bounds`` (nodes), ``points``
    (flows) and ``label_bounds`` (events, gateways and named flows).
    """

    def __init__(self, model):
        self.process = model.PROCESS
        self.lanes = model.LANES
        self.nodes = {nid: dict(n) for nid, n in model.NODES.items()}
        self.flows = [dict(f) for f in model.FLOWS]
        self.signals = dict(getattr(model, "SIGNALS", {}))
        self.messages = dict(getattr(model, "MESSAGES", {}))

        n_cols = max(n["col"] for n in self.nodes.values()) + 1
        pool_w = (X0 + (n_cols - 1) * COL_W + 90) - POOL_X
        self.lane_x = POOL_X + POOL_LABEL_W
        self.lane_w = pool_w - POOL_LABEL_W
        self.lane_geom = {}
        y = POOL_Y
        for lane_id, lane_name, height, rows, tracks in self.lanes:
            self.lane_geom[lane_id] = dict(name=lane_name, y=y, h=height,
                                           rows={r: y + off for r, off in rows.items()},
                                           tracks={t: y + off for t, off in tracks.items()})
            y += height
        self.pool_bounds = (POOL_X, POOL_Y, pool_w, y - POOL_Y)
        self.tracks = {t: ty for g in self.lane_geom.values() for t, ty in g["tracks"].items()}

        for n in self.nodes.values():
            self._place(n)
        for f in self.flows:
            f["points"] = self._route(f)
        for n in self.nodes.values():
            if not n["kind"].endswith("Task"):
                n["label_bounds"] = node_label(n)
        for f in self.flows:
            f["label_bounds"] = edge_label(f)

    # -- shapes
    def _home_bounds(self, n):
        w, h = size_of(n)
        cx = X0 + n["col"] * COL_W
        cy = self.lane_geom[n["lane"]]["rows"][n["row"]]
        return (cx - w // 2, cy - h // 2, w, h)

    def _place(self, n):
        w, h = size_of(n)
        cx = X0 + n["col"] * COL_W
        if n["kind"] == "boundaryEvent":
            hb = self._home_bounds(self.nodes[n["attached_to"]])
            cx = hb[0] + hb[2] / 2 + n.get("offset", 0)
            cy = hb[1] + hb[3]  # centred on the host's bottom edge
        else:
            cy = self.lane_geom[n["lane"]]["rows"][n["row"]]
        n["cx"], n["cy"] = cx, cy
        n["bounds"] = (cx - w // 2, cy - h // 2, w, h)

    # -- edges
    def _route(self, f):
        s, t = self.nodes[f["src"]], self.nodes[f["tgt"]]
        sp, tp, o = f["sp"], f["tp"], f["opts"]
        p0 = port(s, sp, o.get("sdx", 0))
        p1 = port(t, tp, o.get("tdx", 0))
        style = f["style"]
        if style == "track":
            ty = self.tracks[o["track"]]
            pts = [p0, (p0[0], ty), (p1[0], ty), p1]
        elif style == "hvh":
            mx = p0[0] + o["dx"] if "dx" in o else (p0[0] + p1[0]) / 2
            pts = [p0, (mx, p0[1]), (mx, p1[1]), p1]
        elif style == "via":
            pts = self._via(p0, p1, tp, o["via"])
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
        return [(int(round(x)), int(round(y))) for x, y in out]

    def _via(self, p0, p1, tp, moves):
        """Orthogonal path from p0 through ``moves``, then into p1 from the side of port ``tp``.

        A move is ``("x", col, dx)``: horizontally to column ``col``'s centre + ``dx``, or
        ``("t", track)``: vertically to a named track.  The last leg is vertical then horizontal
        into an ``L``/``R`` port, horizontal then vertical into a ``T``/``B`` port.
        """
        pts = [p0]
        x, y = p0
        for move in moves:
            if move[0] == "x":
                x = X0 + move[1] * COL_W + (move[2] if len(move) > 2 else 0)
            elif move[0] == "t":
                y = self.tracks[move[1]]
            else:
                raise ValueError(f"unknown move {move!r}")
            pts.append((x, y))
        if x != p1[0] and y != p1[1]:
            pts.append((x, p1[1]) if tp in "LR" else (p1[0], y))
        pts.append(p1)
        return pts


def port(n, side, dx=0):
    x, y, w, h = n["bounds"]
    cx, cy = x + w / 2, y + h / 2
    return {
        "L": (x, cy),
        "R": (x + w, cy),
        "T": (cx + dx, y),
        "B": (cx + dx, y + h),
    }[side]


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------
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
        if n.get("label") == "L":
            return (x - tw - 4, y + h - 8, tw, 14)
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


def check_layout(layout):
    problems = []
    nodes = list(layout.nodes.values())
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            if a.get("attached_to") == b["id"] or b.get("attached_to") == a["id"]:
                continue
            if _overlap(a["bounds"], b["bounds"], pad=10):
                problems.append(f"shapes overlap: {a['id']} / {b['id']}")
    for n in nodes:
        lane = layout.lane_geom[n["lane"]]
        x, y, w, h = n["bounds"]
        if not (lane["y"] < y and y + h < lane["y"] + lane["h"]):
            problems.append(f"{n['id']} sticks out of its lane {n['lane']}")
        if x < layout.lane_x + 30 or x + w > layout.lane_x + layout.lane_w:
            problems.append(f"{n['id']} outside the pool horizontally")
    for f in layout.flows:
        ends = {f["src"], f["tgt"]}
        src = layout.nodes[f["src"]]
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
    labels = [(n["id"], n["label_bounds"]) for n in nodes if not n["kind"].endswith("Task")]
    labels += [(f["id"], f["label_bounds"]) for f in layout.flows if f["name"]]
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
# Command line
# --------------------------------------------------------------------------
def generate(model=lifecycle):
    """The model's BPMN XML and the list of layout problems (empty when the layout is tidy)."""
    layout = Layout(model)
    return bpmn_xml.build_xml(layout), check_layout(layout)


def main(argv=None, model=None):
    """Write (or with --check compare) ``model``'s file, or every diagram of ``MODELS``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a committed file is stale")
    ap.add_argument("-o", "--output", type=Path, help="output file (only with a single model)")
    args = ap.parse_args(argv)
    models = [model] if model is not None else list(MODELS)
    if args.output and len(models) != 1:
        ap.error("--output needs a single model")
    rc = 0
    for m in models:
        output = args.output or m.FILE
        xml, problems = generate(m)
        for p in problems:
            print(f"layout ({output.name}):", p, file=sys.stderr)
        if problems:
            rc = 1
        if args.check:
            current = output.read_text(encoding="utf-8") if output.exists() else ""
            if current != xml:
                print(f"{output} is out of date; run bpmn/tools/layout.py", file=sys.stderr)
                rc = 1
            continue
        output.write_text(xml, encoding="utf-8")
        print(f"wrote {output} ({len(m.NODES)} nodes, {len(m.FLOWS)} flows)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
