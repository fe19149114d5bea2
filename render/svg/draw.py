"""The drawing: a guideline (and optionally one case) as graphviz graphs, piped to one SVG.

:func:`to_dot` draws the flowcharts, :func:`side_dot` the legend and the case panel, and
:func:`render_svg` runs dot on both and sets them side by side. All text reaching the SVG is
escaped (:func:`esc`); graphviz is imported inside the functions that draw.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from guidewalk.engine.model import Guideline, Node, Source

from ..text import STRENGTH_BADGE, STRENGTH_WORDS, show_number, show_value
from .fit import fit_viewbox, path_ids
from .overlay import EdgeRef, Overlay, edge_refs

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["FONT", "to_dot", "side_dot", "render_svg", "safe_url", "esc"]

FONT = "DejaVu Sans"

# colours: kinds without a case; path / dimmed / stopped with one
_KIND_FILL = {"decision": "#fff3d1", "action": "#e2f0e2", "end": "#e6e6f5"}
_KIND_PEN = {"decision": "#a07800", "action": "#3c7a3c", "end": "#4b4b8f"}
_PATH_FILL, _PATH_PEN = "#d6e6ff", "#1f4e9e"
_STOP_FILL, _STOP_PEN = "#ffe1b8", "#c25e00"
_DIM_FILL, _DIM_PEN, _DIM_TEXT = "#f6f6f6", "#c9c9c9", "#9b9b9b"
# the strength badge of a recommendation (its source's verb form)
_STRENGTH_PEN = {"directive": "#0b5563", "conditional": "#6a3d9a"}
_STRENGTH_MARK = {"directive": "●", "conditional": "○"}


# --------------------------------------------------------------------------- text helpers


# characters XML 1.0 does not allow (graphviz refuses the label): shown as escapes instead
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def esc(text: Any) -> str:
    """Escape text for a graphviz HTML-like label (and hence for the SVG it becomes)."""
    t = _NOT_XML.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), str(text))
    return html.escape(t, quote=True).replace("&#x27;", "&#39;")


def _wrap(text: str, width: int, max_lines: int = 8, *, break_words: bool = False) -> list[str]:
    lines: list[str] = []
    for para in str(text).splitlines() or [""]:
        lines += textwrap.wrap(para, width=width, break_long_words=break_words, break_on_hyphens=False) or [""]
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [lines[max_lines - 1].rstrip() + " …"]
    return lines


def _lines(
    text: str, width: int, *, bold: bool = False, size: int | None = None, color: str | None = None, max_lines: int = 8, break_words: bool = False
) -> str:
    body = "<BR/>".join(esc(line) for line in _wrap(text, width, max_lines, break_words=break_words))
    if bold:
        body = f"<B>{body}</B>"
    attrs = (f' POINT-SIZE="{size}"' if size else "") + (f' COLOR="{color}"' if color else "")
    return f"<FONT{attrs}>{body}</FONT>" if attrs else body


def _fmt_value(v: Any) -> str:
    """A fact value in the case panel: :func:`show_value`, with whole numbers shown without .0."""
    return show_number(v) if isinstance(v, float) else show_value(v)


def _tooltip(node: Node) -> str:
    parts = [f"{node.id} ({node.kind}, flowchart {node.flowchart})"]
    if node.kind == "decision" and node.question:
        parts.append(node.question)
    if node.text:
        parts.append(node.text)
    if node.source:
        parts.append("Source: " + _source_text(node.source))
    if node.note:
        parts.append("Note: " + node.note)
    return "\n".join(parts)


def _source_text(src: Source) -> str:
    bits = [b for b in (src.module, src.strength, src.evidence, src.tag) if b]
    return (" · ".join(bits) + " — " if bits else "") + src.url


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s) (sources are web pages); anything else is not linked."""
    if url and re.match(r"(?i)^https?://[^\s\x00-\x1f\x7f]+$", url.strip()):
        return url.strip()
    return None


def _attr(text: str) -> Any:
    """A plain (non-HTML) attribute value: backslashes and <...> taken literally."""
    import graphviz

    return graphviz.escape(text)


# --------------------------------------------------------------------------- drawing


def _node_label(node: Node, g: Guideline, ov: Overlay | None, state: str) -> str:
    muted = _DIM_TEXT if state == "off" else None
    rows: list[str] = []
    if ov is not None and node.id in ov.steps:
        nums = ", ".join(str(n) for n in ov.steps[node.id])
        rows.append(_lines(f"step {nums}", 40, bold=True, size=9, color=_PATH_PEN if state != "stop" else _STOP_PEN))
    if node.kind == "decision":
        head = node.question or node.title or node.id
        rows.append(_lines(head, 30, bold=True, color=muted))
        if node.title and node.question:
            rows.append(_lines(node.title, 30, size=9, color=muted or "#555555"))
    else:
        strength = node.source.strength if node.source else None
        if strength in STRENGTH_BADGE:
            rows.append(
                _lines(f"{_STRENGTH_MARK[str(strength)]} {STRENGTH_BADGE[str(strength)]}", 40, bold=True, size=9, color=muted or _STRENGTH_PEN[str(strength)])
            )
        if node.title:
            rows.append(_lines(node.title, 34, bold=True, color=muted))
        rows.append(_lines(node.text or "", 34, size=10, color=muted, max_lines=6))
        if node.actions:
            rows.append(_lines("[" + ", ".join(node.actions) + "]", 40, size=9, color=muted or "#2f5f2f"))
    meta = node.id
    if node.source and node.source.module:
        meta += " · " + node.source.module
    if node.note:
        meta += " · ✎ note"
    rows.append(_lines(meta, 40, size=8, color=muted or "#666666", max_lines=2))
    if state == "stop" and ov is not None:
        rows.append(_lines("walk stopped: needs " + ", ".join(ov.needs), 32, bold=True, size=10, color=_STOP_PEN))
    return "<" + "<BR/>".join(rows) + ">"


def _node_attrs(node: Node, ov: Overlay | None) -> tuple[dict[str, str], str]:
    if ov is None:
        state = "plain"
    elif ov.stopped == node.id:
        state = "stop"
    elif node.id in ov.steps:
        state = "path"
    else:
        state = "off"
    shape = {"decision": "hexagon", "action": "box", "end": "box"}[node.kind]
    style = "filled" if node.kind != "end" else "filled,rounded"
    fill, pen, width = _KIND_FILL[node.kind], _KIND_PEN[node.kind], "1.2"
    classes = [f"kind-{node.kind}"]
    if node.kind != "decision" and node.source and node.source.strength in STRENGTH_BADGE:
        classes.append(f"strength-{node.source.strength}")
    if state == "path":
        fill, pen, width = _PATH_FILL, _PATH_PEN, "2.5"
        classes.append("on-path")
    elif state == "stop":
        fill, pen, width = _STOP_FILL, _STOP_PEN, "3"
        classes += ["on-path", "stopped"]
        style += ",bold"
    elif state == "off":
        fill, pen = _DIM_FILL, _DIM_PEN
        classes.append("off-path")
    attrs = {
        "shape": shape,
        "style": style,
        "fillcolor": fill,
        "color": pen,
        "penwidth": width,
        "margin": "0.12,0.06" if node.kind != "decision" else "0.05,0.04",
        "class": " ".join(classes),
    }
    if state in ("path", "stop"):
        attrs["group"] = "path"  # dot keeps the edges between one group's nodes straight: the path as a spine
    return attrs, state


def to_dot(
    g: Guideline, overlay: Overlay | None = None, *, flowchart: str | None = None, flowcharts: Sequence[str] | None = None, labels: bool = True
) -> graphviz.Digraph:
    """The graphviz graph of a guideline (all flowcharts, one, or those named in `flowcharts`;
    targets in the others become jump stubs), with an optional case. `labels=False` leaves out
    the title and the flowcharts' captions (a page that captions the drawing itself)."""
    import graphviz

    chosen = [flowchart] if flowchart is not None else list(flowcharts or ())
    for f in chosen:
        if f not in g.flowcharts:
            from guidewalk.engine.errors import RunError

            raise RunError(f"no flowchart '{f}' (has: {', '.join(g.flowcharts)})", guideline=g.id)
    fcs = [g.flowcharts[f] for f in chosen] if chosen else list(g.flowcharts.values())
    drawn = {n for fc in fcs for n in fc.nodes}
    dot = graphviz.Digraph(name=g.id, engine="dot")
    title = f"{g.title} — version {g.version}"
    if flowchart:
        title += f" — flowchart {g.flowcharts[flowchart].title}"
    elif chosen and len(chosen) < len(g.flowcharts):
        title += " — flowcharts " + ", ".join(g.flowcharts[f].title for f in chosen)
    dot.attr(
        "graph",
        rankdir="TB",
        newrank="true",
        nodesep="0.35",
        ranksep="0.45",
        fontname=FONT,
        fontsize="16",
        labelloc="t",
        labeljust="l",
        label="<" + _lines(title, 120, bold=True, size=16) + ">" if labels else "",
        id="guideline",
        bgcolor="white",
        pad="0.2",
    )
    dot.attr("node", fontname=FONT, fontsize="11")
    dot.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.7")
    for fc in fcs:
        with dot.subgraph(name=f"cluster_{fc.id}") as sub:
            sub.attr(
                label="<" + _lines(f"{fc.title}  ({fc.id})", 90, bold=True, size=13) + ">" if labels else "",
                id=_attr(f"cluster-{fc.id}"),
                style="rounded,dashed",
                color="#8c8c8c",
                fontname=FONT,
                labeljust="l",
                margin="14",
            )
            for nid in fc.nodes:
                node = g.nodes[nid]
                attrs, state = _node_attrs(node, overlay)
                url = safe_url(node.source.url if node.source else None)
                sub.node(
                    nid,
                    label=_node_label(node, g, overlay, state),
                    id=_attr(f"node-{nid}"),
                    tooltip=_attr(_tooltip(node)),
                    **({"href": _attr(url), "target": "_blank"} if url else {}),
                    **attrs,
                )
            if fc.start in drawn:
                sub.node(
                    f"start__{fc.id}",
                    label="start",
                    shape="circle",
                    width="0.45",
                    fixedsize="true",
                    fontsize="8",
                    style="filled",
                    fillcolor="#444444",
                    fontcolor="white",
                    color="#444444",
                    id=_attr(f"start-{fc.id}"),
                )
                sub.edge(f"start__{fc.id}", fc.start, id=_attr(f"start-edge-{fc.id}"), color="#444444")
    jumps: dict[str, None] = {}
    for e in edge_refs(g):
        if e.source not in drawn:
            continue
        target = e.target
        if target not in drawn:
            target = f"jump__{e.target}"
            jumps.setdefault(e.target, None)
        dot.edge(e.source, target, **_edge_attrs(e, overlay))
    for tid in jumps:
        tnode = g.nodes[tid]
        fc_title = g.flowcharts[tnode.flowchart].title
        dot.node(
            f"jump__{tid}",
            label="<"
            + _lines(f"→ {tnode.question or tnode.title or tid}", 26, size=9)
            + "<BR/>"
            + _lines(f"in flowchart {fc_title}", 30, size=8, color="#666666")
            + ">",
            shape="cds",
            margin="0.2,0.06",
            style="filled",
            fillcolor="#f0f0f0",
            color="#8c8c8c",
            id=_attr(f"jump-{tid}"),
            tooltip=_attr(f"continues at {tid} in flowchart {tnode.flowchart}"),
        )
    return dot


def side_dot(overlay: Overlay | None = None) -> graphviz.Digraph:
    """The side column: the legend and, with a case, its panel (status, facts, derived, alerts)."""
    import graphviz

    dot = graphviz.Digraph(name="key", engine="dot")
    dot.attr("graph", rankdir="TB", id="key", fontname=FONT, pad="0.2", nodesep="0.3", ranksep="0.3", bgcolor="white")
    dot.attr("node", fontname=FONT)
    if overlay is not None:
        _panel(dot, overlay)
    _legend(dot, overlay)
    if overlay is not None:
        dot.edge("case_panel__", "legend__", style="invis")
    return dot


def _edge_attrs(e: EdgeRef, ov: Overlay | None) -> dict[str, Any]:
    label = e.label
    attrs: dict[str, Any] = {"id": _attr(e.id)}
    classes = [f"edge-{e.kind}"]
    color, fontcolor, width, style = "#555555", "#333333", "1.1", "solid"
    if e.kind == "otherwise":
        style = "dashed"
    if ov is not None:
        if e.id in ov.taken:
            color, fontcolor, width = _PATH_PEN, _PATH_PEN, "3"
            classes.append("on-path")
            attrs["weight"] = "8"  # dot keeps heavy edges short and vertical
            if e.id in ov.evaluated:
                label = f"✔ {label}"
        elif e.id in ov.evaluated:
            v = ov.evaluated[e.id]
            mark = "?" if v is None else ("✔" if v else "✘")
            color, fontcolor = ("#c25e00", "#c25e00") if v is None else ("#a8a8a8", "#8a8a8a")
            style = "dashed"
            classes += ["off-path", "evaluated"]
            label = f"{mark} {label}"
        else:
            color, fontcolor = "#d4d4d4", "#b4b4b4"
            classes.append("off-path")
    if label:
        attrs["label"] = "<" + _lines(label, 30, size=9, color=fontcolor, max_lines=6) + ">"
    if e.condition:
        attrs["tooltip"] = _attr(e.condition if e.condition == e.label else f"{e.label} — when {e.condition}")
    attrs.update(color=color, penwidth=width, style=style)
    attrs["class"] = " ".join(classes)
    return attrs


def _legend(dot: graphviz.Digraph, ov: Overlay | None) -> None:
    rows = [
        '<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>',
        f'<TR><TD BGCOLOR="{_KIND_FILL["decision"]}">⬡ decision</TD><TD ALIGN="LEFT">branches labelled with their condition</TD></TR>',
        f'<TR><TD BGCOLOR="{_KIND_FILL["action"]}">▭ action</TD><TD ALIGN="LEFT">a recommendation; continues to next</TD></TR>',
        f'<TR><TD BGCOLOR="{_KIND_FILL["end"]}">▢ end</TD><TD ALIGN="LEFT">the walk ends here</TD></TR>',
        '<TR><TD>- - -▸</TD><TD ALIGN="LEFT">otherwise (no branch holds)</TD></TR>',
        '<TR><TD>✎ note</TD><TD ALIGN="LEFT">the node has a note (hover: source and note)</TD></TR>',
    ] + [
        f'<TR><TD><FONT COLOR="{_STRENGTH_PEN[s]}"><B>{_STRENGTH_MARK[s]} {esc(STRENGTH_BADGE[s])}</B></FONT></TD><TD ALIGN="LEFT">{s}: {esc(STRENGTH_WORDS[s])} it</TD></TR>'
        for s in STRENGTH_BADGE
    ]
    if ov is not None:
        rows += [
            f'<TR><TD BGCOLOR="{_PATH_FILL}"><FONT COLOR="{_PATH_PEN}"><B>━━▸</B></FONT></TD><TD ALIGN="LEFT">path of this case (step numbers)</TD></TR>',
            '<TR><TD><FONT COLOR="#8a8a8a">✘ - -▸</FONT></TD><TD ALIGN="LEFT">branch tested on the path, false</TD></TR>',
            f'<TR><TD BGCOLOR="{_STOP_FILL}"><FONT COLOR="{_STOP_PEN}">? - -▸</FONT></TD><TD ALIGN="LEFT">unknown: the walk stopped for these facts</TD></TR>',
            f'<TR><TD BGCOLOR="{_DIM_FILL}"><FONT COLOR="{_DIM_TEXT}">grey</FONT></TD><TD ALIGN="LEFT">not reached</TD></TR>',
        ]
    label = '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">' + "".join(rows) + "</TABLE>>"
    dot.node("legend__", label=label, shape="plain", fontsize="9", id="legend")


def _panel(dot: graphviz.Digraph, ov: Overlay) -> None:
    def row(left: str, right: str = "", color: str | None = None) -> str:
        c = f' COLOR="{color}"' if color else ""
        if right:
            return (
                f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" VALIGN="TOP"><FONT{c}>{left}</FONT></TD><TD ALIGN="LEFT" BALIGN="LEFT"><FONT{c}>{right}</FONT></TD></TR>'
            )
        return f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" COLSPAN="2"><FONT{c}>{left}</FONT></TD></TR>'

    status = {"complete": "complete", "needs_facts": "needs facts", "invalid_facts": "invalid facts"}.get(ov.status, ov.status)
    rows = [row("<B>This case</B>"), row("status", esc(status), _STOP_PEN if ov.status != "complete" else None)]
    if ov.needs:
        rows.append(row("needs", "<BR/>".join(esc(n) for n in ov.needs), _STOP_PEN))
    for fact, message in ov.errors:
        rows.append(row(esc(fact), _lines(message, 40, max_lines=4), "#a00000"))
    rows.append(row("<B>Facts entered</B>"))
    for k, v in ov.facts.items():
        rows.append(row(esc(k), _lines(_fmt_value(v), 36, max_lines=3)))
    if not ov.facts:
        rows.append(row("(none)"))
    rows.append(row("<B>Derived facts</B>"))
    for k, v, rule in ov.derived:
        rows.append(row(esc(k), esc(_fmt_value(v)) + (f' <FONT COLOR="#666666">(rule {esc(rule)})</FONT>' if rule else "")))
    if not ov.derived:
        rows.append(row("(none)"))
    rows.append(row("<B>Alerts</B>"))
    for sev, text in ov.alerts:
        rows.append(row(esc(sev), _lines(text, 40, max_lines=6), "#a00000" if sev == "critical" else None))
    if not ov.alerts:
        rows.append(row("(none)"))
    label = '<<TABLE BORDER="1" COLOR="#8c8c8c" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" BGCOLOR="#fbfbfb">' + "".join(rows) + "</TABLE>>"
    dot.node("case_panel__", label=label, shape="plain", fontsize="10", id="case-panel")


_VERSION_COMMENT = re.compile(r"<!-- Generated by graphviz version [^>]*-->\n?")
_ROOT = re.compile(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"\s+viewBox="([^"]+)"[^>]*>')
_ID_CLASS = re.compile(r'\b(id|class)="([^"]*)"')
_GAP = 24.0


def _pipe(dot: graphviz.Digraph) -> tuple[float, float, str, str]:
    """Run dot; the drawing's width, height (pt), viewBox and the inner SVG markup."""
    svg = dot.pipe(format="svg", encoding="utf-8")
    svg = _VERSION_COMMENT.sub("", svg)
    # graphviz writes '-' as '&#45;' everywhere; in ids and classes we want the plain character
    svg = _ID_CLASS.sub(lambda m: f'{m.group(1)}="' + m.group(2).replace("&#45;", "-") + '"', svg)
    m = _ROOT.search(svg)
    if m is None:  # pragma: no cover - graphviz changed its output
        raise RuntimeError("unexpected SVG from graphviz (no <svg width height viewBox>)")
    inner = svg[m.end() : svg.rindex("</svg>")]
    return float(m.group(1)), float(m.group(2)), m.group(3), inner


def render_svg(
    g: Guideline,
    overlay: Overlay | None = None,
    *,
    flowchart: str | None = None,
    flowcharts: Sequence[str] | None = None,
    fit: bool = False,
    side: bool = True,
) -> str:
    """The SVG text: the flowchart(s) with the side column (legend, case panel) to the right.
    `flowcharts` draws only those; `fit` (with a case) sets the view to the box around its path
    (the rest stays in the markup, outside the view; no captions, the page gives them); `side=False` leaves out the side column
    (a page that shows the case beside the drawing). Deterministic: no version or time stamps."""
    w1, h1, vb1, inner1 = _pipe(to_dot(g, overlay, flowchart=flowchart, flowcharts=flowcharts, labels=not fit))
    meta = f'data-guideline="{esc(g.id)}" data-guideline-version="{esc(g.version)}"'
    if overlay is not None and fit:
        drawn = {n for f in ([flowchart] if flowchart else flowcharts or list(g.flowcharts)) for n in g.flowcharts[f].nodes}
        box = fit_viewbox(inner1, w1, h1, path_ids(g, overlay, drawn))
        if box is not None:
            w1, h1, vb1 = box[2], box[3], " ".join(_n(v) for v in box)
            meta += ' data-fit="path"'
    w2, h2, vb2, inner2 = _pipe(side_dot(overlay)) if side else (0.0, 0.0, "", "")
    width, height = (w1 + _GAP + w2, max(h1, h2)) if side else (w1, h1)
    if flowchart:
        meta += f' data-flowchart="{esc(flowchart)}"'
    elif flowcharts:
        meta += f' data-flowcharts="{esc(" ".join(flowcharts))}"'
    if overlay is not None:
        meta += f' data-status="{esc(overlay.status)}"'
    title = f"{g.title} ({g.id} {g.version})" + (f", flowchart {flowchart}" if flowchart else "")
    side_svg = f'<svg id="side" x="{_n(w1 + _GAP)}" y="0" width="{_n(w2)}" height="{_n(h2)}" viewBox="{vb2}">{inner2}</svg>\n' if side else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" {meta} '
        f'width="{_n(width)}pt" height="{_n(height)}pt" viewBox="0 0 {_n(width)} {_n(height)}">\n'
        f"<title>{esc(title)}</title>\n"
        f'<rect width="100%" height="100%" fill="white"/>\n'
        f'<svg id="flow" x="0" y="0" width="{_n(w1)}" height="{_n(h1)}" viewBox="{vb1}">{inner1}</svg>\n'
        f"{side_svg}"
        "</svg>\n"
    )


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")
