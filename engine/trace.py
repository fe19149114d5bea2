"""The result of a walk and its JSON form (the contract); its readable text is guidewalk.render.text.

JSON shape (DESIGN.md): guideline, engine, status, recommendations, needs, errors, derived,
alerts, path, trace; plus `derivations` (every derived fact with its rule and inputs),
`facts` (as entered), `unknown` (facts answered "unknown"), `unused_facts`; and, only when
the case carries one, `clinician_decision` with its `concordance` (engine.decision). Output is
deterministic: the same input gives byte-identical JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .contract import AlertJSON, BranchJSON, DerivationJSON, EngineRef, GuidelineRef, RecommendationJSON, ResultJSON, StepJSON
from .decision import ClinicianDecision
from .facts import FactError, to_json_value
from .model import Source

__all__ = ["BranchEval", "Step", "Recommendation", "Alert", "Result", "dumps"]


@dataclass
class BranchEval:
    when: str  # the author's text
    readable: str  # e.g. "kps ≥ 70"
    value: Any  # True | False | None (unknown)
    facts: dict[str, Any]
    to: str
    note: str | None = None

    def to_json(self) -> BranchJSON:
        out: BranchJSON = {"when": self.when, "readable": self.readable, "value": self.value, "facts": self.facts, "to": self.to}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Step:
    step: int
    node: str
    kind: str
    flowchart: str
    title: str | None = None
    question: str | None = None
    branches: list[BranchEval] = field(default_factory=list)
    otherwise: str | None = None
    taken: str | None = None
    how: str | None = None  # "branch 2", "otherwise", "next", "end", "needs facts"
    actions: tuple[str, ...] = ()
    text: str | None = None
    note: str | None = None
    source: Source | None = None

    def to_json(self) -> StepJSON:
        out: StepJSON = {"step": self.step, "node": self.node, "kind": self.kind, "flowchart": self.flowchart}
        if self.title:
            out["title"] = self.title
        if self.kind == "decision":
            if self.question:
                out["question"] = self.question
            out["branches"] = [b.to_json() for b in self.branches]
            if self.otherwise:
                out["otherwise"] = self.otherwise
        else:
            out["actions"] = list(self.actions)
            if self.text:
                out["text"] = self.text
        out["taken"] = self.taken
        if self.how:
            out["how"] = self.how
        if self.note:
            out["note"] = self.note
        if self.source:
            out["source"] = self.source.to_json()
        return out


@dataclass
class Recommendation:
    node: str
    actions: tuple[str, ...]
    text: str
    source: Source | None
    note: str | None = None
    kind: str = "action"

    def to_json(self) -> RecommendationJSON:
        out: RecommendationJSON = {
            "node": self.node,
            "actions": list(self.actions),
            "text": self.text,
            "source": self.source.to_json() if self.source else None,
        }
        if self.note:
            out["note"] = self.note
        if self.strength:
            out["strength"] = self.strength
        return out

    @property
    def strength(self) -> str | None:
        """directive | conditional, as the source's verb form gives it; None when it does not."""
        return self.source.strength if self.source else None


@dataclass
class Alert:
    rule: str
    text: str
    severity: str
    source: Source | None
    note: str | None = None
    origin: str = "guideline"
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> AlertJSON:
        out: AlertJSON = {
            "rule": self.rule,
            "text": self.text,
            "severity": self.severity,
            "source": self.source.to_json() if self.source else None,
            "origin": self.origin,
            "inputs": self.inputs,
        }
        if self.note:
            out["note"] = self.note
        if self.strength:
            out["strength"] = self.strength
        return out

    @property
    def strength(self) -> str | None:
        """directive | conditional, as the source's verb form gives it; None when it does not."""
        return self.source.strength if self.source else None


@dataclass
class Result:
    guideline: GuidelineRef
    engine: EngineRef
    status: str
    flowchart: str = ""
    recommendations: list[Recommendation] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    errors: list[FactError] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)
    derivations: list[DerivationJSON] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    unused_facts: list[str] = field(default_factory=list)
    decision: ClinicianDecision | None = None  # the case's clinician_decision (engine.decision)
    concordance: str | None = None

    @property
    def actions(self) -> list[str]:
        return [a for r in self.recommendations for a in r.actions]

    def to_json(self) -> ResultJSON:
        out: ResultJSON = {
            "guideline": self.guideline,
            "engine": self.engine,
            "status": self.status,
            "flowchart": self.flowchart,
            "recommendations": [r.to_json() for r in self.recommendations],
        }
        if self.status == "needs_facts":
            out["needs"] = list(self.needs)
        if self.status == "invalid_facts":
            out["errors"] = [e.to_json() for e in self.errors]
        out["derived"] = {k: to_json_value(v) for k, v in self.derived.items()}
        out["derivations"] = self.derivations
        out["alerts"] = [a.to_json() for a in self.alerts]
        out["path"] = list(self.path)
        out["trace"] = [s.to_json() for s in self.trace]
        out["facts"] = self.facts
        out["unknown"] = list(self.unknown)
        out["unused_facts"] = list(self.unused_facts)
        if self.decision is not None:  # only then: results without a decision keep their bytes
            out["clinician_decision"] = self.decision.to_json()
            out["concordance"] = self.concordance
        return out


def dumps(obj: Any) -> str:
    """Deterministic JSON text."""
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str, allow_nan=False) + "\n"
