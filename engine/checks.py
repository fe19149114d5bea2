"""Structural checks of a loaded flow, as small generators of located problems.

`check_graph` runs at every load, once the nodes themselves are sound (dangling targets are
the loader's): cycles and unreachable nodes (a plain depth-first search, so a one-case run
does not pay networkx's import), and decisions without `otherwise` whose branches visibly
leave a gap on a single fact. `networkx_checks` is the deeper report `guidewalk validate`
adds (every simple cycle, dead ends); `readability_checks` warns where a reader would see code
(a long condition without a `label`) or a card would cut a text (no `summary`). The exact proof over all facts and derived scores is
`guidewalk lint`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import Problem
from .expressions import constants
from .model import FactSpec, Flowchart, Node

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
    """Cycle and reachability check by iterative depth-first search: every load runs it, so it
    stays free of networkx's import cost (`guidewalk validate` adds the networkx analysis)."""
    succ = {n.id: [t for t in n.targets() if t in nodes] for n in nodes.values()}
    colour: dict[str, int] = {}
    for root in nodes:
        if colour.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        trail: list[str] = []
        while stack:
            nid, i = stack.pop()
            if i == 0:
                colour[nid] = 1
                trail.append(nid)
            if i < len(succ[nid]):
                stack.append((nid, i + 1))
                nxt = succ[nid][i]
                if colour.get(nxt) == 1:
                    cycle = trail[trail.index(nxt) :] + [nxt]
                    yield Problem(nodes[nxt].location, "the flow has a cycle: " + " -> ".join(cycle))
                    return
                if not colour.get(nxt):
                    stack.append((nxt, 0))
            else:
                colour[nid] = 2
                trail.pop()
    reached: set[str] = set()
    todo = [f.start for f in flowcharts.values() if f.start in nodes]
    while todo:
        nid = todo.pop()
        if nid not in reached:
            reached.add(nid)
            todo.extend(succ[nid])
    for n in nodes.values():
        if n.id not in reached:
            yield Problem(n.location, f"node '{n.id}' cannot be reached from any flowchart's start")


def networkx_checks(nodes: Mapping[str, Node], flowcharts: Mapping[str, Flowchart]) -> Iterator[Problem]:
    """The author's deeper structural report (used by `guidewalk validate`): every simple
    cycle, and nodes from which no end can be reached (dead ends), computed with networkx."""
    import networkx as nx

    g = flow_graph(nodes)
    for cycle in nx.simple_cycles(g):
        yield Problem(nodes[cycle[0]].location, "the flow has a cycle: " + " -> ".join(cycle + [cycle[0]]))
    terminals = [n.id for n in nodes.values() if not n.targets()]
    can_end: set[str] = set(terminals)
    for t in terminals:
        can_end |= nx.ancestors(g, t)
    for n in nodes.values():
        if n.id not in can_end:
            yield Problem(n.location, f"no end can be reached from node '{n.id}' (dead end)")


#: a branch condition longer than this (as readable text) should carry a `label` in words
LABEL_AFTER = 40


def readability_checks(g: Any) -> Iterator[Problem]:
    """Warnings: a branch whose condition reads as code and has no label; an action, end or
    alert whose text is too long for a card and has no summary."""
    from .format import SUMMARY_LIMIT

    for node in g.nodes.values():
        for i, b in enumerate(node.branches):
            if not b.label and len(b.when.readable) > LABEL_AFTER:
                yield Problem(
                    b.when.location,
                    f"branch {i + 1} of '{node.id}' has no label and its condition reads as code ({b.when.readable[:60]}…): add `label:` in words",
                    "warning",
                )
        if node.kind != "decision" and not node.summary and len(node.text or "") >= SUMMARY_LIMIT:
            yield Problem(
                node.location,
                f"'{node.id}' has a {len(node.text or '')}-character text and no summary: add `summary:` (under {SUMMARY_LIMIT}) for cards",
                "warning",
            )
    for r in g.rules:
        if r.kind == "alert" and r.origin == "guideline" and not r.summary and len(r.text or "") >= SUMMARY_LIMIT:
            yield Problem(
                r.location,
                f"alert '{r.id}' has a {len(r.text or '')}-character text and no summary: add `summary:` (under {SUMMARY_LIMIT}) for cards",
                "warning",
            )


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
