"""Which inputs of a score apply to one patient, as a calculator such as MDCalc asks them: the
DS-GPA for NSCLC does not ask the breast receptors, the KPS -> ECOG conversion does not ask the WHO
performance status.

An input applies when a rule that can still fire for the facts given reads it, and that rule's
fact is one the score needs: its result, total or a component, an alert's condition, or an output
the facts given already reach. "Can still fire" is decided on the rules' cases: a case whose
condition is false for every way the unknown facts may still be answered (or left unknown) is dead,
and so is every case after one that is true; the facts only dead parts read do not apply.

That judgement must hold whatever is entered later, so it is made in a *settled* environment:
Kleene's logic is monotone (a false condition stays false when unknown facts become known), except
for ``known(x)`` and ``unknown(x)``, which flip when x is entered. Here those calls count as unknown
while x is unknown, and a derived fact keeps a value only when that value can no longer change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .expressions import UNKNOWN, BoolOp, Call, Expr, Fact, Not, Word, compile_expr, iter_nodes
from .model import Condition, Guideline, Rule, ScoreModule
from .rules import normalise

__all__ = ["Applicable", "applicable", "possible", "settled_env", "live_conditions"]

_FLIP = ("known", "unknown")


def _name(call: Call) -> str:
    arg = call.args[0] if call.args else None
    return arg.name if isinstance(arg, (Fact, Word)) else ""


def _possible_expr(expr: Expr, env: Mapping[str, Any]) -> Any:
    if isinstance(expr, Call) and expr.func in _FLIP:
        return UNKNOWN if env.get(_name(expr), UNKNOWN) is UNKNOWN else compile_expr(expr)(env)
    if isinstance(expr, Not):
        v = _possible_expr(expr.operand, env)
        return UNKNOWN if v is UNKNOWN else not v
    if isinstance(expr, BoolOp):
        decider = expr.op == "or"  # True decides an `or`, False an `and`
        unknown = False
        for o in expr.operands:
            v = _possible_expr(o, env)
            if v is decider:
                return decider
            unknown = unknown or v is UNKNOWN
        return UNKNOWN if unknown else not decider
    flips = [n for n in iter_nodes(expr) if isinstance(n, Call) and n.func in _FLIP]
    if any(env.get(_name(n), UNKNOWN) is UNKNOWN for n in flips):
        return UNKNOWN  # known()/unknown() inside a comparison or arithmetic: undecided
    return compile_expr(expr)(env)


def possible(cond: Condition, env: Mapping[str, Any]) -> Any:
    """True or False when that holds for every way the unknown facts may still be answered
    (or left unknown); else UNKNOWN."""
    if not any(isinstance(n, Call) and n.func in _FLIP for n in iter_nodes(cond.expr)):
        return cond.test(env)  # no known()/unknown(): Kleene's logic is monotone already
    return _possible_expr(cond.expr, env)


def _settled_value(rule: Rule, env: Mapping[str, Any]) -> Any:
    if rule.value is not None:
        return possible(rule.value, env)
    for case in rule.cases:
        w = possible(case.when, env)
        if w is True:
            return possible(case.value, env)
        if w is UNKNOWN:
            return UNKNOWN
    return possible(rule.otherwise, env) if rule.otherwise is not None else UNKNOWN


def settled_env(g: Guideline, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts given, plus every derived fact whose value can no longer change."""
    env = {k: v for k, v in facts.items() if v is not UNKNOWN}
    for rule in g.rules:  # in dependency order
        if rule.kind == "derive" and rule.fact:
            v = _settled_value(rule, env)
            if v is not UNKNOWN:
                env[rule.fact] = normalise(rule, v)
    return env


def live_conditions(rule: Rule, env: Mapping[str, Any]) -> list[Condition]:
    """The parts of a rule that can still decide its value (or its alert) in a settled env."""
    if rule.kind == "alert":
        return [rule.when] if rule.when is not None and possible(rule.when, env) is not False else []
    if rule.value is not None:
        return [rule.value]
    out: list[Condition] = []
    for case in rule.cases:
        w = possible(case.when, env)
        if w is False:
            continue
        out += [case.when, case.value]
        if w is True:
            return out
    if rule.otherwise is not None:
        out.append(rule.otherwise)
    return out


@dataclass
class Applicable:
    """What applies to one patient: base facts (in the order they should be asked) and the
    derived facts the score needs for this patient."""

    inputs: list[str] = field(default_factory=list)
    derived: set[str] = field(default_factory=set)
    firing: set[str] = field(default_factory=set)  # derived facts some part of whose rule can still fire
    outputs: list[str] = field(default_factory=list)  # the module's outputs that apply
    alerts: list[str] = field(default_factory=list)  # alert rules that can still fire

    def applies(self, name: str) -> bool:
        return name in self.derived or name in self.inputs


def applicable(module: ScoreModule, g: Guideline, facts: Mapping[str, Any], entered: Iterable[str] = ()) -> Applicable:
    """The inputs (and derived facts) of `module` that apply for these facts; `g` is the score
    wrapped as a guideline (it holds the rules of the modules it requires too)."""
    env = settled_env(g, facts)
    by_fact = {r.fact: r for r in g.rules if r.kind == "derive" and r.fact}
    bases: dict[str, None] = {}
    derived: set[str] = set()
    seen: set[str] = set()

    def visit(names: Iterable[str]) -> None:
        todo = list(names)
        while todo:
            n = todo.pop(0)
            if n in seen:
                continue
            seen.add(n)
            rule = by_fact.get(n)
            if rule is None:
                bases.setdefault(n, None)
                continue
            derived.add(n)
            live = live_conditions(rule, env)
            if live:
                out.firing.add(n)
            todo += [f for c in live for f in c.facts]

    out = Applicable()
    visit(n for n in (module.result, module.total, *module.components) if n)
    for rule in g.rules:
        if rule.kind == "alert":
            live = live_conditions(rule, env)
            if live:
                out.alerts.append(rule.id)
                visit(f for c in live for f in c.facts)
    given = set(entered) | {k for k, v in facts.items() if v is not UNKNOWN}
    pending = [o for o in module.outputs if o not in derived]
    changed = True
    while changed:  # an output applies when it reads what applies or was given (or nothing new)
        changed = False
        for o in list(pending):
            if o in by_fact and not live_conditions(by_fact[o], env):
                pending.remove(o)  # no part of its rule can fire for this patient
                continue
            reads = _reads(o, by_fact, env)
            if not reads or reads & (given | set(bases)):
                pending.remove(o)
                visit([o])
                changed = True
    out.outputs = [o for o in module.outputs if o in derived]
    order = list(module.inputs) + [i for r in module.required_modules for i in r.inputs] + list(bases)
    out.inputs = [n for n in dict.fromkeys(order) if n in bases]
    out.derived = derived
    return out


def _reads(name: str, by_fact: Mapping[str, Rule], env: Mapping[str, Any]) -> set[str]:
    """The base facts the live parts of a derived fact read, transitively."""
    out: set[str] = set()
    todo, seen = [name], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        rule = by_fact.get(n)
        if rule is None:
            out.add(n)
        else:
            todo += [f for c in live_conditions(rule, env) for f in c.facts]
    return out
