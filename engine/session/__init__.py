"""A clinician's session with one guideline: ask only what matters next, keep every answer.

Modelled on lark's ``InteractiveParser``: the session holds the answers given so far and
offers a few verbs over them —

* :meth:`Session.pending` — the facts that would decide the decision the walk is blocked on
  (question, type, unit, valid range or values, help, and the node's guideline text), in the
  order to ask them; only facts whose answer can change that decision's outcome are listed;
* :meth:`Session.answer` — validate one answer with :func:`engine.facts.coerce`; a bad value
  raises :class:`AnswerError` (a ``ValueError``) with the reason and changes nothing;
* :meth:`Session.undo`, :meth:`Session.copy` (a what-if fork), :meth:`Session.result` (the
  same :class:`~engine.trace.Result` as ``guidewalk run`` for the same facts);
* :meth:`Session.reachable` — the recommendation nodes still reachable given the facts known
  so far, computed exactly (see :func:`reachable_nodes`).

Answers that the walk no longer needs (e.g. after an earlier answer was changed) are kept in
the case and listed in ``Result.unused_facts``.
"""

from __future__ import annotations

import copy as _copy
import itertools
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..errors import RunError, suggest
from ..expressions import (
    UNKNOWN,
    BoolOp,
    Call,
    Cmp,
    Const,
    Expr,
    Fact,
    In,
    ListLit,
    Not,
    constants,
    iter_nodes,
    Word,
    compile_expr,
    readable,
)
from ..facts import BadValue, check_facts, coerce, to_json_value
from ..model import FactSpec, Guideline, Node
from ..rules import RulesBackend, derive_value, normalise
from ..trace import Result

__all__ = ["Session", "Pending", "AnswerError", "ReachabilityError", "reachable_nodes", "fact_points", "decision_outcome"]

#: A fact whose representative values could not be bounded is enumerated over its whole
#: domain when it has at most this many values.
FULL_DOMAIN_LIMIT = 2000
#: How many completions of the other blocking facts `pending()` tries per fact before it
#: keeps the fact without proof that it matters (keeping is the safe side: it may be asked).
DECISIVE_BUDGET = 5_000


_REACH_CACHE: dict[Any, list[str]] = {}  # shared by all sessions: the result is a pure function
_REACH_LOCK = threading.Lock()


class AnswerError(ValueError):
    """An answer was refused; the session is unchanged."""

    def __init__(self, fact: str, message: str):
        super().__init__(f"{fact}: {message}")
        self.fact = fact
        self.reason = message


class ReachabilityError(ValueError):
    """The guideline uses a fact in a way the exact search cannot enumerate."""


@dataclass(frozen=True)
class Pending:
    """One question the session can ask now."""

    fact: str
    question: str
    type: str
    unit: str | None
    min: float | None
    max: float | None
    step: float | None
    values: tuple[str, ...]
    help: str | None
    domain: str
    node: str  # the decision being decided
    node_question: str | None
    node_title: str | None
    node_note: str | None
    node_source: str | None  # Source.short() of the decision
    node_source_url: str | None
    branches: tuple[str, ...]  # readable conditions of the decision's branches
    fact_source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


# --------------------------------------------------------------------------- representative values


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
    if t in ("date", "string"):
        if non_atomic:
            raise ReachabilityError(f"fact '{spec.name}' ({t}) is compared in a way the exact search cannot enumerate")
        return ["2000-01-01"] if t == "date" else [""]
    raise ReachabilityError(f"fact '{spec.name}' has unsupported type {t}")  # pragma: no cover


# --------------------------------------------------------------------------- evaluation helpers


_ABSENT: Any = object()  # the search's "this fact stays unknown" (known(f) is false)


class _LazyEnv(dict):  # type: ignore[type-arg]
    """Known facts; derived facts computed on first read (rules are acyclic, so the recursion
    through `get` ends). The same values as running every rule in order."""

    def __init__(self, values: Mapping[str, Any], rules: Mapping[str, Any]):
        super().__init__({k: v for k, v in values.items() if v is not _ABSENT})
        self._rules = rules
        self._done: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
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
    """Where a decision goes in `env`, by the walker's rules: a target node id, '?' when the
    walk would stop for facts, '!' when it would raise (two exclusive branches true, or a gap)."""
    values = [b.when.test(env) for b in node.branches]
    if node.exclusive:
        true_ix = [i for i, v in enumerate(values) if v is True]
        if len(true_ix) > 1:
            return "!"
        if true_ix:
            return node.branches[true_ix[0]].to
        if any(v is UNKNOWN for v in values):
            return "?"
    else:
        for i, v in enumerate(values):
            if v is True:
                return node.branches[i].to
            if v is UNKNOWN:
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


def _probe_facts(expr: Expr) -> list[str]:
    out = []
    for e in iter_nodes(expr):
        if isinstance(e, Call) and e.func in ("known", "unknown") and e.args and isinstance(e.args[0], (Fact, Word)):
            out.append(e.args[0].name)
    return out


def _completions(known: Mapping[str, Any], names: list[str], grids: list[list[Any]]) -> Iterator[dict[str, Any]]:
    """Every assignment of `names` (each to one of its values; UNKNOWN = left out), fewest
    assigned first: witnesses that a fact matters are usually found with the others unknown."""
    for k in range(len(names) + 1):
        for subset in itertools.combinations(range(len(names)), k):
            choices = [[v for v in grids[i] if v is not UNKNOWN] for i in subset]
            for combo in itertools.product(*choices):
                env = dict(known)
                for i, v in zip(subset, combo):
                    env[names[i]] = v
                yield env


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
    """The base facts the walker would report for a blocked decision (same order as walk.py)."""
    values = [b.when.test(env) for b in node.branches]
    if node.exclusive:
        blocking = [i for i, v in enumerate(values) if v is UNKNOWN]
    else:
        blocking = []
        for i, v in enumerate(values):
            if v is True:
                break
            if v is UNKNOWN:
                blocking.append(i)
                break
    out: dict[str, None] = {}
    for i in blocking:
        for f in node.branches[i].when.facts:
            if env.get(f, UNKNOWN) is UNKNOWN:
                for base in bases.get(f, (f,)):
                    if base not in env:
                        out.setdefault(base, None)
    return list(out)


# --------------------------------------------------------------------------- the session


class Session:
    """One case being stepped through; see the module docstring."""

    def __init__(self, guideline: Guideline | str, facts: Mapping[str, Any] | None = None, flowchart: str | None = None, rules: RulesBackend | None = None):
        if isinstance(guideline, str):
            from ..load import load_guideline

            guideline = load_guideline(guideline)
        self.guideline: Guideline = guideline
        fc = flowchart or guideline.entry
        if fc not in guideline.flowcharts:
            raise RunError(f"no flowchart '{fc}' (has: {', '.join(guideline.flowcharts)})", guideline=guideline.id)
        self.flowchart: str = fc
        self.rules = rules  # None: the default backend, as `guidewalk run` uses
        self._facts: dict[str, Any] = {}
        self._history: list[dict[str, Any]] = []
        self._cache: dict[str, Any] = {}
        if facts:
            checked = check_facts(facts, guideline.dictionary, guideline.derived)
            if checked.errors:
                raise AnswerError(checked.errors[0].fact, "; ".join(str(e) for e in checked.errors))
            for k, v in facts.items():
                self._facts[str(k)] = to_json_value(coerce(guideline.dictionary[str(k)], v))

    # ---- state

    @property
    def facts(self) -> dict[str, Any]:
        """The answers so far (JSON-able; None = answered 'unknown'), in the order given."""
        return dict(self._facts)

    @property
    def answered(self) -> list[str]:
        return list(self._facts)

    def _typed(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self._facts.items():
            tv = coerce(self.guideline.dictionary[k], v)
            if tv is not UNKNOWN:
                out[k] = tv
        return out

    def answer(self, fact: str, value: Any) -> None:
        """Record one answer (None or 'unknown' = asked, not known). A bad value raises
        AnswerError with the reason and leaves the session unchanged."""
        g = self.guideline
        spec = g.dictionary.get(fact)
        if spec is None:
            if fact in g.derived:
                raise AnswerError(fact, f"is derived by rule '{g.derived[fact].derived_by}' and cannot be answered; answer its inputs instead")
            hint = suggest(fact, g.dictionary)
            raise AnswerError(fact, "is not a fact in the dictionary" + (f" (did you mean '{hint}'?)" if hint else ""))
        if isinstance(value, str) and spec.type == "set" and value.strip().lower() in ("none", "-", "[]"):
            value = []
        try:
            typed = coerce(spec, value)
        except BadValue as exc:
            raise AnswerError(fact, str(exc)) from None
        self._history.append(dict(self._facts))
        new = dict(self._facts)
        new.pop(fact, None)
        new[fact] = to_json_value(typed)
        self._facts = new
        self._cache.clear()

    def undo(self) -> bool:
        """Take back the last answer. False when there is nothing to undo."""
        if not self._history:
            return False
        self._facts = self._history.pop()
        self._cache.clear()
        return True

    def can_undo(self) -> bool:
        return bool(self._history)

    def copy(self) -> "Session":
        """A what-if fork: answers and undo history copied, the guideline shared."""
        other = Session.__new__(Session)
        other.guideline = self.guideline
        other.flowchart = self.flowchart
        other.rules = self.rules
        other._facts = dict(self._facts)
        other._history = _copy.deepcopy(self._history)
        other._cache = {}
        return other

    # ---- queries

    def result(self) -> Result:
        """The walk for the answers so far (`engine.walk.run`, as `guidewalk run` does);
        `unused_facts` lists the answers the path no longer reads."""
        if "result" not in self._cache:
            from ..walk import run

            res = run(self.guideline, self._facts, flowchart=self.flowchart, rules=self.rules)
            res.unused_facts = self._unused(res)
            self._cache["result"] = res
        out: Result = self._cache["result"]
        return out

    def _unused(self, res: Result) -> list[str]:
        g = self.guideline
        read: set[str] = set()
        for step in res.trace:
            node = g.nodes[step.node]
            for b in node.branches:
                read.update(b.when.facts)
        by_id = {r.id: r for r in g.rules}
        for a in res.alerts:
            read.update(by_id[a.rule].inputs)
        used: set[str] = set()
        for f in read:
            used.update(g.base_inputs(f))
        return [f for f in self._facts if f not in used]

    def blocking_node(self) -> Node | None:
        """The decision the walk is stopped at, if any."""
        res = self.result()
        if res.status != "needs_facts" or not res.path:
            return None
        return self.guideline.nodes[res.path[-1]]

    def done(self) -> bool:
        """Nothing left worth asking (complete, or stopped only at facts answered 'unknown')."""
        return not self.pending()

    def pending(self) -> list[Pending]:
        """The facts that would decide the current blocking decision, in asking order.

        The blocking decision is the first decision on the path that reads an unanswered fact
        through known()/unknown() (the walk passes such a decision with the fact taken as not
        known), else the decision the walk stopped at. Facts answered 'unknown' are not asked
        again, and a fact is listed only when some
        values of the other blocking facts (known or not) make two of its answers, or an answer and
        no answer, lead the decision apart (see :meth:`_decisive`)."""
        if "pending" in self._cache:
            cached: list[Pending] = self._cache["pending"]
            return list(cached)
        res = self.result()
        out: list[Pending] = []
        if res.status in ("complete", "needs_facts"):
            a = _analyse(self.guideline)
            unknown = {k for k, v in self._facts.items() if v is None}
            last = len(res.trace) - 1
            for i, step in enumerate(res.trace):
                node = self.guideline.nodes[step.node]
                if node.kind != "decision":
                    continue
                # facts this decision reads through known()/unknown(): the walk passes it
                # without them, so they are asked here, before the decision counts as taken
                cands = [f for f in a.node_probes.get(node.id, ()) if f not in self._facts]
                if i == last and res.status == "needs_facts":
                    cands += [f for f in res.needs if f not in cands]
                asked = [f for f in cands if f not in unknown]  # 'unknown' answers stay unknown
                out = [self._describe(f, node) for f in asked if self._decisive(node, f, asked)]
                if out:
                    break
            if not out:
                out = self._alert_questions(res, unknown)
        self._cache["pending"] = out
        return list(out)

    def _alert_questions(self, res: Result, unknown: set[str]) -> list[Pending]:
        """Once the path asks nothing more: the facts that decide whether an alert holds
        (alerts are part of what the guideline says for this case)."""
        g = self.guideline
        a = _analyse(g)
        known = self._typed()
        env = _LazyEnv(known, a.derive_rules)
        recommended = set(res.actions)
        for rule in g.rules:
            if rule.kind != "alert" or rule.when is None:
                continue
            if rule.if_recommended and not recommended.intersection(rule.if_recommended):
                continue
            probes = sorted({b for f in _probe_facts(rule.when.expr) for b in a.bases.get(f, (f,))} | {p for f in rule.when.facts for p in a.probed.get(f, ())})
            cands = [f for f in probes if f not in self._facts]
            if rule.when.test(env) is UNKNOWN:
                for f in rule.when.facts:
                    if env.get(f, UNKNOWN) is UNKNOWN:
                        cands += [b for b in a.bases.get(f, (f,)) if b not in env and b not in cands]
            asked = [f for f in cands if f not in unknown]
            if not asked:
                continue
            open_ = [f for f in cands if f not in unknown]
            out = [self._describe_alert(f, rule) for f in asked if self._decisive_test(rule.when.test, f, open_)]
            if out:
                return out
        return []

    def _describe_alert(self, fact: str, rule: Any) -> Pending:
        spec = self.guideline.dictionary[fact]
        return Pending(
            fact=fact, question=spec.question or f"{fact}?", type=spec.type, unit=spec.unit, min=spec.min, max=spec.max,
            step=spec.step, values=spec.values, help=spec.help, domain=spec.describe_domain(), node=f"alert:{rule.id}",
            node_question=f"Does this alert apply? {rule.text}", node_title=None, node_note=rule.note,
            node_source=rule.source.short() if rule.source else None, node_source_url=rule.source.url if rule.source else None,
            branches=(readable(rule.when.expr),), fact_source=spec.source.short() if spec.source else None,
        )

    def _decisive_test(self, test: Any, fact: str, cands: list[str]) -> bool:
        """Whether answering `fact` can change whether an alert's condition holds."""
        return self._can_change(fact, cands, lambda env: test(env) is True, DECISIVE_BUDGET + 1)

    def _decisive(self, node: Node, fact: str, needs: list[str]) -> bool:
        """Whether answering `fact` can change where `node` goes (to which branch, or whether
        the walk can go on at all) for some values of the other blocking facts, each of which
        may itself stay unknown. Exhaustive over representative values (exact for the same
        reason as :func:`reachable_nodes`); past DECISIVE_BUDGET completions the fact is kept."""
        return self._can_change(fact, needs, lambda env: decision_outcome(node, env), DECISIVE_BUDGET)

    def _can_change(self, fact: str, cands: list[str], outcome: Callable[[Any], Any], budget: int) -> bool:
        """Whether some value of `fact` (or leaving it unknown) changes `outcome` for some
        completion of the other candidate facts; after `budget` completions the answer is
        "yes" (cannot prove it irrelevant: keep the question)."""
        g = self.guideline
        known = self._typed()
        others = [n for n in cands if n != fact]
        try:
            mine: list[Any] = [UNKNOWN] + fact_points(g, fact)
            grids = [[UNKNOWN] + fact_points(g, n) for n in others]
        except ReachabilityError:
            return True
        rules = _analyse(g).derive_rules
        tried = 0
        for env0 in _completions(known, others, grids):
            seen: set[Any] = set()
            for v in mine:
                env = env0 if v is UNKNOWN else {**env0, fact: v}
                seen.add(outcome(_LazyEnv(env, rules)))
                if len(seen) > 1:
                    return True
            tried += 1
            if tried >= budget:
                return True
        return False

    def _describe(self, fact: str, node: Node) -> Pending:
        spec = self.guideline.dictionary[fact]
        return Pending(
            fact=fact,
            question=spec.question or f"{fact}?",
            type=spec.type,
            unit=spec.unit,
            min=spec.min,
            max=spec.max,
            step=spec.step,
            values=spec.values,
            help=spec.help,
            domain=spec.describe_domain(),
            node=node.id,
            node_question=node.question,
            node_title=node.title,
            node_note=node.note,
            node_source=node.source.short() if node.source else None,
            node_source_url=node.source.url if node.source else None,
            branches=tuple(readable(b.when.expr) for b in node.branches) + ((f"otherwise → {node.otherwise}",) if node.otherwise else ()),
            fact_source=spec.source.short() if spec.source else None,
        )

    def reachable(self) -> list[str]:
        """The action/end nodes still reachable given the facts known so far (exact; see
        :func:`reachable_nodes`). Facts answered 'unknown' range over their whole domain."""
        if "reachable" not in self._cache:
            typed = self._typed()
            key = (id(self.guideline), self.guideline.sha256, self.flowchart, tuple(sorted((k, repr(_hashable(v))) for k, v in typed.items())))
            with _REACH_LOCK:
                hit = _REACH_CACHE.get(key)
            if hit is None:
                hit = reachable_nodes(self.guideline, typed, self.flowchart)
                with _REACH_LOCK:
                    _REACH_CACHE[key] = hit
                    while len(_REACH_CACHE) > 4096:
                        _REACH_CACHE.pop(next(iter(_REACH_CACHE)))
            self._cache["reachable"] = hit
        out: list[str] = self._cache["reachable"]
        return list(out)
