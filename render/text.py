"""Readable text of a walk: a fact value as people read it, and the text form of a Result.

Presentation only: the engine gives :class:`guidewalk.engine.trace.Result` and its JSON form;
`guidewalk run` (text format), the terminal stepper, the web stepper, the report and the
drawings read fact values through :func:`show_value`, and the bounds of a number's valid
range through :func:`show_number`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guidewalk.engine.fact_types import show_number
from guidewalk.engine.model import Guideline
from guidewalk.engine.trace import Result

__all__ = [
    "show_value",
    "show_number",
    "to_text",
    "concordance_words",
    "decision_lines",
    "STRENGTH_WORDS",
    "STRENGTH_BADGE",
    "strength_tag",
    "strength_key",
    "coverage_line",
    "coverage_text",
]

#: how each concordance value reads (engine.decision); None: the walk is not complete
CONCORDANCE_WORDS = {
    "concordant": "follows the recommendation",
    "deviation_with_reason": "deviates from the recommendation, with a reason",
    "deviation_without_reason": "deviates from the recommendation, without a recorded reason",
    None: "cannot be compared: the walk reached no final recommendation",
}

#: a recommendation's strength (its source's verb form) in words; no strength, no words
STRENGTH_WORDS = {"directive": "the guideline recommends", "conditional": "the guideline suggests considering"}
#: the same, short enough for a badge next to the recommendation's own text
STRENGTH_BADGE = {"directive": "recommends", "conditional": "suggests considering"}


def strength_tag(strength: str | None) -> str:
    """'[directive] ' or '[conditional] ' before a recommendation or alert; '' without a strength."""
    return f"[{strength}] " if strength else ""


def strength_key(strengths: Any) -> str:
    """The one line that says what the tags used mean ('' when none is used)."""
    used = [s for s in STRENGTH_WORDS if s in set(strengths)]
    parts = [f"[{s}] {STRENGTH_WORDS[s]} it" for s in used]
    if "conditional" in used:
        parts[-1] += " (verb forms 'overweeg', 'te overwegen', 'kan', 'bij voorkeur')"
    return "Strength: " + "; ".join(parts) + "." if parts else ""


def show_value(v: Any) -> str:
    """A JSON-level fact value as people read it: yes/no/unknown, sets in braces."""
    if v is None:
        return "unknown"
    if v is True:
        return "yes"
    if v is False:
        return "no"
    if isinstance(v, list):
        return "{" + ", ".join(map(str, v)) + "}"
    return str(v)


def concordance_words(value: str | None) -> str:
    """A concordance value (engine.decision) in words."""
    return CONCORDANCE_WORDS.get(value, str(value))


def decision_lines(decision: Mapping[str, Any], concordance: str | None) -> list[str]:
    """The team's decision next to the recommendation, as text lines (run, replay, the stepper)."""
    who = ", ".join(str(decision[k]) for k in ("by", "date") if decision.get(k))
    acts = ", ".join(decision.get("actions") or []) or "no action"
    lines = [f"Team decision{f' ({who})' if who else ''}: {acts}", f"  {concordance_words(concordance)}"]
    if decision.get("reason"):
        lines.append(f"  reason: {decision['reason']}")
    return lines


def coverage_line(g: Guideline) -> str:
    """One line: how many modules of the guideline text this encoding leaves out, and how to see them."""
    if not g.modules:
        return f"Module coverage: {g.id} lists no modules (no modules.yaml), so what this encoding leaves out of the guideline is not known."
    n = g.coverage_counts()
    partly = f", {n['partly']} only partly" if n["partly"] else ""
    return f"Module coverage: {n['not encoded']} of {len(g.modules)} modules of this guideline are not encoded{partly}; see them with `guidewalk list --coverage {g.id}`."


def coverage_text(g: Guideline) -> str:
    """Every module of the guideline with its coverage and reason, and the totals."""
    lines = [f"{g.id} — {g.title} (version {g.version})"]
    if not g.modules:
        lines.append("  lists no modules (no modules.yaml next to its guideline.yaml): what this encoding leaves out is not known")
        return "\n".join(lines) + "\n"
    width = max(len(m.code) for m in g.modules)
    for m in g.modules:
        lines.append(f"  {m.code:<{width}}  {m.coverage:<11}  {m.title}")
        lines.append(f"  {'':<{width}}  {'':<11}  {m.reason}")
    n = g.coverage_counts()
    lines.append(f"  {len(g.modules)} modules: " + ", ".join(f"{v} {k}" for k, v in n.items()))
    return "\n".join(lines) + "\n"


def to_text(result: Result, guideline: Guideline | None = None) -> str:
    """The readable form: status, recommendations, alerts, derived facts, the traced path.
    With the guideline, each needed fact is shown with its question, valid values and unit,
    and the last line says how many of its modules are not encoded."""
    g = result.guideline
    lines = [f"{g.get('title') or g['id']} (version {g.get('version')}) — flowchart '{result.flowchart}'"]
    if result.status == "invalid_facts":
        lines.append("Status: invalid facts — nothing was walked. Fix these:")
        lines += [f"  - {e}" for e in result.errors]
        if guideline is not None:
            lines += ["", coverage_line(guideline)]
        return "\n".join(lines) + "\n"
    if result.status == "needs_facts":
        lines.append("Status: needs facts — the walk stopped at a decision that these facts would settle:")
        for n in result.needs:
            spec = guideline.spec(n) if guideline is not None else None
            if spec is None:
                lines.append(f"  - {n}")
                continue
            unit = f" {spec.unit}" if spec.unit else ""
            lines.append(f"  - {n}: {spec.question or ''} [{spec.describe_domain()}{unit}]".replace(":  [", ": ["))
    else:
        lines.append("Status: complete")
    if result.recommendations:
        lines.append("")
        lines.append("The guideline recommends:")
        for r in result.recommendations:
            lines.append(f"  * {strength_tag(r.strength)}{r.text}  [{', '.join(r.actions)}]")
            if r.source:
                lines.append(f"      source: {r.source.short()}")
            if r.note:
                lines.append(f"      note: {r.note}")
    if result.decision is not None:
        lines.append("")
        lines += decision_lines(result.decision.to_json(), result.concordance)
    if result.alerts:
        lines.append("")
        lines.append("Alerts:")
        for a in result.alerts:
            lines.append(f"  ! [{a.severity}] {strength_tag(a.strength)}{a.text}")
            if a.source:
                lines.append(f"      source: {a.source.short()}" + (f"  ({a.origin})" if a.origin != "guideline" else ""))
    key = strength_key([r.strength for r in result.recommendations] + [a.strength for a in result.alerts])
    if key:
        lines += ["", key]
    if result.derived:
        lines.append("")
        lines.append("Derived:")
        for d in result.derivations:
            if d["value"] is not None:
                ins = ", ".join(f"{k}={show_value(v)}" for k, v in d["inputs"].items())
                lines.append(f"  {d['fact']} = {show_value(d['value'])}   (rule {d['rule']}; {ins})")
    lines.append("")
    lines.append("Path:")
    for s in result.trace:
        head = f"  {s.step}. [{s.kind}] {s.node}" + (f" — {s.title}" if s.title else "")
        lines.append(head)
        if s.kind == "decision":
            if s.question:
                lines.append(f"       {s.question}")
            for b in s.branches:
                mark = "→" if (s.taken == b.to and b.value is True) else " "
                facts = ", ".join(f"{k}={show_value(v)}" for k, v in b.facts.items())
                lines.append(f"     {mark} {b.readable}: {show_value(b.value)}   ({facts})")
            if s.how == "otherwise":
                lines.append(f"     → otherwise: {s.otherwise}")
            if s.how == "needs facts":
                lines.append("     (stopped: a deciding fact is unknown)")
        else:
            if s.text:
                lines.append(f"       {s.text}")
        if s.note:
            lines.append(f"       note: {s.note}")
    if guideline is not None:
        lines += ["", coverage_line(guideline)]
    return "\n".join(lines) + "\n"
