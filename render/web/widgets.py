"""Parts of the case page: the answer field of one question, the team's decision (its form and
what was recorded), the history of the case, and what still decides between recommendations."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from guidewalk.engine.decision import ClinicianDecision, assess
from guidewalk.engine.fact_types import fact_type

from ..outlook import build_outlook, outlook_html
from ..page import escape as e
from ..text import concordance_words, show_number, show_value
from .store import Event

__all__ = ["answer_field", "answer_text", "decision_html", "history_html", "outlook_section", "OUTLOOK_WAIT"]

OUTLOOK_WAIT = 0.8  # seconds a page waits for the exact search of what is still possible


def answer_text(v: Any) -> str:
    """An answer as the page shows it: :func:`show_value`, with 'none' for an empty set."""
    return "none" if isinstance(v, list) and not v else show_value(v)


def answer_field(p: Any, value: str | None) -> str:
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


def _code_box(code: str, text: str, checked: bool) -> str:
    return f'<label><input type="checkbox" name="action" value="{e(code)}"{" checked" if checked else ""}> <code>{e(code)}</code> {e(text)}</label>'


def decision_html(case: Any, tok: str, by: str | None, *, error: str | None = None, form: dict[str, list[str]] | None = None) -> str:
    """What the team decided, whether it follows the recommendation, and the form to record
    (or change) it. `form`: the values sent, when they are shown again with an error."""
    s = case.session
    g = s.guideline
    res = s.result()
    recommended = list(dict.fromkeys(res.actions))
    out = ['<h2 id="decision">The team\'s decision</h2>']
    d: ClinicianDecision | None = case.decision
    if d is not None:
        conc = assess(res, d)
        codes = ", ".join(f"<code>{e(c)}</code> {e(g.actions.get(c, ''))}" for c in d.actions) or "no action"
        out.append(
            f'<div class="decision {e(conc or "not-assessable")}" id="concordance" data-concordance="{e(conc or "")}">'
            f"<p><b>{e(concordance_words(conc))}</b></p><p>Decided: {codes}</p>"
            + (f'<p>Reason: <span id="decision-reason">{e(d.reason)}</span></p>' if d.reason else '<p class="muted">No reason recorded.</p>')
            + f'<p class="muted">Recorded by {e(d.by or "—")}, {e(d.date or "no date")}.</p></div>'
        )
    chosen = set(form.get("action", [])) if form else (set(d.actions) if d else set())
    reason = (form.get("reason") or [""])[0] if form else (d.reason or "" if d else "")
    who = (form.get("by") or [""])[0] if form else ((d.by if d else None) or by or "")
    date = (form.get("date") or [""])[0] if form else ((d.date if d else None) or _dt.date.today().isoformat())
    others = [c for c in sorted(g.actions) if c not in recommended]
    open_others = any(c in chosen for c in others)
    body = (
        f'<form method="post" action="/c/{e(case.id)}/decision" id="decision-form">{tok}'
        + (f'<p class="error" role="alert" id="decision-error">Not recorded: {e(error)}</p>' if error else "")
        + "<fieldset><legend>Actions decided</legend>"
        + ("".join(_code_box(c, g.actions.get(c, ""), c in chosen) for c in recommended) or '<p class="muted">The guideline recommends no action here.</p>')
        + f'<details{" open" if open_others else ""}><summary>Other action codes</summary><div class="codes">'
        + "".join(_code_box(c, g.actions.get(c, ""), c in chosen) for c in others)
        + '</div></details><p class="muted">Tick nothing when no action was decided.</p></fieldset>'
        f'<label>Reason (why it differs from the recommendation, if it does)<br><textarea name="reason" id="reason" rows="3" maxlength="2000">{e(reason)}</textarea></label>'
        f'<label>Decided by <input type="text" name="by" id="decided-by" required maxlength="200" value="{e(who)}"></label>'
        f'<label>Date <input type="date" name="date" id="decided-on" required value="{e(date)}"></label>'
        f'<button type="submit" id="record-decision">{"Change the decision" if d else "Record the decision"}</button></form>'
    )
    if d is not None and not error:
        out.append(f"<details><summary>Change the recorded decision</summary>{body}</details>")
    else:
        out.append('<p class="muted">Record what the team (or the MDO) decided; the case and its report then say whether it follows the recommendation.</p>')
        out.append(body)
    return "".join(out)


def _when(at: str) -> str:
    return at.replace("T", " ").replace("Z", " UTC")


def history_html(events: list[Event], g: Any) -> str:
    """Every step of the case, in order: when, what was asked, the answer, who."""
    rows = []
    for ev in events:
        if ev.kind in ("answer", "upload"):
            what = e(ev.question or ev.fact)
            ans = e(answer_text(ev.value)) + (' <span class="muted">(from a saved case)</span>' if ev.kind == "upload" else "")
        elif ev.kind == "back":
            what, ans = "Went back one answer", ""
        elif ev.kind == "decision":
            v = ev.value or {}
            what = "Recorded the team's decision"
            ans = e(", ".join(v.get("actions") or []) or "no action") + (f" — reason: {e(v['reason'])}" if v.get("reason") else "")
        elif ev.kind == "start":
            v = ev.value or {}
            what, ans = "Started the case", e(f"{v.get('guideline', g.id)} version {v.get('version', '')}")
        else:
            what, ans = e(ev.kind), ""
        rows.append(f'<tr><td class="muted">{e(_when(ev.at))}</td><td>{what}</td><td>{ans}</td><td>{e(ev.by or "")}</td></tr>')
    return '<h2>History</h2><table id="history"><tr><th>when</th><th>question</th><th>answer</th><th>by</th></tr>' + "".join(rows) + "</table>"


def outlook_section(session: Any, group: Any = None) -> str:
    """The recommendations still possible, grouped by what decides between them (`group`: the
    case, for the background search)."""
    try:
        o = build_outlook(session, wait=OUTLOOK_WAIT, group=group)
    except Exception as exc:  # never break the page over the outline
        return f'<p class="muted">What is still possible cannot be shown ({e(type(exc).__name__)}).</p>'
    if o is None or not o.steps:
        return ""
    n = len(o.reachable)
    return (
        f"<h2>Still possible: {'' if o.exact else 'up to '}{n} recommendation{'s' if n != 1 else ''}</h2>"
        '<p class="muted">What the next answers decide, in the guideline\'s words:</p>'
        f'<div id="reachable">{outlook_html(o)}</div>'
    )
