"""The loaded guideline: immutable-by-convention data, no YAML and no presentation.

Everything here is produced by :mod:`engine.load` and read by the rules, the walker, the
checks and the renderers. Conditions are kept both as the author's text and as a checked
syntax tree (`expr`) compiled into a closure (`test`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from .contract import SourceJSON
from .errors import Location
from .expressions import Expr
from .fact_types import fact_type
from .structs import field, struct


@struct(frozen=True)
class Source:
    url: str
    module: str | None = None
    strength: str | None = None
    evidence: str | None = None
    tag: str | None = None

    def to_json(self) -> SourceJSON:
        out: SourceJSON = {"url": self.url}
        if self.module:
            out["module"] = self.module
        if self.strength:
            out["strength"] = self.strength
        if self.evidence:
            out["evidence"] = self.evidence
        if self.tag:
            out["tag"] = self.tag
        return out

    def short(self) -> str:
        bits = [b for b in (self.module, self.tag) if b]
        return f"{' · '.join(bits)} <{self.url}>" if bits else self.url


@struct
class FactSpec:
    name: str
    type: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    values: tuple[str, ...] = ()
    question: str | None = None
    help: str | None = None
    source: Source | None = None
    location: Location | None = None
    derived_by: str | None = None  # rule id for derived facts

    def describe_domain(self) -> str:
        """The valid values, as a clinician reads them (the type says how)."""
        return fact_type(self.type).domain(self)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        for k in ("unit", "min", "max", "step", "question", "help"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.values:
            out["values"] = list(self.values)
        if self.source:
            out["source"] = self.source.to_json()
        if self.derived_by:
            out["derived_by"] = self.derived_by
        return out


Test = Callable[[Mapping[str, Any]], Any]


@struct
class Condition:
    """A condition or value expression: the text the author wrote, checked and compiled."""

    text: str
    expr: Expr
    test: Test
    facts: tuple[str, ...]
    location: Location
    readable: str = ""  # e.g. "kps ≥ 70", rendered once at load


@struct
class Branch:
    when: Condition
    to: str
    note: str | None = None
    location: Location | None = None
    label: str | None = None  # the branch in words, for the flowchart


@struct
class Node:
    id: str
    kind: str
    flowchart: str
    location: Location
    source: Source | None = None
    title: str | None = None
    note: str | None = None
    question: str | None = None
    branches: list[Branch] = field(default_factory=list)
    otherwise: str | None = None
    exclusive: bool = True
    actions: tuple[str, ...] = ()
    text: str | None = None
    next: str | None = None
    summary: str | None = None  # one sentence under 140 characters
    origin: str = "guideline"

    def targets(self) -> list[str]:
        out = [b.to for b in self.branches]
        if self.otherwise:
            out.append(self.otherwise)
        if self.next:
            out.append(self.next)
        return out


@struct
class Flowchart:
    id: str
    title: str
    start: str
    nodes: list[str]
    location: Location


@struct
class Case:
    when: Condition
    value: Condition


@struct
class Rule:
    id: str
    kind: str  # "derive" | "alert"
    location: Location
    source: Source | None
    note: str | None = None
    fact: str | None = None  # derived fact name
    spec: FactSpec | None = None
    cases: list[Case] = field(default_factory=list)
    otherwise: Condition | None = None
    value: Condition | None = None
    when: Condition | None = None
    text: str | None = None  # alert text
    severity: str = "warning"
    if_recommended: tuple[str, ...] = ()
    summary: str | None = None  # alerts: one sentence under 140 characters
    origin: str = "guideline"  # "guideline", "score:<id>" or "overlay:<file>"

    @cached_property
    def inputs(self) -> tuple[str, ...]:
        """Every fact this rule reads, in order of first appearance (computed once)."""
        seen: dict[str, None] = {}
        conds = [c for case in self.cases for c in (case.when, case.value)]
        conds += [c for c in (self.otherwise, self.value, self.when) if c is not None]
        for c in conds:
            for f in c.facts:
                seen.setdefault(f, None)
        return tuple(seen)


@struct
class ScoreModule:
    id: str
    title: str
    source: Source | None
    verification: str
    inputs: tuple[str, ...]
    components: tuple[str, ...]
    total: str | None
    result: str | None
    outputs: tuple[str, ...]
    requires: tuple[str, ...]
    rules: list[Rule]
    file: str
    note: str | None = None
    description: str | None = None
    required_modules: tuple[ScoreModule, ...] = ()  # the modules it requires, transitively (filled for the calculator)


@struct(frozen=True)
class Module:
    """One module of the guideline's text (guidelines/<id>/modules.yaml) and how far this
    encoding covers it."""

    code: str
    title: str
    url: str | None
    coverage: str  # encoded | partly | not encoded
    reason: str
    location: Location | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "url": self.url, "coverage": self.coverage, "reason": self.reason}


@struct
class Guideline:
    id: str
    title: str
    version: str
    publisher: str
    source: str
    language: str
    description: str | None
    entry: str
    flowcharts: dict[str, Flowchart]
    nodes: dict[str, Node]
    rules: list[Rule]  # in evaluation order (inputs before the rules that read them)
    dictionary: dict[str, FactSpec]  # every base fact of the shared dictionary
    derived: dict[str, FactSpec]  # derived facts of this guideline (incl. scores)
    asks: tuple[str, ...]  # base facts this guideline may ask, in a stable order
    actions: dict[str, str]  # action code -> text (the whole shared list)
    scores: tuple[str, ...]
    files: tuple[str, ...]
    sha256: str
    location: Location
    overlays: tuple[str, ...] = ()
    modules: tuple[Module, ...] = ()  # every module of the guideline text, with its coverage
    modules_file: str | None = None  # where they were read (None: the guideline lists none)

    def coverage_counts(self) -> dict[str, int]:
        """How many modules are encoded, partly encoded and not encoded."""
        from .format import COVERAGES

        return {c: sum(1 for m in self.modules if m.coverage == c) for c in COVERAGES}

    @cached_property
    def rule_inputs(self) -> frozenset[str]:
        """Every fact some rule of this guideline reads."""
        return frozenset(f for r in self.rules for f in r.inputs)

    @property
    def scope(self) -> dict[str, FactSpec]:
        return {**self.dictionary, **self.derived}

    def spec(self, name: str) -> FactSpec | None:
        return self.derived.get(name) or self.dictionary.get(name)

    def base_inputs(self, name: str) -> tuple[str, ...]:
        """The base facts a (possibly derived) fact depends on, transitively."""
        out: dict[str, None] = {}
        todo = [name]
        seen: set[str] = set()
        by_fact = {r.fact: r for r in self.rules if r.kind == "derive"}
        while todo:
            n = todo.pop(0)
            if n in seen:
                continue
            seen.add(n)
            rule = by_fact.get(n)
            if rule is None:
                out.setdefault(n, None)
            else:
                todo.extend(rule.inputs)
        return tuple(out)
