"""What a case carries through a guideline's durable_rules ruleset: the compiled form the
backend runs (:class:`Source`, :class:`Round`, :class:`CompiledRuleset`), the case's
Python-side record (:class:`CaseRecord`, found in :data:`CASES` by the durable session id) and
the actions the Rete rules fire, which write into it and never raise (an exception is kept in
the record and reported by the backend after the case). Compiled by :mod:`.durable_ruleset`,
run by :mod:`.durable`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..expressions import UNKNOWN
from ..model import Guideline, Rule
from .base import normalise

__all__ = ["Source", "Round", "CompiledRuleset", "CaseRecord", "CASES", "value_action", "marker_action", "alert_action", "handled"]


@dataclass
class Source:
    """Where an attribute of a round's fact comes from."""

    kind: str  # "fact" | "set" | "atom" | "marker" | "enable"
    fact: str = ""
    member: str = ""
    test: Callable[[Mapping[str, Any]], Any] | None = None
    owner: int = -1  # rule index owning an atom; the alert an "enable" attribute is for
    marker: int = -1
    facts: tuple[str, ...] = ()  # facts an atom reads
    cuts: tuple[Any, ...] = ()  # the numbers a fact is compared with (see CaseRecord.number)


@dataclass
class Round:
    """What one round's posted fact carries and which rules it finishes."""

    attrs: list[tuple[str, Source]] = field(default_factory=list)
    rules: list[int] = field(default_factory=list)  # guideline rule indexes finished in this round
    rete: int = 0  # Rete rules guarded by this round
    for_alerts: frozenset[int] = frozenset()  # alerts whose Rete rules are all of this round's (None: others too)
    others: bool = False  # the round has Rete rules that are not only for if_recommended alerts


@dataclass
class CompiledRuleset:
    """A guideline's registered ruleset: its name on the host and its rounds; the rounds from
    `alert_phase` on hold the alerts (and the markers only alerts use), posted after the walk
    when :attr:`phased` (no alert rule can raise: see the module docstring)."""

    name: str
    guideline: Guideline
    rounds: list[Round]
    rule_round: dict[int, int]
    alert_phase: int = 0
    phased: bool = False
    ruleset: Any = None  # durable's Ruleset object on the host
    in_use: int = 0  # cases running on it now (it is freed only when none is)


@dataclass
class CaseRecord:
    """One case's Python-side record: what the actions derived, and what went wrong."""

    env: dict[str, Any]
    results: dict[int, tuple[Any, int | None]] = field(default_factory=dict)
    alerts: set[int] = field(default_factory=set)
    markers: set[int] = field(default_factory=set)
    errors: dict[int, BaseException] = field(default_factory=dict)
    poisoned: set[int] = field(default_factory=set)
    enabled: frozenset[int] | None = None  # alerts that can hold (None: all)
    fired: int = 0  # Rete rules that fired for this case
    all_poisoned: bool = False  # a value durable cannot read: every rule by the closures


CASES: dict[str, CaseRecord] = {}  # durable session id -> the record its actions write into


def value_action(idx: int, rule: Rule, const: Any, test: Callable[[Mapping[str, Any]], Any] | None, case_ix: int | None) -> Callable[[Any], None]:
    def derive(c: Any) -> None:
        case = CASES.get(c.s.sid)
        if case is None:
            return
        case.fired += 1
        if idx in case.results:
            return  # (the paths of a rule exclude each other: not reached)
        if test is None:
            case.results[idx] = (const, case_ix)
            return
        try:
            case.results[idx] = (normalise(rule, test(case.env)), case_ix)
        except Exception as exc:  # reported after the case with the rule id and inputs
            case.results[idx] = (UNKNOWN, case_ix)
            case.errors.setdefault(idx, exc)

    return derive


def marker_action(mid: int) -> Callable[[Any], None]:
    # one parameter only: durable treats a two-parameter action as asynchronous
    def mark(c: Any) -> None:
        case = CASES.get(c.s.sid)
        if case is not None:
            case.fired += 1
            case.markers.add(mid)

    return mark


def alert_action(idx: int) -> Callable[[Any], None]:
    def alert(c: Any) -> None:
        case = CASES.get(c.s.sid)
        if case is not None:
            case.fired += 1
            case.alerts.add(idx)

    return alert


def handled(c: Any) -> None:
    """The no-op action of the per-round catch-all rule (see compile_ruleset)."""
    return None
