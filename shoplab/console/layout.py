"""Lay the topology out for the page: one column per call depth, services spread down each column."""

from __future__ import annotations

from typing import Any

from shop.topology import Topology

COL_W, ROW_H, MARGIN_X, MARGIN_Y, BOX_W, BOX_H = 210, 110, 20, 30, 140, 40


def depths(topology: Topology) -> dict[str, int]:
    """Return each service's longest call path from a service nobody calls (callers left of callees)."""
    called = {c for s in topology.services for c in s.calls}
    depth = {s.name: 0 for s in topology.services if s.name not in called}
    changed = True
    while changed:  # the call graph is a DAG (tests/unit/test_topology.py); this settles in a few passes
        changed = False
        for e in topology.edges:
            if e.caller in depth and depth.get(e.callee, -1) < depth[e.caller] + 1:
                depth[e.callee] = depth[e.caller] + 1
                changed = True
    return depth


def layout(topology: Topology) -> dict[str, Any]:
    """Return the services' boxes and the edges' endpoints in SVG coordinates."""
    d = depths(topology)
    columns: dict[int, list[str]] = {}
    for name in topology.service_names:
        columns.setdefault(d.get(name, 0), []).append(name)
    tallest = max(len(c) for c in columns.values())
    nodes: dict[str, dict[str, Any]] = {}
    for col, names in columns.items():
        top = MARGIN_Y + (tallest - len(names)) * ROW_H / 2
        for i, name in enumerate(names):
            nodes[name] = {"name": name, "x": MARGIN_X + col * COL_W, "y": top + i * ROW_H, "w": BOX_W, "h": BOX_H}
    edges = []
    for e in topology.edges:
        a, b = nodes[e.caller], nodes[e.callee]
        x1, y1, x2, y2 = a["x"] + BOX_W, a["y"] + BOX_H / 2, b["x"], b["y"] + BOX_H / 2
        # an edge that skips a column along a row bends above the boxes in between (more the longer it is)
        span = d.get(e.callee, 0) - d.get(e.caller, 0)
        bend = 70 * (span - 1) if span > 1 and abs(y1 - y2) < ROW_H / 2 else 0
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 - bend
        lx, ly = 0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2
        edges.append({"edge": e.proxy_name, "caller": e.caller, "callee": e.callee, "port": e.listen_port,
                      "path": f"M{x1:g},{y1:g} Q{cx:g},{cy:g} {x2:g},{y2:g}", "lx": lx, "ly": ly - 6})
    width = MARGIN_X * 2 + max(columns) * COL_W + BOX_W
    height = MARGIN_Y * 2 + (tallest - 1) * ROW_H + BOX_H
    return {"nodes": list(nodes.values()), "edges": edges, "width": width, "height": height}
