"""Structural checks of a loaded flow, as small generators of located problems.

`check_graph` runs at every load once the nodes themselves are sound (dangling targets are
the loader's): cycles, unreachable nodes, and decisions without `otherwise` whose branches
visibly leave a gap on a single fact. The exact proof over all facts and derived scores is
`guidewalk lint`'s job; this is the cheap, always-on part.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from .errors import Problem, suggest
import math

from .expressions import constants
from .model import FactSpec, Flowchart, Node, Rule

__all__ = ["check_graph", "flow_graph", "single_fact_gap"]


def flow_graph(nodes: Mapping[str, Node]) -> Any:
    """The flow as a networkx DiGraph (edges carry the branch index or 'otherwise'/'next')."""
    import networkx as nx

    g = nx.DiGraph()
    for n in nodes.values():
        g.add_node(n.id)
    for n in nodes.values():
        for i, b in enumerate(n.branches):
            if b.to in nodes:
                g.add_edge(n.id, b.to, label=i)
        for attr in ("otherwise", "next"):
            t = getattr(n, attr)
            if t and t in nodes:
                g.add_edge(n.id, t, label=attr)
    return g


def check_graph(flowcharts: Mapping[str, Flowchart], nodes: Mapping[str, Node], scope: Mapping[str, FactSpec]) -> Iterator[Problem]:
    yield from _cycles_and_reach(flowcharts, nodes)
    for n in nodes.values():
        if n.kind == "decision" and not n.otherwise:
            gap = single_fact_gap(n, scope)
            if gap is not None:
                fact, value = gap
                yield Problem(n.location, f"decision '{n.id}' has no otherwise and no branch holds when {fact} = {value}")


def _cycles_and_reach(flowcharts: Mapping[str, Flowchart], nodes: Mapping[str, Node]) -> Iterator[Problem]:
    import networkx as nx

    g = flow_graph(nodes)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        path = " -> ".join([e[0] for e in cycle] + [cycle[-1][1]])
        yield Problem(nodes[cycle[0][0]].location, f"the flow has a cycle: {path}")
    starts = [f.start for f in flowcharts.values() if f.start in nodes]
    reached: set[str] = set()
    for s in starts:
        reached.add(s)
        reached |= nx.descendants(g, s)
    for n in nodes.values():
        if n.id not in reached:
            yield Problem(n.location, f"node '{n.id}' cannot be reached from any flowchart's start")


def single_fact_gap(node: Node, scope: Mapping[str, FactSpec]) -> tuple[str, Any] | None:
    """If every branch reads the same single fact, find a value of its declared domain that
    no branch accepts (a visible gap). Returns (fact, value) or None. Exact for the
    comparisons the language has, because a branch's truth only changes at its constants."""
    facts = {f for b in node.branches for f in b.when.facts}
    if len(facts) != 1 or not node.branches:
        return None
    fact = next(iter(facts))
    spec = scope.get(fact)
    if spec is None:
        return None
    consts = [c for b in node.branches for c in constants(b.when.expr)]
    for v in domain_points(spec, consts):
        env = {fact: v}
        if all(b.when.test(env) is False for b in node.branches):
            return fact, v
    return None


def domain_points(spec: FactSpec, consts: list[Any]) -> list[Any]:
    """Representative values of a fact's domain around the given thresholds: enough that
    any condition built from comparisons with those thresholds takes every truth value it
    can take on the domain."""
    if spec.type == "boolean":
        return [False, True]
    if spec.type == "enum":
        return list(spec.values)
    if spec.type not in ("integer", "number"):
        return []
    nums = sorted({float(c) for c in consts if isinstance(c, (int, float)) and not isinstance(c, bool)})
    lo = spec.min if spec.min is not None else (nums[0] - 1 if nums else 0.0)
    hi = spec.max if spec.max is not None else (nums[-1] + 1 if nums else 0.0)
    pts: set[float] = {lo, hi}
    if spec.type == "integer":
        step = spec.step or 1
        for c in nums:
            k = math.floor((c - lo) / step)
            for kk in (k - 1, k, k + 1, k + 2):
                pts.add(lo + kk * step)
        out = sorted(int(p) for p in pts if lo <= p <= hi)
        return out
    eps = 1e-6
    for c in nums:
        pts.update((c - eps, c, c + eps))
    return sorted(p for p in pts if lo <= p <= hi)
