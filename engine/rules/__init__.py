"""The rules layer: derived facts and alerts by forward chaining.

Two backends satisfy one protocol: the built-in evaluator (always available) and the
durable_rules Rete engine (:mod:`engine.rules_durable`, where it can load). Both must derive
identical facts and alerts; a test checks that on thousands of generated cases.
Exceptions inside a rule surface as :class:`~engine.errors.RuleError` with the rule id and
its inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from ..errors import RuleError
from ..expressions import UNKNOWN, relevant_unknowns
from ..model import Guideline, Rule

__all__ = ["Derivation", "AlertHit", "RulesOutcome", "RulesBackend", "BuiltinRules", "backend", "normalise"]


@dataclass(frozen=True)
class Derivation:
    fact: str
    value: Any  # UNKNOWN when the inputs do not decide it
    rule: str
    inputs: tuple[tuple[str, Any], ...]
    case: int | None  # index of the case that gave the value; None for value:/otherwise
    origin: str = "guideline"


@dataclass(frozen=True)
class AlertHit:
    rule: str
    inputs: tuple[tuple[str, Any], ...]


@dataclass
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


class BuiltinRules:
    """Evaluates the rules in dependency order; each rule runs once."""

    name = "builtin"

    def run(self, guideline: Guideline, facts: Mapping[str, Any]) -> RulesOutcome:
        out = RulesOutcome()
        env: dict[str, Any] = dict(facts)
        for rule in guideline.rules:
            try:
                if rule.kind == "derive":
                    value, case = derive_value(rule, env)
                    value = normalise(rule, value)
                    assert rule.fact is not None
                    if value is not UNKNOWN:
                        env[rule.fact] = value
                        out.derived[rule.fact] = value
                    out.derivations.append(Derivation(rule.fact, value, rule.id, inputs_of(rule, env), case, rule.origin))
                elif rule.when is None or rule.when.test(env) is True:
                    out.alerts.append(AlertHit(rule.id, inputs_of(rule, env)))
            except RuleError:
                raise
            except Exception as exc:  # surfaced with the rule id and inputs, never swallowed
                raise RuleError(rule.id, dict(inputs_of(rule, env)), exc, guideline=guideline.id, location=rule.location) from exc
        return out


_BACKENDS: dict[str, RulesBackend] = {}


def backend(name: str | None = None) -> RulesBackend:
    """The rules backend: 'durable_rules' where it loads, else 'builtin'.
    $GUIDEWALK_RULES (or `name`) may ask for one: auto | builtin | durable_rules."""
    want = name or os.environ.get("GUIDEWALK_RULES", "auto")
    if want not in ("auto", "builtin", "durable_rules"):
        raise ValueError(f"unknown rules backend '{want}' (auto, builtin, durable_rules)")
    if want in ("auto", "durable_rules"):
        if "durable_rules" not in _BACKENDS:
            try:
                from .durable import DurableRules

                _BACKENDS["durable_rules"] = DurableRules()
            except ImportError:
                if want == "durable_rules":
                    raise
        if "durable_rules" in _BACKENDS:
            return _BACKENDS["durable_rules"]
    if "builtin" not in _BACKENDS:
        _BACKENDS["builtin"] = BuiltinRules()
    return _BACKENDS["builtin"]


def durable_available() -> tuple[bool, str]:
    """Whether durable_rules can load here, and why not."""
    try:
        import durable.lang  # noqa: F401
    except Exception as exc:  # ImportError, or the C extension's undefined symbol
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""
