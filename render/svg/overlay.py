"""The case on a drawing: every edge with its stable id, and what one run result marks on them.

:func:`edge_refs` names every edge of a guideline in YAML order (``edge-<from>-<to>``, with
``-2``, ``-3``, ... for repeats); :func:`overlay_from_result` reads a run result (its JSON
form) into an :class:`Overlay`: the steps, the edges taken and tested, where the walk stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guidewalk.engine.contract import ResultJSON
from guidewalk.engine.expressions import readable
from guidewalk.engine.model import Guideline, Node

__all__ = ["EdgeRef", "Overlay", "edge_refs", "overlay_from_result"]


@dataclass(frozen=True)
class EdgeRef:
    """One drawn edge: its stable SVG id, ends, and what it stands for."""

    id: str
    source: str
    target: str
    kind: str  # "branch" | "otherwise" | "next"
    index: int  # branch index (0-based); 0 for otherwise/next
    label: str  # the branch in words (its `label`), else its readable condition; "otherwise" or ""
    condition: str = ""  # the readable condition (a branch's), shown as the edge's tooltip


def edge_refs(g: Guideline) -> list[EdgeRef]:
    """Every edge of the guideline in YAML order, with unique stable ids."""
    out: list[EdgeRef] = []
    seen: dict[str, int] = {}

    def add(src: str, dst: str, kind: str, index: int, label: str, condition: str = "") -> None:
        base = f"edge-{src}-{dst}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        out.append(EdgeRef(base if n == 1 else f"{base}-{n}", src, dst, kind, index, label, condition))

    for node in _ordered_nodes(g):
        for i, b in enumerate(node.branches):
            condition = b.when.readable or readable(b.when.expr)
            add(node.id, b.to, "branch", i, b.label or condition, condition)
        if node.otherwise:
            add(node.id, node.otherwise, "otherwise", 0, "otherwise")
        if node.next:
            add(node.id, node.next, "next", 0, "")
    return out


def _ordered_nodes(g: Guideline) -> list[Node]:
    return [g.nodes[n] for fc in g.flowcharts.values() for n in fc.nodes if n in g.nodes]


@dataclass
class Overlay:
    """What one run result adds to the drawing (built from its JSON form)."""

    status: str
    path: list[str]
    steps: dict[str, list[int]] = field(default_factory=dict)  # node -> step numbers
    taken: set[str] = field(default_factory=set)  # edge ids walked
    evaluated: dict[str, Any] = field(default_factory=dict)  # edge id -> True/False/None on the path
    stopped: str | None = None
    needs: list[str] = field(default_factory=list)
    derived: list[tuple[str, Any, str]] = field(default_factory=list)  # fact, value, rule
    alerts: list[tuple[str, str]] = field(default_factory=list)  # severity, text
    facts: dict[str, Any] = field(default_factory=dict)
    flowchart: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)  # fact, message (invalid facts)


def overlay_from_result(g: Guideline, result: ResultJSON) -> Overlay:
    """The overlay for a run result (`Result.to_json()` or `guidewalk run --format json`)."""
    refs = edge_refs(g)
    by_key = {(e.source, e.kind, e.index): e.id for e in refs}
    ov = Overlay(status=str(result.get("status", "")), path=[str(p) for p in result.get("path", [])], flowchart=str(result.get("flowchart", "")))
    for step in result.get("trace", []):
        node = str(step.get("node"))
        ov.steps.setdefault(node, []).append(int(step.get("step", 0)))
        how = str(step.get("how") or "")
        for i, b in enumerate(step.get("branches", []) or []):
            eid = by_key.get((node, "branch", i))
            if eid:
                ov.evaluated[eid] = b.get("value")
        eid = None
        if how.startswith("branch "):
            try:
                eid = by_key.get((node, "branch", int(how.split()[1]) - 1))
            except ValueError:
                eid = None
        elif how == "otherwise":
            eid = by_key.get((node, "otherwise", 0))
        elif how == "next":
            eid = by_key.get((node, "next", 0))
        if eid:
            ov.taken.add(eid)
    if ov.status == "needs_facts" and ov.path:
        ov.stopped = ov.path[-1]
        ov.needs = [str(n) for n in result.get("needs", [])]
    rules = {d.get("fact"): d.get("rule") for d in result.get("derivations", [])}
    ov.derived = [(str(k), v, str(rules.get(k) or "")) for k, v in (result.get("derived") or {}).items()]
    ov.alerts = [(str(a.get("severity", "")), str(a.get("text", ""))) for a in result.get("alerts", [])]
    ov.facts = dict(result.get("facts") or {})
    ov.errors = [(str(x.get("fact", "")), str(x.get("message", ""))) for x in result.get("errors", []) or []]
    return ov
