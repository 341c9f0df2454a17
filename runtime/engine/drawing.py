"""A workflow's step graph drawn as Mermaid text or as one self-contained HTML page.

The page needs no network and no script: the graph is an inline SVG laid out here, in
layers from the start event down (an edge closing a loop curves back up round the right
side), with the Mermaid text and the graph's data (get_workflow_representation) below it.

    from runtime import draw_workflow
    draw_workflow(MyFlow, "my_flow.html")     # or "my_flow.mmd" for the Mermaid text
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.timeline.model import write_atomically

from .representation import WorkflowGraph, get_workflow_representation

if TYPE_CHECKING:
    from .workflow import Workflow

# Fill and stroke per node type; the page's legend and the Mermaid classes use the same.
COLORS = {
    "step": ("#dbeafe", "#1d4ed8"),
    "event": ("#fef3c7", "#b45309"),
    "external": ("#fce7f3", "#be185d"),
    "resource": ("#dcfce7", "#15803d"),
    "resource_config": ("#dcfce7", "#15803d"),
}
_OTHER = ("#f3f4f6", "#4b5563")
_ROW = 96
_GAP = 28
_HEIGHT = 40
_MARGIN = 40
_CHAR = 7.6  # mean width of a 13px sans-serif character, for box widths


def _graph(workflow: Workflow | type[Workflow] | WorkflowGraph) -> WorkflowGraph:
    return workflow if isinstance(workflow, WorkflowGraph) else get_workflow_representation(workflow)


def workflow_to_mermaid(workflow: Workflow | type[Workflow] | WorkflowGraph) -> str:
    """Mermaid flowchart text: steps as boxes, events as stadiums, the outside as a hexagon."""
    graph = _graph(workflow)
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for node in graph.nodes:
        label = node.label.replace('"', "#quot;")
        kind = node.node_type
        shape = {"step": '["{}"]', "event": '(["{}"])', "external": '{{{{"{}"}}}}'}.get(kind, '[/"{}"/]')
        lines.append(f"    {ids[node.id]}{shape.format(label)}:::{kind}")
    for edge in graph.edges:
        if edge.source in ids and edge.target in ids:
            arrow = f" -->|{edge.label}| " if edge.label else " --> "
            lines.append(f"    {ids[edge.source]}{arrow}{ids[edge.target]}")
    for kind in sorted({node.node_type for node in graph.nodes}):
        fill, stroke = COLORS.get(kind, _OTHER)
        lines.append(f"    classDef {kind} fill:{fill},stroke:{stroke},color:#111827")
    return "\n".join(lines) + "\n"


@dataclass
class _Box:
    x: float
    y: float
    width: float

    @property
    def center(self) -> float:
        return self.x + self.width / 2


def _forward_edges(graph: WorkflowGraph) -> list[tuple[str, str]]:
    """The edges minus those that close a loop (found by a depth-first walk from the nodes
    nothing points to, in graph order): what is left has no cycle, so it has layers."""
    outgoing: dict[str, list[str]] = {}
    for edge in graph.edges:
        outgoing.setdefault(edge.source, []).append(edge.target)
    targets = {edge.target for edge in graph.edges}
    order = [n.id for n in graph.nodes if n.id not in targets] + [n.id for n in graph.nodes]
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    back: set[tuple[str, str]] = set()
    for root in order:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(outgoing.get(root, ())))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(outgoing.get(child, ()))))
    return [(e.source, e.target) for e in graph.edges if (e.source, e.target) not in back]


def _rows(graph: WorkflowGraph) -> list[list[str]]:
    """Nodes by layer (longest path from a source, along forward edges), each layer ordered
    by where its predecessors sit, so that edges cross less."""
    forward = _forward_edges(graph)
    preds: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for source, target in forward:
        if source in preds and target in preds:
            preds[target].append(source)
    rank: dict[str, int] = {}

    def depth(node: str) -> int:
        # Iterative longest path: forward edges have no cycle.
        pending = [node]
        while pending:
            current = pending[-1]
            missing = [p for p in preds[current] if p not in rank]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            rank[current] = max((rank[p] + 1 for p in preds[current]), default=0)
        return rank[node]

    rows: list[list[str]] = []
    for n in graph.nodes:
        r = depth(n.id)
        while len(rows) <= r:
            rows.append([])
        rows[r].append(n.id)
    position: dict[str, float] = {}
    for row in rows:
        keys = {}
        for i, node in enumerate(row):
            placed = [position[p] for p in preds[node] if p in position]
            keys[node] = sum(placed) / len(placed) if placed else i - (len(row) - 1) / 2
        row.sort(key=keys.__getitem__)
        for i, node in enumerate(row):
            position[node] = i - (len(row) - 1) / 2
    return rows


def _layout(graph: WorkflowGraph) -> tuple[dict[str, _Box], float, float]:
    rows = _rows(graph)
    labels = {node.id: node.label for node in graph.nodes}
    widths = {nid: max(96.0, len(label) * _CHAR + 28) for nid, label in labels.items()}
    row_width = [sum(widths[n] for n in ids) + _GAP * (len(ids) - 1) for ids in rows]
    inner = max(row_width, default=0.0)
    boxes: dict[str, _Box] = {}
    for r, ids in enumerate(rows):
        x = _MARGIN + (inner - row_width[r]) / 2
        for nid in ids:
            boxes[nid] = _Box(x, _MARGIN + r * _ROW, widths[nid])
            x += widths[nid] + _GAP
    # Room on the right for the edges that go back up.
    width = inner + 2 * _MARGIN + 60
    height = _MARGIN * 2 + max(len(rows) - 1, 0) * _ROW + _HEIGHT
    return boxes, width, height


def _svg(graph: WorkflowGraph) -> str:
    boxes, width, height = _layout(graph)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{html.escape(graph.name)} step graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>',
    ]
    right = width - 30
    for edge in graph.edges:
        a, b = boxes.get(edge.source), boxes.get(edge.target)
        if a is None or b is None:
            continue
        if b.y > a.y:
            x1, y1, x2, y2 = a.center, a.y + _HEIGHT, b.center, b.y
            d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + 30:.1f} {x2:.1f},{y2 - 30:.1f} {x2:.1f},{y2:.1f}"
        else:  # back up (a loop) or along a row: round the right side
            x1, y1, x2, y2 = a.x + a.width, a.y + _HEIGHT / 2, b.x + b.width, b.y + _HEIGHT / 2
            d = f"M{x1:.1f},{y1:.1f} C{right:.1f},{y1:.1f} {right:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        source, target = html.escape(edge.source), html.escape(edge.target)
        out.append(
            f'<path class="edge" data-source="{source}" data-target="{target}" d="{d}" fill="none" '
            'stroke="#6b7280" stroke-width="1.4" marker-end="url(#arrow)"><title>'
            f"{source} \u2192 {target}</title></path>"
        )
    for node in graph.nodes:
        box = boxes[node.id]
        fill, stroke = COLORS.get(node.node_type, _OTHER)
        radius = _HEIGHT / 2 if node.node_type == "event" else 6
        dash = ' stroke-dasharray="5 3"' if node.node_type == "external" else ""
        tip = getattr(node, "description", None) or node.node_type
        out.append(
            f'<g class="node" data-id="{html.escape(node.id)}" data-type="{html.escape(node.node_type)}">'
            f"<title>{html.escape(node.label)}: {html.escape(tip)}</title>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{_HEIGHT}" rx="{radius}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
            f'<text x="{box.center:.1f}" y="{box.y + _HEIGHT / 2:.1f}" text-anchor="middle" '
            f'dominant-baseline="central">{html.escape(node.label)}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def workflow_to_html(workflow: Workflow | type[Workflow] | WorkflowGraph) -> str:
    """The page: title, legend, the SVG graph, the Mermaid text and the graph data."""
    graph = _graph(workflow)
    kinds = sorted({node.node_type for node in graph.nodes})
    legend = "".join(
        f'<span class="key"><i style="background:{COLORS.get(k, _OTHER)[0]};border-color:{COLORS.get(k, _OTHER)[1]}">'
        f"</i>{html.escape(k)}</span>"
        for k in kinds
    )
    data = json.dumps(graph.model_dump(mode="json"), indent=1).replace("</", "<\\/")
    description = f"<p>{html.escape(graph.description)}</p>" if graph.description else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(graph.name)}: workflow steps</title>
<style>
body {{ font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #111827; }}
h1 {{ font-size: 18px; margin: 0 0 6px; }}
.key {{ margin-right: 14px; }} .key i {{ display: inline-block; width: 14px; height: 10px; border: 1.5px solid;
  border-radius: 3px; margin-right: 4px; vertical-align: -1px; }}
svg text {{ font: 13px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #111827; }}
#canvas {{ display: inline-block; max-width: 100%; overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; margin: 12px 0; }}
pre {{ background: #f9fafb; padding: 10px; overflow: auto; }}
</style></head>
<body>
<h1>{html.escape(graph.name)}</h1>
{description}
<div id="legend">{legend}</div>
<div id="canvas">
{_svg(graph)}
</div>
<details><summary>Mermaid</summary><pre id="mermaid">{html.escape(workflow_to_mermaid(graph))}</pre></details>
<details><summary>Graph data</summary><pre id="graph-json">{html.escape(data)}</pre></details>
</body></html>
"""


def draw_workflow(workflow: Workflow | type[Workflow] | WorkflowGraph, path: str | os.PathLike[str]) -> Path:
    """Write the step graph to ``path``: ``.html`` (the page) or ``.mmd`` (Mermaid text).
    The file appears whole or not at all; ValueError for another suffix or a failed write."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".html", ".htm"):
        text = workflow_to_html(workflow)
    elif suffix in (".mmd", ".mermaid"):
        text = workflow_to_mermaid(workflow)
    else:
        raise ValueError(
            f"{path}: a workflow is drawn as .html (a page) or .mmd (Mermaid text), not "
            f"{suffix or 'a file without suffix'!r}"
        )
    write_atomically(target, text)
    return target


def draw_all_possible_flows(workflow: Workflow | type[Workflow], filename: str = "workflow_all_flows.html") -> Path:
    """LlamaIndex's name for drawing every path of a workflow (llama-index-utils-workflow)."""
    return draw_workflow(workflow, filename)
