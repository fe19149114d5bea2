"""A score module as a calculator: inputs in; points per component, total, class and the
published survival out, with the source and how well the table is verified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .expressions import UNKNOWN
from .facts import CaseFacts, check_facts, to_json_value
from .model import Guideline, ScoreModule
from .rules import backend, deciding_facts

__all__ = ["score", "calculate", "describe", "describe_text", "result_text"]


def score(name: str, case: CaseFacts | Mapping[str, Any]) -> dict[str, Any]:
    """One score module (by id, e.g. ``"gpa_2008"``) calculated for a case: its inputs, points
    per component, total, class, published survival and source (as ``guidewalk score``)."""
    from .load import load_score

    module, g = load_score(name)
    return calculate(module, g, case)


def calculate(module: ScoreModule, g: Guideline, case: CaseFacts | Mapping[str, Any]) -> dict[str, Any]:
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
        components.append(entry)
    key = module.result or module.total
    missing = deciding_facts(g, [n for n in (module.total, module.result, *module.outputs) if n], env)
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
            {"rule": r.id, "note": r.note} for r in g.rules if r.note and by_fact.get(r.fact or "") is not None and by_fact[r.fact or ""].value is not UNKNOWN
        ],
    }
    if missing:
        out["needs"] = missing
    return out


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


def result_text(out: dict[str, Any]) -> str:
    lines = [f"{out['title']} ({out['score']}) — verification: {out['verification']}"]
    if out["status"] == "invalid_facts":
        lines.append("invalid facts:")
        lines += [f"  - {e['fact']}: {e['message']}" for e in out["errors"]]
        return "\n".join(lines) + "\n"
    lines.append("inputs: " + ", ".join(f"{k}={'unknown' if v is None else v}" for k, v in out["inputs"].items()))
    for c in out["components"]:
        lines.append(f"  {c['component']:<36} {c['points'] if c['points'] is not None else 'unknown'}")
    if out.get("total"):
        lines.append(f"total  {out['total']['fact']} = {out['total']['value']}")
    if out.get("result"):
        lines.append(f"result {out['result']['fact']} = {out['result']['value']}")
    for k, v in out["outputs"].items():
        lines.append(f"       {k} = {v}")
    if out.get("needs"):
        lines.append("needs: " + ", ".join(out["needs"]))
    for n in out.get("notes", []):
        lines.append(f"note ({n['rule']}): {n['note']}")
    if out.get("source"):
        lines.append(f"source: {out['source'].get('module') or ''} <{out['source']['url']}>")
    return "\n".join(lines) + "\n"
