"""The event network as an inline SVG, laid out in columns from the actors' descriptors.

A node's column is its longest path from the events that enter from outside (edges that close
a cycle, such as an actor re-publishing what it reads, are drawn but do not count). Each actor
node carries ``data-actor`` and an empty ``text.stat`` that the page fills in live.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from beehive.actors import ActorDescriptor
from beehive.cli.graph import Graph, build

COLUMN, ROW = 265, 78
NODE_W, NODE_H = 180, 46
MARGIN = 24
ARC = 22
"""How far above its row an edge that skips columns arcs, per column skipped."""


def _columns(graph: Graph) -> dict[str, int]:
    nodes = [*graph.actors, *(f"event:{e}" for e in graph.events)]
    outgoing: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target, _ in graph.edges:
        outgoing[source].append(target)
    # Depth-first from every node: an edge to a node still on the stack closes a cycle.
    forward: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for target in outgoing[node]:
            if state.get(target) == 1:
                continue
            forward.add((node, target))
            if target not in state:
                visit(target)
        state[node] = 2

    for node in nodes:
        if node not in state:
            visit(node)
    column = dict.fromkeys(nodes, 0)
    for _ in nodes:  # longest path over an acyclic graph settles within len(nodes) rounds
        for source, target in forward:
            column[target] = max(column[target], column[source] + 1)
    return column


def render(descriptors: Iterable[ActorDescriptor]) -> str:
    """The SVG markup of the network of ``descriptors``."""
    graph = build(descriptors)
    column = _columns(graph)
    rows: dict[int, int] = {}
    position: dict[str, tuple[float, float]] = {}
    for node in column:
        row = rows.get(column[node], 0)
        rows[column[node]] = row + 1
        position[node] = (MARGIN + column[node] * COLUMN, MARGIN + 18 + row * ROW)
    span = max((column[t] - column[s] for s, t, _ in graph.edges), default=1)
    top = MARGIN + 18 + ARC * max(span - 1, 0)
    for node, (x, y) in position.items():
        position[node] = (x, y - MARGIN - 18 + top)
    width = MARGIN * 2 + (max(column.values(), default=0)) * COLUMN + NODE_W
    height = top + MARGIN + max(rows.values(), default=1) * ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="event network">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>",
    ]
    for source, target, label in graph.edges:
        parts.append(_edge(position[source], position[target], label, source == target))
    for node, (x, y) in position.items():
        parts.append(_node(node, x, y))
    parts.append("</svg>")
    return "".join(parts)


def _edge(start: tuple[float, float], end: tuple[float, float], label: str, loop: bool) -> str:
    (sx, sy), (tx, ty) = start, end
    title = f"<title>{escape(label)}</title>"
    if loop:
        x, y = sx + NODE_W - 30, sy
        path = f"M{x},{y} C{x + 10},{y - 30} {x + 50},{y - 10} {x + 30},{y + 2}"
        return f'<path class="edge" d="{path}" marker-end="url(#arrow)">{title}</path>'
    x1, y1 = sx + NODE_W, sy + NODE_H / 2
    x2, y2 = tx, ty + NODE_H / 2
    if tx <= sx:  # backwards: leave from the bottom, come in at the bottom
        x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2, ty + NODE_H
        bend = max(y1, y2) + 36
        path = f"M{x1},{y1} C{x1},{bend} {x2},{bend} {x2},{y2}"
    elif tx - sx > COLUMN:  # skips columns: arc over the nodes between, top to top
        x1, y1, x2, y2 = sx + NODE_W * 0.6, sy, tx + NODE_W * 0.4, ty
        bend = min(y1, y2) - ARC * 1.6 * round((tx - sx) / COLUMN - 1)
        path = f"M{x1},{y1} C{x1},{bend} {x2},{bend} {x2},{y2}"
        y1 = y2 = bend + ARC * 0.8
    else:
        middle = (x1 + x2) / 2
        path = f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"
    text = (
        f'<text class="edge-label" x="{(x1 + x2) / 2:.0f}" y="{(y1 + y2) / 2 - 4:.0f}">'
        f"{escape(_short(label, 15))}</text>"
    )
    return f'<g><path class="edge" d="{path}" marker-end="url(#arrow)">{title}</path>{text}</g>'


def _node(node: str, x: float, y: float) -> str:
    if node.startswith("event:"):
        event = node.removeprefix("event:")
        return (
            f'<g class="event" transform="translate({x},{y})"><title>{escape(event)}</title>'
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="23"/>'
            f'<text x="{NODE_W / 2}" y="{NODE_H / 2 + 4}">{escape(_short(event, 24))}</text></g>'
        )
    name = escape(node)
    return (
        f'<g class="actor" data-actor="{name}" transform="translate({x},{y})">'
        f"<title>{name}</title>"
        f'<rect width="{NODE_W}" height="{NODE_H}" rx="6"/>'
        f'<text class="name" x="{NODE_W / 2}" y="19">{escape(_short(node, 24))}</text>'
        f'<text class="stat" x="{NODE_W / 2}" y="36"></text></g>'
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
