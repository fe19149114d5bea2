"""What is still open in a stepped case: the recommendations still reachable, grouped by the
decisions that choose between them, in words ("If kps ≥ 70 → SRS; otherwise → WBRT").

Built from :meth:`guidewalk.engine.session.Session.reachable` (the exact set of action and end
nodes that some answers to the open questions still lead to) and the decision graph: starting
at the decision being asked, each decision that the answers so far do not settle becomes a
choice with one option per branch that can still hold and still leads to a reachable
recommendation; a decision that the answers settle, or with only one such branch left, is
passed. Decisions are named by their question or title, branches by their readable condition
(or label), recommendations by their text. The outline stops after a few levels and a few
dozen lines; what lies beyond is listed as "one of …". Presentation only: both steppers read it.

The exact search can take long on a large guideline early in a case. With a time budget
(``build_outlook(session, wait=seconds)``, as the web page asks) it runs in the background and,
when not done in time, the outline is drawn from the graph and the answers alone (Kleene
logic on each branch: every way that the answers so far do not rule out), marked as not yet
narrowed; the search goes on and its result is cached for the next page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from guidewalk.engine.expressions import UNKNOWN, Call, Fact, Word, iter_nodes, readable
from guidewalk.engine.facts import coerce
from guidewalk.engine.model import Guideline, Node
from guidewalk.engine.walk import choose

from .page import escape as e

__all__ = ["Rec", "Choice", "Option", "Rest", "Outlook", "build_outlook", "outlook_html", "outlook_text", "MAX_DEPTH", "MAX_LINES"]

MAX_DEPTH = 3  # decisions shown one inside the other
MAX_LINES = 28  # options and recommendations shown in all


@dataclass
class Rec:
    """A recommendation (action or end node) on the way."""

    node: str
    text: str
    actions: tuple[str, ...]


@dataclass
class Rest:
    """Beyond what is shown: the recommendations still reachable from here."""

    recs: list[Rec]


@dataclass
class Option:
    label: str  # "kps ≥ 70", "otherwise"
    steps: list[Rec | Choice | Rest] = field(default_factory=list)


@dataclass
class Choice:
    """A decision the answers so far leave open, with the options still possible."""

    node: str
    question: str
    options: list[Option]


@dataclass
class Outlook:
    steps: list[Rec | Choice | Rest]
    reachable: list[Rec]
    exact: bool = True  # False: not narrowed by the exact search (not possible, or not done yet)
    pending: bool = False  # the exact search is still running (a later page shows its result)


def _rec(g: Guideline, nid: str) -> Rec:
    node = g.nodes[nid]
    text = node.text or "; ".join(g.actions.get(a, a) for a in node.actions) or (node.title or "end of the flowchart")
    return Rec(nid, text, node.actions)


def _closure(g: Guideline) -> dict[str, frozenset[str]]:
    memo: dict[str, frozenset[str]] = {}

    def visit(nid: str, stack: frozenset[str]) -> frozenset[str]:
        if nid in memo:
            return memo[nid]
        node = g.nodes[nid]
        acc: set[str] = {nid} if node.kind in ("action", "end") else set()
        for t in node.targets():
            if t in g.nodes and t not in stack:
                acc |= visit(t, stack | {nid})
        memo[nid] = frozenset(acc)
        return memo[nid]

    for nid in g.nodes:
        visit(nid, frozenset())
    return memo


def _probes(b: Any) -> set[str]:
    """Facts a branch reads through known()/unknown()."""
    return {
        x.args[0].name
        for x in iter_nodes(b.when.expr)
        if isinstance(x, Call) and x.func in ("known", "unknown") and x.args and isinstance(x.args[0], (Fact, Word))
    }


class _Builder:
    def __init__(self, g: Guideline, env: Mapping[str, Any], answered: set[str], reachable: list[str]):
        self.g, self.env, self.answered = g, env, answered
        self.reach = set(reachable)
        self.closure = _closure(g)
        self.lines = 0
        self.names = {f: f.replace("_", " ") for f in (*g.dictionary, *g.derived)}

    def label(self, node: Node, i: int) -> str:
        b = node.branches[i]
        own = getattr(b, "label", None)  # a branch label, where the guideline gives one
        return str(own) if own else readable(b.when.expr, self.names)

    def options(self, node: Node) -> list[tuple[str, str]]:
        """(label, target) of every way out of `node` that can still be taken."""
        values: list[Any] = []
        for b in node.branches:
            try:
                values.append(b.when.test(self.env))
            except Exception:
                values.append(UNKNOWN)
        # a branch reading known(f) of an unanswered f may still turn either way
        values = [UNKNOWN if _probes(b) - self.answered else v for v, b in zip(values, node.branches)]
        chosen, _, _ = choose(node, values)
        if chosen is not None:
            return [(self.label(node, chosen), node.branches[chosen].to)]
        ways = [(self.label(node, i), b.to) for i, b in enumerate(node.branches) if values[i] is not False]
        if node.otherwise:
            ways.append(("otherwise", node.otherwise))
        merged: dict[str, list[str]] = {}
        for label, to in ways:
            if to in self.g.nodes and self.closure[to] & self.reach:
                merged.setdefault(to, []).append(label)
        return [(" or ".join(labels), to) for to, labels in merged.items()]

    def rest(self, nid: str) -> Rest:
        order = {n: i for i, n in enumerate(self.g.nodes)}
        return Rest([_rec(self.g, n) for n in sorted(self.closure[nid] & self.reach, key=order.__getitem__)])

    def explore(self, nid: str | None, depth: int) -> list[Rec | Choice | Rest]:
        steps: list[Rec | Choice | Rest] = []
        seen: set[str] = set()
        while nid is not None and nid in self.g.nodes and nid not in seen:
            seen.add(nid)
            node = self.g.nodes[nid]
            if node.kind != "decision":
                if nid in self.reach:
                    steps.append(_rec(self.g, nid))
                    self.lines += 1
                nid = node.next if node.kind == "action" else None
                continue
            ways = self.options(node)
            if len(ways) == 1:
                nid = ways[0][1]
                continue
            if not ways:
                break
            if depth >= MAX_DEPTH or self.lines + len(ways) > MAX_LINES:
                steps.append(self.rest(nid))
                self.lines += 1
                break
            self.lines += len(ways)
            question = node.question or node.title or "the next decision"
            steps.append(Choice(nid, question, [Option(label, self.explore(to, depth + 1)) for label, to in ways]))
            break
        return steps


MAX_SEARCHES = 2  # exact searches running in the background at once
_SEARCHES = ThreadPoolExecutor(max_workers=MAX_SEARCHES, thread_name_prefix="guidewalk-reachable")
_RUNNING: dict[tuple[Any, ...], Future[list[str] | None]] = {}
_GROUPS: dict[Any, tuple[Any, ...]] = {}  # a case -> the search running for it
_RESULTS: OrderedDict[tuple[Any, ...], list[str] | None] = OrderedDict()  # None: not possible for the guideline
_LOCK = threading.Lock()


def _finished(key: tuple[Any, ...], group: Any, fut: Future[list[str] | None]) -> None:
    with _LOCK:
        _RUNNING.pop(key, None)
        if group is not None and _GROUPS.get(group) == key:
            del _GROUPS[group]
        if not fut.cancelled():
            exc = fut.exception()
            if exc is None or isinstance(exc, ValueError):
                _RESULTS[key] = None if exc is not None else fut.result()
                while len(_RESULTS) > 2048:
                    _RESULTS.popitem(last=False)


def _exact(session: Any) -> list[str] | None:
    """Session.reachable() when it is the whole list; None when its search stopped at its time
    limit (a partial list would hide recommendations: the outline then falls back to the graph)."""
    found: list[str] = session.reachable()
    return found if session.reachable_complete() else None


def _reachable(session: Any, wait: float | None, group: Any) -> tuple[list[str] | None, bool]:
    """(Session.reachable(), False); or (None, True) when it is not known within `wait`
    seconds (it goes on in the background, one search per `group` and MAX_SEARCHES in all);
    or (None, False) when the exact search is not possible for this guideline."""
    if wait is None:
        try:
            return _exact(session), False
        except ValueError:
            return None, False
    g = session.guideline
    key = (id(g), g.sha256, session.flowchart, repr(sorted(session.facts.items())))
    with _LOCK:
        if key in _RESULTS:
            _RESULTS.move_to_end(key)
            hit = _RESULTS[key]
            return (list(hit) if hit is not None else None), False
        fut = _RUNNING.get(key)
        started = fut is None
        if fut is None:
            if (group is not None and _GROUPS.get(group) in _RUNNING) or len(_RUNNING) >= MAX_SEARCHES:
                return None, True  # busy with an earlier question: drawn from the graph for now
            fut = _RUNNING[key] = _SEARCHES.submit(_exact, session.copy())  # a copy: the session stays the caller's
            if group is not None:
                _GROUPS[group] = key
    if started:  # outside the lock: a search already done calls back at once, in this thread

        def done(f: Future[list[str] | None], key: tuple[Any, ...] = key) -> None:
            _finished(key, group, f)

        fut.add_done_callback(done)
    try:
        return fut.result(timeout=wait), False
    except FutureTimeout:
        return None, True
    except ValueError:
        return None, False


def build_outlook(session: Any, wait: float | None = None, group: Any = None) -> Outlook | None:
    """The outline for a session (:class:`guidewalk.engine.session.Session`): None when
    nothing is open (the walk is complete and asks nothing more, or the facts are invalid).
    `wait`: at most this many seconds for the exact search (None: as long as it takes);
    `group`: the case it is for (one background search per case)."""
    g: Guideline = session.guideline
    res = session.result()
    pending = session.pending()
    if res.status == "invalid_facts" or (res.status == "complete" and not pending):
        return None
    found, running = _reachable(session, wait, group)
    exact = found is not None
    reachable = found if found is not None else [n for n, node in g.nodes.items() if node.kind in ("action", "end")]
    env: dict[str, Any] = {}
    for k, v in session.facts.items():
        if v is not None and k in g.dictionary:
            tv = coerce(g.dictionary[k], v)
            if tv is not UNKNOWN:
                env[k] = tv
    env.update(res.derived)
    start = None
    if pending and pending[0].node in g.nodes:
        start = pending[0].node
    elif res.status == "needs_facts" and res.path:
        start = res.path[-1]
    b = _Builder(g, env, set(session.facts), reachable)
    steps = b.explore(start, 0) if start is not None else []
    if not exact and start is not None:  # not narrowed: what the graph reaches from where the walk is
        reachable = [n for n in reachable if n in b.closure[start]]
    if not steps:
        steps = [Rest([_rec(g, n) for n in reachable])] if reachable else []
    return Outlook(steps, [_rec(g, n) for n in reachable], exact, running)


# --------------------------------------------------------------------------- as HTML and as text


def _if(label: str) -> str:
    return "otherwise" if label == "otherwise" else f"if {label}"


def _codes(r: Rec) -> str:
    return f' <span class="muted">[{e(", ".join(r.actions))}]</span>' if r.actions else ""


def _steps_html(steps: list[Rec | Choice | Rest]) -> str:
    out: list[str] = []
    for s in steps:
        if isinstance(s, Rec):
            out.append(f'<li class="rec-item">→ {e(s.text)}{_codes(s)}</li>')
        elif isinstance(s, Rest):
            items = "".join(f"<li>{e(r.text)}{_codes(r)}</li>" for r in s.recs)
            out.append(f'<li class="rest"><details><summary>then one of {len(s.recs)} recommendations</summary><ul>{items}</ul></details></li>')
        else:
            opts = "".join(
                f'<li><span class="if">{e(_if(o.label))}</span><ul>{_steps_html(o.steps) or "<li class=muted>nothing recommended</li>"}</ul></li>'
                for o in s.options
            )
            out.append(f'<li class="choice"><strong>{e(s.question)}</strong><ul>{opts}</ul></li>')
    return "".join(out)


def outlook_html(o: Outlook) -> str:
    """The outline as nested lists (every text escaped)."""
    if o.exact:
        note = ""
    elif o.pending:
        note = '<p class="muted" id="outlook-pending">(Drawn from the flowchart and the answers; the exact narrowing by the answers takes longer for this guideline and is still being worked out.)</p>'
    else:
        note = '<p class="muted">(Drawn from the flowchart and the answers: the exact search is not possible for this guideline.)</p>'
    return f'<ul class="outlook">{_steps_html(o.steps)}</ul>{note}'


def outlook_text(o: Outlook, indent: str = "  ", most: int = 6) -> list[str]:
    """The outline as indented text lines (the terminal stepper); a list of what lies beyond
    shows at most `most` recommendations."""
    lines: list[str] = []

    def walk(steps: list[Rec | Choice | Rest], pad: str) -> None:
        for s in steps:
            if isinstance(s, Rec):
                lines.append(f"{pad}→ {s.text}" + (f"  [{', '.join(s.actions)}]" if s.actions else ""))
            elif isinstance(s, Rest):
                lines.append(f"{pad}then one of {len(s.recs)}:" if len(s.recs) > 1 else f"{pad}then:")
                lines.extend(f"{pad}  - {r.text}" + (f"  [{', '.join(r.actions)}]" if r.actions else "") for r in s.recs[:most])
                if len(s.recs) > most:
                    lines.append(f"{pad}  - … and {len(s.recs) - most} more")
            else:
                lines.append(f"{pad}{s.question}")
                for opt in s.options:
                    lines.append(f"{pad}  {_if(opt.label)}:")
                    walk(opt.steps, pad + "    ")

    walk(o.steps, indent)
    return lines
