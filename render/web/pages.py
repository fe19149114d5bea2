"""The web stepper's HTML pages: the start page (your name, your cases, start or resume a case),
the case page (one question; at the end, the team's decision), the error page."""

from __future__ import annotations

from typing import Any

from ..page import STRENGTH_CSS, html_page, strength_badge
from ..page import escape as e
from .downloads import report_available
from .flow import FLOW_CSS, flowchart_html
from .state import WebApp, WebCase
from .widgets import answer_field, answer_text, decision_html, history_html, outlook_section

__all__ = ["page", "index_page", "case_page", "error_page", "confirm_delete_page"]


_CSS = (
    """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:.6em 1.2em}header a{color:#fff}
main{display:flex;gap:1.2em;padding:1em 1.2em;flex-wrap:wrap;align-items:flex-start}
section{background:#fff;border:1px solid #d5dce5;border-radius:6px;padding:1em;min-width:20em;overflow-wrap:anywhere}
#ask{flex:1 1 28em;max-width:44em}#side{flex:1 1 26em}
h1{font-size:1.2em;margin:0}h2{font-size:1.05em;margin:.8em 0 .5em}h2:first-child{margin-top:.2em}
.error{background:#fde8e8;border:1px solid #c0392b;color:#7b1d1d;padding:.5em .8em;border-radius:4px}
.ok{background:#e8f6ec;border:1px solid #2e7d4f;padding:.5em .8em;border-radius:4px}
.warn{background:#fff6e0;border:1px solid #b7791f;padding:.5em .8em;border-radius:4px}
.muted{color:#5b6776;font-size:.9em}label{display:block;margin:.25em 0}
input[type=number],input[type=text],input[type=date],select,textarea{font-size:1em;padding:.25em}textarea{width:100%;box-sizing:border-box}
button{font-size:1em;padding:.35em .9em;margin:.4em .3em 0 0;cursor:pointer}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #e3e8ee;padding:.2em .5em;text-align:left;vertical-align:top}
#answers td:nth-child(2){white-space:nowrap}#answers td{overflow-wrap:normal}
.rec{margin:.3em 0}.alert{color:#8a4b00}li{margin:.15em 0}
.outlook,.outlook ul{list-style:none;padding-left:1.1em;margin:.2em 0}.outlook{padding-left:0}
.outlook .choice>strong{display:block}.outlook .if{color:#1f4e79;font-style:italic}.outlook .rec-item{color:#1d2733}
.decision{border-left:4px solid #555;background:#f7f7f7;padding:.3em .8em;margin:.5em 0}.decision p{margin:.3em 0}
.decision.concordant{border-color:#2e7d32;background:#eef7ee}.decision.deviation_with_reason{border-color:#b26a00;background:#fff6ea}
.decision.deviation_without_reason{border-color:#a00000;background:#fdeeee}
fieldset{border:1px solid #d5dce5;border-radius:4px}.codes{max-height:16em;overflow:auto}
"""
    + FLOW_CSS
    + STRENGTH_CSS
)


def page(title: str, body: str, status: int = 200) -> tuple[int, str]:
    doc = html_page(
        title,
        '<header><h1><a href="/">guidewalk</a> — what the guideline recommends, one question at a time</h1></header>'
        f'{body}<footer class="muted" style="padding:0 1.2em 1em">Decision support: the page shows what the guideline recommends; '
        "the multidisciplinary team decides.</footer>",
        style=_CSS,
    )
    return status, doc


def error_page(status: int, message: str) -> tuple[int, str]:
    return page(
        "guidewalk — error", f'<main><section id="ask"><p class="error" role="alert">{e(message)}</p><p><a href="/">Start page</a></p></section></main>', status
    )


def confirm_delete_page(case: WebCase) -> tuple[int, str]:
    """Removing a case is final: say so, offer the download, ask once more."""
    cid = e(case.id)
    s = case.session
    body = (
        f'<main><section id="ask"><h2>Remove this case?</h2><p>{e(s.guideline.title)}: {len(s.facts)} answers'
        + (", and the team's decision" if case.decision else "")
        + f'. Removing it deletes it and its history from this server for good.</p><p><a href="/c/{cid}/case.yaml" download>Download the case (YAML)</a> first to keep it.</p>'
        f'<form method="post" action="/c/{cid}/delete"><input type="hidden" name="csrf" value="{e(case.token)}"><input type="hidden" name="confirm" value="yes">'
        f'<button type="submit" id="confirm-remove">Remove for good</button> <a href="/">Keep it</a></form></section></main>'
    )
    return page("guidewalk — remove a case", body)


def _flowchart_options(g: Any) -> str:
    return "".join(f'<option value="{e(f)}"{" selected" if f == g.entry else ""}>{e(fc.title or f)}</option>' for f, fc in g.flowcharts.items())


def index_page(app: WebApp, owner: str, message: str | None = None, status: int = 200, *, problems: list[str] | None = None) -> tuple[int, str]:
    from guidewalk.engine.errors import GuidewalkError

    name = app.owner_name(owner)
    token = e(app.new_token(owner))
    csrf = f'<input type="hidden" name="csrf" value="{token}">'
    msg = f'<p class="error" role="alert" id="error">{e(message)}</p>' if message else ""
    if problems:
        msg += '<ul class="error" id="problems">' + "".join(f"<li>{e(p)}</li>" for p in problems) + "</ul>"
    who = (
        f'<section id="who"><h2>Your name</h2><form method="post" action="/name">{csrf}'
        f'<label>Recorded with every answer and decision you give in this browser: <input type="text" name="name" id="name" required maxlength="200" value="{e(name or "")}"></label>'
        f'<button type="submit" id="save-name">{"Change" if name else "Save"}</button></form></section>'
    )
    rows = []
    for ref in app.refs:
        try:
            g = app.guideline(ref)
        except GuidewalkError:
            rows.append(f'<li>{e(ref)} <span class="muted">(does not load; run guidewalk validate)</span></li>')
            continue
        rows.append(
            f'<li><form method="post" action="/new">{csrf}'
            f'<input type="hidden" name="guideline" value="{e(ref)}">'
            f'<strong>{e(g.title)}</strong> <span class="muted">{e(g.id)} · version {e(g.version)}</span><br>'
            f'<label>Start at flowchart <select name="flowchart">{_flowchart_options(g)}</select></label>'
            f'<button type="submit" name="start" value="{e(g.id)}"{"" if name else " disabled"}>Start a case</button></form></li>'
        )
    need = "" if name else '<p class="muted">Enter your name first: it is recorded with every answer.</p>'
    start = f'<section id="ask"><h2>Start a case</h2>{msg}{need}<ul>{"".join(rows) or "<li>No guidelines found.</li>"}</ul>'
    guidelines = "".join(f'<option value="{e(r)}">{e(r)}</option>' for r in app.refs)
    start += (
        '<h2>Resume a saved case</h2><form method="post" action="/upload" enctype="multipart/form-data" id="upload">'
        f'{csrf}<label>Case file (YAML, as downloaded): <input type="file" name="case" id="case-file" accept=".yaml,.yml,.json" required></label>'
        f'<label>Guideline <select name="guideline"><option value="">as saved in the file</option>{guidelines}</select></label>'
        f'<button type="submit" id="resume"{"" if name else " disabled"}>Resume</button></form></section>'
    )
    mine = app.cases_of(owner)
    if mine:
        trs = []
        for c in mine:
            dec = "" if c.decision is None else " · decision recorded"
            trs.append(
                f'<tr><td><a href="/c/{e(c.id)}">{e(c.guideline_id)}</a> <span class="muted">{e(c.flowchart)}</span></td>'
                f'<td class="muted">{e(c.created[:16].replace("T", " "))}</td><td class="muted">{e(c.updated[:16].replace("T", " "))}</td>'
                f"<td>{c.answers}</td><td>{e(c.status.replace('_', ' '))}{e(dec)}</td>"
                f'<td><form method="post" action="/c/{e(c.id)}/delete"><input type="hidden" name="csrf" value="{e(c.token)}">'
                '<button type="submit" class="remove">Remove</button></form></td></tr>'
            )
        side = (
            '<section id="side"><h2>Your cases</h2><p class="muted">Kept on this server for this browser; download a case (YAML) to keep it elsewhere.</p>'
            '<table id="cases"><tr><th>case</th><th>started (UTC)</th><th>last change</th><th>answers</th><th>status</th><th></th></tr>'
            + "".join(trs)
            + "</table></section>"
        )
    else:
        side = '<section id="side"><h2>Your cases</h2><p class="muted">None yet.</p></section>'
    return page("guidewalk — choose a guideline", f"<main>{who}{start}{side}</main>", status)


def case_page(
    app: WebApp,
    case: WebCase,
    by: str | None,
    *,
    error: str | None = None,
    value: str | None = None,
    status: int = 200,
    notice: str | None = None,
    decision_error: str | None = None,
    decision_form: dict[str, list[str]] | None = None,
) -> tuple[int, str]:
    s = case.session
    g = s.guideline
    res = s.result()
    pending = s.pending()
    cid = e(case.id)
    tok = f'<input type="hidden" name="csrf" value="{e(case.token)}">'
    ask: list[str] = [f'<h2>{e(g.title)} <span class="muted">version {e(g.version)} · flowchart {e(s.flowchart)}</span></h2>']
    for w in case.warnings:
        ask.append(f'<p class="warn">{e(w)}</p>')
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
            + answer_field(p, value)
            + '<div><button type="submit" name="action" value="answer" id="submit">Answer</button>'
            '<button type="submit" name="action" value="unknown" formnovalidate id="unknown">Unknown / skip</button></div></form>'
            + (f"<details><summary>Help and source</summary><p>{e(p.help)}</p>" if p.help else "<details><summary>Help and source</summary>")
            + f"<p>This answer helps decide: <em>{e(deciding)}</em></p><ul>"
            + "".join(f"<li>{e(b)}</li>" for b in p.branches)
            + "</ul>"
            + (f"<p>Note: {e(p.node_note)}</p>" if p.node_note else "")
            + (f"<p>Source: {src}</p>" if src else "")
            + (f"<p>Fact source: {e(p.fact_source)}</p>" if p.fact_source else "")
            + "</details>"
        )
    elif res.status == "complete":
        ask.append('<p class="ok" id="done">The walk is complete.</p>')
    elif res.status == "needs_facts":
        ask.append('<p class="error" id="done">The walk cannot go further: the facts that would decide the next step were answered \'unknown\'.</p>')
    else:
        ask.append('<p class="error" id="done">The case has invalid facts.</p>')
    ask.append(
        f'<form method="post" action="/c/{cid}/back" style="display:inline">{tok}<button type="submit" id="back"{"" if s.can_undo() else " disabled"}>Back</button></form>'
        f' <a href="/c/{cid}/case.yaml" id="download-case" download>Download case (YAML)</a>'
        + (f' · <a href="/c/{cid}/report.html" id="download-report" download>Download report (HTML)</a>' if report_available() else "")
        + ' · <a href="/">Start page</a>'
    )
    if res.recommendations:
        ask.append('<h2>The guideline recommends</h2><div id="recommendations">')
        for r in res.recommendations:
            ask.append(
                f'<p class="rec">• {strength_badge(r.strength)}{e(r.text)} <span class="muted">[{e(", ".join(r.actions))}]'
                + (f" — {e(r.source.short())}" if r.source else "")
                + "</span></p>"
            )
        ask.append("</div>")
    if not pending:
        ask.append(decision_html(case, tok, by, error=decision_error, form=decision_form))
    if res.alerts:
        ask.append(
            '<h2>Alerts</h2><ul id="alerts">'
            + "".join(f'<li class="alert">[{e(a.severity)}] {strength_badge(a.strength)}{e(a.text)}</li>' for a in res.alerts)
            + "</ul>"
        )

    side: list[str] = [outlook_section(s, case.id)]
    if s.facts:
        side.append('<h2>Answers</h2><table id="answers">')
        unused = set(res.unused_facts)
        for k, v in s.facts.items():
            spec = g.dictionary.get(k)
            mark = ' <span class="muted">(not used by the current path)</span>' if k in unused else ""
            side.append(f"<tr><td>{e(spec.question if spec and spec.question else k)}</td><td>{e(answer_text(v))}{mark}</td></tr>")
        side.append("</table>")
    side.append(history_html(case.events, g))
    side.append('<h2>Trace</h2><ol id="trace">')
    for st in res.trace:
        label = st.question or st.title or st.text or ""
        how = (f" → {st.taken} ({st.how})" if st.taken else " (being decided)") if st.kind == "decision" else ""
        side.append(f'<li><code>{e(st.node)}</code> {e(label)}<span class="muted">{e(how)}</span></li>')
    side.append("</ol>")
    body = f'<main><section id="ask">{"".join(ask)}</section><section id="side">{"".join(side)}</section>{flowchart_html(s)}</main>'
    return page(f"guidewalk — {g.title}", body, status)
