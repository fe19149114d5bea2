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
* Each rule fires once: its disjunctions are made mutually exclusive (``a | (not-true(a) &
  b)``, :mod:`.durable_ir`) unless that costs markers the condition as written does not. A
  conjunction that would multiply out past :data:`DNF_LIMIT` paths, or a rule past
  :data:`SIZE_LIMIT` expressions, hands a part to a *marker* rule of its own, fired in an
  earlier round and read as ``m.k_<n> == true``; one sub-condition is one shared marker.
* An alert with ``if_recommended`` also reads ``m.e_<i>``, posted only when the walk
  recommends one of its codes: alerts (and markers only alerts use) come in rounds after
  every derive rule, posted after the walk (:meth:`.durable.DurableRules.derive`).

*Rounds.* Every Rete rule gets a round: 0 if it reads only entered facts, else one more
than the round of the rules deriving what it reads (or of the markers it uses). Each round
lists the attributes its rules read (:class:`Source`: an entered or derived fact, a set
member, an atom, a marker, an alert's enable flag).

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
from dataclasses import dataclass
from typing import Any

try:
    from durable.lang import value as _dvalue
    from durable.lang import when_all as _when_all
except Exception as _exc:  # ImportError, or the C extension's undefined symbol on 3.13+
    raise ImportError(f"durable_rules cannot load here: {type(_exc).__name__}: {_exc}") from _exc

from ..expressions import BoolOp, Call, Cmp, Const, Expr, Fact, In, ListLit, Not, compile_expr, facts_read
from ..model import Guideline, Rule
from .base import normalise
from .durable_case import CASES, CaseRecord, CompiledRuleset, Round, Source, alert_action, handled, marker_action, value_action
from .durable_ir import DNF_LIMIT, IR, SIZE_LIMIT, complement, exclusive, fits, may_raise, size
from .durable_ir import FLIP as _FLIP
from .durable_ir import NEGATE as _NEGATE
from .durable_ir import conj as _and
from .durable_ir import disj as _or
from .durable_ir import leaves as _leaves
from .durable_ir import paths as _paths

__all__ = ["DNF_LIMIT", "ROUND", "IR", "Source", "Round", "CompiledRuleset", "CaseRecord", "CASES", "compile_ruleset"]


_SCALAR = ("boolean", "integer", "number", "enum", "string")
ROUND = "gw_r"


def _dsl(ir: IR) -> Any:
    """The IR as durable DSL (``m.attr < 70 & ...``); True/False are handled by callers."""
    kind = ir[0]
    if kind in ("and", "or", "xor"):
        parts = [_dsl(p) for p in ir[1]]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if kind == "and" else (out | p)
        return out
    if kind == "ncmp":
        return _dsl(("xor", complement(*ir[1:])))
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


@dataclass
class _ReteRule:
    ir: IR
    action: Callable[[Any], None]
    round: int = 0
    owner: int = -1  # the guideline rule it belongs to (a marker: the rule it was made for)
    marker: int = -1


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
        self.marker_users: dict[int, set[int]] = {}  # marker -> the rules whose conditions use it
        self.cuts: dict[str, set[Any]] = {}  # attribute of a number fact -> the constants compared with

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
        if isinstance(c, (int, float)):
            self.cuts.setdefault(attr, set()).add(c)
        return ("cmp", attr, op, c)

    def in_(self, e: In, positive: bool) -> IR:
        holds = positive != e.negated
        if isinstance(e.container, ListLit) and isinstance(e.item, Fact):
            fact = e.item.name
            values = [i.value for i in e.container.items if isinstance(i, Const)]
            if all(self._const_fits(fact, v) for v in values):
                attr = self.fact_attr(fact)
                self.cuts.setdefault(attr, set()).update(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
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
        if not isinstance(ir, tuple) or ir[0] not in ("and", "or", "xor"):
            return ir
        parts = [self.split(p) for p in ir[1]]
        if ir[0] in ("or", "xor"):
            return (ir[0], parts) if len(parts) > 1 else parts[0]
        counts = [_paths(p) for p in parts]  # of each part, kept as parts become markers (1 path)
        while _product(counts) > DNF_LIMIT:
            i = max(range(len(parts)), key=counts.__getitem__)
            parts[i] = self.marker(parts[i])
            counts[i] = _paths(parts[i])
        return _and(parts)

    @staticmethod
    def once(ir: IR) -> IR:
        """The rule's condition with its disjunctions made exclusive, so that the rule fires
        once whichever disjuncts hold — unless that needs markers (each a firing of its own)
        that the condition as written does not: then as written (a second firing is dropped
        by the action)."""
        excl = exclusive(ir)
        if excl == ir or fits(excl) or not fits(ir):
            return excl
        return ir

    def fit(self, ir: IR) -> IR:
        """Keep a rule's condition within durable's limit on the expressions of one rule
        (SIZE_LIMIT, operators included) by turning its largest parts into markers."""
        while size(ir) > SIZE_LIMIT and isinstance(ir, tuple) and ir[0] in ("and", "or", "xor"):
            parts = list(ir[1])
            i = max(range(len(parts)), key=lambda j: size(parts[j]))
            if size(parts[i]) > 1:
                parts[i] = self.marker(parts[i])
            else:  # only single conditions: half of them become one marker
                half = len(parts) // 2
                parts = [self.marker((ir[0], parts[:half]))] + parts[half:]
            ir = (ir[0], parts)
        return ir

    def marker(self, ir: IR) -> IR:
        key = repr(ir)  # the same sub-condition (say "case 2 is false") is one marker
        if key in self.marker_ids:
            self.marker_users[self.marker_ids[key]].add(self.owner)
            return ("cmp", self.keys[("marker", self.marker_ids[key])], "==", True)
        mid = self.marker_ids[key] = len(self.marker_round)
        self.marker_users[mid] = {self.owner}
        attr = self._attr(("marker", mid), "k", Source("marker", marker=mid))
        self.marker_round[mid] = -1

        ir = self.fit(ir)
        rr = _ReteRule(ir, marker_action(mid), self.round_of(ir), self.owner, mid)
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
            elif src.kind != "enable":
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
                if rule.if_recommended:  # matches only when the walk recommends what it is about
                    enable = self._attr(("enable", idx), "e", Source("enable", owner=idx))
                    when = _and([when, ("cmp", enable, "==", True)])
                self._add(when, alert_action(idx))
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
        ir = self.fit(self.split(self.once(ir)))
        self.rete.append(_ReteRule(ir, action, self.round_of(ir, facts), self.owner))

    def _derive(self, idx: int, rule: Rule) -> None:
        if rule.value is not None:
            if rule.spec is not None and rule.spec.type == "boolean":
                self._add(self.truth(rule.value.expr, True), value_action(idx, rule, True, None, None))
                self._add(self.truth(rule.value.expr, False), value_action(idx, rule, False, None, None))
            else:
                self._add(True, value_action(idx, rule, *_value_of(rule, rule.value.expr, rule.value.test), None), rule.value.facts)
            return
        earlier_false: list[IR] = []
        for i, case in enumerate(rule.cases):
            cond = _and([self.truth(case.when.expr, True)] + earlier_false)
            self._add(cond, value_action(idx, rule, *_value_of(rule, case.value.expr, case.value.test), i), case.value.facts)
            earlier_false.append(self.truth(case.when.expr, False))
        if rule.otherwise is not None:
            self._add(_and(earlier_false), value_action(idx, rule, *_value_of(rule, rule.otherwise.expr, rule.otherwise.test), None), rule.otherwise.facts)


def _value_of(rule: Rule, expr: Expr, test: Callable[[Mapping[str, Any]], Any]) -> tuple[Any, Callable[[Mapping[str, Any]], Any] | None]:
    """A constant value (normalised once), or the closure that computes it."""
    if isinstance(expr, Const) and not isinstance(expr.value, _dt.date):
        return normalise(rule, expr.value), None
    return None, test


def _product(counts: Sequence[int]) -> int:
    n = 1
    for c in counts:
        n *= c
    return n


# --------------------------------------------------------------------------- the ruleset


def compile_ruleset(g: Guideline, host: Any) -> CompiledRuleset:
    """Compile the guideline's rules and register the ruleset on durable `host`."""
    comp = _Compiler(g)
    rete, rule_round = comp.compile()
    alerts = {idx for idx, r in enumerate(g.rules) if r.kind == "alert"}
    # the alert phase: alerts, and markers only alerts use, in rounds after every derive round
    # (posted after the walk, so an alert whose if_recommended cannot hold is never matched);
    # not when an alert's condition may raise (its error must come before the walk's)
    conds = [g.rules[i].when for i in alerts]
    phased = bool(alerts) and not any(c is not None and may_raise(c.expr) for c in conds)
    late = [rr.action.__name__ == "alert" or (rr.marker >= 0 and comp.marker_users[rr.marker] <= alerts) for rr in rete]
    shift = 0
    if phased:
        shift = 1 + max([rr.round for rr, lt in zip(rete, late) if not lt] + [r for i, r in rule_round.items() if i not in alerts] + [-1])
        for rr, lt in zip(rete, late):
            if lt:
                rr.round += shift
        rule_round = {i: r + shift if i in alerts else r for i, r in rule_round.items()}
    n_rounds = 1 + max([rr.round for rr in rete] + list(rule_round.values()) + [-1])
    rounds = [Round() for _ in range(n_rounds)]
    used: list[dict[str, Source]] = [{} for _ in range(n_rounds)]
    gates: list[set[int]] = [set() for _ in range(n_rounds)]
    definition: dict[str, Any] = {}
    for j, rr in enumerate(rete):
        guard = _dvalue("$m", ROUND) == rr.round
        expr = guard if rr.ir is True else guard & _dsl(rr.ir)
        rule = _when_all(expr)
        rule.func = [rr.action]
        definition[f"r{j}"] = rule.define()
        rnd = rounds[rr.round]
        rnd.rete += 1
        users = comp.marker_users[rr.marker] if rr.marker >= 0 else {rr.owner}
        if all(u in alerts and g.rules[u].if_recommended for u in users):
            gates[rr.round] |= users
        else:
            rnd.others = True
        for leaf in _leaves(rr.ir):
            src = used[rr.round][leaf[1]] = comp.attrs[leaf[1]]
            if src.kind == "fact" and leaf[1] in comp.cuts:
                src.cuts = tuple(sorted(comp.cuts[leaf[1]]))
    for r in range(n_rounds):
        rounds[r].for_alerts = frozenset(gates[r])
        if rounds[r].rete:
            # Every posted fact must be handled by some rule: durable_rules 2.0.28 corrupts its
            # heap (SIGSEGV / "free(): invalid pointer" in delete_state) when a session whose
            # only fact was never handled and partly matched an $and is deleted. A no-op rule
            # that matches every fact of the round keeps the engine off that path.
            seen = _when_all(_dvalue("$m", ROUND) == r)
            seen.func = [handled]
            definition[f"seen{r}"] = seen.define()
    for r, attrs in enumerate(used):
        rounds[r].attrs = sorted(attrs.items())
    for idx, r in rule_round.items():
        rounds[r].rules.append(idx)
    safe_id = "".join(ch if ch.isalnum() else "_" for ch in g.id)
    name = f"guidewalk_{g.sha256}_{safe_id}_{next(_NAMES)}"
    ruleset = None
    if definition:
        host.register_rulesets({name: definition})
        ruleset = host.get_ruleset(name)
    return CompiledRuleset(name, g, rounds, rule_round, shift if phased else n_rounds, phased, ruleset)
