"""The auditor's record of one case: a JSON record that replays, and a self-contained HTML report.

The JSON record (``format: guidewalk-record/1``) holds everything needed to re-run the case
and to tell whether anything changed: the facts as entered, the flowchart walked, overlays,
the guideline's id/title/version/sha256, the engine version and rules backend, the time it
was made and the full run result (the `run --format json` object).

The HTML report is one file with no network access and no external assets: inline CSS, the
drawings of the flowcharts the walk touched inline (each opened on the path, the case beside
them; :mod:`.report_layout`), and the JSON record embedded in a ``<script type="application/json"
id="guidewalk-record">`` element (so `guidewalk replay` accepts the HTML file too). Every text
is escaped; the markup is well-formed XML as well as HTML.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from guidewalk.engine import __version__
from guidewalk.engine.contract import EngineRef, ResultJSON
from guidewalk.engine.model import Guideline, Source
from guidewalk.engine.trace import Result

from .page import STRENGTH_CSS, html_page, strength_badge
from .page import escape as e
from .report_layout import LAYOUT_CSS, MISSING_DRAWING, ReportHeader, derived_html, drawings_html, header_html
from .svg import safe_url
from .text import show_value

__all__ = ["RECORD_FORMAT", "MISSING_DRAWING", "make_record", "record_json", "render_html", "made_now", "embedded_record"]

RECORD_FORMAT = "guidewalk-record/1"
RECORD_SCRIPT_ID = "guidewalk-record"


def made_now() -> str:
    """UTC time stamp (ISO 8601); $SOURCE_DATE_EPOCH fixes it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch else _dt.datetime.now(_dt.UTC)
    return now.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class RecordGuideline(TypedDict, total=False):
    id: str
    title: str
    version: str
    publisher: str
    source: str
    sha256: str
    ref: str


class RecordJSON(TypedDict, total=False):
    """The auditor's record of one run: what was walked, with what, and the result."""

    format: str
    made: str
    guideline: RecordGuideline
    engine: EngineRef
    flowchart: str
    flowchart_requested: str | None
    overlays: list[str]
    case_file: str | None
    header: ReportHeader  # patient (pseudonym), date, MDO: as entered with `report`
    facts: dict[str, Any]
    result: ResultJSON
    why_not: list[dict[str, Any]]


def make_record(
    g: Guideline,
    result: Result,
    *,
    flowchart_requested: str | None = None,
    case_file: str | None = None,
    guideline_ref: str | None = None,
    made: str | None = None,
    header: ReportHeader | None = None,
) -> RecordJSON:
    """The replayable record of one run (`header`: patient pseudonym, date and MDO, checked by
    :func:`~guidewalk.render.report_layout.report_header`)."""
    res = result.to_json()
    record: RecordJSON = {
        "format": RECORD_FORMAT,
        "made": made or made_now(),
        "guideline": {
            "id": g.id,
            "title": g.title,
            "version": g.version,
            "publisher": g.publisher,
            "source": g.source,
            "sha256": g.sha256,
            "ref": guideline_ref or g.id,  # as given on the command line (id or path)
        },
        "engine": {"version": res["engine"]["version"], "rules_backend": res["engine"]["rules_backend"]},
        "flowchart": result.flowchart,
        "flowchart_requested": flowchart_requested,
        "overlays": [str(Path(o).resolve()) if Path(o).exists() else o for o in g.overlays],
        "case_file": case_file,
        "facts": res.get("facts", {}),
        "result": res,
    }
    if header:
        record["header"] = header
    return record


def record_json(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def embedded_record(text: str) -> dict[str, Any] | None:
    """The JSON record embedded in an HTML report, if there is one."""
    marker = f'<script type="application/json" id="{RECORD_SCRIPT_ID}">'
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = text.find("</script>", start)
    data = json.loads(text[start:end])
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- HTML


def _src(source: Mapping[str, Any] | Source | None) -> str:
    if source is None:
        return ""
    s = source.to_json() if isinstance(source, Source) else dict(source)
    bits = [str(s[k]) for k in ("module", "strength", "evidence", "tag") if s.get(k)]
    url = safe_url(str(s.get("url", "")))
    link = f'<a href="{e(url)}">{e(url)}</a>' if url else e(s.get("url", ""))
    return (f'<span class="src">{e(" · ".join(bits))}</span> — ' if bits else "") + link


# self-contained: inline styles and the inline SVG's data: images, nothing fetched
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = (
    """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1200px;color:#1d1d1d;line-height:1.4;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;width:100%}th,td{border:1px solid #d4d4d4;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}code{font-family:"DejaVu Sans Mono",monospace;font-size:.92em}
.status{display:inline-block;padding:.1em .6em;border-radius:.3em;font-weight:bold}
.status-complete{background:#dff0df;color:#245c24}.status-needs_facts{background:#ffe1b8;color:#8a4300}.status-invalid_facts{background:#f8d0d0;color:#8a0000}
.rec{border-left:4px solid #1f4e9e;background:#f3f7ff;padding:.5em .8em;margin:.5em 0}
.alert{border-left:4px solid #c25e00;background:#fff6ea;padding:.5em .8em;margin:.5em 0}.alert.critical{border-color:#a00000;background:#fdeeee}
.note{color:#555;font-style:italic}.muted{color:#777}.src{color:#444}
.taken{background:#e3ecff;font-weight:bold}.v-true{color:#245c24}.v-false{color:#8a8a8a}.v-unknown{color:#c25e00;font-weight:bold}
.svgbox{overflow:auto;border:1px solid #ccc;max-height:90vh}.svgbox svg{max-width:none;height:auto}
.disclaimer{background:#f6f6f6;border:1px solid #ddd;padding:.5em .8em}
.decision{border-left:4px solid #555;background:#f7f7f7;padding:.5em .8em;margin:.5em 0}
.decision.concordant{border-color:#2e7d32;background:#eef7ee}.decision.deviation_with_reason{border-color:#b26a00;background:#fff6ea}
.decision.deviation_without_reason{border-color:#a00000;background:#fdeeee}
"""
    + STRENGTH_CSS
)


def render_html(g: Guideline, record: RecordJSON, *, svg: str | None = None) -> str:
    """The self-contained HTML report of a record made by :func:`make_record` (`svg`: the
    highlighted drawing, if already rendered)."""
    res = record["result"]
    status = str(res.get("status", ""))
    parts: list[str] = []
    add = parts.append
    title = f"Guideline report — {g.title}"
    add(f"<h1>{e(title)}</h1>")
    add(header_html(record.get("header")))
    add(
        f'<p>Status: <span class="status status-{e(status)}" id="status">{e(status.replace("_", " "))}</span> — flowchart <code>{e(record.get("flowchart"))}</code></p>'
    )
    add(
        '<p class="disclaimer">Decision support: this report shows what the guideline recommends for the facts entered, '
        "with every step of the walk. The decision rests with the clinician and the multidisciplinary meeting (MDO).</p>"
    )

    # provenance
    gl, eng = record["guideline"], record["engine"]
    add('<h2 id="provenance">Provenance</h2><table>')
    rows = [
        ("Guideline", f"{e(gl.get('title'))} (<code>{e(gl.get('id'))}</code>)"),
        ("Version", e(gl.get("version"))),
        ("Publisher", e(gl.get("publisher"))),
        ("Guideline source", _src({"url": gl.get("source", "")})),
        ("Guideline sha256", f'<code id="sha256">{e(gl.get("sha256"))}</code>'),
        ("Overlays", e(", ".join(record.get("overlays") or []) or "none")),
        ("Engine", f"guidewalk {e(eng.get('version'))}, rules backend <code>{e(eng.get('rules_backend'))}</code>"),
        ("Case file", e(record.get("case_file") or "—")),
        ("Made", f'<time id="made">{e(record.get("made"))}</time>'),
        ("Replay", "<code>guidewalk replay THIS_FILE</code> re-runs the recorded facts against the current guideline and engine"),
    ]
    for k, v in rows:
        add(f"<tr><th>{e(k)}</th><td>{v}</td></tr>")
    add("</table>")

    # recommendations
    add('<h2 id="recommendations">What the guideline recommends</h2>')
    recs = res.get("recommendations") or []
    if not recs:
        add('<p class="muted">No recommendation was reached.</p>')
    for r in recs:
        codes = ", ".join(f"<code>{e(c)}</code> ({e(g.actions.get(c, ''))})" for c in r.get("actions", []))
        add(
            f'<div class="rec"><div class="rec-text">{strength_badge(r.get("strength"))}{e(r.get("text"))}</div><div class="muted">node <code>{e(r.get("node"))}</code>; actions: {codes or "—"}</div>'
        )
        add(f"<div>Source: {_src(r.get('source'))}</div>")
        if r.get("note"):
            add(f'<div class="note">Note: {e(r.get("note"))}</div>')
        add("</div>")
    if status == "needs_facts":
        add('<h2 id="needs">Facts needed to go on</h2><table><tr><th>fact</th><th>question</th><th>valid values</th></tr>')
        for n in res.get("needs", []):
            spec = g.spec(str(n))
            add(
                f"<tr><td><code>{e(n)}</code></td><td>{e(spec.question if spec else '')}</td><td>{e(spec.describe_domain() + (' ' + spec.unit if spec and spec.unit else '') if spec else '')}</td></tr>"
            )
        add("</table>")
    if res.get("errors"):
        add('<h2 id="errors">Invalid facts (nothing was walked)</h2><table><tr><th>fact</th><th>problem</th></tr>')
        for err in res["errors"]:
            hint = f" (did you mean {e(err['suggestion'])}?)" if err.get("suggestion") else ""
            add(f"<tr><td><code>{e(err.get('fact'))}</code></td><td>{e(err.get('message'))}{hint}</td></tr>")
        add("</table>")

    _decision_section(add, g, res)

    for wn in record.get("why_not") or []:
        _why_not_section(add, wn)

    # alerts
    add('<h2 id="alerts">Alerts</h2>')
    alerts = res.get("alerts") or []
    if not alerts:
        add('<p class="muted">None.</p>')
    for a in alerts:
        sev = str(a.get("severity", ""))
        ins = ", ".join(f"{e(k)} = {e(show_value(v))}" for k, v in (a.get("inputs") or {}).items())
        add(
            f'<div class="alert {e(sev)}"><b>[{e(sev)}]</b> {strength_badge(a.get("strength"))}{e(a.get("text"))}<div class="muted">rule <code>{e(a.get("rule"))}</code>'
            + (f" ({e(a.get('origin'))})" if a.get("origin") not in (None, "guideline") else "")
            + (f"; inputs: {ins}" if ins else "")
            + "</div>"
        )
        add(f"<div>Source: {_src(a.get('source'))}</div>")
        if a.get("note"):
            add(f'<div class="note">Note: {e(a.get("note"))}</div>')
        add("</div>")

    # facts as entered
    add('<h2 id="facts">Facts as entered</h2><table><tr><th>fact</th><th>value</th><th>question</th></tr>')
    facts = record.get("facts") or {}
    for k, v in facts.items():
        spec = g.spec(str(k))
        unit = f" {spec.unit}" if spec and spec.unit and v is not None else ""
        add(f"<tr><td><code>{e(k)}</code></td><td>{e(show_value(v))}{e(unit)}</td><td>{e(spec.question if spec else '(not in the dictionary)')}</td></tr>")
    if not facts:
        add('<tr><td colspan="3" class="muted">none</td></tr>')
    add("</table>")
    if res.get("unused_facts"):
        add(f'<p class="muted">Entered but not read by this guideline: {e(", ".join(res["unused_facts"]))}</p>')

    # derived
    add('<h2 id="derived">Derived facts</h2>')
    add(derived_html(g, res, _src))

    # drawing
    add('<h2 id="flowchart">The path on the flowchart</h2>')
    add(drawings_html(g, res, svg))

    # steps
    add('<h2 id="steps">Every step of the walk</h2>')
    for s in res.get("trace") or []:
        add(
            f'<table class="step" id="step-{e(s.get("step"))}"><tr><th colspan="4">Step {e(s.get("step"))}: {e(s.get("kind"))} <code>{e(s.get("node"))}</code>'
            + (f" — {e(s.get('title'))}" if s.get("title") else "")
            + f' <span class="muted">(flowchart {e(s.get("flowchart"))})</span></th></tr>'
        )
        if s.get("kind") == "decision":
            if s.get("question"):
                add(f'<tr><td colspan="4"><b>{e(s.get("question"))}</b></td></tr>')
            add("<tr><th>condition</th><th>values read</th><th>result</th><th>to</th></tr>")
            for b in s.get("branches") or []:
                bv = b.get("value")
                vcls = "unknown" if bv is None else ("true" if bv else "false")
                taken = s.get("taken") == b.get("to") and bv is True
                facts_read = ", ".join(f"{e(k)} = {e(show_value(x))}" for k, x in (b.get("facts") or {}).items())
                note = f'<br/><span class="note">{e(b["note"])}</span>' if b.get("note") else ""
                row_cls = ' class="taken"' if taken else ""
                add(
                    f"<tr{row_cls}><td><code>{e(b.get('readable') or b.get('when'))}</code>{note}</td><td>{facts_read}</td>"
                    f'<td class="v-{vcls}">{e(show_value(bv))}</td><td><code>{e(b.get("to"))}</code></td></tr>'
                )
            if s.get("otherwise"):
                cls = ' class="taken"' if s.get("how") == "otherwise" else ""
                add(f'<tr{cls}><td colspan="3">otherwise (no branch holds)</td><td><code>{e(s.get("otherwise"))}</code></td></tr>')
        else:
            add(f'<tr><td colspan="4">{e(s.get("text"))} <span class="muted">[{e(", ".join(s.get("actions") or []))}]</span></td></tr>')
        how = str(s.get("how") or "")
        nxt = f"→ <code>{e(s.get('taken'))}</code> ({e(how)})" if s.get("taken") else e(how or "end")
        add(f'<tr><td colspan="4">{nxt}</td></tr>')
        if s.get("note"):
            add(f'<tr><td colspan="4" class="note">Note: {e(s.get("note"))}</td></tr>')
        if s.get("source"):
            add(f'<tr><td colspan="4">Source: {_src(s.get("source"))}</td></tr>')
        add("</table>")

    add(f'<script type="application/json" id="{RECORD_SCRIPT_ID}">{_script_json(record)}</script>')
    add(f'<p class="muted">Made {e(record.get("made"))} by guidewalk {e(__version__)}.</p>')
    return html_page(title, "\n".join(parts), style=_CSS + LAYOUT_CSS, csp=_CSP)


def _why_not_section(add: Any, wn: Mapping[str, Any]) -> None:
    """'Why not X?': the smallest change of facts that would have led there (guidewalk why-not)."""
    add(f'<h2 class="why-not" id="why-not-{e(wn.get("target"))}">Why not <code>{e(wn.get("target"))}</code>?</h2>')
    add(f"<p>{e(wn.get('message'))}</p>")
    changes = wn.get("changes") or []
    if changes:
        add("<table><tr><th>fact</th><th>entered</th><th>would need</th><th>any value with</th></tr>")
        for c in changes:
            add(
                f"<tr><td><code>{e(c.get('fact'))}</code></td><td>{e(show_value(c.get('from')))}</td><td>{e(show_value(c.get('to')))}</td><td>{e(c.get('range') or '')}</td></tr>"
            )
        add("</table>")
    steps = wn.get("path") or []
    if steps:
        add("<p>Decisions on the way:</p><ul>")
        for p in steps:
            add(
                f'<li><code>{e(p.get("node"))}</code>: {e(p.get("how"))} → <code>{e(p.get("to"))}</code> <span class="muted">{e(p.get("source") or "")}</span></li>'
            )
        add("</ul>")


def _script_json(record: Mapping[str, Any]) -> str:
    """JSON safe inside <script> and inside XML: no '<', '>' or '&' characters."""
    text = json.dumps(record, ensure_ascii=False, indent=1)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# --------------------------------------------------------------------------- the team's decision
# (a case's clinician_decision and its concordance, engine.decision; kept apart from the layout above)


def _decision_section(add: Any, g: Guideline, res: ResultJSON) -> None:
    """What the team decided, and whether it follows the recommendation (with the reason)."""
    from .text import concordance_words

    decision = res.get("clinician_decision")
    if decision is None:
        return
    conc = res.get("concordance")
    cls = conc or "not-assessable"
    codes = ", ".join(f"<code>{e(c)}</code> ({e(g.actions.get(c, ''))})" for c in decision.get("actions") or []) or "no action"
    add('<h2 id="decision">The team\'s decision</h2>')
    add(f'<div class="decision {e(cls)}" id="concordance" data-concordance="{e(conc or "")}">')
    add(f"<div><b>{e(concordance_words(conc))}</b></div><div>Decided: {codes}</div>")
    reason = decision.get("reason")
    add(f'<div>Reason: <span id="decision-reason">{e(reason)}</span></div>' if reason else '<div class="muted">No reason recorded.</div>')
    who = " · ".join(e(v) for v in (decision.get("by"), decision.get("date")) if v)
    if who:
        add(f'<div class="muted">Recorded by {who}</div>')
    add("</div>")
