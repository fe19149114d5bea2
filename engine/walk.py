"""Walk a guideline's flow for one patient: facts -> rules -> path, every step traced.

The walk never falls through to `otherwise` while a branch is unknown: it stops with
`needs_facts` and the exact base facts that would decide the blocking decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import __version__
from .contract import DerivationJSON, EngineRef, GuidelineRef
from .decision import with_decision
from .errors import RunError
from .expressions import UNKNOWN, relevant_unknowns
from .facts import CaseFacts, Facts, check_facts, to_json_value
from .model import Guideline, Node
from .rules import Derivation, RulesBackend, RulesOutcome, deciding_facts
from .rules import backend as _backend
from .trace import Alert, BranchEval, Recommendation, Result, Step

__all__ = ["walk", "run", "choose", "MAX_STEPS"]

MAX_STEPS = 10_000


def _head(g: Guideline, rules: RulesBackend) -> tuple[GuidelineRef, EngineRef]:
    gl: GuidelineRef = {"id": g.id, "title": g.title, "version": g.version, "sha256": g.sha256}
    if g.overlays:
        gl["overlays"] = list(g.overlays)
    return gl, {"version": __version__, "rules_backend": rules.name}


def run(g: Guideline, case: CaseFacts | Mapping[str, Any], *, flowchart: str | None = None, rules: RulesBackend | None = None) -> Result:
    """Check the facts, run the rules, walk the flow. The one entry point for a case. A case's
    clinician_decision (engine.decision) comes back on the result with its concordance."""
    case = CaseFacts.of(case)
    rules = rules or _backend()
    facts = check_facts(case, g.dictionary, g.derived)
    gl, eng = _head(g, rules)
    fc = flowchart or g.entry
    if fc not in g.flowcharts:
        raise RunError(f"no flowchart '{fc}' (has: {', '.join(g.flowcharts)})", guideline=g.id)
    if facts.errors:
        return with_decision(Result(guideline=gl, engine=eng, status="invalid_facts", flowchart=fc, errors=facts.errors, facts=facts.entered), case, g.actions)
    outcome = rules.run(g, facts.values)
    return with_decision(walk(g, facts, outcome, flowchart=fc, head=(gl, eng)), case, g.actions)


def walk(g: Guideline, facts: Facts, outcome: RulesOutcome, *, flowchart: str, head: tuple[GuidelineRef, EngineRef]) -> Result:
    env: dict[str, Any] = {**facts.values, **outcome.derived}
    result = Result(guideline=head[0], engine=head[1], status="complete", flowchart=flowchart, facts=facts.entered, unknown=list(facts.unknown))
    result.derived = dict(outcome.derived)
    result.derivations = [_derivation_json(d) for d in outcome.derivations]
    node_id: str | None = g.flowcharts[flowchart].start
    read: set[str] = set()
    while node_id is not None:
        if len(result.trace) >= MAX_STEPS:
            raise RunError(f"walk exceeded {MAX_STEPS} steps", guideline=g.id, node=node_id)
        node = g.nodes[node_id]
        step = Step(step=len(result.trace) + 1, node=node.id, kind=node.kind, flowchart=node.flowchart, title=node.title, note=node.note, source=node.source)
        result.trace.append(step)
        result.path.append(node.id)
        if node.kind == "decision":
            node_id = _decide(g, node, env, step, result, read)
            if result.status == "needs_facts":
                break
            continue
        step.actions, step.text = node.actions, node.text
        result.recommendations.append(Recommendation(node.id, node.actions, node.text or "", node.source, node.note, node.kind))
        node_id = node.next if node.kind == "action" else None
        step.taken, step.how = node_id, ("next" if node_id else "end")
    _alerts(g, outcome, result)
    result.unused_facts = [f for f in facts.values if f not in read and f not in g.rule_inputs and f in g.dictionary]
    return result


def _derivation_json(d: Derivation) -> DerivationJSON:
    out: DerivationJSON = {"fact": d.fact, "value": to_json_value(d.value), "rule": d.rule, "inputs": {k: to_json_value(v) for k, v in d.inputs}}
    if d.case is not None:
        out["case"] = d.case
    if d.origin != "guideline":
        out["origin"] = d.origin
    return out


def choose(node: Node, values: list[Any]) -> tuple[int | None, list[int], list[int]]:
    """The decision semantics, given each branch's value (True/False/UNKNOWN): the index of
    the branch to follow (or None), the unknown branches that block the walk, and the true
    branches when an exclusive decision has several (a guideline error).

    Exclusive decisions follow their one true branch even when others are unknown (the author
    promised exclusivity; `lint` proves it); ordered ones (`exclusive: false`) follow the first
    true branch, and an unknown branch before it blocks."""
    if node.exclusive:
        true_ix = [i for i, v in enumerate(values) if v is True]
        if len(true_ix) > 1:
            return None, [], true_ix
        if true_ix:
            return true_ix[0], [], []
        return None, [i for i, v in enumerate(values) if v is UNKNOWN], []
    for i, v in enumerate(values):
        if v is True:
            return i, [], []
        if v is UNKNOWN:
            return None, [i], []
    return None, [], []


def _decide(g: Guideline, node: Node, env: Mapping[str, Any], step: Step, result: Result, read: set[str]) -> str | None:
    step.question = node.question
    step.otherwise = node.otherwise
    values = []
    for b in node.branches:
        try:
            v = b.when.test(env)
        except Exception as exc:  # e.g. division by a fact that is 0: located, never swallowed
            shown = ", ".join(f"{f}={env.get(f, UNKNOWN)!r}" for f in b.when.facts)
            raise RunError(
                f"condition '{b.when.text}' of decision '{node.id}' failed: {type(exc).__name__}: {exc} ({shown})",
                guideline=g.id,
                node=node.id,
                location=b.when.location,
            ) from exc
        values.append(v)
        read.update(b.when.facts)
        step.branches.append(
            BranchEval(
                when=b.when.text,
                readable=b.when.readable,
                value=None if v is UNKNOWN else v,
                facts={f: to_json_value(env.get(f, UNKNOWN)) for f in b.when.facts},
                to=b.to,
                note=b.note,
            )
        )
    chosen, blocking, overlap = choose(node, values)
    if overlap:
        names = ", ".join(f"branch {i + 1} ({node.branches[i].when.text})" for i in overlap)
        raise RunError(f"decision '{node.id}' promises exclusive branches, but several hold: {names}", guideline=g.id, node=node.id, location=node.location)
    if chosen is not None:
        step.taken, step.how = node.branches[chosen].to, f"branch {chosen + 1}"
        return step.taken
    if blocking:
        needs = deciding_facts(g, [f for i in blocking for f in relevant_unknowns(node.branches[i].when.expr, env)], env)
        if not needs:
            unknown = [f for i in blocking for f in node.branches[i].when.facts if env.get(f, UNKNOWN) is UNKNOWN]
            raise RunError(
                f"decision '{node.id}' reads {', '.join(unknown)}, which no rule could derive although its inputs are known (a gap in a rule)",
                guideline=g.id,
                node=node.id,
                location=node.location,
            )
        result.status = "needs_facts"
        result.needs = needs
        step.how = "needs facts"
        return None
    if node.otherwise:
        step.taken, step.how = node.otherwise, "otherwise"
        return node.otherwise
    raise RunError(
        f"no branch of decision '{node.id}' holds and it has no otherwise (a gap in the guideline); facts read: "
        + ", ".join(f"{f}={env.get(f, UNKNOWN)!r}" for b in node.branches for f in b.when.facts),
        guideline=g.id,
        node=node.id,
        location=node.location,
    )


def _alerts(g: Guideline, outcome: RulesOutcome, result: Result) -> None:
    by_id = {r.id: r for r in g.rules}
    recommended = set(result.actions)
    for hit in outcome.alerts:
        rule = by_id[hit.rule]
        if rule.if_recommended and not recommended.intersection(rule.if_recommended):
            continue
        result.alerts.append(Alert(rule.id, rule.text or "", rule.severity, rule.source, rule.note, rule.origin, {k: to_json_value(v) for k, v in hit.inputs}))
