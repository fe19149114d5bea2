"""A score module as a calculator: inputs in; points per component, total, class and the
published survival out, with the source and how well the table is verified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .expressions import UNKNOWN
from .facts import CaseFacts, check_facts, to_json_value
from .model import Guideline, Rule, ScoreModule
from .rules import backend, deciding_facts
from .score_inputs import Applicable, applicable
from .trace import Alert

__all__ = ["score", "calculate", "describe", "describe_text"]


def score(name: str, case: CaseFacts | Mapping[str, Any]) -> dict[str, Any]:
    """One score module (by id, e.g. ``"gpa_2008"``) calculated for a case: its inputs, points
    per component, total, class, published survival and source (as ``guidewalk score``)."""
    from .load import load_score

    module, g = load_score(name)
    return calculate(module, g, case)


def calculate(module: ScoreModule, g: Guideline, case: CaseFacts | Mapping[str, Any]) -> dict[str, Any]:
    """The score for one case. Besides each input, component, total, result and output: which
    inputs apply to this patient (:mod:`.score_inputs`), the score's alerts, and for a score built
    on others (NOMS on Bilsky and SINS) what those gave."""
    facts = check_facts(case, g.dictionary, g.derived)
    head: dict[str, Any] = {
        "score": module.id,
        "title": module.title,
        "verification": module.verification,
        "source": module.source.to_json() if module.source else None,
    }
    if module.note:
        head["note"] = module.note
    if facts.errors:
        return {**head, "status": "invalid_facts", "errors": [e.to_json() for e in facts.errors]}
    outcome = backend().run(g, facts.values)
    env = {**facts.values, **outcome.derived}
    by_fact = {d.fact: d for d in outcome.derivations}
    rules = {r.id: r for r in g.rules}
    apply = applicable(module, g, facts.values, facts.entered)

    def show(name: str | None) -> Any:
        return None if name is None else to_json_value(env.get(name, UNKNOWN))

    components = []
    for c in module.components:
        d = by_fact.get(c)
        entry: dict[str, Any] = {"component": c, "points": show(c)}
        if d is not None:
            entry["rule"] = d.rule
            entry["inputs"] = {k: to_json_value(v) for k, v in d.inputs}
            note = rules[d.rule].note
            if note:
                entry["note"] = note
        entry["applies"] = c in env or c in apply.firing  # e.g. age is not scored in the melanoma DS-GPA
        components.append(entry)
    key = module.result or module.total
    missing = deciding_facts(g, [n for n in (module.total, module.result, *apply.outputs) if n], env)
    declared = list(dict.fromkeys([*module.inputs, *(i for r in module.required_modules for i in r.inputs)]))
    out = {
        **head,
        "status": "complete" if key is None or key in env else "needs_facts",
        "inputs": {i: show(i) for i in module.inputs},
        "components": components,
        "total": {"fact": module.total, "value": show(module.total)} if module.total else None,
        "result": {"fact": module.result, "value": show(module.result)} if module.result else None,
        "outputs": {o: show(o) for o in module.outputs},
        "derived": {k: to_json_value(v) for k, v in outcome.derived.items()},
        "notes": [
            {"rule": r.id, "note": r.note}
            for r in g.rules
            if r.note and r.fact in apply.derived and by_fact.get(r.fact or "") is not None and by_fact[r.fact or ""].value is not UNKNOWN
        ],
    }
    needs = [n for n in missing if n in apply.inputs]
    if needs:
        out["needs"] = needs
    out["applicable_inputs"] = {i: show(i) for i in apply.inputs}
    out["inputs_not_applicable"] = [i for i in declared if i not in apply.inputs and i not in facts.entered]
    out["entered_not_used"] = {i: v for i, v in facts.entered.items() if i not in apply.inputs}
    out["applicable_outputs"] = list(apply.outputs)
    out["alerts"] = [_alert(rules[hit.rule], hit.inputs) for hit in outcome.alerts]
    out["required"] = [_required(r, module, g, apply, show) for r in module.required_modules]
    return out


def _alert(rule: Rule, inputs: Any) -> dict[str, Any]:
    """A score's alert, in the shape of a walk's alert (the JSON contract)."""
    return dict(Alert(rule.id, rule.text or "", rule.severity, rule.source, rule.note, rule.origin, {k: to_json_value(v) for k, v in inputs}).to_json())


def _required(r: ScoreModule, module: ScoreModule, g: Guideline, apply: Applicable, show: Any) -> dict[str, Any]:
    """What a required score gave (e.g. NOMS: the Bilsky grade and the SINS total): its inputs
    that apply, its total and result, and its facts this score reads."""
    mine = {f for rule in g.rules if rule.origin == f"score:{module.id}" for f in rule.inputs}
    own = {rule.fact for rule in g.rules if rule.origin == f"score:{r.id}" and rule.fact}
    read = [f for f in dict.fromkeys([*(x for x in (r.total, r.result) if x), *sorted(mine & own)])]
    return {
        "score": r.id,
        "title": r.title,
        "inputs": {i: show(i) for i in r.inputs if i in apply.inputs},
        "total": {"fact": r.total, "value": show(r.total)} if r.total else None,
        "result": {"fact": r.result, "value": show(r.result)} if r.result else None,
        "read": {f: show(f) for f in read},
    }


def describe(module: ScoreModule, g: Guideline) -> dict[str, Any]:
    inputs = []
    for name in module.inputs:
        spec = g.spec(name)
        inputs.append(spec.to_json() if spec else {"name": name})
    return {
        "score": module.id,
        "title": module.title,
        "verification": module.verification,
        "source": module.source.to_json() if module.source else None,
        "note": module.note,
        "description": module.description,
        "inputs": inputs,
        "components": list(module.components),
        "total": module.total,
        "result": module.result,
        "outputs": list(module.outputs),
        "requires": list(module.requires),
        "rules": [{"id": r.id, "derives": r.fact, "source": r.source.to_json() if r.source else None, **({"note": r.note} if r.note else {})} for r in g.rules],
    }


def describe_text(d: dict[str, Any]) -> str:
    lines = [f"{d['title']} ({d['score']}) — verification: {d['verification']}"]
    if d.get("source"):
        lines.append(f"source: {d['source'].get('module') or ''} <{d['source']['url']}>")
    if d.get("note"):
        lines.append(f"note: {d['note']}")
    lines.append("inputs:")
    for i in d["inputs"]:
        dom = ", ".join(i.get("values", [])) or (f"{i.get('min', '')}..{i.get('max', '')}" if "min" in i or "max" in i else "")
        lines.append(f"  {i['name']:<36} {i.get('type', ''):<8} {dom} {i.get('unit') or ''}".rstrip())
        if i.get("question"):
            lines.append(f"      {i['question']}")
    outs = [x for x in [d.get("total"), d.get("result"), *d.get("outputs", [])] if x]
    lines.append("outputs: " + ", ".join(outs))
    return "\n".join(lines) + "\n"
