"""The built-in rules backend: the guideline's rules evaluated in dependency order, in Python.

Always available; the reference the durable_rules backend is tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RuleError
from ..expressions import UNKNOWN
from ..model import Guideline
from .base import AlertHit, Derivation, RulesOutcome, derive_value, inputs_of, normalise

__all__ = ["BuiltinRules"]


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
