"""The interactive session: one case being stepped through, the answers so far and the verbs over them.

Modelled on lark's ``InteractiveParser``: the session holds the answers given so far and
offers a few verbs over them —

* :meth:`Session.pending` — the facts that would decide the decision the walk is blocked on
  (question, type, unit, valid range or values, help, and the node's guideline text), in the
  order to ask them; only facts whose answer can change that decision's outcome are listed;
* :meth:`Session.answer` — validate one answer with :func:`engine.facts.coerce`; a bad value
  raises :class:`AnswerError` (a ``GuidewalkError`` and a ``ValueError``) with the reason and
  changes nothing;
* :meth:`Session.undo`, :meth:`Session.copy` (a what-if fork), :meth:`Session.result` (the
  same :class:`~engine.trace.Result` as ``guidewalk run`` for the same facts);
* :meth:`Session.reachable` — the recommendation nodes still reachable given the facts known
  so far, computed exactly (see :func:`~engine.session.reachable.reachable_nodes`).

Answers that the walk no longer needs (e.g. after an earlier answer was changed) are kept in
the case and listed in ``Result.unused_facts``.
"""

from __future__ import annotations

import copy as _copy
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import GuidewalkError, RunError, suggest
from ..expressions import UNKNOWN, Call, Expr, Fact, Word, iter_nodes, readable
from ..facts import BadValue, check_facts, coerce, to_json_value
from ..model import Guideline, Node
from ..program import compiled
from ..rules import RulesBackend
from ..trace import Result
from .analysis import ReachabilityError, _analyse, fact_points
from .reachable import Reach, _hashable, _LazyEnv, reachable_nodes, search

__all__ = ["Session", "Pending", "AnswerError", "DECISIVE_BUDGET", "REACH_SECONDS", "first_page"]

#: How many completions of the other blocking facts `pending()` tries per fact before it
#: keeps the fact without proof that it matters (keeping is the safe side: it may be asked).
DECISIVE_BUDGET = 5_000


#: How long (wall clock) :meth:`Session.reachable` searches after answers before it returns
#: what it found, marked partial (a stepper page stays responsive under load).
REACH_SECONDS = 0.4

_REACH_CACHE: dict[Any, Reach] = {}  # shared by all sessions: the result is a pure function
_REACH_LOCK = threading.Lock()


class AnswerError(GuidewalkError, ValueError):
    """An answer was refused; the session is unchanged."""

    def __init__(self, fact: str, message: str):
        super().__init__(f"{fact}: {message}")
        self.fact = fact
        self.reason = message


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

    def copy(self) -> Session:
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
            node=f"alert:{rule.id}",
            node_question=f"Does this alert apply? {rule.text}",
            node_title=None,
            node_note=rule.note,
            node_source=rule.source.short() if rule.source else None,
            node_source_url=rule.source.url if rule.source else None,
            branches=(readable(rule.when.expr),),
            fact_source=spec.source.short() if spec.source else None,
        )

    def _decisive_test(self, test: Any, fact: str, cands: list[str]) -> bool:
        """Whether answering `fact` can change whether an alert's condition holds."""
        return self._can_change(fact, cands, lambda env: test(env) is True, DECISIVE_BUDGET + 1)

    def _decisive(self, node: Node, fact: str, needs: list[str]) -> bool:
        """Whether answering `fact` can change where `node` goes (to which branch, or whether
        the walk can go on at all) for some values of the other blocking facts, each of which
        may itself stay unknown. Exhaustive over representative values (exact for the same
        reason as :func:`reachable_nodes`); past DECISIVE_BUDGET completions the fact is kept."""
        flow = compiled(self.guideline)
        decide, transitions = flow.decide[flow.dindex[node.id]], flow.transitions

        def outcome(env: Any) -> str:  # decision_outcome, by the decision's compiled function
            t = decide(dict(env), {})
            return transitions[t].to if t >= 0 else "?" if t == -1 else "!"

        return self._can_change(fact, needs, outcome, DECISIVE_BUDGET, lazy=False)

    def _can_change(self, fact: str, cands: list[str], outcome: Callable[[Any], Any], budget: int, *, lazy: bool = True) -> bool:
        """Whether some value of `fact` (or leaving it unknown) changes `outcome` for some
        completion of the other candidate facts; after `budget` completions the answer is
        "yes" (cannot prove it irrelevant: keep the question). `outcome` reads the facts as a
        mapping whose derived facts are computed when read (`lazy`), or as the plain facts."""
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
                seen.add(outcome(_LazyEnv(env, rules) if lazy else env))
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
        :func:`reachable_nodes`). Facts answered 'unknown' range over their whole domain.

        Before any answer the list is the flowchart's first page, computed once per guideline
        version and kept (in memory and in the cache folder); after answers the search stops
        at :data:`REACH_SECONDS`, and :meth:`reachable_complete` then says the list may be
        partial (every node listed is reachable; others may be too)."""
        return list(self._reach().nodes)

    def reachable_complete(self) -> bool:
        """Whether :meth:`reachable` is the whole list (False: the search hit its time limit)."""
        return self._reach().complete

    def _reach(self) -> Reach:
        if "reachable" not in self._cache:
            typed = self._typed()
            key = (id(self.guideline), self.guideline.sha256, self.flowchart, tuple(sorted((k, repr(_hashable(v))) for k, v in typed.items())))
            with _REACH_LOCK:
                hit = _REACH_CACHE.get(key)
            if hit is None:
                if typed:
                    hit = search(self.guideline, typed, self.flowchart, deadline=time.perf_counter() + REACH_SECONDS)
                else:
                    hit = Reach(first_page(self.guideline, self.flowchart), True)
                if hit.complete:
                    with _REACH_LOCK:
                        _REACH_CACHE[key] = hit
                        while len(_REACH_CACHE) > 4096:
                            _REACH_CACHE.pop(next(iter(_REACH_CACHE)))
            self._cache["reachable"] = hit
        out: Reach = self._cache["reachable"]
        return out


def first_page(g: Guideline, flowchart: str) -> list[str]:
    """The nodes reachable before any answer (exact): shipped with a shipped guideline
    (:mod:`.first_pages`), else computed once per guideline version and kept in the cache
    folder (:mod:`engine.cache`)."""
    from .. import cache
    from .first_pages import shipped

    page = shipped(g, flowchart)
    if page is not None:
        return page
    entry = cache.key("reachable", g.sha256, flowchart, g.overlays)
    hit = cache.get(entry)
    if isinstance(hit, tuple) and all(isinstance(n, str) and n in g.nodes for n in hit):
        return list(hit)
    nodes = reachable_nodes(g, {}, flowchart)
    cache.put(entry, tuple(nodes))
    return nodes


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
