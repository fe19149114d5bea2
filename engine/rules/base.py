"""What every rules backend shares: the outcome types, the backend protocol, and the
semantics of a derive rule (its value in an environment, its canonical value, its inputs,
the unknown facts that stand between it and a value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..expressions import UNKNOWN, relevant_unknowns
from ..model import Guideline, Rule
from ..structs import field, struct

__all__ = ["Derivation", "AlertHit", "RulesOutcome", "RulesBackend", "normalise", "derive_value", "inputs_of", "deciding_facts"]


@struct(frozen=True)
class Derivation:
    fact: str
    value: Any  # UNKNOWN when the inputs do not decide it
    rule: str
    inputs: tuple[tuple[str, Any], ...]
    case: int | None  # index of the case that gave the value; None for value:/otherwise
    origin: str = "guideline"


@struct(frozen=True)
class AlertHit:
    rule: str
    inputs: tuple[tuple[str, Any], ...]


@struct
class RulesOutcome:
    derived: dict[str, Any] = field(default_factory=dict)  # known derived values only
    derivations: list[Derivation] = field(default_factory=list)
    alerts: list[AlertHit] = field(default_factory=list)


class RulesBackend(Protocol):
    name: str

    def run(self, guideline: Guideline, facts: Mapping[str, Any]) -> RulesOutcome: ...


def normalise(rule: Rule, value: Any) -> Any:
    """One canonical Python value per derived type, so both backends compare equal."""
    if value is UNKNOWN or rule.spec is None:
        return value
    t = rule.spec.type
    if t == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if t == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 10)
    if t == "set" and not isinstance(value, frozenset):
        return frozenset(value)
    return value


def derive_value(rule: Rule, env: Mapping[str, Any]) -> tuple[Any, int | None]:
    """The value of a derive rule in `env` (Kleene: an unknown case before the first true
    one makes the value unknown), and the index of the deciding case."""
    if rule.value is not None:
        return rule.value.test(env), None
    for i, case in enumerate(rule.cases):
        w = case.when.test(env)
        if w is True:
            return case.value.test(env), i
        if w is UNKNOWN:
            return UNKNOWN, None
    if rule.otherwise is not None:
        return rule.otherwise.test(env), None
    return UNKNOWN, None


def inputs_of(rule: Rule, env: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((f, env.get(f, UNKNOWN)) for f in rule.inputs)


def deciding_facts(guideline: Guideline, names: Any, env: Mapping[str, Any]) -> list[str]:
    """The unknown base facts that stand between `names` (facts, possibly derived) and a
    value: for a derived fact, only the facts read by the case that is still undecided
    (an unknown case hides the cases after it), followed through derived inputs."""
    by_fact = {r.fact: r for r in guideline.rules if r.kind == "derive"}
    out: dict[str, None] = {}
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or env.get(name, UNKNOWN) is not UNKNOWN:
            return
        seen.add(name)
        rule = by_fact.get(name)
        if rule is None:
            out.setdefault(name, None)
            return
        if rule.value is not None:
            for f in rule.value.facts:
                visit(f)
            return
        for case in rule.cases:
            w = case.when.test(env)
            if w is True:
                for f in case.value.facts:
                    visit(f)
                return
            if w is UNKNOWN:
                for f in relevant_unknowns(case.when.expr, env):
                    visit(f)
                return
        if rule.otherwise is not None:
            for f in rule.otherwise.facts:
                visit(f)

    for n in names:
        visit(n)
    return list(out)
