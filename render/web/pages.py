"""The web stepper's HTML pages: the start page, the case page (one question), the error page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guidewalk.engine.fact_types import fact_type

from ..page import escape as e
from ..page import html_page
from ..text import show_number, show_value
from .downloads import report_available
from .state import WebApp, WebCase

__all__ = ["page", "index_page", "case_page", "error_page"]


_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:.6em 1.2em}header a{color:#fff}
main{display:flex;gap:1.2em;padding:1em 1.2em;flex-wrap:wrap;align-items:flex-start}
section{background:#fff;border:1px solid #d5dce5;border-radius:6px;padding:1em;min-width:20em;overflow-wrap:anywhere}
#ask{flex:1 1 28em;max-width:44em}#side{flex:1 1 26em}#flow{flex:1 1 100%;overflow:auto}
h1{font-size:1.2em;margin:0}h2{font-size:1.05em;margin:.2em 0 .6em}
.error{background:#fde8e8;border:1px solid #c0392b;color:#7b1d1d;padding:.5em .8em;border-radius:4px}
.ok{background:#e8f6ec;border:1px solid #2e7d4f;padding:.5em .8em;border-radius:4px}
.muted{color:#5b6776;font-size:.9em}label{display:block;margin:.25em 0}
input[type=number],input[type=text],input[type=date],select{font-size:1em;padding:.25em}
button{font-size:1em;padding:.35em .9em;margin:.4em .3em 0 0;cursor:pointer}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #e3e8ee;padding:.2em .5em;text-align:left;vertical-align:top}
.rec{margin:.3em 0}.alert{color:#8a4b00}li{margin:.15em 0}
#flow svg{max-width:100%;height:auto}
"""


def page(title: str, body: str, status: int = 200) -> tuple[int, str]:
    doc = html_page(
        title,
        '<header><h1><a href="/">guidewalk</a> — what the guideline recommends, one question at a time</h1></header>'
        f'{body}<footer class="muted" style="padding:0 1.2em 1em">Decision support: the page shows what the guideline recommends; '
        "the multidisciplinary team decides.</footer>",
        style=_CSS,
    )
    return status, doc


def index_page(app: WebApp, message: str | None = None, status: int = 200) -> tuple[int, str]:
    from guidewalk.engine.errors import GuidewalkError

    rows = []
    for ref in app.refs:
        try:
            g = app.guideline(ref)
        except GuidewalkError:
            rows.append(f'<li>{e(ref)} <span class="muted">(does not load; run guidewalk validate)</span></li>')
            continue
        fcs = "".join(f'<option value="{e(f)}"{" selected" if f == g.entry else ""}>{e(fc.title or f)}</option>' for f, fc in g.flowcharts.items())
        rows.append(
            '<li><form method="post" action="/new">'
            f'<input type="hidden" name="csrf" value="{e(app.new_token)}">'
            f'<input type="hidden" name="guideline" value="{e(ref)}">'
            f'<strong>{e(g.title)}</strong> <span class="muted">{e(g.id)} · version {e(g.version)}</span><br>'
            f'<label>Start at flowchart <select name="flowchart">{fcs}</select></label>'
            f'<button type="submit" name="start" value="{e(g.id)}">Start a case</button></form></li>'
        )
    msg = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    body = f'<main><section id="ask"><h2>Choose a guideline</h2>{msg}<ul>{"".join(rows) or "<li>No guidelines found.</li>"}</ul></section></main>'
    return page("guidewalk — choose a guideline", body, status)


def error_page(status: int, message: str) -> tuple[int, str]:
    return page(
        "guidewalk — error", f'<main><section id="ask"><p class="error" role="alert">{e(message)}</p><p><a href="/">Start page</a></p></section></main>', status
    )


def _field(p: Any, value: str | None) -> str:
    """The form field for one pending fact, typed by the fact."""
    name = "value"
    if p.type == "boolean":
        opts = [("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")]
        return "".join(
            f'<label><input type="radio" name="{name}" value="{v}"{" checked" if value == v else ""}{" required" if i == 0 else ""}> {t}</label>'
            for i, (v, t) in enumerate(opts)
        )
    if p.type == "enum":
        choices = "".join(
            f'<label><input type="radio" name="{name}" value="{e(v)}"{" checked" if value == v else ""}> {e(v.replace("_", " "))}</label>' for v in p.values
        )
        return choices + f'<label><input type="radio" name="{name}" value="unknown"{" checked" if value == "unknown" else ""}> Unknown</label>'
    if p.type == "set":
        chosen = set((value or "").split(",")) if value else set()
        boxes = "".join(
            f'<label><input type="checkbox" name="item" value="{e(v)}"{" checked" if v in chosen else ""}> {e(v.replace("_", " "))}</label>' for v in p.values
        )
        return (
            boxes
            + '<input type="hidden" name="value" value="__set__"><p class="muted">Tick none for \'none of these\'; use the Unknown button if not known.</p>'
        )
    if p.type in ("integer", "number"):
        attrs = [f'name="{name}"', 'type="number"', 'id="answer"', "required"]
        if p.min is not None:
            attrs.append(f'min="{e(show_number(p.min))}"')
        if p.max is not None:
            attrs.append(f'max="{e(show_number(p.max))}"')
        attrs.append(f'step="{e(show_number(p.step))}"' if p.step else ('step="1"' if p.type == "integer" else 'step="any"'))
        if value is not None:
            attrs.append(f'value="{e(value)}"')
        unit = f" <span>{e(p.unit)}</span>" if p.unit else ""
        rng = f"{show_number(p.min)}–{show_number(p.max)}" + (f", steps of {show_number(p.step)}" if p.step else "")
        return f'<label>Answer: <input {" ".join(attrs)}>{unit}</label><p class="muted">Valid: {e(rng)}</p>'
    if fact_type(p.type).html_input == "date":
        return f'<label>Date: <input type="date" name="{name}" id="answer" required value="{e(value or "")}"></label>'
    return f'<label>Answer: <input type="text" name="{name}" id="answer" value="{e(value or "")}"></label>'


def _answer_text(v: Any) -> str:
    """An answer in the case's table: :func:`show_value`, with 'none' for an empty set."""
    return "none" if isinstance(v, list) and not v else show_value(v)


def _svg(case: WebCase, res: Any) -> str:
    """The flowchart with the path so far, when guidewalk.render.svg is available."""
    try:
        from .. import svg as svg_module
    except Exception:
        return ""
    try:
        g = case.session.guideline
        overlay_fn: Callable[..., Any] | None = getattr(svg_module, "overlay_from_result", None)
        render_fn: Callable[..., Any] | None = getattr(svg_module, "render_svg", None)
        if render_fn is None:
            return ""
        ov = overlay_fn(g, res.to_json()) if overlay_fn else None
        svg = render_fn(g, ov, flowchart=case.session.flowchart)
        strip = getattr(svg_module, "strip_xml_prolog", None)
        svg = strip(svg) if strip else svg[svg.find("<svg") :]
        return str(svg)
    except Exception as exc:  # drawing is optional: say so, never break the page
        return f'<p class="muted">The flowchart could not be drawn ({e(type(exc).__name__)}).</p>'


def case_page(
    app: WebApp, case: WebCase, *, error: str | None = None, value: str | None = None, status: int = 200, notice: str | None = None
) -> tuple[int, str]:
    s = case.session
    g = s.guideline
    res = s.result()
    pending = s.pending()
    cid = e(case.id)
    tok = f'<input type="hidden" name="csrf" value="{e(case.token)}">'
    parts: list[str] = []
    ask: list[str] = [f'<h2>{e(g.title)} <span class="muted">version {e(g.version)} · flowchart {e(s.flowchart)}</span></h2>']
    if notice:
        ask.append(f'<p class="ok">{e(notice)}</p>')
    if error:
        ask.append(f'<p class="error" role="alert" id="error">Not accepted: {e(error)}</p>')
    if pending:
        p = pending[0]
        deciding = p.node_question or p.node_title or p.node
        src = f'<a href="{e(p.node_source_url)}" rel="noreferrer">{e(p.node_source)}</a>' if p.node_source_url else e(p.node_source or "")
        ask.append(
            f'<form method="post" action="/c/{cid}/answer" id="question">{tok}'
            f'<input type="hidden" name="fact" value="{e(p.fact)}">'
            f'<p><strong id="q">Question {len(s.facts) + 1}: {e(p.question)}</strong>'
            + (f' <span class="muted">[{e(p.unit)}]</span>' if p.unit else "")
            + "</p>"
            + _field(p, value)
            + '<div><button type="submit" name="action" value="answer" id="submit">Answer</button>'
            '<button type="submit" name="action" value="unknown" formnovalidate id="unknown">Unknown / skip</button></div></form>'
            + (f"<details><summary>Help and source</summary><p>{e(p.help)}</p>" if p.help else "<details><summary>Help and source</summary>")
            + f"<p>This answer helps decide: <em>{e(deciding)}</em> (decision <code>{e(p.node)}</code>)</p><ul>"
            + "".join(f"<li>{e(b)}</li>" for b in p.branches)
            + "</ul>"
            + (f"<p>Note: {e(p.node_note)}</p>" if p.node_note else "")
            + (f"<p>Source: {src}</p>" if src else "")
            + (f"<p>Fact source: {e(p.fact_source)}</p>" if p.fact_source else "")
            + "</details>"
        )
    else:
        if res.status == "complete":
            ask.append('<p class="ok" id="done">The walk is complete.</p>')
        elif res.status == "needs_facts":
            ask.append('<p class="error" id="done">The walk cannot go further: the facts that would decide the next step were answered \'unknown\'.</p>')
        else:
            ask.append('<p class="error" id="done">The case has invalid facts.</p>')
    ask.append(
        f'<form method="post" action="/c/{cid}/back" style="display:inline">{tok}<button type="submit" id="back"{"" if s.can_undo() else " disabled"}>Back</button></form>'
        f' <a href="/c/{cid}/case.yaml" id="download-case" download>Download case (YAML)</a>'
        + (f' · <a href="/c/{cid}/report.html" id="download-report" download>Download report (HTML)</a>' if report_available() else "")
        + ' · <a href="/">New case</a>'
    )
    if res.recommendations:
        ask.append('<h2>The guideline recommends</h2><div id="recommendations">')
        for r in res.recommendations:
            ask.append(
                f'<p class="rec">• {e(r.text)} <span class="muted">[{e(", ".join(r.actions))}]'
                + (f" — {e(r.source.short())}" if r.source else "")
                + "</span></p>"
            )
        ask.append("</div>")
    if res.alerts:
        ask.append('<h2>Alerts</h2><ul id="alerts">' + "".join(f'<li class="alert">[{e(a.severity)}] {e(a.text)}</li>' for a in res.alerts) + "</ul>")
    parts.append(f'<section id="ask">{"".join(ask)}</section>')

    side: list[str] = []
    try:
        reach = s.reachable()
        side.append("<h2>Still reachable</h2>")
        if not s.reachable_complete():
            side.append(
                '<p class="muted" id="reachable-partial">Partial list: the search stopped at its time limit. These are reachable; others may be too.</p>'
            )
        side.append('<ul id="reachable">')
        for nid in reach:
            n = g.nodes[nid]
            side.append(f"<li><code>{e(nid)}</code> {e(n.text or ', '.join(n.actions))}</li>")
        side.append("</ul>")
    except ValueError as exc:
        side.append(f'<p class="muted">Reachable recommendations not available: {e(exc)}</p>')
    if s.facts:
        side.append('<h2>Answers</h2><table id="answers">')
        unused = set(res.unused_facts)
        for k, v in s.facts.items():
            mark = ' <span class="muted">(not used by the current path)</span>' if k in unused else ""
            side.append(f"<tr><td>{e(k)}</td><td>{e(_answer_text(v))}{mark}</td></tr>")
        side.append("</table>")
    side.append('<h2>Trace</h2><ol id="trace">')
    for st in res.trace:
        label = st.question or st.title or st.text or ""
        if st.kind == "decision":
            how = f" → {st.taken} ({st.how})" if st.taken else " (being decided)"
        else:
            how = ""
        side.append(f'<li><code>{e(st.node)}</code> {e(label)}<span class="muted">{e(how)}</span></li>')
    side.append("</ol>")
    parts.append(f'<section id="side">{"".join(side)}</section>')
    svg = _svg(case, res)
    if svg:
        parts.append(f'<section id="flow"><h2>Flowchart (path so far highlighted)</h2>{svg}</section>')
    return page(f"guidewalk — {g.title}", f"<main>{''.join(parts)}</main>", status)
