"""The search for the recommendation nodes still reachable as it was before the stepper's
search was compiled (engine/session/reachable.py at the time), kept verbatim as the reference
tests/test_reach_search.py compares the new search with.

The exact search for the recommendation nodes still reachable from the facts known so far.

:func:`reachable_nodes` branches on the facts the walk needs, over their representative
values (:mod:`engine.session.analysis`); :func:`decision_outcome` is where one decision goes
for given values (by :func:`engine.walk.choose`, as the walk itself); the helpers give the
base facts a decision reads (the live facts from a node on, and the facts that block it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from guidewalk.engine.expressions import UNKNOWN
from guidewalk.engine.model import Guideline, Node
from guidewalk.engine.rules import derive_value, normalise
from guidewalk.engine.session.analysis import _analyse, fact_points
from guidewalk.engine.walk import choose

__all__ = ["reachable_nodes", "decision_outcome"]


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

    The search walks the flow with the built-in rules; when the walk stops at a decision whose
    outcome is unknown, it branches on the first fact the walk needs, over that fact's
    representative values (:func:`fact_points`), and continues from that decision (decisions
    already passed keep their outcome: a known Kleene value holds for every completion).
    Branches that end in a guideline error (a gap, two exclusive branches true, a rule that
    fails) lead nowhere, as for a full case.

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
       are already found.
    """
    fc = flowchart or g.entry
    reach = _recommendation_closure(g)
    start = g.flowcharts[fc].start
    found: dict[str, None] = {}
    if free is not None:  # only these facts are open; every other missing fact stays unknown
        open_ = set(free)
        known = {**{f: _ABSENT for f in g.dictionary if f not in known and f not in open_}, **known}
    for target in g.nodes:
        if target in reach[start] and target not in found:
            _search(g, known, start, target, reach, found)
    order = {n: i for i, n in enumerate(g.nodes)}
    return sorted(found, key=lambda n: order[n])


def _search(g: Guideline, known: Mapping[str, Any], start: str, target: str, reach: Mapping[str, frozenset[str]], found: dict[str, None]) -> None:
    """Depth-first search for one complete walk through `target`; every complete walk met on
    the way adds its recommendations to `found`."""
    a = _analyse(g)
    live = _live_facts(g)
    bases = _base_map(g)
    toward: dict[str, tuple[str, ...]] = {}

    def live_toward(nid: str) -> tuple[str, ...]:
        """Base facts read by decisions from `nid` on that can still lead to `target`."""
        if nid not in toward:
            acc: set[str] = set()
            node = g.nodes[nid]
            if target in reach[nid]:
                for b in node.branches:
                    for f in b.when.facts:
                        acc.update(bases.get(f, (f,)))
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
        cur, values, recs = stack.pop()
        env = _LazyEnv(values, a.derive_rules)
        recs_l = list(recs)
        blocked: Node | None = None
        probe: str | None = None
        try:
            while cur is not None:
                node = g.nodes[cur]
                if node.kind != "decision":
                    recs_l.append(cur)
                    cur = node.next if node.kind == "action" else None
                    continue
                open_probes = [f for f in a.node_probes.get(node.id, ()) if f not in values]
                if open_probes:
                    blocked, probe = node, open_probes[0]
                    break
                out = decision_outcome(node, env)
                if out == "!":
                    raise _Dead()
                if out == "?":
                    blocked = node
                    break
                cur = out
        except _Dead:
            continue
        except Exception:  # a rule that fails for these values: no walk passes here
            continue
        if blocked is None:
            for n in recs_l:
                found.setdefault(n, None)
            continue
        passed = target in recs_l
        if not passed and target not in reach[blocked.id]:
            continue
        relevant = live[blocked.id] if passed else live_toward(blocked.id)
        key = (blocked.id, passed, tuple((f, _hashable(values[f])) for f in relevant if f in values))
        if key in seen:
            continue
        seen.add(key)
        if probe is not None:
            fact, choices = probe, [_ABSENT] + fact_points(g, probe)
        else:
            needs = [f for f in _needs(blocked, env, bases) if f not in values]
            if not needs:
                continue  # only facts that stay unknown would decide it: the walk stops here
            fact, choices = needs[0], fact_points(g, needs[0])
        for v in reversed(choices):
            stack.append((blocked.id, {**values, fact: v}, tuple(recs_l)))


class _Dead(Exception):
    pass


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
