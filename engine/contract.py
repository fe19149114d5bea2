"""The JSON contract of a walk's result (DESIGN.md), as types: what `run --format json` prints,
what a report record embeds, and what the renderers, replay and the FHIR/CDS Hooks outputs
read. Keys are checked by the type checker wherever a result is read, in memory or from a
saved file. Optional keys (``total=False``) are present only where the contract says so."""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "SourceJSON",
    "GuidelineRef",
    "EngineRef",
    "BranchJSON",
    "StepJSON",
    "RecommendationJSON",
    "AlertJSON",
    "DerivationJSON",
    "FactErrorJSON",
    "ClinicianDecisionJSON",
    "ResultJSON",
]


class SourceJSON(TypedDict, total=False):
    url: str
    module: str
    strength: str
    evidence: str
    tag: str


class GuidelineRef(TypedDict, total=False):
    id: str
    title: str
    version: str
    sha256: str
    overlays: list[str]


class EngineRef(TypedDict):
    version: str
    rules_backend: str


class BranchJSON(TypedDict, total=False):
    when: str
    readable: str
    value: bool | None
    facts: dict[str, Any]
    to: str
    note: str


class StepJSON(TypedDict, total=False):
    step: int
    node: str
    kind: str
    flowchart: str
    title: str
    question: str
    branches: list[BranchJSON]
    otherwise: str
    actions: list[str]
    text: str
    taken: str | None
    how: str
    note: str
    source: SourceJSON


class RecommendationJSON(TypedDict, total=False):
    node: str
    actions: list[str]
    text: str
    source: SourceJSON | None
    note: str
    strength: str  # directive | conditional, from the source; absent when the source gives none


class AlertJSON(TypedDict, total=False):
    rule: str
    text: str
    severity: str
    source: SourceJSON | None
    origin: str
    inputs: dict[str, Any]
    note: str
    strength: str  # directive | conditional, from the source; absent when the source gives none


class DerivationJSON(TypedDict, total=False):
    fact: str
    value: Any
    rule: str
    inputs: dict[str, Any]
    case: int
    origin: str


class FactErrorJSON(TypedDict, total=False):
    fact: str
    message: str
    suggestion: str
    location: str


class ClinicianDecisionJSON(TypedDict, total=False):
    """What the clinician (or the MDO) decided: a case file's ``clinician_decision``."""

    actions: list[str]
    reason: str
    by: str
    date: str


class ResultJSON(TypedDict, total=False):
    guideline: GuidelineRef
    engine: EngineRef
    status: str
    flowchart: str
    recommendations: list[RecommendationJSON]
    needs: list[str]
    errors: list[FactErrorJSON]
    derived: dict[str, Any]
    derivations: list[DerivationJSON]
    alerts: list[AlertJSON]
    path: list[str]
    trace: list[StepJSON]
    facts: dict[str, Any]
    unknown: list[str]
    unused_facts: list[str]
    # only when the case carries a clinician_decision: the decision, and "concordant",
    # "deviation_with_reason", "deviation_without_reason" or null (the walk is not complete)
    clinician_decision: ClinicianDecisionJSON
    concordance: str | None
