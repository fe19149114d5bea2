"""The committed set of drawings, and small readers of SVG text for tests and tools."""

from __future__ import annotations

import re

from guidewalk.engine.model import Guideline

from .draw import render_svg

__all__ = ["flowchart_files", "svg_ids", "nodes_with_class", "strip_xml_prolog"]


def svg_ids(svg: str) -> set[str]:
    """Every id attribute in an SVG text (for tests and tools)."""
    return set(re.findall(r'\bid="([^"]+)"', svg))


def strip_xml_prolog(svg: str) -> str:
    """The <svg> element alone, for inlining into HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def nodes_with_class(svg: str, cls: str) -> list[str]:
    """Node ids (without the `node-` prefix) whose element carries class `cls`."""
    out = []
    for m in re.finditer(r'<g id="node-([^"]+)" class="([^"]*)"', svg):
        if cls in m.group(2).split():
            out.append(m.group(1))
    return out


# --------------------------------------------------------------------------- the committed set


def flowchart_files(g: Guideline) -> dict[str, str]:
    """The committed drawings of one guideline: ``<id>.svg`` (every flowchart, one cluster
    each) and, when it has several flowcharts, ``<id>--<flowchart>.svg`` for each sub-flow."""
    out = {f"{g.id}.svg": render_svg(g)}
    if len(g.flowcharts) > 1:
        for fid in g.flowcharts:
            out[f"{g.id}--{fid}.svg"] = render_svg(g, flowchart=fid)
    return out
