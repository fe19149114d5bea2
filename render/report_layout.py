"""The parts of the auditor's report that give it its layout: the header with the patient and the
meeting (a pseudonymous id, the date, the MDO), the compact table of derived facts, and the
drawings of the flowcharts the walk touched, each opened on the path, with the case beside them.

No script (the report's policy is ``default-src 'none'``): each drawing's view is fitted to the
path by its SVG viewBox (:mod:`.svg.fit`), and the case panel stays beside the drawings with CSS
(``position: sticky``). Every text is escaped.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any, TypedDict

from guidewalk.engine.contract import ResultJSON
from guidewalk.engine.errors import UsageError
from guidewalk.engine.model import Guideline

from .page import escape as e
from .svg import overlay_from_result, render_svg, strip_xml_prolog
from .text import STRENGTH_BADGE, STRENGTH_WORDS, show_value

__all__ = ["ReportHeader", "report_header", "header_html", "derived_html", "drawings_html", "LAYOUT_CSS", "MISSING_DRAWING"]

MISSING_DRAWING = (
    "The flowchart picture is missing: the Graphviz program 'dot' is not installed here "
    "(Debian/Ubuntu: apt-get install graphviz). Every step of the walk is listed below."
)

LAYOUT_CSS = """
.header{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.6em 0;padding:.5em .8em;border:1px solid #bbb;background:#fafafa}
.header dt{font-weight:bold}.header dd{margin:0}.header .unset{color:#888;font-style:italic}
.drawing{display:grid;grid-template-columns:minmax(0,1fr) 19em;gap:1em;align-items:start}
.drawing figure{margin:0 0 1em 0}.drawing figcaption{font-weight:bold;margin:.2em 0}
.drawing .svgbox{overflow:auto;border:1px solid #ccc;max-height:85vh}.drawing .svgbox svg{max-width:none;height:auto;display:block}
.case-panel{position:sticky;top:.5em;max-height:96vh;overflow:auto;border:1px solid #bbb;background:#fbfbfb;padding:.4em .7em;font-size:.9em}
.case-panel h3{font-size:1em;margin:.6em 0 .2em}.case-panel code,.case-panel a{overflow-wrap:anywhere}.case-panel ul{margin:.2em 0;padding-left:1.2em}.case-panel li{margin:.1em 0}
.swatch{display:inline-block;width:1.6em;height:.9em;border:1px solid #888;vertical-align:middle;margin-right:.3em}
table.derived td{padding:.15em .5em}table.derived details{font-size:.9em}table.derived summary{cursor:pointer}
@media (max-width:900px){.drawing{grid-template-columns:1fr}.case-panel{position:static;max-height:none}}
"""


class ReportHeader(TypedDict, total=False):
    """Who and when the report is about: entered by the clinician, stored in the record."""

    patient_id: str  # pseudonymous; never a citizen service number
    date: str  # YYYY-MM-DD: the date of the consultation or meeting
    mdo: str  # the multidisciplinary meeting (MDO) that discussed the case


def _bsn(text: str) -> bool:
    """Whether `text` is a Dutch citizen service number (9 digits passing the eleven test)."""
    digits = re.sub(r"[\s.-]", "", text)
    if not re.fullmatch(r"\d{9}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0


def report_header(patient_id: str | None = None, date: str | None = None, mdo: str | None = None) -> ReportHeader:
    """The header fields, checked: a pseudonymous id (not a BSN, at most 64 characters), an ISO
    date, an MDO text of at most 300 characters; UsageError otherwise."""
    out = ReportHeader()
    if patient_id is not None:
        pid = patient_id.strip()
        if not pid or len(pid) > 64 or any(ord(c) < 32 for c in pid):
            raise UsageError("--patient-id: give a pseudonymous id of 1 to 64 printable characters")
        if _bsn(pid):
            raise UsageError("--patient-id looks like a citizen service number (BSN); give a pseudonymous id: the report leaves the record system")
        out["patient_id"] = pid
    if date is not None:
        try:
            out["date"] = _dt.date.fromisoformat(date.strip()).isoformat()
        except ValueError:
            raise UsageError(f"--date: '{date}' is not a date YYYY-MM-DD") from None
    if mdo is not None:
        text = " ".join(mdo.split())
        if not text or len(text) > 300:
            raise UsageError("--mdo: give the meeting in 1 to 300 characters (e.g. 'Neuro-oncologisch MDO, UMC, 12 March')")
        out["mdo"] = text
    return out


def header_html(header: Mapping[str, Any] | None) -> str:
    """The report's header block: patient (pseudonym), date, MDO; 'not given' where empty."""
    h = header or {}
    rows = [("Patient (pseudonym)", "patient_id", "header-patient"), ("Date", "date", "header-date"), ("MDO", "mdo", "header-mdo")]
    parts = ['<dl class="header" id="header">']
    for label, key, hid in rows:
        value = h.get(key)
        cell = e(value) if value else '<span class="unset">not given</span>'
        parts.append(f'<dt>{e(label)}</dt><dd id="{hid}">{cell}</dd>')
    parts.append("</dl>")
    return "".join(parts)


def derived_html(g: Guideline, res: ResultJSON, src: Any) -> str:
    """Derived facts with a value, one line each; the rule's inputs, source and note folded away.
    The ones without a value for these facts are named once, folded."""
    by_rule = {r.id: r for r in g.rules}
    rows = []
    none: list[str] = []
    for d in res.get("derivations") or []:
        if d.get("value") is None:
            none.append(str(d.get("fact")))
            continue
        rule = by_rule.get(str(d.get("rule")))
        how = f" (case {int(d['case']) + 1})" if d.get("case") is not None else ""
        origin = f' <span class="muted">{e(d.get("origin"))}</span>' if d.get("origin") else ""
        ins = ", ".join(f"{e(k)} = {e(show_value(v))}" for k, v in (d.get("inputs") or {}).items())
        more = [f"inputs: {ins}" if ins else "no inputs"]
        if rule and rule.source:
            more.append(f"source: {src(rule.source)}")
        if rule and rule.note:
            more.append(f'<span class="note">{e(rule.note)}</span>')
        rows.append(
            f"<tr><td><code>{e(d.get('fact'))}</code></td><td>{e(show_value(d.get('value')))}</td>"
            f"<td><details><summary><code>{e(d.get('rule'))}</code>{e(how)}{origin}</summary>{'<br/>'.join(more)}</details></td></tr>"
        )
    out = ['<table class="derived"><tr><th>fact</th><th>value</th><th>rule (open for its inputs, source and note)</th></tr>']
    out += rows or ['<tr><td colspan="3" class="muted">none</td></tr>']
    out.append("</table>")
    if none:
        out.append(
            f'<details class="muted" id="derived-unknown"><summary>{len(none)} derived facts have no value for these facts (not needed on this path)</summary>'
            + ", ".join(f"<code>{e(n)}</code>" for n in none)
            + "</details>"
        )
    return "\n".join(out)


def _drawing(g: Guideline, res: ResultJSON, flowchart: str) -> str | None:
    """One flowchart with the path, its view fitted to the path; None when Graphviz cannot draw here."""
    try:
        return render_svg(g, overlay_from_result(g, res), flowchart=flowchart, fit=True, side=False)
    except Exception as exc:
        if type(exc).__name__ == "ExecutableNotFound":
            return None
        raise


def _panel(g: Guideline, res: ResultJSON) -> str:
    """The case beside the drawing: status, what decided the path, what it recommends, alerts, legend."""
    status = str(res.get("status", ""))
    p = ['<aside id="case-beside" class="case-panel"><h3>This case</h3>', f"<div>Status: <b>{e(status.replace('_', ' '))}</b></div>"]
    if res.get("needs"):
        p.append("<div>Needs: " + ", ".join(f"<code>{e(n)}</code>" for n in res.get("needs", [])) + "</div>")
    used: dict[str, Any] = {}
    for s in res.get("trace") or []:
        for b in s.get("branches") or []:
            if b.get("value") is True and b.get("to") == s.get("taken"):
                used.update(b.get("facts") or {})
    if used:
        p.append("<h3>Facts that decided the path</h3><ul>")
        p += [f"<li><code>{e(k)}</code> = {e(show_value(v))}</li>" for k, v in used.items()]
        p.append("</ul>")
    recs = res.get("recommendations") or []
    if recs:
        p.append("<h3>Recommended on this path</h3><ol>")
        for r in recs:
            strength = r.get("strength")
            badge = f' <span class="strength strength-{e(strength)}">{e(STRENGTH_BADGE[str(strength)])}</span>' if strength in STRENGTH_BADGE else ""
            step = next((s.get("step") for s in res.get("trace") or [] if s.get("node") == r.get("node")), None)
            p.append(f'<li><a href="#step-{e(step)}">{e(", ".join(r.get("actions") or []) or r.get("node"))}</a>{badge}</li>')
        p.append("</ol>")
    alerts = res.get("alerts") or []
    if alerts:
        counts: dict[str, int] = {}
        for a in alerts:
            counts[str(a.get("severity"))] = counts.get(str(a.get("severity")), 0) + 1
        p.append(f'<h3>Alerts</h3><div><a href="#alerts">{len(alerts)} alerts</a>: ' + ", ".join(f"{n} {e(k)}" for k, n in counts.items()) + "</div>")
    p.append(
        "<h3>Legend</h3><ul>"
        '<li><span class="swatch" style="background:#d6e6ff;border-color:#1f4e9e"></span>path of this case (step numbers)</li>'
        '<li><span class="swatch" style="background:#ffe1b8;border-color:#c25e00"></span>where the walk stopped for facts</li>'
        '<li><span class="swatch" style="background:#f6f6f6;border-color:#c9c9c9"></span>not reached</li>'
        "<li>✔ branch taken; ✘ tested, false; ? unknown</li>"
        + "".join(f'<li><span class="strength strength-{s}">{e(STRENGTH_BADGE[s])}</span> {e(STRENGTH_WORDS[s])} it</li>' for s in STRENGTH_BADGE)
        + '</ul><p class="muted">Each drawing shows the flowchart around the path. The whole flowchart with this path: '
        + f"<code>guidewalk render {e(g.id)} --facts CASE</code>.</p></aside>"
    )
    return "".join(p)


def drawings_html(g: Guideline, res: ResultJSON, svg: str | None = None) -> str:
    """The flowcharts the walk touched, in walk order, each opened on its part of the path, with
    the case panel beside them. `svg`: one drawing already made (used as is)."""
    trace = res.get("trace") or []
    if not trace:
        return '<p class="muted">Nothing was walked.</p>'
    figures = []
    if svg is not None:
        figures.append(f'<figure><div class="svgbox">{strip_xml_prolog(svg)}</div></figure>')
    else:
        walked = list(dict.fromkeys(str(s.get("flowchart")) for s in trace if s.get("flowchart") in g.flowcharts))
        for fc in walked:
            drawing = _drawing(g, res, fc)
            if drawing is None:
                return f'<p class="missing" id="no-drawing">{e(MISSING_DRAWING)}</p>'
            steps = [int(s.get("step", 0)) for s in trace if s.get("flowchart") == fc]
            span = f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}–{steps[-1]}"
            figures.append(
                f'<figure id="drawing-{e(fc)}"><figcaption>Flowchart {e(g.flowcharts[fc].title)} <span class="muted">({e(span)})</span></figcaption>'
                f'<div class="svgbox">{strip_xml_prolog(drawing)}</div></figure>'
            )
    return f'<div class="drawing"><div class="figures">{"".join(figures)}</div>{_panel(g, res)}</div>'
