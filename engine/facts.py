"""Patient facts: read a case file, check every value against the fact dictionary.

Every bad fact is reported (wrong type, out of range, not a listed value, unknown name with
a suggestion, a derived fact entered by hand); nothing is dropped silently. `null` or the
word `unknown` means "asked, not known" and is kept apart from an absent fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from . import _yaml
from .contract import FactErrorJSON
from .decision import DECISION_KEY, ClinicianDecision
from .errors import LoadError, Location, Problem, suggest
from .expressions import UNKNOWN
from .fact_types import BadValue, coerce_value, parse_number, quoted, to_json_value
from .model import FactSpec
from .structs import struct

__all__ = ["FactError", "Facts", "CaseFacts", "Positions", "BadValue", "read_case", "check_facts", "coerce", "parse_number", "to_json_value"]


@struct(frozen=True)
class FactError:
    fact: str
    message: str
    suggestion: str | None = None
    location: Location | None = None

    def to_json(self) -> FactErrorJSON:
        out: FactErrorJSON = {"fact": self.fact, "message": self.message}
        if self.suggestion:
            out["suggestion"] = self.suggestion
        if self.location and self.location.line:
            out["location"] = str(self.location)
        return out

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location and self.location.line else ""
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        name = self.fact if self.fact.isprintable() and len(self.fact) <= 100 else quoted(self.fact)
        return f"{where}{name}: {self.message}{hint}"


@struct
class Facts:
    """Checked facts: known values, the names answered 'unknown', and the errors."""

    values: dict[str, Any]
    unknown: tuple[str, ...]
    errors: list[FactError]
    entered: dict[str, Any]  # as entered (JSON-able), for reports


class Positions(Protocol):
    """Where a case's facts came from: a YAML/JSON file (:class:`engine._yaml.Doc`) or a FHIR
    record (:class:`engine.fhir.extract.Extraction`)."""

    def where(self, path: tuple[Any, ...]) -> Location: ...


@struct(frozen=True)
class CaseFacts:
    """One case's facts as entered (fact name -> value), with where each came from when they
    were read from a file or a record, so an error can name the file, line and column.

    A ``clinician_decision`` among the values is taken out of them: `decision_raw` keeps it as
    written and `decision` is it checked (structure, date, codes as words; LoadError when
    bad); :meth:`decision_for` checks its codes against a guideline's action list."""

    values: Mapping[str, Any]
    doc: Positions | None = None
    decision: ClinicianDecision | None = None
    decision_raw: Any = None

    def __post_init__(self) -> None:
        if DECISION_KEY in self.values:
            raw = self.values[DECISION_KEY]
            object.__setattr__(self, "values", {k: v for k, v in self.values.items() if k != DECISION_KEY})
            if self.decision_raw is None:
                object.__setattr__(self, "decision_raw", raw)
        if self.decision is None and self.decision_raw is not None:
            object.__setattr__(self, "decision", self._check(self.decision_raw, None))

    def _check(self, raw: Any, actions: Mapping[str, Any] | Iterable[str] | None) -> ClinicianDecision:
        doc = self.doc if isinstance(self.doc, _yaml.Doc) else None
        return ClinicianDecision.from_json(raw, actions, doc=doc, file=self.file or "<clinician_decision>")

    def decision_for(self, actions: Mapping[str, Any] | Iterable[str]) -> ClinicianDecision | None:
        """The decision, its action codes checked against `actions` (a guideline's action
        list); None when the case carries none. LoadError, located, when a code is unknown."""
        if self.decision is None:
            return None
        return self._check(self.decision_raw if self.decision_raw is not None else self.decision.to_json(), actions)

    @classmethod
    def of(cls, case: CaseFacts | Mapping[str, Any]) -> CaseFacts:
        return case if isinstance(case, CaseFacts) else cls(case)

    @property
    def file(self) -> str | None:
        return getattr(self.doc, "file", None)

    def where(self, name: str) -> Location | None:
        return self.doc.where((name,)) if self.doc is not None else None

    def source_text(self, name: str) -> str | None:
        """How a number was written in the file (e.g. '1.000'), or None."""
        numbers: Mapping[tuple[Any, ...], str] = getattr(self.doc, "numbers", {})
        return numbers.get((name,))


def read_case(path: str, actions: Mapping[str, Any] | Iterable[str] | None = None) -> CaseFacts:
    """A case file (YAML or JSON mapping of fact name to value, and optionally the team's
    ``clinician_decision``). With `actions` (the guideline's action list) the decision's codes
    are checked here too; every problem of the decision is a LoadError at file:line:col."""
    doc = _yaml.load_file(path)
    if doc.data is None:
        return CaseFacts({}, doc)
    if not isinstance(doc.data, dict):
        raise LoadError([Problem(doc.where(()), "a case file must be a mapping of fact name to value")])
    case = CaseFacts(doc.data, doc)
    if actions is not None:
        case.decision_for(actions)
    return case


def coerce(spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
    """The typed value for `spec`, or UNKNOWN for null/'unknown'. Raises BadValue with a reason.

    Each type reads its values (:mod:`engine.fact_types`); numbers written as text follow
    :func:`~engine.fact_types.parse_number` (`locale` None, "nl" or "en"); `source_text` is how
    a number was written in a file (YAML reads an unquoted 1.000 as 1.0), so the same rules
    apply to it."""
    return coerce_value(spec, value, locale=locale, source_text=source_text)


def check_facts(case: CaseFacts | Mapping[str, Any], dictionary: Mapping[str, FactSpec], derived: Mapping[str, FactSpec] = {}) -> Facts:
    """Check a case's entered facts. Facts the guideline does not use are accepted; names the
    dictionary does not know are errors."""
    case = CaseFacts.of(case)
    raw = case.values
    values: dict[str, Any] = {}
    unknown: list[str] = []
    errors: list[FactError] = []
    for name, value in raw.items():
        loc = case.where(name)
        key = str(name)
        spec = dictionary.get(key)
        if spec is None:
            if key in derived:
                by = derived[key].derived_by
                errors.append(FactError(key, f"is derived by rule '{by}' and cannot be entered; enter its inputs instead", None, loc))
            else:
                errors.append(FactError(key, "is not a fact in the dictionary", suggest(key, dictionary) if len(key) <= 100 else None, loc))
            continue
        try:
            v = coerce(spec, value, source_text=case.source_text(name))
        except BadValue as exc:
            errors.append(FactError(key, str(exc), None, loc))
            continue
        if v is UNKNOWN:
            unknown.append(key)
        else:
            values[key] = v
    entered = {str(k): to_json_value(v) for k, v in raw.items()}
    return Facts(values=values, unknown=tuple(unknown), errors=errors, entered=entered)
