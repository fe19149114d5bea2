"""The exact search for the recommendation nodes still reachable from the facts known so far.

:func:`reachable_nodes` branches on the facts the walk needs, over their representative
values (:mod:`engine.session.analysis`); :func:`decision_outcome` is where one decision goes
for given values (by :func:`engine.walk.choose`, as the walk itself); the helpers give the
base facts a decision reads (the live facts from a node on, and the facts that block it).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..expressions import UNKNOWN
from ..model import Guideline, Node
from ..program import compiled
from ..rules import derive_value, normalise
from ..walk import choose
from .analysis import ReachabilityError, _analyse, fact_points

__all__ = ["reachable_nodes", "search", "Reach", "decision_outcome"]


_ABSENT: Any = object()  # the search's "this fact stays unknown" (known(f) is false)


class _LazyEnv(dict):  # type: ignore[type-arg]
    """Known facts; derived facts computed on first read (rules are acyclic, so the recursion
    through `get` ends). The same values as running every rule in order."""

    def __init__(self, values: Mapping[str, Any], rules: Mapping[str, Any]):
        super().__init__({k: v for k, v in values.items() if v is not _ABSENT})
        self._rules = rules
        self._done: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        rule = self._rules.get(name)
        if rule is None or name in self._done:
            return default
        self._done.add(name)
        value, _ = derive_value(rule, self)
        value = normalise(rule, value)
        if value is UNKNOWN:
            return default
        dict.__setitem__(self, name, value)
        return value

    def __contains__(self, name: object) -> bool:
        return self.get(str(name), UNKNOWN) is not UNKNOWN


def decision_outcome(node: Node, env: Mapping[str, Any]) -> str:
    """Where a decision goes in `env`, by the walker's rules (:func:`engine.walk.choose`): a
    target node id, '?' when the walk would stop for facts, '!' when it would raise (two
    exclusive branches true, or a gap)."""
    chosen, blocking, overlap = choose(node, [b.when.test(env) for b in node.branches])
    if overlap:
        return "!"
    if chosen is not None:
        return node.branches[chosen].to
    if blocking:
        return "?"
    return node.otherwise or "!"


def _recommendation_closure(g: Guideline) -> dict[str, frozenset[str]]:
    """For every node, the action/end nodes reachable from it in the graph (itself included)."""
    memo: dict[str, frozenset[str]] = {}

    def visit(nid: str) -> frozenset[str]:
        if nid in memo:
            return memo[nid]
        node = g.nodes[nid]
        acc: set[str] = {nid} if node.kind in ("action", "end") else set()
        for t in node.targets():
            if t in g.nodes:
                acc |= visit(t)
        memo[nid] = frozenset(acc)
        return memo[nid]

    for nid in g.nodes:
        visit(nid)
    return memo


def reachable_nodes(g: Guideline, known: Mapping[str, Any], flowchart: str | None = None, free: Iterable[str] | None = None) -> list[str]:
    """The action and end nodes that some assignment of the facts missing from `known`
    (typed values, as :func:`engine.facts.coerce` gives them) within their declared domains
    leads the walk to, in graph order. A fact may also stay unknown (that matters where the
    guideline reads ``known(f)``); with `free`, only those facts are open and every other
    missing fact stays unknown.

    The search walks the flow (the guideline's compiled program, with the built-in rules),
    once for every recommendation node not yet found; when the walk stops at a decision whose outcome is unknown, it branches on the first
    fact the walk needs, over that fact's representative values (:func:`fact_points`), and
    continues from that decision (decisions already passed keep their outcome: a known
    Kleene value holds for every completion). Branches that end in a guideline error (a gap,
    two exclusive branches true, a rule that fails) lead nowhere, as for a full case.

    Why this is exact:

    1. *Soundness* — every node reported is reached by a complete walk over an assignment whose
       values all lie within the declared domains (booleans, listed enum/set values, integers on
       the ``min + k*step`` grid within ``[min, max]``, numbers within ``[min, max]``): the
       representative values are drawn from the domain, so each reported node has a witness.
    2. *Completeness* — take any full assignment A reaching node N. For a base fact f used only
       in *atoms* — ``f op c`` with a constant c, ``f in [c1, ...]``, ``c in f`` (sets),
       ``count(f) op c``, ``known(f)``, or f itself as a boolean — the truth of every atom that
       reads f depends only on the *cell* of f's domain cut at the constants the guideline
       compares f with. :func:`engine.checks.domain_points` returns a value from every non-empty
       cell (both ends of the domain and the grid points on either side of, and at, each
       threshold); enums and booleans are enumerated whole; a set is represented by every
       subset of the values the guideline mentions, padded with 0..k unmentioned values when
       ``count()`` reads it. Replacing A(f) by the representative of its cell changes no atom,
       hence no derived fact (rules are functions of atoms, so derived arithmetic such as
       point totals is unchanged), hence no decision: the walk is identical. Facts used in any
       other way (arithmetic on base facts, comparing two facts) are enumerated over their whole
       domain when it is finite and small (FULL_DOMAIN_LIMIT), otherwise
       :class:`ReachabilityError` is raised rather than answering inexactly. So some
       representative assignment A' walks the same path as A. The search enumerates all
       representative values of every fact it branches on, and a fact it does not branch on
       was not read by any decision before the walk completed (the walk only stops on unknown
       outcomes; Kleene logic guarantees that a known outcome holds for every completion). So
       the search meets A'’s path.
    3. *Pruning* never loses a node: a sub-search is skipped only when the recommendations on
       the path so far and every action/end node graph-reachable from the blocking decision
       are already found, or when it repeats a state already searched for the same target
       (same decision, same values of the facts read from there on toward the target). Values
       are tried in an order that leads toward the target first; the order changes how soon a
       node is found, never whether.
    """
    return search(g, known, flowchart, free).nodes


@dataclass
class Reach:
    """What :func:`search` found: the nodes (graph order) and whether the search finished
    (False: it stopped at its deadline; `nodes` are reachable, others may be too)."""

    nodes: list[str]
    complete: bool
    states: int = 0


def search(g: Guideline, known: Mapping[str, Any], flowchart: str | None = None, free: Iterable[str] | None = None, *, deadline: float | None = None) -> Reach:
    """:func:`reachable_nodes`, stopping at `deadline` (a :func:`time.perf_counter` value)
    if it is given and passed: then the nodes found so far, marked incomplete."""
    fc = flowchart or g.entry
    if free is not None:  # only these facts are open; every other missing fact stays unknown
        open_ = set(free)
        known = {**{f: _ABSENT for f in g.dictionary if f not in known and f not in open_}, **known}
    s = _Search(g, deadline)
    start = g.flowcharts[fc].start
    complete = True
    for target in g.nodes:
        if target in s.reach[start] and target not in s.found:
            if not s.run(known, start, target):
                complete = False
                break
    order = {n: i for i, n in enumerate(g.nodes)}
    return Reach(sorted(s.found, key=lambda n: order[n]), complete, s.states)


class _Search:
    """The search for one known state; :meth:`run` looks for a complete walk through one target."""

    def __init__(self, g: Guideline, deadline: float | None):
        self.g = g
        self.a = _analyse(g)
        self.flow = compiled(g)
        self.live = _live_facts(g)
        self.bases = _base_map(g)
        self.reach = _closure(g)
        self.deadline = deadline
        self.found: dict[str, None] = {}
        self.states = 0
        self.memo: dict[Any, bool] = {}

    def walk(self, cur: str | None, values: Mapping[str, Any], recs: list[str]) -> tuple[Node | None, dict[str, Any], Any]:
        """Walk from node `cur` with `values` (appending recommendations to `recs`): the
        decision it stops at (None: complete), the environment, and the derived-fact record;
        raises _Dead when no walk passes (a guideline error for these values)."""
        g, flow, probes = self.g, self.flow, self.a.node_probes
        env = {k: v for k, v in values.items() if v is not _ABSENT}
        dn: dict[str, Any] = {}
        while cur is not None:
            node = g.nodes[cur]
            if node.kind != "decision":
                recs.append(cur)
                cur = node.next if node.kind == "action" else None
                continue
            if any(f not in values for f in probes.get(cur, ())):
                return node, env, dn
            try:
                t = flow.decide[flow.dindex[cur]](env, dn)
            except Exception:  # a rule or condition that fails for these values
                raise _Dead() from None
            if t == -1:
                return node, env, dn
            if t < 0:  # two exclusive branches hold, or a gap
                raise _Dead()
            cur = flow.transitions[t].to
        return None, env, dn

    def run(self, known: Mapping[str, Any], start: str, target: str) -> bool:
        """Depth first, for one complete walk through `target`; every complete walk met on the
        way adds its recommendations to `found`. False when the deadline passed."""
        g, reach, found = self.g, self.reach, self.found
        live, a = self.live, self.a
        toward: dict[str, tuple[str, ...]] = {}

        def live_toward(nid: str) -> tuple[str, ...]:
            """Base facts read by decisions from `nid` on that can still lead to `target`."""
            if nid not in toward:
                acc: set[str] = set()
                node = g.nodes[nid]
                if target in reach[nid]:
                    for b in node.branches:
                        for f in b.when.facts:
                            acc.update(self.bases.get(f, (f,)))
                    for t in node.targets():
                        if t in g.nodes:
                            acc.update(live_toward(t))
                toward[nid] = tuple(sorted(acc))
            return toward[nid]

        seen: set[Any] = set()
        # a state: the node to continue at, the typed values (_ABSENT: stays unknown), the
        # recommendations passed so far
        stack: list[tuple[str | None, dict[str, Any], tuple[str, ...]]] = [(start, dict(known), ())]
        while stack and target not in found:
            self.states += 1
            if self.deadline is not None and not self.states & 63 and time.perf_counter() > self.deadline:
                return False
            cur, values, recs = stack.pop()
            recs_l = list(recs)
            try:
                blocked, env, dn = self.walk(cur, values, recs_l)
            except _Dead:
                continue
            if blocked is None:
                found.update(dict.fromkeys(recs_l))
                continue
            passed = target in recs_l
            if not passed and target not in reach[blocked.id]:
                continue
            if all(n in found for n in recs_l) and reach[blocked.id] <= found.keys():
                continue  # nothing this sub-search could add
            if not passed:
                if not self.reachable_from(blocked.id, values, target, live_toward):
                    continue  # every way to the target is ruled out already
            relevant = live[blocked.id] if passed else live_toward(blocked.id)
            key = (blocked.id, passed, tuple((f, _hashable(values[f])) for f in relevant if f in values))
            if key in seen:
                continue
            seen.add(key)
            probe = next((f for f in a.node_probes.get(blocked.id, ()) if f not in values), None)
            if probe is not None:
                fact, choices = probe, [_ABSENT] + fact_points(g, probe)
            else:  # (the decision's compiled function derived the facts its branches read)
                needs = [f for f in _needs(blocked, env, self.bases) if f not in values]
                if not needs:
                    continue  # only facts that stay unknown would decide it: the walk stops here
                fact, choices = needs[0], fact_points(g, needs[0])
            if not passed:
                choices = self._toward(blocked, values, fact, choices, target, live_toward)
            for v in reversed(choices):
                stack.append((blocked.id, {**values, fact: v}, tuple(recs_l)))
        return True

    def can_reach(self, start: str, values: Mapping[str, Any], target: str) -> bool:
        """Whether `target` is reachable from node `start` over the edges that are not ruled out
        by `values`: a branch whose condition is false, or one that a true branch before it
        (first match) or beside it (exclusive) excludes, is ruled out for every completion of
        `values` (a known Kleene value holds for all of them). A decision that reads ``known(f)``
        of a fact f not decided yet is judged for each way f can be completed (its
        representative values, or staying unknown): what one of them allows is allowed."""
        g, reach, probes, rules = self.g, self.reach, self.a.node_probes, self.a.derive_rules
        env = _LazyEnv(values, rules)
        seen: set[str] = set()
        todo = [start]
        while todo:
            nid = todo.pop()
            if nid == target:
                return True
            if nid in seen or target not in reach[nid]:
                continue
            seen.add(nid)
            node = g.nodes[nid]
            if node.kind != "decision":
                if node.next:
                    todo.append(node.next)
                continue
            open_probes = [f for f in probes.get(nid, ()) if f not in values]
            envs: list[Any] = [env]
            if open_probes:
                try:
                    grids = [[_ABSENT] + fact_points(g, f) for f in open_probes]
                except ReachabilityError:
                    grids = []
                combos = list(itertools.islice(itertools.product(*grids), _PROBE_COMBOS + 1)) if grids else []
                if not combos or len(combos) > _PROBE_COMBOS:
                    todo += node.targets()  # too many ways to complete them: nothing ruled out
                    continue
                envs = [_LazyEnv({**values, **dict(zip(open_probes, combo))}, rules) for combo in combos]
            for e in envs:
                try:
                    vals = [b.when.test(e) for b in node.branches]
                except Exception:  # may not raise for some completion (a short-circuit): open
                    vals = [UNKNOWN] * len(node.branches)
                trues = [i for i, v in enumerate(vals) if v is True]
                for i, (b, v) in enumerate(zip(node.branches, vals)):
                    if v is False:
                        continue
                    if node.exclusive and any(j != i for j in trues):
                        continue
                    if not node.exclusive and any(j < i for j in trues):
                        continue
                    todo.append(b.to)
                if node.otherwise and not trues:
                    todo.append(node.otherwise)
        return False

    def reachable_from(self, nid: str, values: Mapping[str, Any], target: str, live_toward: Any) -> bool:
        """:meth:`can_reach` for the values of a search state, remembered per target and per
        values of the facts read on the way to it."""
        key = (target, nid, tuple(_hashable(values.get(f, _OPEN)) for f in live_toward(nid)))
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = self.can_reach(nid, values, target)
        return hit

    def _toward(self, node: Node, values: Mapping[str, Any], fact: str, choices: list[Any], target: str, live_toward: Any) -> list[Any]:
        """`choices` with those first whose value sends decision `node` toward `target` (then
        those that leave it undecided, then the rest): an order, never a filter."""
        ranked = []
        for i, v in enumerate(choices):
            ranked.append((0 if self.reachable_from(node.id, {**values, fact: v}, target, live_toward) else 1, i, v))
        ranked.sort(key=lambda x: (x[0], x[1]))
        return [v for _, _, v in ranked]


class _Dead(Exception):
    pass


_OPEN: Any = object()  # a fact not decided yet (in memo keys)
_PROBE_COMBOS = 256  # ways to complete the open facts a decision reads through known() that are tried


def _closure(g: Guideline) -> dict[str, frozenset[str]]:
    a = _analyse(g)
    if not a.closure:
        a.closure = _recommendation_closure(g)
    return a.closure


def _hashable(v: Any) -> Any:
    if v is _ABSENT:
        return ("<absent>",)
    return tuple(sorted(v)) if isinstance(v, frozenset) else v


def _base_map(g: Guideline) -> dict[str, tuple[str, ...]]:
    a = _analyse(g)
    if not a.bases:
        names = set(g.derived) | set(g.dictionary)
        a.bases = {n: g.base_inputs(n) for n in names}
    return a.bases


def _live_facts(g: Guideline) -> dict[str, tuple[str, ...]]:
    """For every node, the base facts that the walk may read at it or after it (sorted)."""
    a = _analyse(g)
    if a.live:
        return a.live
    bases = _base_map(g)
    memo: dict[str, frozenset[str]] = {}

    def visit(nid: str) -> frozenset[str]:
        if nid in memo:
            return memo[nid]
        node = g.nodes[nid]
        acc: set[str] = set()
        for b in node.branches:
            for f in b.when.facts:
                acc.update(bases.get(f, (f,)))
        for t in node.targets():
            if t in g.nodes:
                acc |= visit(t)
        memo[nid] = frozenset(acc)
        return memo[nid]

    a.live = {nid: tuple(sorted(visit(nid))) for nid in g.nodes}
    return a.live


def _needs(node: Node, env: Mapping[str, Any], bases: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The base facts the walker would report for a blocked decision (same order as walk.py;
    the blocking branches are those :func:`engine.walk.choose` gives)."""
    _, blocking, _ = choose(node, [b.when.test(env) for b in node.branches])
    out: dict[str, None] = {}
    for i in blocking:
        for f in node.branches[i].when.facts:
            if env.get(f, UNKNOWN) is UNKNOWN:
                for base in bases.get(f, (f,)):
                    if base not in env:
                        out.setdefault(base, None)
    return list(out)
