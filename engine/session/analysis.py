"""The representative-values analysis of a guideline: which values of each base fact matter.

Per guideline (cached): the constants each base fact is compared with, the atoms that read
it, whether it is used in a way that is not an atom (arithmetic, comparing two facts), which
facts are read through ``known()``/``unknown()``, and the derive rules. :func:`fact_points`
turns that into one representative value per cell of a fact's domain; the reachable search
and :meth:`Session.pending <engine.session.session.Session.pending>` enumerate those values
(why that is exact: :func:`engine.session.reachable.reachable_nodes`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import GuidewalkError
from ..expressions import (
    BoolOp,
    Call,
    Cmp,
    Const,
    Expr,
    Fact,
    In,
    ListLit,
    Not,
    Word,
    compile_expr,
    constants,
    iter_nodes,
)
from ..fact_types import fact_type
from ..model import FactSpec, Guideline

__all__ = ["ReachabilityError", "fact_points", "FULL_DOMAIN_LIMIT"]

#: A fact whose representative values could not be bounded is enumerated over its whole
#: domain when it has at most this many values.
FULL_DOMAIN_LIMIT = 2000


class ReachabilityError(GuidewalkError, ValueError):
    """The guideline uses a fact in a way the exact search cannot enumerate."""


@dataclass
class _Analysis:
    """Per guideline: the constants each base fact is compared with, and how it is used."""

    consts: dict[str, list[Any]] = field(default_factory=dict)
    non_atomic: set[str] = field(default_factory=set)
    counted: set[str] = field(default_factory=set)  # set facts read through count()
    points: dict[str, list[Any]] = field(default_factory=dict)
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    derive_rules: dict[str, Any] = field(default_factory=dict)
    atoms: dict[str, list[Any]] = field(default_factory=dict)  # fact -> compiled single-fact atoms
    probed: dict[str, set[str]] = field(default_factory=dict)  # fact (base or derived) -> facts whose known() it reads
    node_probes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # decision -> base facts probed
    live: dict[str, tuple[str, ...]] = field(default_factory=dict)
    closure: dict[str, frozenset[str]] = field(default_factory=dict)  # node -> action/end nodes graph-reachable


_ANALYSES: dict[tuple[int, str], _Analysis] = {}


def _all_exprs(g: Guideline) -> Iterator[Expr]:
    for n in g.nodes.values():
        for b in n.branches:
            yield b.when.expr
    for r in g.rules:
        for c in r.cases:
            yield c.when.expr
            yield c.value.expr
        for cond in (r.otherwise, r.value, r.when):
            if cond is not None:
                yield cond.expr


def _parents(expr: Expr) -> Iterator[tuple[Expr, Expr | None]]:
    stack: list[tuple[Expr, Expr | None]] = [(expr, None)]
    while stack:
        e, parent = stack.pop()
        yield e, parent
        for child in e.children():
            stack.append((child, e))


def _atomic(e: Fact, parent: Expr | None, grand: Expr | None, boolean: bool) -> tuple[bool, bool]:
    """Whether an occurrence of a base fact is an atom whose truth depends only on which
    cell of the fact's domain (cut at the constants) the value lies in; second: read by count()."""
    if parent is None or isinstance(parent, (Not, BoolOp)):
        return boolean, False  # a boolean fact used as a condition (else: a value copied)
    if isinstance(parent, Cmp):
        other = parent.right if parent.left is e else parent.left
        return isinstance(other, Const), False
    if isinstance(parent, In):
        if parent.item is e:
            return isinstance(parent.container, ListLit), False
        return isinstance(parent.item, Const), False  # `value in set_fact`
    if isinstance(parent, Call):
        if parent.func in ("known", "unknown"):
            return True, False
        if parent.func == "count" and isinstance(grand, Cmp):
            other = grand.right if grand.left is parent else grand.left
            return isinstance(other, Const), True
    return False, False


def _analyse(g: Guideline) -> _Analysis:
    key = (id(g), g.sha256)
    a = _ANALYSES.get(key)
    if a is not None:
        return a
    a = _Analysis()
    derived = set(g.derived)
    for expr in _all_exprs(g):
        parent_of: dict[int, Expr | None] = {}
        for e, parent in _parents(expr):
            parent_of[id(e)] = parent
        names = {e.name for e in iter_nodes(expr) if isinstance(e, Fact) and e.name not in derived}
        cs = constants(expr)
        for n in names:
            a.consts.setdefault(n, []).extend(cs)
        for e, parent in _parents(expr):
            if isinstance(e, Fact) and e.name not in derived:
                grand = parent_of.get(id(parent)) if parent is not None else None
                spec = g.dictionary.get(e.name)
                ok, counted = _atomic(e, parent, grand, spec is not None and spec.type == "boolean")
                if not ok:
                    a.non_atomic.add(e.name)
                else:
                    atom = e if parent is None or isinstance(parent, (Not, BoolOp)) else (grand if counted else parent)
                    if atom is not None and not (isinstance(atom, Call) and atom.func in ("known", "unknown")):
                        a.atoms.setdefault(e.name, []).append(compile_expr(atom))
                if counted:
                    a.counted.add(e.name)
    a.derive_rules = {r.fact: r for r in g.rules if r.kind == "derive" and r.fact is not None}
    bases = {n: g.base_inputs(n) for n in set(g.derived) | set(g.dictionary)}
    a.bases = bases

    def probes_of(exprs: Iterable[Expr]) -> set[str]:
        out: set[str] = set()
        for ex in exprs:
            for e in iter_nodes(ex):
                if isinstance(e, Call) and e.func in ("known", "unknown") and e.args:
                    arg = e.args[0]
                    if isinstance(arg, (Fact, Word)):
                        out.update(bases.get(arg.name, (arg.name,)))
        return out

    rule_probes: dict[str, set[str]] = {}

    def derived_probes(name: str) -> set[str]:
        if name not in rule_probes:
            rule_probes[name] = set()
            rule = a.derive_rules.get(name)
            if rule is not None:
                exprs = [c.when.expr for c in rule.cases] + [c.value.expr for c in rule.cases]
                exprs += [c.expr for c in (rule.otherwise, rule.value) if c is not None]
                acc = probes_of(exprs)
                for f in rule.inputs:
                    acc |= derived_probes(f)
                rule_probes[name] = acc
        return rule_probes[name]

    for name in a.derive_rules:
        a.probed[name] = derived_probes(name)
    for node in g.nodes.values():
        if node.kind == "decision":
            acc = probes_of(b.when.expr for b in node.branches)
            for b in node.branches:
                for f in b.when.facts:
                    acc |= derived_probes(f)
            a.node_probes[node.id] = tuple(sorted(acc))
    if len(_ANALYSES) > 64:
        _ANALYSES.clear()
    _ANALYSES[key] = a
    return a


def fact_points(g: Guideline, name: str) -> list[Any]:
    """Representative values of base fact `name` for guideline `g` (see :func:`reachable_nodes`):
    one value per cell of its domain, two values being in the same cell when every atom of
    the guideline that reads the fact gives the same truth value for both."""
    a = _analyse(g)
    pts = a.points.get(name)
    if pts is None:
        spec = g.dictionary[name]
        pts = _points(spec, a.consts.get(name, []), name in a.non_atomic, name in a.counted)
        if name not in a.non_atomic:
            atoms = a.atoms.get(name, [])
            by_sig: dict[tuple[Any, ...], Any] = {}
            for v in pts:
                env = {name: v}
                sig = tuple(repr(t(env)) for t in atoms)
                by_sig.setdefault(sig, v)
            pts = list(by_sig.values())
        a.points[name] = pts
    return pts


def _points(spec: FactSpec, consts: list[Any], non_atomic: bool, counted: bool) -> list[Any]:
    from ..checks import domain_points

    t = spec.type
    if t == "boolean":
        return [False, True]
    if t == "enum":
        return list(spec.values)
    if t == "set":
        mentioned = [v for v in spec.values if v in consts]
        rest = [v for v in spec.values if v not in consts]
        if non_atomic:
            mentioned, rest = list(spec.values), []
        out: list[Any] = []
        extra = range(len(rest) + 1) if counted else range(1)
        for k in range(len(mentioned) + 1):
            for combo in itertools.combinations(mentioned, k):
                for j in extra:
                    out.append(frozenset(combo) | frozenset(rest[:j]))
        return out
    if t in ("integer", "number"):
        if not non_atomic:
            return list(domain_points(spec, consts))
        if t == "integer" and spec.min is not None and spec.max is not None:
            step = spec.step or 1
            n = math.floor((spec.max - spec.min) / step) + 1
            if n <= FULL_DOMAIN_LIMIT:
                return [int(spec.min + k * step) for k in range(n)]
        raise ReachabilityError(f"fact '{spec.name}' is used in arithmetic or compared with another fact; its domain is too large to enumerate exactly")
    placeholder = fact_type(t).placeholder(spec)  # a date or text no condition cuts into regions
    if placeholder is not None:
        if non_atomic:
            raise ReachabilityError(f"fact '{spec.name}' ({t}) is compared in a way the exact search cannot enumerate")
        return [placeholder]
    raise ReachabilityError(f"fact '{spec.name}' has unsupported type {t}")  # pragma: no cover
