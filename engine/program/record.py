"""What a compiled walk records, and the Result built from it when it is read.

While walking, the program keeps only the transitions it took and the facts it read into its
environment (a Result's ``record``; :class:`Filler` says what it holds). The readable trace (every branch with its readable condition,
its value and the JSON form of the facts it read), the path and recommendations, the derived
facts with their rules and inputs, the alerts and the facts as entered are built the first
time a caller reads one of them — most callers read them once or never — and are the same,
field for field, as a walk that built them step by step.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..contract import DerivationJSON, EngineRef, GuidelineRef
from ..expressions import UNKNOWN
from ..facts import to_json_value
from ..rules.base import AlertHit, Derivation, RulesOutcome, inputs_of
from ..trace import Alert, BranchEval, Recommendation, Result, Step

if TYPE_CHECKING:
    from .flow import Flow

__all__ = ["Filler", "head", "derivation_json", "choose_values"]


_PLAIN = frozenset((bool, int, str))


def _json(v: Any) -> Any:
    """:func:`engine.fact_types.to_json_value`, without its checks for the plain values."""
    return v if v.__class__ in _PLAIN else to_json_value(v)


def head(g: Any, backend: str) -> tuple[GuidelineRef, EngineRef]:
    gl: GuidelineRef = {"id": g.id, "title": g.title, "version": g.version, "sha256": g.sha256}
    if g.overlays:
        gl["overlays"] = list(g.overlays)
    return gl, {"version": __version__, "rules_backend": backend}


def derivation_json(d: Derivation) -> DerivationJSON:
    out: DerivationJSON = {"fact": d.fact, "value": _json(d.value), "rule": d.rule, "inputs": {k: _json(v) for k, v in d.inputs}}
    if d.case is not None:
        out["case"] = d.case
    if d.origin != "guideline":
        out["origin"] = d.origin
    return out


def choose_values(node: Any, env: Mapping[str, Any]) -> list[Any]:
    """Each branch's Kleene value in `env` (the reference semantics, by the closures)."""
    return [b.when.test(env) for b in node.branches]


class Filler:
    """Builds the fields of a Result of one guideline's walks from the walk's record, a list
    ``[env, dn, nbase, exits, stop, backend, facts, outcome, needs]``: the environment (the
    checked facts in its first `nbase` entries, then the derived facts computed so far, `dn`
    naming those with the index of the case that gave each value), the transitions by which
    the walk left each region of the flow, the decision the walk stopped at (-1: complete), the
    rules backend's name, the checked facts (None: every entered fact was its own checked
    value), the rules' outcome when a backend computed it (None: computed here on reading)
    and the facts the walk needs."""

    __slots__ = ("flow",)

    def __init__(self, flow: Flow):
        self.flow = flow

    def fill(self, result: Result, group: str) -> None:
        getattr(self, "_" + group)(result, result.record)

    # ------------------------------------------------------------------ groups

    def _derived(self, rec: list[Any]) -> Any:
        """Every derived fact in the record's environment (computed once)."""
        dn = rec[1] = self.flow.derive_all(rec[0], rec[1])
        return dn

    def _head(self, r: Result, rec: list[Any]) -> None:
        r.guideline, r.engine = head(self.flow.g, rec[5])

    def _needs(self, r: Result, rec: list[Any]) -> None:
        r.needs = list(rec[8])

    def _facts(self, r: Result, rec: list[Any]) -> None:
        env, nbase, facts = rec[0], rec[2], rec[6]
        if facts is None:
            r.facts = {k: _json(v) for k, v in islice(env.items(), nbase)}
            r.unknown = []
        else:
            r.facts = facts.entered
            r.unknown = list(facts.unknown)
        r.errors = []

    def _walk(self, r: Result, rec: list[Any]) -> None:
        self._derived(rec)
        env, _, nbase, exits, stop = rec[:5]
        flow, g = self.flow, self.flow.g
        trail = flow.expand(exits, stop)
        nodes, decisions, transitions = g.nodes, flow.decisions, flow.transitions
        trace: list[Step] = []
        path: list[str] = []
        recs: list[Recommendation] = []
        read: set[str] = set()

        def passed(t: int) -> None:
            for nid in transitions[t].passed:
                node = nodes[nid]
                step = Step(len(trace) + 1, node.id, node.kind, node.flowchart, title=node.title, note=node.note, source=node.source)
                step.actions, step.text = node.actions, node.text
                step.taken = node.next if node.kind == "action" else None
                step.how = "next" if step.taken else "end"
                trace.append(step)
                path.append(node.id)
                recs.append(Recommendation(node.id, node.actions, node.text or "", node.source, node.note, node.kind))

        def decision(d: int) -> Step:
            node = decisions[d]
            step = Step(len(trace) + 1, node.id, node.kind, node.flowchart, title=node.title, note=node.note, source=node.source)
            step.question, step.otherwise = node.question, node.otherwise
            for b, v in zip(node.branches, choose_values(node, env)):
                read.update(b.when.facts)
                facts = {f: _json(env.get(f, UNKNOWN)) for f in b.when.facts}
                step.branches.append(BranchEval(b.when.text, b.when.readable, None if v is UNKNOWN else v, facts, b.to, b.note))
            trace.append(step)
            path.append(node.id)
            return step

        passed(trail[0])
        for t in trail[1:]:
            tr = transitions[t]
            step = decision(tr.source)
            step.taken, step.how = tr.to, tr.how
            passed(t)
        if stop >= 0:
            step = decision(stop)
            step.how = "needs facts"
        r.trace, r.path, r.recommendations = trace, path, recs
        r.unused_facts = [f for f in islice(env, nbase) if f not in read and f not in g.rule_inputs and f in g.dictionary]

    def _rules(self, r: Result, rec: list[Any]) -> None:
        g = self.flow.g
        outcome = rec[7]
        recommended = set(r.actions)
        if outcome is None:  # the built-in rules: every derived fact is in the environment now
            dn = self._derived(rec)
            env = rec[0]
            outcome = RulesOutcome()
            for rule in g.rules:
                if rule.kind == "derive":
                    assert rule.fact is not None
                    value = env.get(rule.fact, UNKNOWN)
                    if value is not UNKNOWN:
                        outcome.derived[rule.fact] = value
                    outcome.derivations.append(Derivation(rule.fact, value, rule.id, inputs_of(rule, env), dn[rule.fact], rule.origin))
                elif rule.if_recommended and not recommended.intersection(rule.if_recommended):
                    continue  # cannot hold for this walk: not evaluated
                elif rule.when is None or rule.when.test(env) is True:
                    outcome.alerts.append(AlertHit(rule.id, inputs_of(rule, env)))
        r.derived = dict(outcome.derived)
        r.derivations = [derivation_json(d) for d in outcome.derivations]
        by_id = {rule.id: rule for rule in g.rules}
        alerts = []
        for hit in outcome.alerts:
            rule = by_id[hit.rule]
            if rule.if_recommended and not recommended.intersection(rule.if_recommended):
                continue
            alerts.append(Alert(rule.id, rule.text or "", rule.severity, rule.source, rule.note, rule.origin, {k: _json(v) for k, v in hit.inputs}))
        r.alerts = alerts
