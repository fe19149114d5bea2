"""The facts a FHIR record gave: each fact's source (resource, date, element, location), what
could not be used and why, and the record's facts merged with a case file's."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location
from ..expressions import UNKNOWN
from ..facts import CaseFacts, to_json_value

__all__ = ["FactSource", "NotMapped", "Extraction", "json_values", "merge_case", "annotate_errors"]


@dataclass
class FactSource:
    """Where one fact's value came from."""

    fact: str
    value: Any  # JSON level; None = "unknown" (dataAbsentReason asked-unknown, ...)
    resource: str  # e.g. Observation/kps-1
    date: str | None
    element: str  # e.g. Observation.valueInteger
    location: Location
    standard: bool = True
    inferred: str | None = None
    superseded: list[str] = field(default_factory=list)
    origin: str = "fhir"  # "fhir" or "case file"
    overrides: dict[str, Any] | None = None  # the FHIR value a case file replaced

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "from": self.resource, "date": self.date, "element": self.element, "path": self.location.path}
        if self.location.line:
            out["at"] = str(self.location)
        if not self.standard:
            out["code"] = "guidewalk"
        if self.inferred:
            out["inferred"] = self.inferred
        if self.superseded:
            out["superseded"] = list(self.superseded)
        if self.origin != "fhir":
            out["origin"] = self.origin
        if self.overrides is not None:
            out["overrides"] = self.overrides
        return out


@dataclass
class NotMapped:
    """A resource (or a fact) the record gave that could not be used, and why."""

    resource: str
    reason: str
    kind: str  # not_read | unknown_code | status | subject | future | stale | undated | unit | value | conflict | absent
    location: Location
    fact: str | None = None
    date: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"resource": self.resource, "kind": self.kind, "reason": self.reason, "path": self.location.path}
        if self.fact:
            out["fact"] = self.fact
        if self.date:
            out["date"] = self.date
        if self.location.line:
            out["at"] = str(self.location)
        return out


@dataclass
class Extraction:
    facts: dict[str, Any]
    sources: dict[str, FactSource]
    not_mapped: list[NotMapped]
    as_of: _dt.date
    file: str
    patient: str | None = None
    bindings_sha256: str = ""

    def where(self, path: tuple[Any, ...]) -> Location:
        """Location of a fact (the `doc` protocol of check_facts): its resource element."""
        src = self.sources.get(str(path[0])) if path else None
        return src.location if src else Location(self.file)

    def as_case(self) -> CaseFacts:
        """The record's facts as a case, each located at its resource element."""
        return CaseFacts(self.facts, self)

    @property
    def conflicts(self) -> list[NotMapped]:
        return [n for n in self.not_mapped if n.kind == "conflict"]

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "record": self.file,
            "patient": self.patient,
            "facts": dict(self.facts),
            "sources": {k: s.to_json() for k, s in self.sources.items()},
            "not_mapped": [n.to_json() for n in self.not_mapped],
        }


def json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Fact values as JSON (UNKNOWN -> None)."""
    return {k: (None if v is UNKNOWN else to_json_value(v)) for k, v in values.items()}


def merge_case(x: Extraction, case: CaseFacts, case_file: str) -> CaseFacts:
    """The record's facts with a case file's on top: a case fact overrides the record's and is
    marked so. Each fact stays located: in the record's resource or in the case file."""
    raw = dict(x.facts)
    for name, value in case.values.items():
        key = str(name)
        prev = x.sources.get(key)
        loc = case.where(key) or Location(case_file)
        x.sources[key] = FactSource(
            key,
            to_json_value(value) if value is not None else None,
            case_file,
            None,
            "case file",
            loc,
            standard=False,
            origin="case file",
            overrides={"value": prev.value, "from": prev.resource} if prev is not None else None,
        )
        raw[key] = value
    return CaseFacts(raw, x, decision=case.decision)  # the case file's clinician_decision, if any


def annotate_errors(errors: Iterable[Any], x: Extraction) -> list[Any]:
    """FactErrors with the resource and FHIR path of the bad value in the message."""
    from ..structs import replace

    out = []
    for err in errors:
        src = x.sources.get(err.fact)
        if src is not None and src.origin == "fhir":
            err = replace(err, message=f"{err.message} [from {src.resource}, {src.location.path}]")
        out.append(err)
    return out
