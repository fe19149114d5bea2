"""The audit's walk: the guideline's compiled program (:mod:`engine.program`, the one
:func:`engine.walk.run` walks) with the trace off, memoised so that a cohort of a million
patients is cheap; the same recommendations, path and needs as :func:`engine.walk.run`.

How it stays identical to the engine. A decision's outcome depends only on the values of
the base facts its conditions read, directly or through derived facts (their transitive
rule inputs). For every decision reached by a given path prefix ("state") the walker keeps
a memo from the tuple of those base values to the next state. On a miss it runs, in the
engine's order, only the derive rules that the decision depends on (BuiltinRules semantics:
:func:`engine.rules.derive_value` + :func:`engine.rules.normalise`), then the decision's
compiled function — the same generated code the traced walk calls — which gives the
transition taken (branch or otherwise, with the action nodes after it); a blocked decision
asks :func:`engine.rules.deciding_facts` for the facts that would decide it. A decision whose
branches read many facts between them (a dozen: almost every patient a new key) is memoised
per branch instead: each branch's value on the few facts it reads, the transition on the
branch values (:func:`engine.walk.choose`); a blocked decision still takes the memo on all its
facts, because the facts it needs depend on which are unknown. Alerts do not
change the path, so they are not computed here. ``tests/test_audit.py`` checks the identity
against ``engine.walk.run`` on thousands of generated cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from ..errors import GuidewalkError
from ..expressions import UNKNOWN, relevant_unknowns
from ..model import Guideline, Node, Rule
from ..program import MAX_STEPS, compiled
from ..rules import deciding_facts, derive_value, normalise
from ..walk import choose

__all__ = ["Outcome", "FastWalker", "threshold_facts", "ValueClasses", "FULL"]


class Outcome:
    """The end of one walk: status (complete | needs_facts | error), path, actions, needs."""

    __slots__ = ("status", "path", "actions", "needs", "error", "key", "json")

    def __init__(self, status: str, path: tuple[str, ...], actions: tuple[str, ...], needs: tuple[str, ...] = (), error: str | None = None):
        self.status = status
        self.path = path
        self.actions = actions
        self.needs = needs
        self.error = error
        self.key = (status, path, actions, needs, error)
        self.json: str | None = None  # the encoded fragment, filled by the writer

    def __repr__(self) -> str:
        return f"Outcome({self.status!r}, path={list(self.path)}, actions={list(self.actions)}, needs={list(self.needs)})"


class _State:
    """A decision reached by one path prefix, or a final outcome."""

    __slots__ = ("node", "index", "path", "actions", "facts", "getter", "rules", "memo", "children", "final", "branches", "by_values")

    def __init__(self) -> None:
        self.node: Node | None = None
        self.index = -1  # the decision's index in the compiled program
        self.path: tuple[str, ...] = ()
        self.actions: tuple[str, ...] = ()
        self.facts: tuple[str, ...] = ()
        self.getter: Callable[[Sequence[Any]], Any] | None = None
        self.rules: tuple[Rule, ...] = ()
        self.memo: dict[Any, _State] = {}
        self.children: dict[Any, _State] = {}
        self.final: Outcome | None = None
        # a decision that reads many facts: each branch's value memoised on its own facts,
        # and the next state on the branch values (see FastWalker._by_branches)
        self.branches: list[tuple[Callable[[Sequence[Any]], Any], dict[Any, Any], tuple[str, ...], tuple[Rule, ...], int]] | None = None
        self.by_values: dict[tuple[Any, ...], Any] = {}


_MISSING: Any = object()
FULL: Any = object()  # branch values that do not settle the decision alone: the state's own memo decides
#: a decision whose branches read at least this many facts between them is memoised per branch
BRANCH_MEMO_FACTS = 6


def _const(_: Sequence[Any]) -> Any:
    return ()


class FastWalker:
    """Walks `flowchart` of `g` for value vectors ordered as `columns` (fact names).

    A vector holds the checked values (:func:`engine.facts.coerce`) with UNKNOWN for a fact
    that is absent or unknown. Facts of the guideline that are not among `columns` are
    always unknown. A state's memo stops growing at `memo_cap` entries (a decision that reads
    many continuous facts rarely sees a key twice); beyond it a miss is evaluated directly,
    with the derived facts still memoised per rule on their own inputs."""

    def __init__(self, g: Guideline, columns: Sequence[str], flowchart: str | None = None, *, memo_cap: int = 50_000):
        self.g = g
        self.flowchart = flowchart or g.entry
        if self.flowchart not in g.flowcharts:
            raise GuidewalkError(f"no flowchart '{self.flowchart}' (has: {', '.join(g.flowcharts)})")
        self.columns = tuple(columns)
        self._index = {c: i for i, c in enumerate(self.columns)}
        self._derive = {r.fact: r for r in g.rules if r.kind == "derive"}
        self._order = {id(r): i for i, r in enumerate(g.rules)}
        self._node_plan: dict[str, tuple[tuple[str, ...], tuple[Rule, ...]]] = {}
        # per derive rule: a getter of its base inputs and a memo of its value
        self._rule_memo: dict[str, tuple[Callable[[Sequence[Any]], Any], dict[Any, Any]]] = {}
        self.memo_cap = memo_cap
        self.program = compiled(g)
        self.root = self._advance(self.program.starts[self.flowchart], ())
        self.misses = 0

    # ------------------------------------------------------------------ per case

    def walk(self, values: Sequence[Any]) -> Outcome:
        st = self.root
        step = self.step
        while st.final is None:
            st = step(st, values)
        return st.final

    def _by_branches(self, st: _State, values: Sequence[Any]) -> Any:
        """The next state from the branch values, each memoised on the facts its branch reads
        (a decision that reads a dozen facts rarely sees the same dozen twice, but each of its
        branches reads a few); FULL when they do not settle it (a branch blocked or raising,
        an overlap, no branch and no otherwise), and then the state's memo on all its facts
        decides as before. Only the transition taken depends on the branch values alone
        (engine.walk.choose); what a blocked decision needs depends on the facts."""
        assert st.branches is not None
        bv = []
        for b in st.branches:
            v = self.branch(st, b, values)
            if v is FULL:
                return FULL
            bv.append(v)
        return self.after_branches(st, tuple(bv))

    def branch(self, st: _State, b: tuple[Any, ...], values: Sequence[Any]) -> Any:
        """The value of one of `st.branches` for `values` (memoised on the facts it reads)."""
        getter, memo, facts, rules, i = b
        k = getter(values)
        v = memo.get(k, _MISSING)
        if v is _MISSING:
            v = memo[k] = self._branch_value(st, i, facts, rules, k, values)
        return v

    def after_branches(self, st: _State, key: tuple[Any, ...]) -> Any:
        """The next state for the branch values `key`, or FULL (memoised on the values)."""
        nxt = st.by_values.get(key)
        if nxt is None:
            node = st.node
            assert node is not None
            chosen, blocking, overlap = choose(node, list(key))
            if blocking or overlap:
                nxt = FULL
            elif chosen is not None:
                nxt = self._child(st, ("to", self.program.branch_t[st.index][chosen]))
            elif self.program.otherwise_t[st.index] is not None:
                nxt = self._child(st, ("to", self.program.otherwise_t[st.index]))
            else:
                nxt = FULL
            st.by_values[key] = nxt
        return nxt

    def step(self, st: _State, values: Sequence[Any]) -> _State:
        """The state after decision state `st` for `values` (one step of :meth:`walk`)."""
        if st.branches is not None:
            nxt = self._by_branches(st, values)
            if nxt is not FULL:
                return nxt  # type: ignore[no-any-return]
        return self.full_step(st, values)

    def full_step(self, st: _State, values: Sequence[Any]) -> _State:
        """The next state from the memo on all the facts the decision reads."""
        key = st.getter(values)  # type: ignore[misc]
        nxt = st.memo.get(key)
        if nxt is None:
            nxt = self._miss(st, key, values)
        return nxt

    def columns_of(self, facts: Sequence[str]) -> list[int]:
        """The positions in a value vector of `facts`."""
        return [self._index[f] for f in facts]

    def _branch_value(self, st: _State, i: int, facts: tuple[str, ...], rules: tuple[Rule, ...], key: Any, values: Sequence[Any]) -> Any:
        """Branch `i`'s Kleene value from the facts it reads (`key`), or FULL when a rule or
        the condition raises (the state's own path reports the error as before)."""
        node = st.node
        assert node is not None
        vals = (key,) if len(facts) == 1 else key
        env: dict[str, Any] = {f: v for f, v in zip(facts, vals) if v is not UNKNOWN}
        try:
            self._derive_rules(rules, env, values)
            return node.branches[i].when.test(env)
        except Exception:  # the full path evaluates this row and reports what it raises
            return FULL

    # ------------------------------------------------------------------ building

    def _plan(self, node: Node) -> tuple[tuple[str, ...], tuple[Rule, ...]]:
        """The base facts (among the columns) and the derive rules a decision depends on."""
        plan = self._node_plan.get(node.id)
        if plan is None:
            plan = self._node_plan[node.id] = self._depends([f for b in node.branches for f in b.when.facts])
        return plan

    def _depends(self, read: Sequence[str]) -> tuple[tuple[str, ...], tuple[Rule, ...]]:
        """The base facts (among the columns) and the derive rules that facts `read` depend on."""
        base: dict[str, None] = {}
        rules: dict[int, Rule] = {}
        todo = list(read)
        seen: set[str] = set()
        while todo:
            f = todo.pop()
            if f in seen:
                continue
            seen.add(f)
            rule = self._derive.get(f)
            if rule is None:
                if f in self._index:
                    base[f] = None
            else:
                rules[id(rule)] = rule
                todo.extend(rule.inputs)
        facts = tuple(sorted(base, key=self._index.__getitem__))
        ordered = tuple(sorted(rules.values(), key=lambda r: self._order[id(r)]))
        return facts, ordered

    def _advance(self, t: int, path: tuple[str, ...], actions: tuple[str, ...] = ()) -> _State:
        """The state after transition `t` of the program: the action nodes it passes folded
        into path and actions, then the next decision (a state) or the end."""
        st = _State()
        tr = self.program.transitions[t]
        nodes = self.g.nodes
        for nid in tr.passed:
            if len(path) >= MAX_STEPS:
                st.final = Outcome("error", path, actions, error=f"walk exceeded {MAX_STEPS} steps")
                return st
            path = path + (nid,)
            actions = actions + tuple(nodes[nid].actions)
        if tr.next < 0:
            st.final = Outcome("complete", path, actions)
            return st
        if len(path) >= MAX_STEPS:
            st.final = Outcome("error", path, actions, error=f"walk exceeded {MAX_STEPS} steps")
            return st
        node = self.program.decisions[tr.next]
        st.node, st.index, st.path, st.actions = node, tr.next, path + (node.id,), actions
        st.facts, st.rules = self._plan(node)
        st.getter = self._getter(st.facts)
        if len(st.facts) >= BRANCH_MEMO_FACTS and len(node.branches) > 1:
            st.branches = []
            for i, b in enumerate(node.branches):
                facts, rules = self._depends(b.when.facts)
                st.branches.append((self._getter(facts), {}, facts, rules, i))
        return st

    def _getter(self, facts: Sequence[str]) -> Callable[[Sequence[Any]], Any]:
        ix = [self._index[f] for f in facts]
        return _const if not ix else itemgetter(*ix)

    def _miss(self, st: _State, key: Any, values: Sequence[Any]) -> _State:
        self.misses += 1
        node = st.node
        assert node is not None
        vals = (key,) if len(st.facts) == 1 else key
        env: dict[str, Any] = {f: v for f, v in zip(st.facts, vals) if v is not UNKNOWN}  # unknown: absent
        try:
            self._derive_into(st, env, values)
            target = self._decide(st.index, node, env)
        except GuidewalkError as exc:
            target = ("error", str(exc))
        except Exception as exc:  # a rule raised: reported with the case, never swallowed
            target = ("error", f"{type(exc).__name__}: {exc}")
        nxt = self._child(st, target)
        if len(st.memo) < self.memo_cap:
            st.memo[key] = nxt
        return nxt

    def _child(self, st: _State, target: tuple[str, Any]) -> _State:
        """The state after `st` for `target` (a transition, the facts needed, or an error), made once."""
        nxt = st.children.get(target)
        if nxt is None:
            if target[0] == "to":
                nxt = self._advance(target[1], st.path, st.actions)
            else:
                nxt = _State()
                if target[0] == "needs":
                    nxt.final = Outcome("needs_facts", st.path, st.actions, needs=target[1])
                else:
                    nxt.final = Outcome("error", st.path, st.actions, error=target[1])
            st.children[target] = nxt
        return nxt

    def _derive_into(self, st: _State, env: dict[str, Any], values: Sequence[Any]) -> None:
        """The derived facts this decision reads, in the engine's rule order (memoised per rule)."""
        self._derive_rules(st.rules, env, values)

    def _derive_rules(self, rules: Sequence[Rule], env: dict[str, Any], values: Sequence[Any]) -> None:
        for rule in rules:
            fact = rule.fact
            assert fact is not None
            entry = self._rule_memo.get(rule.id)
            if entry is None:
                ix = [self._index[f] for f in self.g.base_inputs(fact) if f in self._index]
                entry = self._rule_memo[rule.id] = (_const if not ix else itemgetter(*ix), {})
            getter, memo = entry
            rk = getter(values)
            value = memo.get(rk, _MISSING)
            if value is _MISSING:
                value, _ = derive_value(rule, env)
                value = memo[rk] = normalise(rule, value)
            if value is not UNKNOWN:
                env[fact] = value

    def _decide(self, d: int, node: Node, env: dict[str, Any]) -> tuple[str, Any]:
        """("to", transition), ("needs", facts) or ("error", message): the compiled decision
        (its derived facts are in `env` already), the reasons it stops spelled out here."""
        t = self.program.decide[d](env, self.program.derived_names)
        if t >= 0:
            return ("to", t)
        values = [b.when.test(env) for b in node.branches]
        chosen, blocking, overlap = choose(node, values)
        if overlap:
            names = ", ".join(f"branch {i + 1} ({node.branches[i].when.text})" for i in overlap)
            return ("error", f"decision '{node.id}' promises exclusive branches, but several hold: {names}")
        if blocking:
            needs = deciding_facts(self.g, [f for i in blocking for f in relevant_unknowns(node.branches[i].when.expr, env)], env)
            if not needs:
                unknown = [f for i in blocking for f in node.branches[i].when.facts if env.get(f, UNKNOWN) is UNKNOWN]
                return ("error", f"decision '{node.id}' reads {', '.join(unknown)}, which no rule could derive although its inputs are known (a gap in a rule)")
            return ("needs", tuple(needs))
        return ("error", f"no branch of decision '{node.id}' holds and it has no otherwise (a gap in the guideline)")


# --------------------------------------------------------------------------- value classes


def threshold_facts(g: Guideline) -> dict[str, tuple[Any, ...]]:
    """Facts that every expression of the guideline (conditions, rules, alerts) only compares
    with constants (`kps >= 70`, `bm_count in [1, 2]`, `known(x)`), with those constants.
    For such a fact two values that fall in the same interval between the constants (or are
    the same constant, or, for an enum, are both unmentioned) give the same result in every
    condition, so the audit may replace a value by a representative of its class."""
    from ..expressions import Call, Cmp, Const, Expr, Fact, In, ListLit

    consts: dict[str, set[Any]] = {}
    bad: set[str] = set()

    def note(name: str, value: Any) -> None:
        consts.setdefault(name, set()).add(value)

    def scan(e: Expr) -> None:
        if isinstance(e, Cmp):
            if isinstance(e.left, Fact) and isinstance(e.right, Const):
                note(e.left.name, e.right.value)
                return
            if isinstance(e.right, Fact) and isinstance(e.left, Const):
                note(e.right.name, e.left.value)
                return
        elif isinstance(e, In):
            if isinstance(e.item, Fact) and isinstance(e.container, ListLit) and all(isinstance(i, Const) for i in e.container.items):
                for i in e.container.items:
                    assert isinstance(i, Const)
                    note(e.item.name, i.value)
                return
        elif isinstance(e, Call):
            if e.func in ("known", "unknown") and len(e.args) == 1 and isinstance(e.args[0], Fact):
                return
        elif isinstance(e, Fact):
            bad.add(e.name)
            return
        for child in e.children():
            scan(child)

    exprs = [b.when.expr for n in g.nodes.values() for b in n.branches]
    for r in g.rules:
        exprs += [c.when.expr for c in r.cases] + [c.value.expr for c in r.cases]
        exprs += [c.expr for c in (r.otherwise, r.value, r.when) if c is not None]
    for e in exprs:
        scan(e)
    out: dict[str, tuple[Any, ...]] = {}
    for name, cs in consts.items():
        spec = g.dictionary.get(name)
        if name in bad or spec is None or spec.type not in ("integer", "number", "enum"):
            continue
        if spec.type == "enum":
            if all(isinstance(c, str) for c in cs):
                out[name] = tuple(sorted(cs))
        elif all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cs):
            out[name] = tuple(sorted(cs))
    return out


class ValueClasses:
    """Replaces a value by the first value seen in its class (see :func:`threshold_facts`)."""

    def __init__(self, constants: tuple[Any, ...], enum: bool):
        self.constants = constants
        self.enum = enum
        self.mentioned = frozenset(constants)
        self.reps: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        if value is UNKNOWN:
            return value
        if self.enum:
            cls: Any = value if value in self.mentioned else None
        else:
            from bisect import bisect_left

            i = bisect_left(self.constants, value)
            cls = 2 * i + 1 if i < len(self.constants) and self.constants[i] == value else 2 * i
        return self.reps.setdefault(cls, value)
