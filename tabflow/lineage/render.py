"""The lineage graph as DOT, as SVG (own layered layout: no graphviz needed) and as HTML.

Nodes are artifacts (boxes) and executions (rounded, CACHED ones dashed); edges are events,
artifact -> execution for inputs and execution -> artifact for outputs. Layers follow
topological depth, so data flows left to right.
"""
import html
from dataclasses import dataclass
from typing import Dict, List, Tuple

from tabflow.metadata.graph import INPUT_EVENTS, OUTPUT_EVENTS, Graph

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 170, 44, 60, 18, 20
ARTIFACT_FILL, EXECUTION_FILL, CACHED_FILL = "#e8f0fe", "#fef7e0", "#f1f3f4"


@dataclass
class Node:
    key: str          # "a12" or "e7"
    title: str        # type or node id
    subtitle: str     # id and state
    kind: str         # "artifact" | "execution"
    cached: bool = False


def nodes_and_edges(g: Graph) -> Tuple[Dict[str, Node], List[Tuple[str, str]]]:
    nodes: Dict[str, Node] = {}
    for artifact in g.artifacts.values():
        nodes[f"a{artifact.id}"] = Node(f"a{artifact.id}", g.type_name(artifact),
                                        f"artifact {artifact.id}", "artifact")
    for execution in g.executions.values():
        state = g.state(execution.id)
        nodes[f"e{execution.id}"] = Node(f"e{execution.id}", g.node_id(execution.id),
                                         f"execution {execution.id} {state.lower()}",
                                         "execution", cached=state == "CACHED")
    edges = set()
    for event in g.events.values():
        a, e = f"a{event.artifact_id}", f"e{event.execution_id}"
        if a not in nodes or e not in nodes:
            continue
        if event.type in INPUT_EVENTS:
            edges.add((a, e))
        elif event.type in OUTPUT_EVENTS:
            edges.add((e, a))
    return nodes, sorted(edges)


def to_json(g: Graph) -> dict:
    nodes, edges = nodes_and_edges(g)
    return {"nodes": [{"key": n.key, "kind": n.kind, "title": n.title, "subtitle": n.subtitle,
                       "cached": n.cached} for n in sorted(nodes.values(), key=lambda n: n.key)],
            "edges": [{"from": a, "to": b} for a, b in edges]}


def to_dot(g: Graph) -> str:
    nodes, edges = nodes_and_edges(g)
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica" fontsize=10];']
    for node in sorted(nodes.values(), key=lambda n: n.key):
        shape = "box" if node.kind == "artifact" else "box, style=\"rounded,filled\""
        style = ', style="dashed,rounded"' if node.cached else ""
        label = f"{node.title}\\n{node.subtitle}".replace('"', '\\"')
        lines.append(f'  {node.key} [label="{label}", shape={shape}{style}];')
    lines += [f"  {a} -> {b};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def layers(nodes: Dict[str, Node], edges: List[Tuple[str, str]]) -> Dict[str, int]:
    """Longest-path depth of each node (edges follow time, so the graph is acyclic)."""
    parents: Dict[str, List[str]] = {k: [] for k in nodes}
    for a, b in edges:
        parents[b].append(a)
    depth: Dict[str, int] = {}

    def visit(key: str, seen: frozenset) -> int:
        if key not in depth:
            ups = [p for p in parents[key] if p not in seen]
            depth[key] = 1 + max((visit(p, seen | {key}) for p in ups), default=-1)
        return depth[key]

    for key in sorted(nodes):
        visit(key, frozenset())
    return depth


def layout(nodes, edges) -> Dict[str, Tuple[int, int]]:
    depth = layers(nodes, edges)
    columns: Dict[int, List[str]] = {}
    for key in sorted(nodes, key=lambda k: (k[0], int(k[1:]))):
        columns.setdefault(depth[key], []).append(key)
    return {key: (MARGIN + col * (NODE_W + GAP_X), MARGIN + row * (NODE_H + GAP_Y))
            for col, keys in columns.items() for row, key in enumerate(keys)}


def to_svg(g: Graph) -> str:
    nodes, edges = nodes_and_edges(g)
    pos = layout(nodes, edges)
    width = max((x for x, _ in pos.values()), default=0) + NODE_W + MARGIN
    height = max((y for _, y in pos.values()), default=0) + NODE_H + MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/>'
           '</marker></defs>']
    for a, b in edges:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        out.append(f'<line x1="{x1 + NODE_W}" y1="{y1 + NODE_H // 2}" x2="{x2}" '
                   f'y2="{y2 + NODE_H // 2}" stroke="#5f6368" marker-end="url(#arrow)"/>')
    for key, node in sorted(nodes.items()):
        x, y = pos[key]
        fill = ARTIFACT_FILL if node.kind == "artifact" else (
            CACHED_FILL if node.cached else EXECUTION_FILL)
        radius = 0 if node.kind == "artifact" else 10
        dash = ' stroke-dasharray="4 3"' if node.cached else ""
        out.append(f'<g id="{key}"><title>{html.escape(node.title)} '
                   f'({html.escape(node.subtitle)})</title>'
                   f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{radius}" '
                   f'fill="{fill}" stroke="#3c4043"{dash}/>'
                   f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">'
                   f'{html.escape(node.title[:26])}</text>'
                   f'<text x="{x + 8}" y="{y + 34}">{html.escape(node.subtitle[:30])}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_html(g: Graph, title: str) -> str:
    """One self-contained page: inline SVG and CSS, no scripts, fonts or external links."""
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:16px}"
            ".legend span{display:inline-block;padding:2px 8px;margin-right:8px;"
            "border:1px solid #3c4043}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"legend\">"
            f"<span style=\"background:{ARTIFACT_FILL}\">artifact</span>"
            f"<span style=\"background:{EXECUTION_FILL};border-radius:8px\">execution</span>"
            f"<span style=\"background:{CACHED_FILL};border-style:dashed;border-radius:8px\">"
            "cached execution</span></p>\n" + to_svg(g) + "</body></html>\n")
