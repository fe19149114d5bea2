"""The first stepper page of each flowchart of a shipped guideline, computed ahead and shipped.

Before any answer a stepper lists every recommendation still reachable: an exact search over
the whole flowchart (a third of a second for spinal-metastases diagnostics on a 2-core
machine). It is kept in the cache folder once computed (:func:`.session.first_page`); for the
shipped guidelines it is also computed ahead and shipped next to the guideline, so that the
first page a new user opens is quick too:

    <guideline folder>/first-pages.json = {"guideline": id, "sha256": <the guideline's>,
                                          "pages": {flowchart: [node ids]}}

A page is used only for a guideline whose sha256 (over its source files) is the one written
and that has no overlay: an edited guideline is searched as before, never shown a stale page.
``scripts/first_pages.py`` writes the files; ``tests/test_reach_search.py`` checks that the
shipped ones are current and that each equals the search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..model import Guideline

__all__ = ["FILE", "shipped", "compute", "write"]

FILE = "first-pages.json"
_read: dict[str, Any] = {}  # path -> the file's content (None: absent or unreadable)
_UNREAD: Any = object()


def _path(g: Guideline) -> Path:
    return Path(g.location.file).parent / FILE


def shipped(g: Guideline, flowchart: str) -> list[str] | None:
    """The shipped first page of `flowchart`, or None (no file, another version of the
    guideline, an overlay, or a page that names a node the guideline does not have)."""
    if g.overlays:
        return None
    path = str(_path(g))
    data = _read.get(path, _UNREAD)
    if data is _UNREAD:
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError):
            data = None
        _read[path] = data
    if not isinstance(data, dict) or data.get("sha256") != g.sha256 or data.get("guideline") != g.id:
        return None
    page = data.get("pages", {}).get(flowchart) if isinstance(data.get("pages"), dict) else None
    if not isinstance(page, list) or not all(isinstance(n, str) and n in g.nodes for n in page):
        return None
    return list(page)


def compute(g: Guideline) -> dict[str, Any]:
    """What the file of `g` holds: the exact first page of every flowchart, by search."""
    from .reachable import reachable_nodes

    return {"guideline": g.id, "sha256": g.sha256, "pages": {fc: reachable_nodes(g, {}, fc) for fc in g.flowcharts}}


def write(g: Guideline) -> Path:
    """Write the first pages of `g` next to its guideline file; the path written."""
    path = _path(g)
    path.write_text(json.dumps(compute(g), indent=1, ensure_ascii=False) + "\n", "utf-8")
    _read.pop(str(path), None)
    return path
