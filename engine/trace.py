"""The result of a walk and its JSON form (the contract); its readable text is guidewalk.render.text.

JSON shape (DESIGN.md): guideline, engine, status, recommendations, needs, errors, derived,
alerts, path, trace; plus `derivations` (every derived fact with its rule and inputs),
`facts` (as entered), `unknown` (facts answered "unknown"), `unused_facts`; and, only when
the case carries one, `clinician_decision` with its `concordance` (engine.decision). Output is
deterministic: the same input gives byte-identical JSON.
"""

from __future__ import annotations

import json
from typing import Any, Generic, Protocol, TypeVar, overload

from .contract import AlertJSON, BranchJSON, DerivationJSON, EngineRef, GuidelineRef, RecommendationJSON, ResultJSON, StepJSON
from .decision import ClinicianDecision
from .facts import FactError, to_json_value
from .model import Source
from .structs import field, struct

__all__ = ["BranchEval", "Step", "Recommendation", "Alert", "Result", "dumps"]


@struct
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


@struct
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


@struct
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


@struct
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


class Filler(Protocol):
    """What a lazily built Result asks for its parts: :meth:`fill` sets the fields of one
    group ("head", "facts", "needs", "walk", "rules") from what the walk recorded (the
    result's ``record``)."""

    def fill(self, result: Result, group: str) -> None: ...


_T = TypeVar("_T")
_UNSET: Any = object()
_new = object.__new__


class _Lazy(Generic[_T]):
    """A field of :class:`Result` that is built on first read (by the result's filler, one
    group of fields at a time) and can be set like a plain attribute."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.slot = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, obj: None, owner: type) -> _Lazy[_T]: ...
    @overload
    def __get__(self, obj: Result, owner: type) -> _T: ...
    def __get__(self, obj: Result | None, owner: type) -> _T | _Lazy[_T]:
        if obj is None:
            return self
        v = getattr(obj, self.slot, _UNSET)
        if v is _UNSET:
            assert obj._filler is not None
            obj._filler.fill(obj, self.group)
            v = getattr(obj, self.slot)
        return v  # type: ignore[no-any-return]

    def __set__(self, obj: Result, value: _T) -> None:
        setattr(obj, self.slot, value)


class Result:
    """What a walk gives: status, recommendations, needs or errors, derived facts, alerts,
    path and trace (the JSON contract: :meth:`to_json`).

    Built eagerly from its fields, or lazily by the compiled walk (:mod:`engine.program`),
    which records only the decisions it passed and builds the trace, the derived facts, the
    alerts and their JSON-ready values the first time one of them is read."""

    __slots__ = (
        "status",
        "flowchart",
        "record",
        "_filler",
        "_decision",
        "_concordance",
        "_needs",
        "_guideline",
        "_engine",
        "_recommendations",
        "_errors",
        "_derived",
        "_derivations",
        "_alerts",
        "_path",
        "_trace",
        "_facts",
        "_unknown",
        "_unused_facts",
    )

    guideline = _Lazy[GuidelineRef]("head")
    engine = _Lazy[EngineRef]("head")
    facts = _Lazy[dict[str, Any]]("facts")
    unknown = _Lazy[list[str]]("facts")
    recommendations = _Lazy[list["Recommendation"]]("walk")
    path = _Lazy[list[str]]("walk")
    trace = _Lazy[list[Step]]("walk")
    unused_facts = _Lazy[list[str]]("walk")
    derived = _Lazy[dict[str, Any]]("rules")
    derivations = _Lazy[list[DerivationJSON]]("rules")
    alerts = _Lazy[list["Alert"]]("rules")
    errors = _Lazy[list[FactError]]("facts")
    needs = _Lazy[list[str]]("needs")
    status: str
    flowchart: str
    record: Any  # what the walk recorded, for the filler
    _filler: Filler | None

    def __init__(
        self,
        guideline: GuidelineRef,
        engine: EngineRef,
        status: str,
        flowchart: str = "",
        recommendations: list[Recommendation] | None = None,
        needs: list[str] | None = None,
        errors: list[FactError] | None = None,
        derived: dict[str, Any] | None = None,
        derivations: list[DerivationJSON] | None = None,
        alerts: list[Alert] | None = None,
        path: list[str] | None = None,
        trace: list[Step] | None = None,
        facts: dict[str, Any] | None = None,
        unknown: list[str] | None = None,
        unused_facts: list[str] | None = None,
        decision: ClinicianDecision | None = None,
        concordance: str | None = None,
    ) -> None:
        self.status = status
        self.flowchart = flowchart
        self.decision = decision
        self.concordance = concordance
        self._filler = None
        self.record = None
        self._guideline = guideline
        self._engine = engine
        self._recommendations = [] if recommendations is None else recommendations
        self._needs = [] if needs is None else needs
        self._errors = [] if errors is None else errors
        self._derived = {} if derived is None else derived
        self._derivations = [] if derivations is None else derivations
        self._alerts = [] if alerts is None else alerts
        self._path = [] if path is None else path
        self._trace = [] if trace is None else trace
        self._facts = {} if facts is None else facts
        self._unknown = [] if unknown is None else unknown
        self._unused_facts = [] if unused_facts is None else unused_facts

    @classmethod
    def lazy(cls, status: str, flowchart: str, filler: Filler, record: Any) -> Result:
        """A result whose other fields `filler` builds from `record` when they are first read."""
        r = _new(cls)
        r.status = status
        r.flowchart = flowchart
        r._filler = filler
        r.record = record
        return r

    @property
    def decision(self) -> ClinicianDecision | None:
        """The case's clinician_decision (engine.decision), when it carries one."""
        return getattr(self, "_decision", None)

    @decision.setter
    def decision(self, value: ClinicianDecision | None) -> None:
        self._decision = value

    @property
    def concordance(self) -> str | None:
        """How the decision relates to the recommendation (engine.decision.assess)."""
        return getattr(self, "_concordance", None)

    @concordance.setter
    def concordance(self, value: str | None) -> None:
        self._concordance = value

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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in _FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Result(status={self.status!r}, flowchart={self.flowchart!r}, path={self.path!r}, needs={self.needs!r})"


_FIELDS = (
    "guideline",
    "engine",
    "status",
    "flowchart",
    "recommendations",
    "needs",
    "errors",
    "derived",
    "derivations",
    "alerts",
    "path",
    "trace",
    "facts",
    "unknown",
    "unused_facts",
    "decision",
    "concordance",
)


def dumps(obj: Any) -> str:
    """Deterministic JSON text."""
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str, allow_nan=False) + "\n"
