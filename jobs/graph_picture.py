"""A job's component graph as boxes and arrows for an SVG (the job page)."""

from execution.engine.errors import GraphError
from execution.engine.graph import split_input, topological_order
from execution.engine.registry import UnknownComponentType, get_spec

NODE_WIDTH, NODE_HEIGHT = 168, 46
COLUMN_GAP, ROW_GAP, MARGIN = 56, 18, 6


def kind_of(type_name: str) -> str:
    try:
        return get_spec(type_name).kind
    except UnknownComponentType:
        return "unknown"


def graph_picture(components: list[dict]) -> dict:
    """Boxes and arrows for an SVG: each component one column right of its
    furthest input, in saved order within a column."""
    try:
        order = topological_order(components)
    except GraphError:
        order = [c["name"] for c in components]
    by_name = {c["name"]: c for c in components}
    column = {}
    for name in order:
        upstream = [split_input(ref)[0] for ref in by_name[name].get("inputs") or []]
        column[name] = 1 + max((column[up] for up in upstream if up in column), default=-1)
    rows_used: dict[int, int] = {}
    nodes = {}
    for component in components:
        name = component["name"]
        row = rows_used.get(column[name], 0)
        rows_used[column[name]] = row + 1
        nodes[name] = {
            "name": name,
            "label": name if len(name) <= 20 else name[:19] + "…",
            "type": component["type"],
            "kind": kind_of(component["type"]),
            "x": MARGIN + column[name] * (NODE_WIDTH + COLUMN_GAP),
            "y": MARGIN + row * (NODE_HEIGHT + ROW_GAP),
        }
    edges = []
    for component in components:
        target = nodes[component["name"]]
        for reference in component.get("inputs") or []:
            upstream, port = split_input(reference)
            if upstream not in nodes:
                continue
            edges.append(_edge(nodes[upstream], target, port))
    columns = max(column.values(), default=-1) + 1
    rows = max(rows_used.values(), default=0)
    return {
        "nodes": list(nodes.values()),
        "edges": edges,
        "width": 2 * MARGIN + columns * NODE_WIDTH + max(columns - 1, 0) * COLUMN_GAP,
        "height": 2 * MARGIN + rows * NODE_HEIGHT + max(rows - 1, 0) * ROW_GAP,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
    }


def _edge(source: dict, target: dict, port: str) -> dict:
    x1, y1 = source["x"] + NODE_WIDTH, source["y"] + NODE_HEIGHT / 2
    x2, y2 = target["x"] - 4, target["y"] + NODE_HEIGHT / 2
    middle = (x1 + x2) / 2
    return {
        "path": f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}",
        "port": port,
        "rejects": port != "main",
        "label_x": middle,
        "label_y": (y1 + y2) / 2 - 4,
        "title": f"{source['name']} → {target['name']}" + (f" ({port})" if port != "main" else ""),
    }
