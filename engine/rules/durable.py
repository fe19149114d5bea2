"""The durable_rules (Rete) rules backend: a guideline's rules run as a durable_rules ruleset.

Same contract as :class:`engine.rules.builtin.BuiltinRules` — identical derived values,
derivations (fact, value, rule, inputs, case index, origin) and alerts — with the matching
done by durable_rules' Rete network. A test (tests/test_rules_backends.py) checks that the
two agree on thousands of generated cases.

Design
------
*Compilation, once per guideline* (:mod:`.durable_ruleset`). The guideline's rules become
one durable_rules ruleset: conditions in Kleene "definitely true" / "definitely false" form
translated into durable's DSL, *markers* that keep durable's DNF expansion small, *atoms*
for what the DSL cannot state, and a *round* for every Rete rule. This module registers the
ruleset on its host and runs cases through it.

*Chaining, by rounds.* Every Rete rule gets a round: 0 if it reads only entered facts, else
one more than the round of the rules deriving what it reads (or of the markers it uses).
A case posts one fact per round (``assert_fact``), holding the round number and just the
attributes that round's rules read — entered facts plus the facts derived in earlier
rounds. All of a round's matching rules fire inside that call; their actions store the
derived values in the case's Python-side record, and the next round's fact carries them.
So a rule whose inputs are derived fires after the rules that derive them.

*Atoms.* A comparison the DSL cannot state (arithmetic, functions such as ``count`` or
``days_between``, fact-vs-fact, dates) has its Kleene value computed by its compiled
closure when the round's fact is built, and posted as a true/false attribute (absent when
unknown); the Rete still combines it with ``and/or/not``. If an atom raises (say a division
by zero that the built-in backend's short-circuit might never reach), the rule that owns it
is evaluated by the model's closures for that case, so which rule raises — if any — is the
same as with the built-in backend.

*Sessions.* One durable session (sid) per case, deleted in a ``finally`` (durable fails
after 1,024 live sessions). The host is our own :class:`durable.engine.Host` without its
background dispatcher threads — every action runs synchronously in the posting thread —
and it and the rulesets are created up front under a lock, so several threads can run
cases at once.

*Errors.* An exception inside an action is caught there (durable itself would only write
it into the session state) and raised after the case as
:class:`~engine.errors.RuleError` with the rule id and inputs; when several rules fail,
the first in rule order is reported, as the built-in backend would.

Importing this module where durable_rules cannot load (its C extension fails on Python
3.13+) raises ImportError; :func:`engine.rules.backend` then falls back to the built-in
backend for ``auto``, and says why when ``durable_rules`` was asked for.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import Any

try:
    from durable import engine as _dengine
except Exception as _exc:  # ImportError, or the C extension's undefined symbol on 3.13+
    raise ImportError(f"durable_rules cannot load here: {type(_exc).__name__}: {_exc}") from _exc

from ..errors import RuleError
from ..expressions import UNKNOWN
from ..model import Guideline
from .base import AlertHit, Derivation, RulesOutcome, derive_value, inputs_of, normalise
from .durable_case import CASES, CaseRecord, CompiledRuleset, Round, Source
from .durable_ir import plain_number
from .durable_ruleset import DNF_LIMIT, ROUND, compile_ruleset

__all__ = ["DurableRules", "DNF_LIMIT", "MAX_RULESETS"]


class _Host(_dengine.Host):  # type: ignore[misc]
    """A durable host without the background dispatcher threads: actions run synchronously
    in the thread that posts (so a background thread can never take a case's actions)."""

    def _run(self) -> None:
        return None


_LOCK = threading.RLock()
_HOST: Any = None
_SIDS = itertools.count(1)


def _host() -> Any:
    global _HOST
    if _HOST is None:
        with _LOCK:
            if _HOST is None:
                _HOST = _Host()
    return _HOST


def _compile(g: Guideline) -> CompiledRuleset:
    """Compile the guideline's rules and register the ruleset on this process's host."""
    return compile_ruleset(g, _host())


#: How many compiled rulesets one process keeps (least recently used go first). durable_rules
#: 2.0.28 never frees a ruleset itself: its Python Host has no way to drop one, and each
#: holds its Rete network in C memory (about 0.3 MB for a shipped guideline). Its C library
#: does free one (``delete_ruleset``), which the backend calls on a ruleset it evicts once no
#: case is running on it.
MAX_RULESETS = 16


class DurableRules:
    """The rules of a guideline, run by durable_rules' Rete engine (see the module docstring)."""

    name = "durable_rules"

    def __init__(self, max_rulesets: int = MAX_RULESETS) -> None:
        self._compiled: OrderedDict[tuple[str, str, tuple[str, ...]], CompiledRuleset] = OrderedDict()
        self.max_rulesets = max_rulesets
        self.fired = 0  # Rete rules fired over every case (for benchmarks)
        _host()  # created up front: a lazily created host races across threads

    def prepare(self, guideline: Guideline) -> None:
        """Compile and register the guideline's ruleset now (else on its first case)."""
        comp = self._acquire(guideline)
        self._release(comp)

    def _acquire(self, g: Guideline) -> CompiledRuleset:
        key = (g.id, g.sha256, g.overlays)
        with _LOCK:
            comp = self._compiled.get(key)
            if comp is None:
                comp = self._compiled[key] = _compile(g)
                while len(self._compiled) > self.max_rulesets:
                    _, old = self._compiled.popitem(last=False)
                    if old.in_use == 0:
                        _free(old)
                    else:
                        old.in_use = -old.in_use  # freed by the last case running on it
            else:
                self._compiled.move_to_end(key)
            comp.in_use += 1
        return comp

    def _release(self, comp: CompiledRuleset) -> None:
        with _LOCK:
            if comp.in_use > 0:
                comp.in_use -= 1
            else:  # evicted while in use
                comp.in_use += 1
                if comp.in_use == 0:
                    _free(comp)

    def run(self, guideline: Guideline, facts: Mapping[str, Any]) -> RulesOutcome:
        """Every rule (every alert can hold): the outcome the built-in backend gives."""
        comp = self._acquire(guideline)
        try:
            case = CaseRecord(env=dict(facts))
            self._rounds(comp, case, 0, len(comp.rounds))
            self._raise(guideline, case)
            return self._outcome(guideline, case)
        finally:
            self._release(comp)

    def derive(self, guideline: Guideline, facts: Mapping[str, Any]) -> tuple[RulesOutcome, Callable[[Collection[str]], list[AlertHit]] | None]:
        """The derived facts first; the alerts once the walk's recommendations are known:
        ``(outcome, finish)`` where ``finish(recommended)`` posts the alert rounds, with only
        the alerts whose if_recommended can hold enabled, and gives the alerts. `finish` is
        None when the outcome already has its alerts (when an alert's condition may raise, or
        a rule failed: the error is then raised here, by rule order, as the built-in backend
        raises it)."""
        comp = self._acquire(guideline)
        try:
            case = CaseRecord(env=dict(facts))
            self._rounds(comp, case, 0, comp.alert_phase)
            if case.errors or not comp.phased:
                self._rounds(comp, case, comp.alert_phase, len(comp.rounds))
                self._raise(guideline, case)
                return self._outcome(guideline, case), None
            outcome = self._outcome(guideline, case)
        finally:
            self._release(comp)

        def finish(recommended: Collection[str]) -> list[AlertHit]:
            case.enabled = frozenset(i for i, r in enumerate(guideline.rules) if r.kind == "alert" and not set(recommended).isdisjoint(r.if_recommended))
            comp = self._acquire(guideline)
            try:
                self._rounds(comp, case, comp.alert_phase, len(comp.rounds))
            finally:
                self._release(comp)
            self._raise(guideline, case)
            return self._outcome(guideline, case).alerts

        return outcome, finish

    def _rounds(self, comp: CompiledRuleset, case: CaseRecord, lo: int, hi: int) -> None:
        """Post rounds lo..hi-1 of a case in a durable session of their own."""
        g = comp.guideline
        sid = str(next(_SIDS))
        host = _HOST
        posted = False
        CASES[sid] = case
        try:
            for r in range(lo, hi):
                rnd = comp.rounds[r]
                if rnd.rete and (rnd.others or case.enabled is None or not rnd.for_alerts.isdisjoint(case.enabled)):
                    msg: dict[str, Any] = {"sid": sid, ROUND: r}
                    for attr, src in rnd.attrs:
                        v = self._attr_value(src, case)
                        if v is not UNKNOWN:
                            msg[attr] = v
                    posted = True
                    try:
                        host.assert_fact(comp.name, msg)
                    except _dengine.MessageNotHandledException:
                        pass  # no rule of this round matched
                self._finish_round(g, rnd, case)
        finally:
            CASES.pop(sid, None)
            if posted:
                host.delete_state(comp.name, sid)
            self.fired += case.fired
            case.fired = 0

    @staticmethod
    def _raise(g: Guideline, case: CaseRecord) -> None:
        if case.errors:
            idx = min(case.errors)
            rule = g.rules[idx]
            exc = case.errors[idx]
            raise RuleError(rule.id, dict(inputs_of(rule, case.env)), exc, guideline=g.id, location=rule.location) from exc

    @staticmethod
    def _attr_value(src: Source, case: CaseRecord) -> Any:
        env = case.env
        if src.kind == "fact":
            v = env.get(src.fact, UNKNOWN)  # scalar facts only: bool, int, float, str
            if v.__class__ is float or v.__class__ is int:
                p = plain_number(v, src.cuts)
                if p is None:  # durable cannot read it: the case is decided by the closures
                    case.all_poisoned = True
                    return UNKNOWN
                return p
            return v
        if src.kind == "set":
            s = env.get(src.fact, UNKNOWN)
            return UNKNOWN if s is UNKNOWN else src.member in s
        if src.kind == "marker":
            return True if src.marker in case.markers else UNKNOWN
        if src.kind == "enable":
            return True if case.enabled is None or src.owner in case.enabled else UNKNOWN
        assert src.test is not None
        try:
            v = src.test(env)
        except Exception:  # the owner rule is decided by the closures, as the built-in backend would
            case.poisoned.add(src.owner)
            return UNKNOWN
        return v if isinstance(v, bool) else UNKNOWN

    @staticmethod
    def _finish_round(g: Guideline, rnd: Round, case: CaseRecord) -> None:
        for idx in rnd.rules:
            rule = g.rules[idx]
            if idx in case.poisoned or case.all_poisoned:
                case.results.pop(idx, None)
                case.alerts.discard(idx)
                case.errors.pop(idx, None)
                try:
                    if rule.kind == "derive":
                        v, ci = derive_value(rule, case.env)
                        case.results[idx] = (normalise(rule, v), ci)
                    elif case.enabled is not None and rule.if_recommended and idx not in case.enabled:
                        pass  # cannot hold for this walk
                    elif rule.when is None or rule.when.test(case.env) is True:
                        case.alerts.add(idx)
                except Exception as exc:
                    case.errors[idx] = exc
                    continue
            if rule.kind == "derive" and idx in case.results and idx not in case.errors:
                v = case.results[idx][0]
                if v is not UNKNOWN:
                    assert rule.fact is not None
                    case.env[rule.fact] = v

    @staticmethod
    def _outcome(g: Guideline, case: CaseRecord) -> RulesOutcome:
        out = RulesOutcome()
        for idx, rule in enumerate(g.rules):
            if rule.kind == "derive":
                assert rule.fact is not None
                value, ci = case.results.get(idx, (UNKNOWN, None))
                if value is not UNKNOWN:
                    out.derived[rule.fact] = value
                out.derivations.append(Derivation(rule.fact, value, rule.id, inputs_of(rule, case.env), ci, rule.origin))
            elif idx in case.alerts:
                out.alerts.append(AlertHit(rule.id, inputs_of(rule, case.env)))
        return out


def _free(comp: CompiledRuleset) -> None:
    """Drop an evicted ruleset from the host and free its Rete network (no case uses it)."""
    host = _host()
    host._ruleset_directory.pop(comp.name, None)
    if comp.ruleset is not None:
        if comp.ruleset in host._ruleset_list:
            host._ruleset_list.remove(comp.ruleset)
        _dengine.durable_rules_engine.delete_ruleset(comp.ruleset._handle)
        comp.ruleset = None
