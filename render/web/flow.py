"""The flowchart on the case page: only the flowchart the walk is in now, at a readable size,
with the path so far and the current question marked, zoomable.

The drawing of each (guideline, flowchart) is made once by :func:`guidewalk.render.svg.render_svg`
(graphviz takes most of a second) and cached; a case's walk is then marked by adding classes
to the stable element ids (``node-<id>``, ``edge-<from>-<to>``) from the run result's overlay:
``on-path``, ``stopped``, ``evaluated`` and ``current`` (the decision being asked), which the
page's style colours. Without script the drawing is shown at its natural size in a scrolling
box; :data:`ZOOM_SCRIPT` (an inline script allowed by its hash in the page's
Content-Security-Policy) adds zoom buttons, Ctrl+wheel zoom and centres the current question.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ..page import escape as e

__all__ = ["flowchart_html", "current_flowchart", "ZOOM_SCRIPT", "FLOW_CSS", "base_svg", "mark"]

_CACHE: dict[tuple[int, str, str], str] = {}
_LOCK = threading.Lock()
_RENDERING: dict[tuple[int, str, str], threading.Lock] = {}

FLOW_CSS = """
#flowchart{flex:1 1 100%}
.flowbox{overflow:auto;max-height:78vh;border:1px solid #d5dce5;border-radius:4px;background:#fff}
.flowbox svg{display:block}
.zoom{margin:.3em 0}.zoom button{margin:0 .3em 0 0;padding:.15em .6em}
.flowbox .node.on-path polygon,.flowbox .node.on-path ellipse,.flowbox .node.on-path path{stroke:#1f4e9e;stroke-width:2.5px}
.flowbox .node.on-path > g > a > polygon:first-of-type,.flowbox .node.on-path > polygon:first-of-type{fill:#d6e6ff}
.flowbox .edge.on-path path{stroke:#1f4e9e;stroke-width:3px}.flowbox .edge.on-path polygon{fill:#1f4e9e;stroke:#1f4e9e}
.flowbox .node.current polygon,.flowbox .node.current ellipse{stroke:#c2410c;stroke-width:5px}
.flowbox .node.current > g > a > polygon:first-of-type,.flowbox .node.current > polygon:first-of-type{fill:#ffe1b8}
.flowbox.walked .node:not(.on-path):not(.current){opacity:.55}.flowbox.walked .edge:not(.on-path){opacity:.45}
"""

# Static text: its SHA-256 is named in the Content-Security-Policy (security.csp).
ZOOM_SCRIPT = """(function(){
var box=document.getElementById('flowbox'),ctl=document.getElementById('zoomctl');
if(!box||!ctl)return;var svg=box.querySelector('svg');if(!svg)return;
var w0=svg.width.baseVal.value,h0=svg.height.baseVal.value,z=1;
function show(){document.getElementById('zoomlevel').textContent=Math.round(z*100)+'%';}
function set(nz,cx,cy){nz=Math.max(0.1,Math.min(4,nz));
if(cx===undefined){cx=box.clientWidth/2;cy=box.clientHeight/2;}
var fx=(box.scrollLeft+cx)/z,fy=(box.scrollTop+cy)/z;z=nz;
svg.setAttribute('width',w0*z);svg.setAttribute('height',h0*z);
box.scrollLeft=fx*z-cx;box.scrollTop=fy*z-cy;show();}
function fit(){set(Math.min(1,box.clientWidth/w0,box.clientHeight/h0));box.scrollLeft=0;box.scrollTop=0;}
function centre(){var c=svg.querySelector('.current')||svg.querySelector('.stopped');if(!c)return;
var r=c.getBoundingClientRect(),b=box.getBoundingClientRect();
box.scrollLeft+=r.left-b.left-b.width/2+r.width/2;box.scrollTop+=r.top-b.top-b.height/2+r.height/2;}
ctl.hidden=false;
ctl.addEventListener('click',function(ev){var k=ev.target.getAttribute('data-zoom');if(!k)return;
if(k==='in')set(z*1.25);else if(k==='out')set(z/1.25);else if(k==='fit')fit();else if(k==='one'){set(1);centre();}});
box.addEventListener('wheel',function(ev){if(!ev.ctrlKey)return;ev.preventDefault();
var b=box.getBoundingClientRect();set(z*(ev.deltaY<0?1.15:1/1.15),ev.clientX-b.left,ev.clientY-b.top);},{passive:false});
show();centre();
})();"""


def base_svg(g: Any, flowchart: str) -> str:
    """The drawing of one flowchart, without a case (made once per guideline version)."""
    from ..svg import render_svg, strip_xml_prolog

    key = (id(g), g.sha256, flowchart)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        lock = _RENDERING.setdefault(key, threading.Lock())
    with lock:  # one thread draws; the others wait for it
        with _LOCK:
            hit = _CACHE.get(key)
        if hit is None:
            hit = strip_xml_prolog(render_svg(g, None, flowchart=flowchart))
            with _LOCK:
                _CACHE[key] = hit
                while len(_CACHE) > 64:
                    _CACHE.pop(next(iter(_CACHE)))
    return hit


def mark(svg: str, nodes: dict[str, list[str]], edges: dict[str, list[str]]) -> str:
    """Add classes to node and edge groups by id (ids not in the drawing are ignored)."""

    def add(m: re.Match[str]) -> str:
        kind, ident, classes = m.group(1), m.group(2), m.group(3)
        extra = (nodes if kind == "node" else edges).get(ident)
        return m.group(0) if not extra else f'<g id="{kind}-{ident}" class="{classes} {" ".join(extra)}"'

    return re.sub(r'<g id="(node|edge)-([^"]+)" class="([^"]*)"', add, svg)


def current_flowchart(session: Any) -> tuple[str, str | None]:
    """The flowchart the walk is in now, and the node being decided (None when the walk is done)."""
    g = session.guideline
    res = session.result()
    pending = session.pending()
    current = pending[0].node if pending and pending[0].node in g.nodes else None
    if current is None and res.status == "needs_facts" and res.path:
        current = res.path[-1]
    at = current or (res.path[-1] if res.path else None)
    return (g.nodes[at].flowchart if at else session.flowchart), current


def flowchart_html(session: Any) -> str:
    """The section with the current flowchart (or a short note when it cannot be drawn)."""
    from ..svg import overlay_from_result

    g = session.guideline
    fc, current = current_flowchart(session)
    title = g.flowcharts[fc].title if fc in g.flowcharts else fc
    try:
        svg = base_svg(g, fc)
        ov = overlay_from_result(g, session.result().to_json())
    except Exception as exc:  # drawing is optional (graphviz may be missing): say so, never break the page
        return f'<section id="flowchart"><h2>Flowchart</h2><p class="muted">The flowchart could not be drawn ({e(type(exc).__name__)}).</p></section>'
    nodes: dict[str, list[str]] = {n: ["on-path"] for n in ov.steps}
    if ov.stopped:
        nodes.setdefault(ov.stopped, []).append("stopped")
    if current:
        nodes.setdefault(current, []).append("current")
    edges: dict[str, list[str]] = {}
    for eid, value in ov.evaluated.items():
        edges.setdefault(eid[len("edge-") :], []).append("evaluated" if value is not None else "unknown")
    for eid in ov.taken:
        edges.setdefault(eid[len("edge-") :], []).append("on-path")
    drawn = mark(svg, nodes, edges)
    here = "; the question being asked is outlined in orange" if current else ""
    return (
        '<section id="flowchart">'
        f"<h2>Flowchart: {e(title)}</h2>"
        f'<p class="muted">The path so far is drawn in blue{here}. Other flowcharts of this guideline are drawn when the walk reaches them.</p>'
        '<div class="zoom" id="zoomctl" hidden><button type="button" data-zoom="out" title="Zoom out">−</button>'
        '<button type="button" data-zoom="in" title="Zoom in">+</button><button type="button" data-zoom="fit">Fit</button>'
        '<button type="button" data-zoom="one">100%</button> <span class="muted" id="zoomlevel"></span> <span class="muted">(Ctrl+wheel zooms)</span></div>'
        f'<div class="flowbox{" walked" if ov.steps else ""}" id="flowbox">{drawn}</div>'
        f"<script>{ZOOM_SCRIPT}</script>"
        "</section>"
    )
