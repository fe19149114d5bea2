"""`guidewalk lint`: exact checks of every decision over the declared fact domains.

Each check is a small generator of :class:`Finding` objects. Errors (exit 1): a *gap* (a
patient who reaches a decision satisfies no branch and there is no otherwise, or a derived
fact the decision reads has no value although every input is known) and an *overlap* (a
patient satisfies two branches of an exclusive decision). Warnings: unreachable nodes and
branches (contradictory path conditions), dead ends, cycles, facts declared but never read,
derived facts never used, rules that can leave their fact without a value, thresholds that
differ from the same threshold elsewhere. Info: which single missing fact stops the walk at
each decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import z3

from ..errors import LoadError, Location
from ..expressions import iter_nodes, readable
from ..model import Guideline, Node
from .smt import Encoder, thresholds, topological_nodes
from .space import N, known, space_for
from .witness import Checker, format_patient

__all__ = ["Finding", "lint", "SEVERITY_ORDER"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class Finding:
    kind: str
    severity: str
    guideline: str
    location: Location
    message: str
    node: str | None = None
    witness: dict[str, Any] | None = None
    branches: list[dict[str, Any]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "guideline": self.guideline,
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "message": self.message,
        }
        if self.node:
            out["node"] = self.node
        if self.witness is not None:
            out["witness"] = self.witness
        if self.branches:
            out["branches"] = self.branches
        if self.facts:
            out["facts"] = self.facts
        return out

    def text(self) -> str:
        lines = [f"{self.location}: {self.severity}: {self.kind}: {self.message}"]
        for b in self.branches:
            lines.append(f"    branch {b['index'] + 1} ({b['location']}): {b['when']}")
        if self.witness is not None:
            lines.append(f"    patient: {format_patient(self.witness)}")
        return "\n".join(lines)


class _Lint:
    def __init__(self, g: Guideline):
        self.g = g
        self.space = space_for(g)
        self.enc = Encoder(g, self.space)
        self.chk = Checker(self.space)
        self.all = self.chk.everyone_known()
        self.reach = self.enc.reach()
        self.prefer: dict[str, list[float]] = {}
        for f, items in thresholds(g).items():
            for _op, c, _loc, _owner in items:
                for base in self.enc.base_facts([f]):
                    self.prefer.setdefault(base, []).append(c)

    def finding(self, kind: str, severity: str, loc: Location, message: str, **kw: Any) -> Finding:
        return Finding(kind, severity, self.g.id, loc, message, **kw)

    def branch_info(self, node: Node, i: int) -> dict[str, Any]:
        b = node.branches[i]
        return {"index": i, "when": b.when.text, "readable": readable(b.when.expr), "to": b.to, "location": str(b.when.location)}

    # ------------------------------------------------------------------ decisions

    def decisions(self, unknowns: bool) -> Iterator[Finding]:
        """Walk the nodes in flow order; a node is reachable when some edge into it is
        feasible (checked at its predecessor), so no separate reachability query is needed."""
        feasible: set[str] = {fc.start for fc in self.g.flowcharts.values()}
        for nid in topological_nodes(self.g):
            node = self.g.nodes[nid]
            if nid not in feasible:
                r = self.reach[nid]
                why = "no flow leads here" if z3.is_false(r) else "the conditions on every path to it contradict each other"
                yield self.finding("unreachable", "warning", node.location, f"node '{nid}' can never be reached: {why}", node=nid)
                continue
            if node.kind == "action" and node.next:
                feasible.add(node.next)
            if node.kind == "decision":
                yield from self.decision(node, self.reach[nid], unknowns, feasible)

    def decision(self, node: Node, r: Any, unknowns: bool, feasible: set[str]) -> Iterator[Finding]:
        enc, chk, A = self.enc, self.chk, self.all
        ed = enc.edges(node)
        facts = enc.path_facts(node.id)
        for i in range(len(node.branches)):
            if chk.sat(r, enc.taken(node, i), assume=A) is None:
                yield self.finding(
                    "dead-branch",
                    "warning",
                    node.branches[i].when.location,
                    f"branch {i + 1} of '{node.id}' can never be taken: its condition contradicts the path to the node"
                    + (" or an earlier branch" if not node.exclusive else ""),
                    node=node.id,
                    branches=[self.branch_info(node, i)],
                )
            else:
                feasible.add(node.branches[i].to)
        falls = chk.sat(r, ed.otherwise, assume=A) is not None
        if not node.otherwise:
            if falls:
                w = chk.witness(z3.And(r, ed.otherwise), facts, self.prefer)
                yield self.finding(
                    "gap",
                    "error",
                    node.location,
                    f"decision '{node.id}': no branch holds and there is no otherwise",
                    node=node.id,
                    witness=w,
                    branches=[self.branch_info(node, i) for i in range(len(node.branches))],
                )
        elif falls:
            feasible.add(node.otherwise)
        else:
            yield self.finding(
                "otherwise-unused",
                "info",
                node.location,
                f"the otherwise of '{node.id}' is never taken: the branches cover every patient who gets here",
                node=node.id,
            )
        stuck = z3.And(r, ed.blocked)
        if chk.sat(stuck, assume=A) is not None:
            w = chk.witness(stuck, facts, self.prefer, definite=False)
            derived = [f for b in node.branches for f in b.when.facts if f in enc.rules_by_fact]
            yield self.finding(
                "gap",
                "error",
                node.location,
                f"decision '{node.id}': every fact is known, yet no branch holds and a branch has no value"
                + (f" (derived facts read: {', '.join(dict.fromkeys(derived))}; a rule leaves them without a value)" if derived else ""),
                node=node.id,
                witness=w,
            )
        if node.exclusive and len(node.branches) > 1:
            yield from self.overlaps(node, r, facts)
        if unknowns:
            yield from self.unknowns(node, r)

    def overlaps(self, node: Node, r: Any, facts: list[str]) -> Iterator[Finding]:
        ed = self.enc.edges(node)
        pairs = [(i, j) for i in range(len(ed.terms)) for j in range(i + 1, len(ed.terms))]
        while pairs:
            m = self.chk.sat(r, z3.Or([z3.And(ed.terms[i].t, ed.terms[j].t) for i, j in pairs]), assume=self.all, model=True)
            if m is None:
                return
            hit = [(i, j) for i, j in pairs if z3.is_true(m.eval(z3.And(ed.terms[i].t, ed.terms[j].t), model_completion=True))]
            if not hit:  # pragma: no cover - the model satisfies the disjunction
                return
            for i, j in hit:
                pairs.remove((i, j))
                w = self.chk.witness(z3.And(r, ed.terms[i].t, ed.terms[j].t), facts, self.prefer)
                yield self.finding(
                    "overlap",
                    "error",
                    node.location,
                    f"decision '{node.id}' promises exclusive branches, but branches {i + 1} and {j + 1} both hold",
                    node=node.id,
                    witness=w,
                    branches=[self.branch_info(node, i), self.branch_info(node, j)],
                )

    def unknowns(self, node: Node, r: Any) -> Iterator[Finding]:
        ed = self.enc.edges(node)
        stops = []
        for f in self.enc.node_facts(node):
            assume = self.chk.everyone_known(except_=f)
            if self.chk.sat(r, ed.blocked, assume=assume) is not None:
                stops.append(f)
        if stops:
            yield self.finding(
                "unknowns",
                "info",
                node.location,
                f"the walk stops at '{node.id}' (needs facts) when any one of these is missing: {', '.join(stops)}",
                node=node.id,
                facts=stops,
            )

    # ------------------------------------------------------------------ rules

    def rules(self) -> Iterator[Finding]:
        read_by = self._readers()
        for rule in self.g.rules:
            if rule.kind != "derive" or not rule.fact or not rule.cases:
                continue
            if not read_by.get(rule.fact):
                continue
            t = self.enc.fact(rule.fact)
            if self.chk.sat(z3.Not(known(t)), assume=self.all) is not None:
                w = self.chk.witness(z3.Not(known(t)), self.enc.base_facts([rule.fact]), self.prefer, definite=False)
                yield self.finding(
                    "rule-gap",
                    "warning",
                    rule.location,
                    f"rule '{rule.id}' gives '{rule.fact}' no value for some patients with every input known (no case holds, no otherwise); read by {', '.join(sorted(read_by[rule.fact]))}",
                    witness=w,
                )
        for rule in self.g.rules:
            if rule.kind == "derive" and rule.fact and not rule.origin.startswith("score:") and not read_by.get(rule.fact):
                yield self.finding("unused-rule", "warning", rule.location, f"rule '{rule.id}' derives '{rule.fact}', which no decision, rule or alert reads")

    def _readers(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for n in self.g.nodes.values():
            for b in n.branches:
                for f in b.when.facts:
                    out.setdefault(f, set()).add(n.id)
        for r in self.g.rules:
            for f in r.inputs:
                out.setdefault(f, set()).add(r.id)
        return out

    def divisions(self) -> Iterator[Finding]:
        """A division whose divisor can be 0 for a patient within the domains fails the walk."""
        from ..expressions import Arith

        conds = [(b.when, n.id) for n in self.g.nodes.values() for b in n.branches]
        for r in self.g.rules:
            conds += [(c, r.id) for case in r.cases for c in (case.when, case.value)]
            conds += [(c, r.id) for c in (r.value, r.otherwise, r.when) if c is not None]
        for cond, owner in conds:
            for e in iter_nodes(cond.expr):
                if isinstance(e, Arith) and e.op == "/":
                    t = self.enc.term(e.right)
                    if isinstance(t, N) and self.chk.sat(t.k, t.v == 0, assume=self.all) is not None:
                        yield self.finding(
                            "division",
                            "warning",
                            cond.location,
                            f"'{owner}' divides by {readable(e.right)}, which can be 0 within the declared domains (evaluating it would fail)",
                        )

    # ------------------------------------------------------------------ graph and facts

    def graph(self) -> Iterator[Finding]:
        import networkx as nx

        from ..checks import flow_graph

        fg = flow_graph(self.g.nodes)
        for cyc in list(nx.simple_cycles(fg))[:20]:
            yield self.finding("cycle", "error", self.g.nodes[cyc[0]].location, "the flow has a cycle: " + " -> ".join(cyc + [cyc[0]]), node=cyc[0])
        terminal = {n.id for n in self.g.nodes.values() if n.kind == "end" or (n.kind == "action" and not n.next)}
        can_finish: set[str] = set(terminal)
        for t in terminal:
            can_finish |= nx.ancestors(fg, t)
        for n in self.g.nodes.values():
            if n.id not in can_finish:
                yield self.finding("dead-end", "warning", n.location, f"from node '{n.id}' no path leads to an end or a final action", node=n.id)

    def facts(self) -> Iterator[Finding]:
        from .. import _yaml

        try:
            doc = _yaml.load_file(self.g.location.file)
        except LoadError:  # pragma: no cover - it loaded a moment ago
            return
        declared = doc.data.get("facts") if isinstance(doc.data, dict) else None
        if not isinstance(declared, list):
            return
        read: set[str] = set()
        for n in self.g.nodes.values():
            for b in n.branches:
                for f in b.when.facts:
                    read.update(self.g.base_inputs(f))
        for r in self.g.rules:
            for f in r.inputs:
                read.update(self.g.base_inputs(f))
        for j, f in enumerate(declared):
            if isinstance(f, str) and f not in read:
                yield self.finding("unused-fact", "warning", doc.where(("facts", j)), f"fact '{f}' is declared under facts: but no decision or rule reads it")

    def thresholds(self) -> Iterator[Finding]:
        by_fact = thresholds(self.g)
        rule_origin = {r.id: r.origin for r in self.g.rules}
        for fact, items in sorted(by_fact.items()):
            spec = self.g.spec(fact)
            if spec is None or spec.type not in ("integer", "number"):
                continue
            norm: list[tuple[float, str, Any, str, str]] = []  # (boundary, owner side, loc, owner, as written)
            for op, c, loc, owner in items:
                if rule_origin.get(owner, "guideline").startswith("score:") or op in ("==", "!="):
                    continue
                written = f"{fact} {op} {_n(c)}"
                if spec.type == "integer":  # x > 70 and x >= 80 are the same test in steps of 10
                    step = spec.step or 1
                    if op == ">":
                        op, c = ">=", c + step
                    elif op == "<=":
                        op, c = "<", c + step
                side = "upper" if op in (">=", "<") else "lower"
                norm.append((c, side, loc, owner, written))
            seen: set[tuple[Any, ...]] = set()
            for a in norm:
                for b in norm:
                    if a[3] == b[3] or (a[0], a[1]) >= (b[0], b[1]):
                        continue
                    key = (a[0], a[1], b[0], b[1])
                    if key in seen:
                        continue
                    if a[0] == b[0] and a[1] != b[1]:
                        seen.add(key)
                        up, low = (a, b) if a[1] == "upper" else (b, a)
                        yield self.finding(
                            "threshold",
                            "warning",
                            b[2],
                            f"{fact} = {_n(a[0])} belongs to the upper side at '{up[3]}' ({up[4]}, {up[2]}) but to the lower side at '{low[3]}' ({low[4]}, {low[2]}); check which the guideline means",
                        )
                    elif a[0] != b[0] and abs(a[0] - b[0]) <= 0.15 * max(abs(a[0]), abs(b[0])):
                        seen.add(key)
                        yield self.finding(
                            "threshold",
                            "warning",
                            b[2],
                            f"{fact}: '{b[4]}' at '{b[3]}' and '{a[4]}' at '{a[3]}' ({a[2]}) put the boundary at {_n(b[0])} and {_n(a[0])}; same threshold meant?",
                        )


def _n(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def lint(g: Guideline, *, unknowns: bool = True) -> list[Finding]:
    """Every finding for one loaded guideline, errors first, then by place."""
    lt = _Lint(g)
    out: list[Finding] = []
    out += lt.decisions(unknowns)
    out += lt.rules()
    out += lt.divisions()
    out += lt.graph()
    out += lt.facts()
    out += lt.thresholds()
    out.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.location.file, f.location.line, f.location.col, f.kind))
    return out
