"""Walk a guideline's flow for one patient: facts -> rules -> path, every step traced.

The walk never falls through to `otherwise` while a branch is unknown: it stops with
`needs_facts` and the exact base facts that would decide the blocking decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .contract import EngineRef, GuidelineRef
from .decision import with_decision
from .errors import RunError
from .expressions import UNKNOWN
from .facts import CaseFacts, Facts, check_facts
from .model import Guideline, Node
from .program import MAX_STEPS, compiled
from .program.record import head
from .rules import BuiltinRules, RulesBackend, RulesOutcome
from .rules import backend as _backend
from .trace import Result

__all__ = ["walk", "run", "choose", "MAX_STEPS"]


def _head(g: Guideline, rules: RulesBackend) -> tuple[GuidelineRef, EngineRef]:
    return head(g, rules.name)


def run(g: Guideline, case: CaseFacts | Mapping[str, Any], *, flowchart: str | None = None, rules: RulesBackend | None = None) -> Result:
    """Check the facts, run the rules, walk the flow. The one entry point for a case.

    The guideline's compiled program (:mod:`engine.program`) does the work: facts that are
    already their own checked values pass one generated check, derived facts are computed
    when a decision reads them (with the built-in rules; another backend computes them all
    first), and the walk records only the transitions it takes — the trace, derived facts and
    alerts of the Result are built when they are first read. A case's
    clinician_decision (engine.decision) comes back on the result with its concordance (a
    plain dict of checked facts holds none, so it takes the fast path)."""
    rules = rules or _backend()
    flow = g.__dict__.get("_program") or compiled(g)
    fc = flowchart or g.entry
    start = flow.starts.get(fc)
    if start is None:
        raise RunError(f"no flowchart '{fc}' (has: {', '.join(g.flowcharts)})", guideline=g.id)
    if case.__class__ is dict and flow.check(case):
        return flow.run(case.copy(), None, fc, start, rules.name, None if rules.__class__ is BuiltinRules else rules)
    case = CaseFacts.of(case)
    facts = check_facts(case, g.dictionary, g.derived)
    if facts.errors:
        gl, eng = _head(g, rules)
        return with_decision(Result(guideline=gl, engine=eng, status="invalid_facts", flowchart=fc, errors=facts.errors, facts=facts.entered), case, g.actions)
    result = flow.run(dict(facts.values), facts, fc, start, rules.name, None if rules.__class__ is BuiltinRules else rules)
    return with_decision(result, case, g.actions)


def walk(g: Guideline, facts: Facts, outcome: RulesOutcome, *, flowchart: str, head: tuple[GuidelineRef, EngineRef]) -> Result:
    """Walk `flowchart` for checked `facts` whose rules' `outcome` is known."""
    flow = compiled(g)
    result = flow.run(dict(facts.values), facts, flowchart, flow.starts[flowchart], head[1]["rules_backend"], outcome)
    result.guideline, result.engine = head
    return result


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
