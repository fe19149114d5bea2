"""Fit a drawing's view to one case's path: the box around the nodes the walk touched (read from
the SVG graphviz laid out; the drawing keeps the path as a straight spine, see :mod:`.draw`),
widened to show the branches beside it, becomes the viewBox.

No script is needed to open the drawing on the path (the report's policy allows none): the view
simply starts there. Everything else stays in the SVG markup, outside the view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from guidewalk.engine.model import Guideline

from .overlay import Overlay, edge_refs

__all__ = ["path_ids", "fit_viewbox", "MARGIN", "MIN_WIDTH"]

MARGIN = 30.0  # pt around the path
MIN_WIDTH = 640.0  # pt (about 850 px): the width of the report's drawing box beside the case panel
_TRANSFORM = re.compile(r'<g id="[^"]*" class="graph" transform="scale\(([-0-9.]+) ([-0-9.]+)\) rotate\(0\) translate\(([-0-9.]+) ([-0-9.]+)\)"')
_SHAPE = re.compile(r'<polygon[^>]*\bpoints="([^"]+)"|<ellipse[^>]*\bcx="([^"]+)" cy="([^"]+)" rx="([^"]+)" ry="([^"]+)"|<path[^>]*\bd="([^"]+)"')
_PAIR = re.compile(r"(-?[0-9.]+),(-?[0-9.]+)")


def path_ids(g: Guideline, ov: Overlay, drawn: Iterable[str]) -> list[str]:
    """The SVG ids to keep in view: the nodes walked that are drawn, the start of a flowchart the
    walk began at, and the jump stub where the walk leaves for a flowchart not drawn."""
    shown = set(drawn)
    out: dict[str, None] = {f"node-{n}": None for n in ov.path if n in shown}
    for e in edge_refs(g):
        if e.id in ov.taken and e.source in shown and e.target not in shown:
            out.setdefault(f"jump-{e.target}", None)
    first = next((n for n in ov.path if n in shown), None)
    if first is not None and g.flowcharts[g.nodes[first].flowchart].start == first and (first == ov.path[0] or not _entered_from(g, ov, first)):
        out.setdefault(f"start-{g.nodes[first].flowchart}", None)
    return list(out)


def _entered_from(g: Guideline, ov: Overlay, node: str) -> bool:
    """Whether the walk came to `node` over an edge (rather than starting there)."""
    return any(e.id in ov.taken and e.target == node for e in edge_refs(g))


def _shape_points(inner: str, element_id: str) -> list[tuple[float, float]]:
    at = inner.find(f'<g id="{element_id}" ')
    if at < 0:
        return []
    m = _SHAPE.search(inner, at)
    if m is None:
        return []
    if m.group(1) or m.group(6):
        return [(float(x), float(y)) for x, y in _PAIR.findall(m.group(1) or m.group(6))]
    cx, cy, rx, ry = (float(m.group(i)) for i in (2, 3, 4, 5))
    return [(cx - rx, cy - ry), (cx + rx, cy + ry)]


def fit_viewbox(
    inner: str, width: float, height: float, ids: Iterable[str], margin: float = MARGIN, min_width: float = MIN_WIDTH
) -> tuple[float, float, float, float] | None:
    """(x, y, width, height) of the view around the elements `ids` in a graphviz drawing (its
    inner markup and size in pt): `margin` around them and at least `min_width` wide (centred on
    them, so the branches beside the path show), within the drawing; None when none is drawn."""
    m = _TRANSFORM.search(inner)
    sx, sy, tx, ty = (float(v) for v in m.groups()) if m else (1.0, 1.0, 0.0, 0.0)
    pts = [(sx * (x + tx), sy * (y + ty)) for i in ids for x, y in _shape_points(inner, i)]
    if not pts:
        return None
    x0, x1 = min(p[0] for p in pts) - margin, max(p[0] for p in pts) + margin
    if x1 - x0 < min_width:
        mid = (x0 + x1) / 2
        x0, x1 = mid - min_width / 2, mid + min_width / 2
    if x0 < 0:
        x0, x1 = 0.0, x1 - x0
    if x1 > width:
        x0, x1 = max(0.0, x0 - (x1 - width)), width
    y0 = max(0.0, min(p[1] for p in pts) - margin)
    y1 = min(height, max(p[1] for p in pts) + margin)
    return round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)
