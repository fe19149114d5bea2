"""A guideline's rules compiled into one durable_rules ruleset: the condition IR, its
translation to durable's DSL, markers, rounds, and the actions the Rete rules fire.

The backend that registers and runs these rulesets is :mod:`.durable` (rounds at run time,
sessions, errors); this module is the compilation half of the design.

*Once per guideline.* Each guideline becomes one ruleset named ``guidewalk_<sha256>_<n>``
(rulesets are global by name and cannot be replaced, so a changed guideline gets a new
name). Conditions are translated into durable's DSL (``m.f_kps < 70``, ``&``, ``|``,
``+m.x`` / ``-m.x`` for known/unknown):

* Kleene "definitely true": a Rete condition matches only when the condition is *true*;
  a missing attribute (an unknown fact) never matches. "Definitely false" is the definitely
  true of the negation, with ``not`` pushed inward (De Morgan, ``<`` <-> ``>=``, ``in`` <->
  all ``!=``), because the DSL cannot negate a compound condition.
* ``f in [a, b]`` becomes ``m.f == a | m.f == b``; ``x in setfact`` reads a per-member
  boolean attribute; ``known(x)`` is ``+m.x``.
* Case *i* of a derive rule matches on ``true(when_i) & false(when_0) & ... &
  false(when_i-1)`` (first true case wins); ``otherwise`` on all cases false. These are
  mutually exclusive, so at most one fires; when none fires the value is unknown (an unknown
  case before the first true one — the absence of a Rete match is the Kleene unknown).
  A boolean ``value:`` gets a "true" and a "false" rule.
* durable expands ``|`` into separate paths (DNF); where a conjunction of disjunctions
  would multiply out past :data:`DNF_LIMIT` paths, a disjunction becomes a *marker* rule
  of its own, fired in an earlier round, whose result the later rule reads as
  ``m.k_<n> == true``; the same sub-condition (say "case 2 is false") is one shared
  marker. A rule may fire once per matching path; actions are idempotent.

*Rounds.* Every Rete rule gets a round: 0 if it reads only entered facts, else one more
than the round of the rules deriving what it reads (or of the markers it uses). Each round
lists the attributes its rules read (:class:`Source`: an entered or derived fact, a set
member, an atom, a marker).

*Where the DSL cannot express it* (the exception, not the rule):

* a derived value that is not a constant (``a + b``, ``min(...)``, a fact's value) is
  computed in the action by the model's compiled closure (``Condition.test``);
* a comparison the DSL cannot state (arithmetic, functions such as ``count`` or
  ``days_between``, fact-vs-fact, dates) is an *atom*: the backend computes its Kleene
  value by its compiled closure and posts it as a true/false attribute.

*Actions* write into the case's Python-side record (:class:`CaseRecord`, found in
:data:`CASES` by the durable session id); they never raise — an exception is kept in the
record and reported by the backend after the case.

Importing this module where durable_rules cannot load raises ImportError.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

try:
    from durable.lang import value as _dvalue
    from durable.lang import when_all as _when_all
except Exception as _exc:  # ImportError, or the C extension's undefined symbol on 3.13+
    raise ImportError(f"durable_rules cannot load here: {type(_exc).__name__}: {_exc}") from _exc

from ..expressions import UNKNOWN, BoolOp, Call, Cmp, Const, Expr, Fact, In, ListLit, Not, compile_expr, facts_read
from ..model import Guideline, Rule
from .base import normalise

__all__ = ["DNF_LIMIT", "ROUND", "IR", "Source", "Round", "CompiledRuleset", "CaseRecord", "CASES", "compile_ruleset"]

DNF_LIMIT = 16  # most durable paths one Rete rule may expand into before a marker is split off

_SCALAR = ("boolean", "integer", "number", "enum", "string")
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
ROUND = "gw_r"

# --------------------------------------------------------------------------- the condition IR
# A condition in "definitely true" form, before it becomes durable's DSL:
#   True / False | ("and", [ir...]) | ("or", [ir...]) | ("cmp", attr, op, const) | ("ex", attr) | ("nex", attr)

IR = Any


def _and(parts: Sequence[IR]) -> IR:
    out: list[IR] = []
    for p in parts:
        if p is False:
            return False
        if p is True:
            continue
        out.extend(p[1] if isinstance(p, tuple) and p[0] == "and" else [p])
    return True if not out else out[0] if len(out) == 1 else ("and", out)


def _or(parts: Sequence[IR]) -> IR:
    out: list[IR] = []
    for p in parts:
        if p is True:
            return True
        if p is False:
            continue
        out.extend(p[1] if isinstance(p, tuple) and p[0] == "or" else [p])
    return False if not out else out[0] if len(out) == 1 else ("or", out)


def _paths(ir: IR) -> int:
    """How many durable paths (DNF terms) the IR expands into."""
    if isinstance(ir, tuple) and ir[0] == "and":
        n = 1
        for p in ir[1]:
            n *= _paths(p)
        return n
    if isinstance(ir, tuple) and ir[0] == "or":
        return sum(_paths(p) for p in ir[1])
    return 1


def _leaves(ir: IR) -> list[tuple[Any, ...]]:
    if isinstance(ir, tuple) and ir[0] in ("and", "or"):
        return [leaf for p in ir[1] for leaf in _leaves(p)]
    return [ir] if isinstance(ir, tuple) else []


def _dsl(ir: IR) -> Any:
    """The IR as durable DSL (``m.attr < 70 & ...``); True/False are handled by callers."""
    kind = ir[0]
    if kind == "and" or kind == "or":
        parts = [_dsl(p) for p in ir[1]]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if kind == "and" else (out | p)
        return out
    v = _dvalue("$m", ir[1])
    if kind == "ex":
        return +v
    if kind == "nex":
        return -v
    op, c = ir[2], ir[3]
    if op == "==":
        return v == c
    if op == "!=":
        return v != c
    if op == "<":
        return v < c
    if op == "<=":
        return v <= c
    if op == ">":
        return v > c
    return v >= c


# --------------------------------------------------------------------------- compiled form


@dataclass
class Source:
    """Where an attribute of a round's fact comes from."""

    kind: str  # "fact" | "set" | "atom" | "marker"
    fact: str = ""
    member: str = ""
    test: Callable[[Mapping[str, Any]], Any] | None = None
    owner: int = -1  # rule index owning an atom
    marker: int = -1
    facts: tuple[str, ...] = ()  # facts an atom reads


@dataclass
class _ReteRule:
    ir: IR
    action: Callable[[Any], None]
    round: int = 0


@dataclass
class Round:
    """What one round's posted fact carries and which rules it finishes."""

    attrs: list[tuple[str, Source]] = field(default_factory=list)
    rules: list[int] = field(default_factory=list)  # guideline rule indexes finished in this round
    rete: int = 0  # Rete rules guarded by this round


@dataclass
class CompiledRuleset:
    """A guideline's registered ruleset: its name on the host and its rounds."""

    name: str
    guideline: Guideline
    rounds: list[Round]
    rule_round: dict[int, int]


@dataclass
class CaseRecord:
    """One case's Python-side record: what the actions derived, and what went wrong."""

    env: dict[str, Any]
    results: dict[int, tuple[Any, int | None]] = field(default_factory=dict)
    alerts: set[int] = field(default_factory=set)
    markers: set[int] = field(default_factory=set)
    errors: dict[int, BaseException] = field(default_factory=dict)
    poisoned: set[int] = field(default_factory=set)


CASES: dict[str, CaseRecord] = {}  # durable session id -> the record its actions write into
_NAMES = itertools.count(1)

# --------------------------------------------------------------------------- the compiler


class _Compiler:
    """One guideline -> Rete rules (as IR), markers, atoms and rounds."""

    def __init__(self, g: Guideline):
        self.g = g
        self.scope = g.scope
        self.attrs: dict[str, Source] = {}
        self.keys: dict[Any, str] = {}
        self.rete: list[_ReteRule] = []
        self.marker_round: dict[int, int] = {}
        self.marker_ids: dict[str, int] = {}
        self.fact_round: dict[str, int] = {}  # derived fact -> round in which it is derived
        self.owner = -1

    # -- attributes
    def _attr(self, key: Any, prefix: str, src: Source) -> str:
        name = self.keys.get(key)
        if name is None:
            name = f"{prefix}_{len(self.keys)}" if prefix != "f" else f"f_{src.fact}"
            self.keys[key] = name
            self.attrs[name] = src
        return name

    def fact_attr(self, name: str) -> str:
        return self._attr(("fact", name), "f", Source("fact", fact=name))

    def atom(self, e: Expr, positive: bool) -> IR:
        attr = self._attr(("atom", id(e)), "a", Source("atom", test=compile_expr(e), owner=self.owner, facts=facts_read(e)))
        return ("cmp", attr, "==", positive)

    # -- "definitely true" (positive) / "definitely false" (not positive)
    def truth(self, e: Expr, positive: bool) -> IR:
        if isinstance(e, Const) and isinstance(e.value, bool):
            return e.value == positive
        if isinstance(e, Fact) and self._type(e.name) == "boolean":
            return ("cmp", self.fact_attr(e.name), "==", positive)
        if isinstance(e, Not):
            return self.truth(e.operand, not positive)
        if isinstance(e, BoolOp):
            parts = [self.truth(o, positive) for o in e.operands]
            return _and(parts) if (e.op == "and") == positive else _or(parts)
        if isinstance(e, Cmp):
            return self.cmp(e, positive)
        if isinstance(e, In):
            return self.in_(e, positive)
        if isinstance(e, Call) and e.func in ("known", "unknown") and isinstance(e.args[0], Fact):
            attr = self.fact_attr(e.args[0].name)
            return ("ex", attr) if (e.func == "known") == positive else ("nex", attr)
        return self.atom(e, positive)

    def _type(self, name: str) -> str:
        spec = self.scope.get(name)
        return spec.type if spec is not None else ""

    def _const_fits(self, fact: str, c: Any) -> bool:
        t = self._type(fact)
        if t not in _SCALAR:
            return False
        if t == "boolean":
            return isinstance(c, bool)
        if t in ("integer", "number"):
            return isinstance(c, (int, float)) and not isinstance(c, bool)
        return isinstance(c, str)

    def cmp(self, e: Cmp, positive: bool) -> IR:
        if isinstance(e.left, Fact) and isinstance(e.right, Const):
            fact, op, c = e.left.name, e.op, e.right.value
        elif isinstance(e.left, Const) and isinstance(e.right, Fact):
            fact, op, c = e.right.name, _FLIP[e.op], e.left.value
        else:
            return self.atom(e, positive)
        if not self._const_fits(fact, c):
            return self.atom(e, positive)
        if not positive:
            op = _NEGATE[op]
        attr = self.fact_attr(fact)
        if isinstance(c, bool):  # a known boolean: f != true is f == false
            return ("cmp", attr, "==", c if op == "==" else not c)
        return ("cmp", attr, op, c)

    def in_(self, e: In, positive: bool) -> IR:
        holds = positive != e.negated
        if isinstance(e.container, ListLit) and isinstance(e.item, Fact):
            fact = e.item.name
            values = [i.value for i in e.container.items if isinstance(i, Const)]
            if all(self._const_fits(fact, v) for v in values):
                attr = self.fact_attr(fact)
                if not values:
                    return False if holds else ("ex", attr)
                if holds:
                    return _or([("cmp", attr, "==", v) for v in values])
                return _and([("cmp", attr, "!=", v) for v in values])
        if isinstance(e.container, Fact) and isinstance(e.item, Const) and self._type(e.container.name) == "set":
            member = str(e.item.value)
            attr = self._attr(("set", e.container.name, member), "s", Source("set", fact=e.container.name, member=member))
            return ("cmp", attr, "==", holds)
        return self.atom(e, positive)

    # -- rounds and markers
    def split(self, ir: IR) -> IR:
        """Keep a rule's durable paths under DNF_LIMIT by turning disjunctions into markers."""
        if not isinstance(ir, tuple) or ir[0] not in ("and", "or"):
            return ir
        parts = [self.split(p) for p in ir[1]]
        if ir[0] == "or":
            return _or(parts)
        while _paths(("and", parts)) > DNF_LIMIT:
            i = max(range(len(parts)), key=lambda j: _paths(parts[j]))
            parts[i] = self.marker(parts[i])
        return _and(parts)

    def marker(self, ir: IR) -> IR:
        key = repr(ir)  # the same sub-condition (say "case 2 is false") is one marker
        if key in self.marker_ids:
            return ("cmp", self.keys[("marker", self.marker_ids[key])], "==", True)
        mid = self.marker_ids[key] = len(self.marker_round)
        attr = self._attr(("marker", mid), "k", Source("marker", marker=mid))
        self.marker_round[mid] = -1

        rr = _ReteRule(ir, _marker_action(mid), self.round_of(ir))
        self.marker_round[mid] = rr.round
        self.rete.append(rr)
        return ("cmp", attr, "==", True)

    def round_of(self, ir: IR, extra_facts: Sequence[str] = ()) -> int:
        """0 for entered facts only; else one more than what the rule reads was finished in."""
        r = 0
        facts: list[str] = list(extra_facts)
        for leaf in _leaves(ir):
            src = self.attrs[leaf[1]]
            if src.kind == "marker":
                r = max(r, self.marker_round[src.marker] + 1)
            elif src.kind == "atom":
                facts.extend(src.facts)
            else:
                facts.append(src.fact)
        for f in facts:
            if f in self.fact_round:
                r = max(r, self.fact_round[f] + 1)
        return r

    # -- rules
    def compile(self) -> tuple[list[_ReteRule], dict[int, int]]:
        rule_round: dict[int, int] = {}
        for idx, rule in enumerate(self.g.rules):
            self.owner = idx
            start = len(self.rete)
            if rule.kind == "derive":
                self._derive(idx, rule)
            else:
                when = True if rule.when is None else self.truth(rule.when.expr, True)
                self._add(when, _alert_action(idx))
            mine = self.rete[start:]
            own = [rr for rr in mine if rr.action.__name__ != "mark"]
            rnd = max([self.round_of(True, rule.inputs)] + [rr.round for rr in own])
            for rr in own:  # the rule's own Rete rules fire together, in its round
                rr.round = rnd
            rule_round[idx] = rnd
            if rule.fact:
                self.fact_round[rule.fact] = rnd
        return self.rete, rule_round

    def _add(self, ir: IR, action: Callable[[Any], None], facts: Sequence[str] = ()) -> None:
        if ir is False:
            return
        ir = self.split(ir)
        self.rete.append(_ReteRule(ir, action, self.round_of(ir, facts)))

    def _derive(self, idx: int, rule: Rule) -> None:
        if rule.value is not None:
            if rule.spec is not None and rule.spec.type == "boolean":
                self._add(self.truth(rule.value.expr, True), _value_action(idx, rule, True, None, None))
                self._add(self.truth(rule.value.expr, False), _value_action(idx, rule, False, None, None))
            else:
                self._add(True, _value_action(idx, rule, *_value_of(rule, rule.value.expr, rule.value.test), None), rule.value.facts)
            return
        earlier_false: list[IR] = []
        for i, case in enumerate(rule.cases):
            cond = _and([self.truth(case.when.expr, True)] + earlier_false)
            self._add(cond, _value_action(idx, rule, *_value_of(rule, case.value.expr, case.value.test), i), case.value.facts)
            earlier_false.append(self.truth(case.when.expr, False))
        if rule.otherwise is not None:
            self._add(_and(earlier_false), _value_action(idx, rule, *_value_of(rule, rule.otherwise.expr, rule.otherwise.test), None), rule.otherwise.facts)


def _value_of(rule: Rule, expr: Expr, test: Callable[[Mapping[str, Any]], Any]) -> tuple[Any, Callable[[Mapping[str, Any]], Any] | None]:
    """A constant value (normalised once), or the closure that computes it."""
    if isinstance(expr, Const) and not isinstance(expr.value, _dt.date):
        return normalise(rule, expr.value), None
    return None, test


# --------------------------------------------------------------------------- actions


def _value_action(idx: int, rule: Rule, const: Any, test: Callable[[Mapping[str, Any]], Any] | None, case_ix: int | None) -> Callable[[Any], None]:
    def derive(c: Any) -> None:
        case = CASES.get(c.s.sid)
        if case is None or idx in case.results:
            return  # a second durable path of the same match
        if test is None:
            case.results[idx] = (const, case_ix)
            return
        try:
            case.results[idx] = (normalise(rule, test(case.env)), case_ix)
        except Exception as exc:  # reported after the case with the rule id and inputs
            case.results[idx] = (UNKNOWN, case_ix)
            case.errors.setdefault(idx, exc)

    return derive


def _marker_action(mid: int) -> Callable[[Any], None]:
    # one parameter only: durable treats a two-parameter action as asynchronous
    def mark(c: Any) -> None:
        case = CASES.get(c.s.sid)
        if case is not None:
            case.markers.add(mid)

    return mark


def _alert_action(idx: int) -> Callable[[Any], None]:
    def alert(c: Any) -> None:
        case = CASES.get(c.s.sid)
        if case is not None:
            case.alerts.add(idx)

    return alert


def _handled(c: Any) -> None:
    """The no-op action of the per-round catch-all rule (see compile_ruleset)."""
    return None


# --------------------------------------------------------------------------- the ruleset


def compile_ruleset(g: Guideline, host: Any) -> CompiledRuleset:
    """Compile the guideline's rules and register the ruleset on durable `host`."""
    comp = _Compiler(g)
    rete, rule_round = comp.compile()
    n_rounds = 1 + max([rr.round for rr in rete] + list(rule_round.values()) + [-1])
    rounds = [Round() for _ in range(n_rounds)]
    used: list[dict[str, Source]] = [{} for _ in range(n_rounds)]
    definition: dict[str, Any] = {}
    for j, rr in enumerate(rete):
        guard = _dvalue("$m", ROUND) == rr.round
        expr = guard if rr.ir is True else guard & _dsl(rr.ir)
        rule = _when_all(expr)
        rule.func = [rr.action]
        definition[f"r{j}"] = rule.define()
        rounds[rr.round].rete += 1
        for leaf in _leaves(rr.ir):
            used[rr.round][leaf[1]] = comp.attrs[leaf[1]]
    for r in range(n_rounds):
        if rounds[r].rete:
            # Every posted fact must be handled by some rule: durable_rules 2.0.28 corrupts its
            # heap (SIGSEGV / "free(): invalid pointer" in delete_state) when a session whose
            # only fact was never handled and partly matched an $and is deleted. A no-op rule
            # that matches every fact of the round keeps the engine off that path.
            seen = _when_all(_dvalue("$m", ROUND) == r)
            seen.func = [_handled]
            definition[f"seen{r}"] = seen.define()
    for r, attrs in enumerate(used):
        rounds[r].attrs = sorted(attrs.items())
    for idx, r in rule_round.items():
        rounds[r].rules.append(idx)
    safe_id = "".join(ch if ch.isalnum() else "_" for ch in g.id)
    name = f"guidewalk_{g.sha256}_{safe_id}_{next(_NAMES)}"
    if definition:
        host.register_rulesets({name: definition})
    return CompiledRuleset(name, g, rounds, rule_round)
