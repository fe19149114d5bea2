"""`guidewalk score NAME --facts F` as text: the inputs that apply to this patient (and those not
asked), points, total, result and outputs in the dictionary's words (yes / no / unknown, enum
values, units), what the scores it builds on gave, its alerts and its notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guidewalk.engine.model import Guideline

from .text import show_number, show_value, strength_tag

__all__ = ["result_text", "word"]


def word(g: Guideline | None, name: str, v: Any) -> str:
    """A fact's value as the dictionary words it: yes/no/unknown, enum values, numbers with their unit."""
    if isinstance(v, float):
        text = show_number(v)
    else:
        text = show_value(v)
    spec = g.spec(name) if g is not None else None
    if v is not None and spec is not None and spec.unit and spec.type in ("integer", "number"):
        text += f" {spec.unit}" if spec.unit != "%" else "%"
    return text


def _pairs(g: Guideline | None, values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {word(g, k, v)}" for k, v in values.items())


def result_text(out: Mapping[str, Any], g: Guideline | None = None) -> str:
    """The calculator's result (:func:`guidewalk.engine.scores.calculate`) for people."""
    lines = [f"{out['title']} ({out['score']}) — verification: {out['verification']}"]
    if out.get("note"):
        lines.append(f"note: {' '.join(str(out['note']).split())}")
    if out["status"] == "invalid_facts":
        lines.append("invalid facts:")
        lines += [f"  - {e['fact']}: {e['message']}" for e in out["errors"]]
        return "\n".join(lines) + "\n"
    applicable = out.get("applicable_inputs", out["inputs"])
    given = {k: v for k, v in applicable.items() if v is not None}
    lines.append("inputs for this patient:")
    lines += [f"  {k} = {word(g, k, v)}" for k, v in given.items()] or ["  (none entered)"]
    missing = [k for k, v in applicable.items() if v is None]
    if missing:
        lines.append("  not entered: " + ", ".join(missing))
    if out.get("inputs_not_applicable"):
        lines.append("not asked for this patient (no rule that can still fire reads them): " + ", ".join(out["inputs_not_applicable"]))
    if out.get("entered_not_used"):
        lines.append("entered but not used for this patient: " + _pairs(g, out["entered_not_used"]))
    for r in out.get("required") or []:
        entered = {k: v for k, v in r["inputs"].items() if v is not None}
        parts = [_pairs(g, entered)] if entered else []
        decided = {x["fact"]: x["value"] for x in (r.get("total"), r.get("result")) if x}
        decided.update(r.get("read") or {})
        parts.append(_pairs(g, decided))
        lines.append(f"from {r['score']} ({r['title']}): " + " → ".join(p for p in parts if p))
    if out["components"]:
        lines.append("points:")
        width = max(len(c["component"]) for c in out["components"])
        for c in out["components"]:
            shown = word(g, c["component"], c["points"]) if c.get("applies", True) else "— (not scored for this patient)"
            lines.append(f"  {c['component']:<{width}}  {shown}")
    if out.get("total"):
        lines.append(f"total   {out['total']['fact']} = {word(g, out['total']['fact'], out['total']['value'])}")
    if out.get("result"):
        lines.append(f"result  {out['result']['fact']} = {word(g, out['result']['fact'], out['result']['value'])}")
    shown_outputs = out.get("applicable_outputs", list(out["outputs"]))
    for k in shown_outputs:
        lines.append(f"        {k} = {word(g, k, out['outputs'].get(k))}")
    if out.get("needs"):
        lines.append("needs: " + ", ".join(out["needs"]))
    if out.get("alerts"):
        lines.append("alerts:")
        for a in out["alerts"]:
            lines.append(f"  ! [{a['severity']}] {strength_tag(a.get('strength'))}{' '.join(a['text'].split())}")
    for n in out.get("notes", []):
        lines.append(f"note ({n['rule']}): {' '.join(n['note'].split())}")
    if out.get("source"):
        lines.append(f"source: {out['source'].get('module') or ''} <{out['source']['url']}>")
    return "\n".join(lines) + "\n"
