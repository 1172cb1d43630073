"""A pipeline's DAG drawn as SVG with a simple layered (Sugiyama-style) layout, no Graphviz.

1. Layers: an operator sits one layer below its deepest input (longest path from a source).
2. Edges spanning several layers get a waypoint in every layer they cross, so that they
   are routed around operators instead of through them.
3. Order within a layer: start in execution order, then a few sweeps down and up that
   sort each layer by the mean position of its neighbours in the layer before (barycentre
   heuristic), which removes most crossings of a pipeline-shaped DAG.
4. Coordinates: operators and waypoints take slots of fixed width, layers are centred.

Descriptions are wrapped onto up to three lines (every box is as tall as the tallest
needs); the full description and code are in each operator's tooltip.
"""
from __future__ import annotations

import html
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Union

from lester_inspect.instrumentation.dag import DagNode
from lester_inspect.report.model import Status

BOX_WIDTH, BOX_HEIGHT = 210, 56
WAYPOINT_WIDTH = 20
GAP_X, GAP_Y, MARGIN = 24, 46, 16
SWEEPS = 4
_DESCRIPTION_CHARACTERS = 32  # per line, at 11 px in a box of BOX_WIDTH
_DESCRIPTION_LINES = 3
LINE_HEIGHT = 14

# (fill, stroke) per status; operators no verdict touched are neutral.
COLOURS = {
    None: ("#f4f6fb", "#8792a2"),
    Status.PASSED: ("#dcf2e0", "#2e7d32"),
    Status.SKIPPED: ("#dcf2e0", "#2e7d32"),
    Status.WARNING: ("#ffe8b0", "#b7791f"),
    Status.FAILED: ("#f7b2b2", "#c62828"),
    Status.ERROR: ("#f7b2b2", "#c62828"),
}

Vertex = Union[DagNode, Tuple[int, int, int]]  # an operator, or a waypoint (edge index, layer, 0)


def dag_svg(nodes: List[DagNode], parents: Callable[[DagNode], List[DagNode]],
            statuses: Mapping[DagNode, Status], link: Optional[Callable[[DagNode], str]],
            element_id: str = "dag") -> str:
    """The SVG of the DAG of ``nodes``; each operator links to ``link(node)`` and shows its code on hover.

    Without ``link``, the SVG stands alone (a file of its own): no links, its own font style.
    """
    descriptions = {node: _wrap(node.description) for node in nodes}
    box_height = BOX_HEIGHT + LINE_HEIGHT * (max((len(d) for d in descriptions.values()), default=1) - 1)
    layout = _Layout(nodes, parents, box_height)
    width = max((layout.layer_width(layer) for layer in layout.layers), default=0) + 2 * MARGIN
    height = len(layout.layers) * (box_height + GAP_Y) - GAP_Y + 2 * MARGIN if layout.layers else 2 * MARGIN
    positions = layout.positions(width)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{element_id}" class="dag" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="pipeline DAG">',
             '<defs><marker id="{0}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280"/></marker></defs>'
             .format(element_id)]
    if link is None:
        parts.append(f"<style>#{element_id} text {{ font-family: Helvetica, Arial, sans-serif; fill: #1f2430; }}"
                     "</style>"
                     f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    for points in layout.edge_routes(positions):
        parts.append(f'<path class="edge" d="{_curve(points)}" fill="none" stroke="#6b7280" stroke-width="1.3" '
                     f'marker-end="url(#{element_id}-arrow)"/>')
    for node in nodes:
        parts.append(_box(node, positions[node], statuses.get(node), link(node) if link else None,
                          descriptions[node], box_height))
    parts.append("</svg>")
    return "\n".join(parts)


def _wrap(text: str) -> List[str]:
    """``text`` in lines of at most _DESCRIPTION_CHARACTERS, broken at spaces where possible."""
    lines: List[str] = []
    rest = " ".join(text.split())
    while rest and len(lines) < _DESCRIPTION_LINES:
        if len(rest) <= _DESCRIPTION_CHARACTERS:
            lines.append(rest)
            rest = ""
            break
        cut = rest.rfind(" ", 0, _DESCRIPTION_CHARACTERS + 1)
        cut = cut if cut > _DESCRIPTION_CHARACTERS // 2 else _DESCRIPTION_CHARACTERS
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:  # the tooltip and the operator's details have it all
        lines[-1] = lines[-1][:_DESCRIPTION_CHARACTERS - 1] + "…"
    return lines or [""]


def _box(node: DagNode, position: Tuple[float, float], status: Optional[Status], href: Optional[str],
         description: List[str], height: float) -> str:
    x, y = position
    fill, stroke = COLOURS[status]
    location = str(node.code_location) if node.code_location else ""
    tooltip = f"{node.node_id}: {node.operator_type.value} {location}\n{node.description}"
    if node.source_code:
        tooltip += f"\n\n{node.source_code}"
    state = status.value if status else "unchecked"
    e = html.escape
    opening = f'<a href="{e(href)}"' if href is not None else "<g"
    return (f'{opening} class="op op-{state}" data-operator="{node.node_id}">'
            f"<title>{e(tooltip)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_WIDTH}" height="{height}" rx="7" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{2.2 if status in (Status.FAILED, Status.ERROR) else 1.2}"/>'
            f'<text x="{x + 8:.1f}" y="{y + 17:.1f}" font-size="12" font-weight="600">'
            f"{node.node_id} · {e(node.operator_type.value)}</text>"
            + "".join(f'<text class="label" x="{x + 8:.1f}" y="{y + 33 + LINE_HEIGHT * i:.1f}" font-size="11">'
                      f"{e(line)}</text>" for i, line in enumerate(description))
            + f'<text x="{x + 8:.1f}" y="{y + height - 8:.1f}" font-size="10" fill="#4b5563">{e(location)}</text>'
            + ("</a>" if href is not None else "</g>"))


def result_svg(result) -> str:
    """A standalone SVG of an ``InspectorResult``'s DAG, operators coloured by its check results."""
    from lester_inspect.report.model import check_verdicts, operator_statuses

    statuses = operator_statuses(result, check_verdicts(result))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + dag_svg(result.nodes, result.parents, statuses, None) + "\n"


def _curve(points: List[Tuple[float, float]]) -> str:
    """A smooth path through ``points``: vertical tangents at every point."""
    (x0, y0), rest = points[0], points[1:]
    path = [f"M {x0:.1f} {y0:.1f}"]
    for x1, y1 in rest:
        middle = (y0 + y1) / 2
        path.append(f"C {x0:.1f} {middle:.1f}, {x1:.1f} {middle:.1f}, {x1:.1f} {y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(path)


class _Layout:
    def __init__(self, nodes: List[DagNode], parents: Callable[[DagNode], List[DagNode]], box_height: float):
        self.box_height = box_height
        # Execution order is topological: an operator's inputs exist before it is recorded.
        ordered = sorted(nodes, key=lambda n: n.node_id)
        known = set(ordered)
        self.parents = {node: [p for p in parents(node) if p in known] for node in ordered}
        layer_of: Dict[DagNode, int] = {}
        for node in ordered:
            layer_of[node] = 1 + max((layer_of.get(p, 0) for p in self.parents[node]), default=-1)
        self.layer_of = layer_of
        count = 1 + max(layer_of.values(), default=-1)
        self.layers: List[List[Vertex]] = [[] for _ in range(count)]
        # For every edge, the vertices it passes: parent, waypoints, child.
        self.routes: List[List[Vertex]] = []
        self.above: Dict[Vertex, List[Vertex]] = {}
        for node in ordered:
            self.layers[layer_of[node]].append(node)
        for node in ordered:
            for parent in self.parents[node]:
                route: List[Vertex] = [parent]
                for layer in range(layer_of[parent] + 1, layer_of[node]):
                    waypoint = (len(self.routes), layer, 0)
                    self.layers[layer].append(waypoint)
                    route.append(waypoint)
                route.append(node)
                for upper, lower in zip(route, route[1:]):
                    self.above.setdefault(lower, []).append(upper)
                self.routes.append(route)
        self.below: Dict[Vertex, List[Vertex]] = {}
        for lower, uppers in self.above.items():
            for upper in uppers:
                self.below.setdefault(upper, []).append(lower)
        self._order()

    def _order(self) -> None:
        for sweep in range(SWEEPS):
            downwards = sweep % 2 == 0
            indices = range(1, len(self.layers)) if downwards else range(len(self.layers) - 2, -1, -1)
            for index in indices:
                reference = self.layers[index - 1 if downwards else index + 1]
                place = {vertex: position for position, vertex in enumerate(reference)}
                neighbours = self.above if downwards else self.below
                current = self.layers[index]

                def barycentre(item):
                    position, vertex = item
                    linked = [place[v] for v in neighbours.get(vertex, ()) if v in place]
                    return (sum(linked) / len(linked) if linked else position, position)

                self.layers[index] = [v for _, v in sorted(enumerate(current), key=barycentre)]

    @staticmethod
    def width_of(vertex: Vertex) -> float:
        return BOX_WIDTH if isinstance(vertex, DagNode) else WAYPOINT_WIDTH

    def layer_width(self, layer: List[Vertex]) -> float:
        return sum(self.width_of(v) for v in layer) + GAP_X * max(len(layer) - 1, 0)

    def positions(self, width: float) -> Dict[Vertex, Tuple[float, float]]:
        """Top-left corner of every operator box; the centre point of every waypoint."""
        placed = {}
        for index, layer in enumerate(self.layers):
            x = (width - self.layer_width(layer)) / 2
            y = MARGIN + index * (self.box_height + GAP_Y)
            for vertex in layer:
                placed[vertex] = (x, y) if isinstance(vertex, DagNode) else (x + WAYPOINT_WIDTH / 2,
                                                                             y + self.box_height / 2)
                x += self.width_of(vertex) + GAP_X
        return placed

    def edge_routes(self, positions: Mapping[Vertex, Tuple[float, float]]) -> List[List[Tuple[float, float]]]:
        """Each edge's points; an operator's several inputs (outputs) enter (leave) side by side."""
        def spread(vertices: List[Vertex], vertex: Vertex) -> float:
            left_to_right = sorted(vertices, key=lambda v: positions[v][0])
            return BOX_WIDTH * (left_to_right.index(vertex) + 1) / (len(vertices) + 1)

        routes = []
        for route in self.routes:
            parent, first, last, child = route[0], route[1], route[-2], route[-1]
            px, py = positions[parent]
            cx, cy = positions[child]
            points = [(px + spread(self.below[parent], first), py + self.box_height)]
            points += [positions[waypoint] for waypoint in route[1:-1]]
            points.append((cx + spread(self.above[child], last), cy))
            routes.append(points)
        return routes
