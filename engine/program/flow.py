"""The flow of a guideline compiled once: decisions as generated functions, the edges between
them as transitions, the derived facts computed when something reads them.

*Transitions.* Every way to leave a place in the flow — a flowchart's start, a decision's
branch or its ``otherwise`` — is one transition: the action and end nodes passed after it
(their order is fixed by the graph) and the next decision (or none: the walk is complete).
A decision's generated function (:func:`.codegen.decision_source`) returns the transition it
takes, so a walk is a loop of calls whose record is the list of transitions taken; path,
trace and recommendations follow from that list (:mod:`.record`).

*Derived facts* are computed on first read, in dependency order (:meth:`Flow.derive`): a
decision that reads ``rpa_class`` derives it then, one that does not never pays for it.
Rules whose conditions may raise (arithmetic) are computed before the walk, in rule order,
so an error surfaces as it would when every rule runs first (:meth:`Flow.eager_rules`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import RuleError, RunError
from ..expressions import UNKNOWN, Const, Expr, relevant_unknowns
from ..model import Guideline, Node, Rule
from ..rules.base import RulesBackend, RulesOutcome, deciding_facts, derive_value, inputs_of, normalise
from ..structs import struct
from ..trace import Result
from .codegen import Consts, Decision, checker_source, decision_source, region_source, risky
from .record import Filler, choose_values

__all__ = ["Flow", "Transition", "MAX_STEPS"]

MAX_STEPS = 10_000

_MISSING: Any = object()


@struct(frozen=True)
class Transition:
    """One edge out of a place in the flow: from decision `source` (-1: a flowchart's start)
    by `how` ("branch 2", "otherwise", "start") to node `to`; then the action/end nodes
    `passed`, and `next`, the index of the next decision (-1: the walk is complete)."""

    source: int
    how: str
    to: str
    passed: tuple[str, ...]
    next: int


def _finite(r: Any) -> Any:
    """`r`, unless it is an inf or NaN float: then ArithmeticError (never a fact's value)."""
    if r.__class__ is float and r - r != 0.0:
        raise ArithmeticError("arithmetic gives a number out of range")
    return r


def _rule_risky(rule: Rule) -> bool:
    conds = [c for case in rule.cases for c in (case.when, case.value)]
    conds += [c for c in (rule.otherwise, rule.value, rule.when) if c is not None]
    if any(risky(c.expr) for c in conds):
        return True
    # a number computed from an integer may be too large for a float (normalise)
    values = [case.value for case in rule.cases] + [c for c in (rule.otherwise, rule.value) if c is not None]
    return rule.spec is not None and rule.spec.type == "number" and any(not isinstance(c.expr, Const) for c in values)


class Flow:
    """A guideline's flow and rules compiled for walking (see the module docstring)."""

    def __init__(self, g: Guideline, code: Any = None):
        self.g = g
        self.decisions: list[Node] = [n for n in g.nodes.values() if n.kind == "decision"]
        self.dindex = {n.id: i for i, n in enumerate(self.decisions)}
        self.transitions: list[Transition] = []
        self.starts: dict[str, int] = {}
        self.branch_t: list[list[int]] = []  # decision -> transition of each branch
        self.otherwise_t: list[int | None] = []
        for fc in g.flowcharts.values():
            self.starts[fc.id] = self._transition(-1, "start", fc.start)
        for d, node in enumerate(self.decisions):
            self.branch_t.append([self._transition(d, f"branch {i + 1}", b.to) for i, b in enumerate(node.branches)])
            self.otherwise_t.append(self._transition(d, "otherwise", node.otherwise) if node.otherwise else None)
        self.next = [t.next for t in self.transitions]
        self.src = [t.source for t in self.transitions]
        into: list[list[int]] = [[] for _ in self.decisions]
        for i, t in enumerate(self.transitions):
            if t.next >= 0:
                into[t.next].append(i)
        starts = {self.transitions[t].next for t in self.starts.values()}
        # a decision reached by one transition only is nested into the region of the decision
        # before it; the others (joins, flowchart starts) begin regions of their own
        self.inlined = [len(ts) == 1 and d not in starts for d, ts in enumerate(into)]
        self.into = [ts[0] if len(ts) == 1 else -1 for ts in into]
        self.bounded = self._acyclic() and len(g.nodes) < MAX_STEPS
        self.rules = {r.fact: r for r in g.rules if r.kind == "derive" and r.fact is not None}
        self.rule_deps = {name: tuple(f for f in r.inputs if f in self.rules) for name, r in self.rules.items()}
        self.derived_names = frozenset(self.rules)
        self.eager = tuple(r for r in g.rules if _rule_risky(r))
        # decisions that read derived facts compute them on the way (into a set per case)
        self.lazy_derived = bool(self.eager) or any(f in self.rules for n in self.decisions for b in n.branches for f in b.when.facts)
        self.asked = tuple(g.dictionary[f] for f in g.asks if f in g.dictionary)
        self.source, self.consts, regions = self._generate()
        self.code = code if code is not None else _code(self.source, f"<guidewalk program {g.id}>")
        self._link()
        self.filler = Filler(self)

    # ------------------------------------------------------------------ building

    def _transition(self, source: int, how: str, to: str) -> int:
        passed: list[str] = []
        nxt = -1
        nid: str | None = to
        seen: set[str] = set()
        while nid is not None and nid not in seen:
            seen.add(nid)
            node = self.g.nodes[nid]
            if node.kind == "decision":
                nxt = self.dindex[nid]
                break
            passed.append(nid)
            nid = node.next if node.kind == "action" else None
        self.transitions.append(Transition(source, how, to, tuple(passed), nxt))
        return len(self.transitions) - 1

    def _acyclic(self) -> bool:
        succ = {n.id: [t for t in n.targets() if t in self.g.nodes] for n in self.g.nodes.values()}
        state: dict[str, int] = {}
        for root in succ:
            stack = [(root, iter(succ[root]))]
            if state.get(root):
                continue
            state[root] = 1
            while stack:
                nid, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[nid] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    return False
                elif not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
        return True

    def _generate(self) -> tuple[str, list[Any], list[int]]:
        k = Consts()
        parts = []
        decs = []
        for d, node in enumerate(self.decisions):
            exprs: list[Expr] = [b.when.expr for b in node.branches]
            reads = list(dict.fromkeys(f for b in node.branches for f in b.when.facts if f in self.rules))
            closures = [f"_t{d}_{i}" for i in range(len(exprs))]
            decs.append(Decision(exprs, reads, closures, self.branch_t[d], self.otherwise_t[d], node.exclusive))
            parts.append(decision_source(f"_d{d}", decs[-1], k))
        todo = sorted(d for d in range(len(self.decisions)) if not self.inlined[d])
        regions: list[int] = []
        while todo:
            d = todo.pop(0)
            if d in regions:
                continue
            capped: set[int] = set()
            parts.append(region_source(f"_r{d}", d, decs, self.next, self.inlined.__getitem__, k, capped))
            regions.append(d)
            todo += sorted(capped)
        parts.append(checker_source("_check", self.asked, k))
        return "\n".join(parts), k.values, regions

    def _link(self) -> None:
        ns: dict[str, Any] = {
            "__builtins__": {},
            "_U": UNKNOWN,
            "_M": _MISSING,
            "_D": self.derive,
            "_min": min,
            "_max": max,
            "_abs": abs,
            "_len": len,
            "_KeyError": KeyError,
            "_fin": _finite,
            "_int": int,
            "_float": float,
            "_str": str,
            "_date": _dt.date,
        }
        for i, v in enumerate(self.consts):
            ns[f"_k{i}"] = v
        for d, node in enumerate(self.decisions):
            for i, b in enumerate(node.branches):
                ns[f"_t{d}_{i}"] = b.when.test
        exec(self.code, ns)  # our own generated code (see .codegen), never author text
        self.decide: list[Callable[[dict[str, Any], Any], int]] = [ns[f"_d{d}"] for d in range(len(self.decisions))]
        self.region: list[Callable[[dict[str, Any], Any], int] | None] = [ns.get(f"_r{d}") for d in range(len(self.decisions))]
        self.check: Callable[[dict[str, Any]], bool] = ns["_check"]

    # ------------------------------------------------------------------ derived facts

    def derive(self, env: dict[str, Any], dn: dict[str, int | None], name: str) -> None:
        """Derive `name` into `env` (when known), its derived inputs first; `dn` records it
        as done, with the index of the case that gave its value."""
        for f in self.rule_deps[name]:
            if f not in dn:
                self.derive(env, dn, f)
        rule = self.rules[name]
        value, case = derive_value(rule, env)
        value = normalise(rule, value)
        dn[name] = case
        if value is not UNKNOWN:
            env[name] = value

    def derive_all(self, env: dict[str, Any], dn: Any) -> Any:
        """Every derived fact into `env`; returns the record of what was derived (`dn`, or a
        new one when no decision needed one)."""
        if len(dn) != len(self.rules):
            if dn is _NONE_YET:
                dn = {}
            for name in self.rules:
                if name not in dn:
                    self.derive(env, dn, name)
        return dn

    def eager_rules(self, env: dict[str, Any], dn: dict[str, int | None]) -> None:
        """The rules that may raise, in rule order, before the walk; a failure is a RuleError
        with the rule id and its inputs (as the built-in backend reports it)."""
        for rule in self.eager:
            for f in rule.inputs:
                if f in self.rules and f not in dn:
                    self.derive(env, dn, f)
            try:
                if rule.kind == "derive":
                    assert rule.fact is not None
                    if rule.fact not in dn:
                        self.derive(env, dn, rule.fact)
                elif rule.when is not None:
                    rule.when.test(env)
            except Exception as exc:
                raise RuleError(rule.id, dict(inputs_of(rule, env)), exc, guideline=self.g.id, location=rule.location) from exc

    # ------------------------------------------------------------------ walking

    def run(self, env: dict[str, Any], facts: Any, fc: str, start: int, backend: str, rules: RulesBackend | RulesOutcome | None) -> Result:
        """Walk flowchart `fc` (its start transition `start`) for the checked facts in `env`
        (a dict this walk may extend; `facts` the checked Facts, or None when every entered
        fact was its own checked value). `rules` None: the built-in rules, each derived fact
        computed when read; else a backend, or its outcome, giving every derived fact first."""
        nbase = len(env)
        outcome: RulesOutcome | None = None
        dn: Any
        if rules is None:
            dn = {} if self.lazy_derived else _NONE_YET
            if self.eager:
                self.eager_rules(env, dn)
        else:
            finish = None  # a backend that runs the alerts after the walk (durable_rules)
            if isinstance(rules, RulesOutcome):
                outcome = rules
            elif hasattr(rules, "derive"):
                outcome, finish = rules.derive(self.g, dict(env))
            else:
                outcome = rules.run(self.g, dict(env))
            env.update(outcome.derived)
            dn = self.derived_names
            if finish is not None:
                result = self._walk_run(env, dn, nbase, fc, start, backend, facts, outcome)
                rec = result.record
                outcome.alerts = finish([a for t in self.expand(rec[3], rec[4]) for n in self.transitions[t].passed for a in self.g.nodes[n].actions])
                return result
        return self._walk_run(env, dn, nbase, fc, start, backend, facts, outcome)

    def _walk_run(self, env: dict[str, Any], dn: Any, nbase: int, fc: str, start: int, backend: str, facts: Any, outcome: RulesOutcome | None) -> Result:
        if self.bounded:  # the common case: one call per region of the flow
            exits = [start]
            d = self.next[start]
            region, nxt = self.region, self.next
            r = 0
            try:
                while d >= 0:
                    r = region[d](env, dn)  # type: ignore[misc]
                    if r < 0:
                        break
                    exits.append(r)
                    d = nxt[r]
            except Exception as exc:
                raise self._replay_failure(d, env, dn, exc) from exc
            if d < 0:
                res = _new(_Result)
                res.status, res.flowchart, res._filler, res.record = "complete", fc, self.filler, [env, dn, nbase, exits, -1, backend, facts, outcome, ()]
                return res
            stop = (-r) >> 2
            dn = self.derive_all(env, dn)
            needs = self._stopped(stop, -((-r) & 3), env, dn)
            return _lazy("needs_facts", fc, self.filler, [env, dn, nbase, exits, stop, backend, facts, outcome, needs])
        trail, d, needs = self.walk(env, dn, start)
        return _lazy("complete" if d < 0 else "needs_facts", fc, self.filler, [env, dn, nbase, trail, d, backend, facts, outcome, needs])

    def expand(self, exits: list[int], stop: int) -> list[int]:
        """Every transition of a walk, from the transitions by which it left each region (and
        the decision it stopped at, -1: none): inside a region each decision has one way in."""
        if not self.bounded:
            return exits
        out = [exits[0]]
        for i in range(1, len(exits) + (1 if stop >= 0 else 0)):
            entry = self.next[exits[i - 1]]
            last = exits[i] if i < len(exits) else -1
            chain: list[int] = [] if last < 0 else [last]
            x = self.src[last] if last >= 0 else stop
            while x != entry:
                t_in = self.into[x]
                chain.append(t_in)
                x = self.src[t_in]
            out += reversed(chain)
        return out

    def _replay_failure(self, d: int, env: dict[str, Any], dn: Any, exc: Exception) -> RunError:
        """A condition raised inside the region starting at decision `d`: walk the region again
        decision by decision to find which one (the walk is deterministic)."""
        x = d
        for _ in range(len(self.decisions)):
            try:
                t = self.decide[x](env, dn)
            except Exception as e:
                return self._failed(x, env, dn, e)
            if t < 0 or self.next[t] < 0:
                break
            x = self.next[t]
        return self._failed(d, env, dn, exc)

    def walk(self, env: dict[str, Any], dn: Any, start: int) -> tuple[list[int], int, list[str]]:
        """Walk from transition `start`: the transitions taken, the decision the walk stopped
        at (-1: complete) and the facts it needs there. Raises RunError as the walk would."""
        trail = [start]
        d = self.next[start]
        decide, nxt = self.decide, self.next
        t = 0
        try:
            if self.bounded:
                while d >= 0:
                    t = decide[d](env, dn)
                    if t < 0:
                        break
                    trail.append(t)
                    d = nxt[t]
            else:
                steps = len(self.transitions[start].passed)
                while d >= 0:
                    steps += 1
                    if steps > MAX_STEPS:
                        raise RunError(f"walk exceeded {MAX_STEPS} steps", guideline=self.g.id, node=self.decisions[d].id)
                    t = decide[d](env, dn)
                    if t < 0:
                        break
                    trail.append(t)
                    d = nxt[t]
                    steps += len(self.transitions[t].passed)
        except RunError:
            raise
        except Exception as exc:
            raise self._failed(d, env, dn, exc) from exc
        if d < 0:
            return trail, -1, []
        return trail, d, self._stopped(d, t, env, dn)

    def _stopped(self, d: int, code: int, env: dict[str, Any], dn: Any) -> list[str]:
        g, node = self.g, self.decisions[d]
        self.derive_all(env, dn)
        values = choose_values(node, env)
        if code == -2:
            names = ", ".join(f"branch {i + 1} ({node.branches[i].when.text})" for i, v in enumerate(values) if v is True)
            raise RunError(f"decision '{node.id}' promises exclusive branches, but several hold: {names}", guideline=g.id, node=node.id, location=node.location)
        if code == -3:
            raise RunError(
                f"no branch of decision '{node.id}' holds and it has no otherwise (a gap in the guideline); facts read: "
                + ", ".join(f"{f}={env.get(f, UNKNOWN)!r}" for b in node.branches for f in b.when.facts),
                guideline=g.id,
                node=node.id,
                location=node.location,
            )
        blocking = _blocking(node, values)
        needs = deciding_facts(g, [f for i in blocking for f in relevant_unknowns(node.branches[i].when.expr, env)], env)
        if not needs:
            unknown = [f for i in blocking for f in node.branches[i].when.facts if env.get(f, UNKNOWN) is UNKNOWN]
            raise RunError(
                f"decision '{node.id}' reads {', '.join(unknown)}, which no rule could derive although its inputs are known (a gap in a rule)",
                guideline=g.id,
                node=node.id,
                location=node.location,
            )
        return needs

    def _failed(self, d: int, env: dict[str, Any], dn: Any, exc: Exception) -> RunError:
        """The error of a condition that raised, located as the step-by-step walk reports it."""
        node = self.decisions[d]
        self.derive_all(env, dn)
        for b in node.branches:
            try:
                b.when.test(env)
            except Exception as e:
                shown = ", ".join(f"{f}={env.get(f, UNKNOWN)!r}" for f in b.when.facts)
                return RunError(
                    f"condition '{b.when.text}' of decision '{node.id}' failed: {type(e).__name__}: {e} ({shown})",
                    guideline=self.g.id,
                    node=node.id,
                    location=b.when.location,
                )
        return RunError(f"decision '{node.id}' failed: {type(exc).__name__}: {exc}", guideline=self.g.id, node=node.id, location=node.location)


def _code(source: str, name: str) -> Any:
    """The compiled `source`: from the cache (:mod:`engine.cache`; the entry is named after
    the source's sha256, so it is this source's code or nothing), else compiled and kept."""
    import hashlib
    import types

    from .. import cache

    entry = cache.key("program", hashlib.sha256(source.encode()).hexdigest(), name)
    code = cache.get(entry)
    if isinstance(code, types.CodeType):
        return code
    code = compile(source, name, "exec")
    cache.put(entry, code)
    return code


_lazy = Result.lazy
_new = object.__new__
_Result = Result
_NONE_YET: frozenset[str] = frozenset()  # no derived fact computed, none read by a decision


def _blocking(node: Node, values: Sequence[Any]) -> list[int]:
    """The unknown branches that block a decision (:func:`engine.walk.choose`'s second part)."""
    if node.exclusive:
        return [i for i, v in enumerate(values) if v is UNKNOWN]
    for i, v in enumerate(values):
        if v is True:
            return []
        if v is UNKNOWN:
            return [i]
    return []


def flow_source(g: Guideline) -> str:  # pragma: no cover - a debugging aid
    """The generated source of a guideline's program (for reading, not for running)."""
    return Flow(g).source
