"""Exact encoding of a loaded guideline into z3 formulas, with Kleene's three-valued logic.

Every base fact is a value variable constrained to its declared domain plus a *known* flag
(the :class:`~.space.Space`, in :mod:`.space`). A condition becomes a pair (T, F): "definitely
true" and "definitely false"; neither means unknown. Derived facts are encoded through their
rules (cases / otherwise / value), so a decision on a score is analysed on the score's inputs.

Because Kleene's logic is monotone, a partial patient (some facts unknown) on which a condition
is definitely true stays true for every way of filling in the unknown facts: witnesses found
with as many unknown facts as possible are valid for every completion.

This module imports z3; only the analysis commands import it (never `guidewalk run`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import z3

from ..expressions import Arith, BoolOp, Call, Cmp, Const, Expr, Fact, In, ListLit, Neg, Not, Word, iter_nodes
from ..fact_types import fact_type
from ..model import Guideline, Node, Rule
from .space import B, E, N, S, Space, Term, known, num

__all__ = ["Edges", "Encoder", "topological_nodes", "thresholds"]


@dataclass
class Edges:
    """The branch terms of one decision node."""

    terms: list[B]
    otherwise: Any  # condition under which the walk takes `otherwise` (all branches false)
    blocked: Any  # the walk stops here: no branch true, a branch unknown (in walk order)


@dataclass
class Encoder:
    """One guideline encoded over a :class:`Space`."""

    g: Guideline
    space: Space
    prefix: str = ""
    _derived: dict[str, Term] = field(default_factory=dict)
    _edges: dict[str, Edges] = field(default_factory=dict)
    _reach: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rules_by_fact: dict[str, Rule] = {r.fact: r for r in self.g.rules if r.kind == "derive" and r.fact}

    # ------------------------------------------------------------------ facts and terms

    def fact(self, name: str) -> Term:
        if name in self.rules_by_fact:
            if name not in self._derived:
                self._derived[name] = self._define(f"{self.prefix}derived!{name}", self._derive(self.rules_by_fact[name]))
            return self._derived[name]
        return self.space.var(name)

    def _define(self, key: str, t: Term) -> Term:
        """A fresh variable defined as `t` (a base-level axiom): queries stay small and the
        solver internalises each definition once."""
        ax = self.space.axioms
        if isinstance(t, B):
            vt, vf = z3.Bool(key + "!t"), z3.Bool(key + "!f")
            ax += [vt == t.t, vf == t.f]
            return B(vt, vf)
        if isinstance(t, S):
            k = z3.Bool(key + "!k")
            ax.append(k == t.k)
            mem = {}
            for v, m in t.m.items():
                mv = z3.Bool(f"{key}!{v}")
                ax.append(mv == m)
                mem[v] = mv
            return S(mem, k)
        k = z3.Bool(key + "!k")
        v = z3.Real(key) if isinstance(t, N) else z3.Int(key)
        ax += [k == t.k, v == t.v]
        return N(v, k) if isinstance(t, N) else E(v, k)

    def _derive(self, rule: Rule) -> Term:
        spec = rule.spec
        assert spec is not None
        if rule.value is not None:
            return self.term(rule.value.expr)
        branches: list[tuple[Any, Term]] = []  # (condition to pick this value, value term)
        before: list[Any] = []
        for case in rule.cases:
            w = self.bool(case.when.expr)
            branches.append((z3.And(*before, w.t), self.term(case.value.expr)))
            before.append(w.f)
        other = self.term(rule.otherwise.expr) if rule.otherwise is not None else None
        all_false = z3.And(*before) if before else z3.BoolVal(True)
        if spec.type == "boolean":
            ts = [z3.And(c, v.t) for c, v in branches if isinstance(v, B)]
            fs = [z3.And(c, v.f) for c, v in branches if isinstance(v, B)]
            if isinstance(other, B):
                ts.append(z3.And(all_false, other.t))
                fs.append(z3.And(all_false, other.f))
            return B(z3.Or(ts) if ts else z3.BoolVal(False), z3.Or(fs) if fs else z3.BoolVal(False))
        ks = [z3.And(c, known(v)) for c, v in branches]
        if other is not None:
            ks.append(z3.And(all_false, known(other)))
        k = z3.Or(ks) if ks else z3.BoolVal(False)
        if spec.type == "set":
            vals = spec.values
            mem: dict[str, Any] = {}
            for val in vals:
                expr = _member(other, val) if other is not None else z3.BoolVal(False)
                for c, v in reversed(branches):
                    expr = z3.If(c, _member(v, val), expr)
                mem[val] = expr
            return S(mem, k)
        cls = N if fact_type(spec.type).ordered else E
        default: Any = other.v if isinstance(other, (N, E)) else (z3.RealVal(0) if cls is N else z3.IntVal(0))
        expr = default
        for c, v in reversed(branches):
            vv = v.v if isinstance(v, (N, E)) else default
            expr = z3.If(c, vv, expr)
        return cls(expr, k)

    def bool(self, e: Expr) -> B:
        t = self.term(e)
        if not isinstance(t, B):
            raise TypeError(f"not a condition: {type(t).__name__}")
        return t

    def term(self, e: Expr) -> Term:
        sp = self.space
        if isinstance(e, Const):
            v = e.value
            if isinstance(v, bool):
                return B(z3.BoolVal(v), z3.BoolVal(not v))
            if isinstance(v, (int, float, _dt.date)):
                return N(num(v), z3.BoolVal(True))
            return E(z3.IntVal(sp.sid(str(v))), z3.BoolVal(True))
        if isinstance(e, (Fact, Word)):
            return self.fact(e.name)
        if isinstance(e, Not):
            b = self.bool(e.operand)
            return B(b.f, b.t)
        if isinstance(e, BoolOp):
            bs = [self.bool(o) for o in e.operands]
            if e.op == "and":
                return B(z3.And([b.t for b in bs]), z3.Or([b.f for b in bs]))
            return B(z3.Or([b.t for b in bs]), z3.And([b.f for b in bs]))
        if isinstance(e, Cmp):
            return self._cmp(e)
        if isinstance(e, In):
            return self._in(e)
        if isinstance(e, ListLit):
            members = {str(i.value): z3.BoolVal(True) for i in e.items if isinstance(i, Const)}
            return S(members, z3.BoolVal(True))
        if isinstance(e, Arith):
            la, ra = self.term(e.left), self.term(e.right)
            assert isinstance(la, N) and isinstance(ra, N)
            ops = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y}
            return N(ops[e.op](la.v, ra.v), z3.And(la.k, ra.k))
        if isinstance(e, Neg):
            a = self.term(e.operand)
            assert isinstance(a, N)
            return N(-a.v, a.k)
        if isinstance(e, Call):
            return self._call(e)
        raise TypeError(f"cannot encode {type(e).__name__}")  # pragma: no cover

    def _cmp(self, e: Cmp) -> B:
        a, b = self.term(e.left), self.term(e.right)
        op = e.op
        if isinstance(a, B) and isinstance(b, B):
            eq_t = z3.Or(z3.And(a.t, b.t), z3.And(a.f, b.f))
            eq_f = z3.Or(z3.And(a.t, b.f), z3.And(a.f, b.t))
            return B(eq_t, eq_f) if op == "==" else B(eq_f, eq_t)
        k = z3.And(known(a), known(b))
        if isinstance(a, S) or isinstance(b, S):
            assert isinstance(a, S) and isinstance(b, S)
            keys = set(a.m) | set(b.m)
            same = z3.And([a.m.get(x, z3.BoolVal(False)) == b.m.get(x, z3.BoolVal(False)) for x in keys])
            c = same if op == "==" else z3.Not(same)
        else:
            x, y = a.v, b.v  # type: ignore[union-attr]
            c = {"==": lambda: x == y, "!=": lambda: x != y, "<": lambda: x < y, "<=": lambda: x <= y, ">": lambda: x > y, ">=": lambda: x >= y}[op]()
        return B(z3.And(k, c), z3.And(k, z3.Not(c)))

    def _in(self, e: In) -> B:
        item = self.term(e.item)
        if isinstance(e.container, ListLit):
            consts = [i.value for i in e.container.items if isinstance(i, Const)]
            if isinstance(item, B):
                parts = [item.t if c is True else item.f for c in consts if isinstance(c, bool)]
                mem_t = z3.Or(parts) if parts else z3.BoolVal(False)
                res = B(mem_t, z3.And(known(item), z3.Not(mem_t)))
            elif isinstance(item, N):
                c = z3.Or([item.v == num(x) for x in consts]) if consts else z3.BoolVal(False)
                res = B(z3.And(item.k, c), z3.And(item.k, z3.Not(c)))
            else:
                assert isinstance(item, E)
                c = z3.Or([item.v == self.space.sid(str(x)) for x in consts]) if consts else z3.BoolVal(False)
                res = B(z3.And(item.k, c), z3.And(item.k, z3.Not(c)))
        else:
            cont = self.term(e.container)
            assert isinstance(cont, S)
            k = z3.And(known(item), cont.k)
            if isinstance(e.item, Const):
                c = cont.m.get(str(e.item.value), z3.BoolVal(False))
            else:
                assert isinstance(item, E)
                c = z3.Or([z3.And(item.v == self.space.sid(v), m) for v, m in cont.m.items()]) if cont.m else z3.BoolVal(False)
            res = B(z3.And(k, c), z3.And(k, z3.Not(c)))
        return B(res.f, res.t) if e.negated else res

    def _call(self, e: Call) -> Term:
        f = e.func
        if f in ("known", "unknown"):
            k = known(self.term(e.args[0]))
            return B(k, z3.Not(k)) if f == "known" else B(z3.Not(k), k)
        args = [self.term(a) for a in e.args]
        if f in ("min", "max"):
            ns = [a for a in args if isinstance(a, N)]
            acc = ns[0].v
            for x in ns[1:]:
                acc = z3.If(x.v < acc, x.v, acc) if f == "min" else z3.If(x.v > acc, x.v, acc)
            return N(acc, z3.And([x.k for x in ns]))
        if f == "abs":
            one = args[0]
            assert isinstance(one, N)
            return N(z3.If(one.v >= 0, one.v, -one.v), one.k)
        if f == "count":
            s = args[0]
            assert isinstance(s, S)
            total = z3.Sum([z3.If(m, z3.RealVal(1), z3.RealVal(0)) for m in s.m.values()]) if s.m else z3.RealVal(0)
            return N(total, s.k)
        if f == "days_between":
            d1, d2 = args
            assert isinstance(d1, N) and isinstance(d2, N)
            return N(d2.v - d1.v, z3.And(d1.k, d2.k))
        raise TypeError(f"cannot encode function {f}")  # pragma: no cover

    # ------------------------------------------------------------------ the flow

    def edges(self, node: Node) -> Edges:
        if node.id in self._edges:
            return self._edges[node.id]
        terms = []
        for i, b in enumerate(node.branches):
            t = self._define(f"{self.prefix}branch!{node.id}!{i}", self.bool(b.when.expr))
            assert isinstance(t, B)
            terms.append(t)
        all_false = z3.And([t.f for t in terms]) if terms else z3.BoolVal(True)
        unk = [z3.And(z3.Not(t.t), z3.Not(t.f)) for t in terms]
        if node.exclusive:
            blocked = z3.And(z3.Not(z3.Or([t.t for t in terms])), z3.Or(unk)) if terms else z3.BoolVal(False)
        else:
            parts = []
            for i, u in enumerate(unk):
                parts.append(z3.And(*[terms[j].f for j in range(i)], u))
            blocked = z3.Or(parts) if parts else z3.BoolVal(False)
        ed = Edges(terms, all_false, blocked)
        self._edges[node.id] = ed
        return ed

    def taken(self, node: Node, index: int) -> Any:
        """The condition under which the walk follows branch `index` out of `node`."""
        ed = self.edges(node)
        if node.exclusive:
            return ed.terms[index].t
        return z3.And(*[ed.terms[j].f for j in range(index)], ed.terms[index].t)

    def reach(self, starts: tuple[str, ...] | None = None) -> dict[str, Any]:
        """For each node, the condition under which the walk definitely arrives there
        (from any of `starts`; default: every flowchart's start node)."""
        if starts is None:
            starts = tuple(dict.fromkeys(fc.start for fc in self.g.flowcharts.values() if fc.start in self.g.nodes))
        if starts in self._reach:
            return self._reach[starts]
        incoming: dict[str, list[Any]] = {n: [] for n in self.g.nodes}
        order = topological_nodes(self.g)
        r: dict[str, Any] = {}
        for nid in order:
            parts = list(incoming[nid])
            if nid in starts:
                parts.append(z3.BoolVal(True))
            if not parts:
                r[nid] = z3.BoolVal(False)
            else:
                rv = z3.Bool(f"{self.prefix}reach!{'|'.join(starts)}!{nid}")
                self.space.axioms.append(rv == z3.Or(parts))
                r[nid] = rv
            node = self.g.nodes[nid]
            if node.kind == "decision":
                for i, b in enumerate(node.branches):
                    if b.to in incoming:
                        incoming[b.to].append(z3.And(r[nid], self.taken(node, i)))
                if node.otherwise and node.otherwise in incoming:
                    incoming[node.otherwise].append(z3.And(r[nid], self.edges(node).otherwise))
            elif node.kind == "action" and node.next and node.next in incoming:
                incoming[node.next].append(r[nid])
        self._reach[starts] = r
        return r

    # ------------------------------------------------------------------ static helpers

    def base_facts(self, names: Iterable[str]) -> list[str]:
        out: dict[str, None] = {}
        for n in names:
            for b in self.g.base_inputs(n):
                if b in self.space.specs:
                    out.setdefault(b, None)
        return list(out)

    def node_facts(self, node: Node) -> list[str]:
        return self.base_facts(f for b in node.branches for f in b.when.facts)

    def path_facts(self, nid: str) -> list[str]:
        """Base facts read by the decisions that can lead to `nid`, and by `nid` itself."""
        preds: dict[str, set[str]] = {n: set() for n in self.g.nodes}
        for n in self.g.nodes.values():
            for t in n.targets():
                if t in preds:
                    preds[t].add(n.id)
        seen, todo = set(), [nid]
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            todo.extend(preds[x])
        out: dict[str, None] = {}
        for x in self.g.nodes:
            if x in seen and self.g.nodes[x].kind == "decision":
                for f in self.node_facts(self.g.nodes[x]):
                    out.setdefault(f, None)
        return list(out)


def _member(t: Term | None, val: str) -> Any:
    if isinstance(t, S):
        return t.m.get(val, z3.BoolVal(False))
    return z3.BoolVal(False)


def topological_nodes(g: Guideline) -> list[str]:
    """Nodes in an order where every edge goes forward (cycles are refused at load)."""
    indeg = {n: 0 for n in g.nodes}
    for n in g.nodes.values():
        for t in set(n.targets()):
            if t in indeg:
                indeg[t] += 1
    ready = [n for n in g.nodes if indeg[n] == 0]
    out: list[str] = []
    while ready:
        nid = ready.pop(0)
        out.append(nid)
        for t in dict.fromkeys(g.nodes[nid].targets()):
            if t in indeg:
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
    out += [n for n in g.nodes if n not in out]  # nodes on a cycle: appended, never reached twice
    return out


def thresholds(g: Guideline) -> dict[str, list[tuple[str, float, Any, Any]]]:
    """Per fact, every comparison with a number: (op, value, location, owner) where owner is
    the node id or rule id. Comparisons are normalised to `fact OP const`."""
    flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
    out: dict[str, list[tuple[str, float, Any, Any]]] = {}

    def scan(expr: Expr, loc: Any, owner: str) -> None:
        for e in iter_nodes(expr):
            if not isinstance(e, Cmp):
                continue
            if isinstance(e.left, Fact) and isinstance(e.right, Const):
                f, op, c = e.left.name, e.op, e.right.value
            elif isinstance(e.right, Fact) and isinstance(e.left, Const):
                f, op, c = e.right.name, flip[e.op], e.left.value
            else:
                continue
            if isinstance(c, bool) or not isinstance(c, (int, float)):
                continue
            out.setdefault(f, []).append((op, float(c), loc, owner))

    for n in g.nodes.values():
        for b in n.branches:
            scan(b.when.expr, b.when.location, n.id)
    for r in g.rules:
        for c in [x for case in r.cases for x in (case.when, case.value)] + [x for x in (r.value, r.otherwise, r.when) if x is not None]:
            scan(c.expr, c.location, r.id)
    return out
