"""Patient facts: read a case file, check every value against the fact dictionary.

Every bad fact is reported (wrong type, out of range, not a listed value, unknown name with
a suggestion, a derived fact entered by hand); nothing is dropped silently. `null` or the
word `unknown` means "asked, not known" and is kept apart from an absent fact.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from . import _yaml
from .errors import GuidewalkError, LoadError, Location, Problem, suggest
from .expressions import UNKNOWN
from .model import FactSpec

__all__ = ["FactError", "Facts", "CaseFacts", "read_case", "check_facts", "coerce", "to_json_value"]


@dataclass(frozen=True)
class FactError:
    fact: str
    message: str
    suggestion: str | None = None
    location: Location | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fact": self.fact, "message": self.message}
        if self.suggestion:
            out["suggestion"] = self.suggestion
        if self.location and self.location.line:
            out["location"] = str(self.location)
        return out

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location and self.location.line else ""
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        return f"{where}{self.fact}: {self.message}{hint}"


@dataclass
class Facts:
    """Checked facts: known values, the names answered 'unknown', and the errors."""

    values: dict[str, Any]
    unknown: tuple[str, ...]
    errors: list[FactError]
    entered: dict[str, Any]  # as entered (JSON-able), for reports


@dataclass(frozen=True)
class CaseFacts:
    """One case's facts as entered (fact name -> value), with where each came from when they
    were read from a file, so an error can name the file, line and column."""

    values: Mapping[str, Any]
    doc: _yaml.Doc | None = None

    @classmethod
    def of(cls, case: "CaseFacts | Mapping[str, Any]") -> "CaseFacts":
        return case if isinstance(case, CaseFacts) else cls(case)

    @property
    def file(self) -> str | None:
        return self.doc.file if self.doc is not None else None

    def where(self, name: str) -> Location | None:
        return self.doc.where((name,)) if self.doc is not None else None


def read_case(path: str) -> CaseFacts:
    """A case file (YAML or JSON mapping of fact name to value)."""
    doc = _yaml.load_file(path)
    if doc.data is None:
        return CaseFacts({}, doc)
    if not isinstance(doc.data, dict):
        raise LoadError([Problem(doc.where(()), "a case file must be a mapping of fact name to value")])
    return CaseFacts(doc.data, doc)


class BadValue(GuidewalkError, ValueError):
    """A fact value that does not fit its definition; the message says why."""


def coerce(spec: FactSpec, value: Any) -> Any:
    """The typed value for `spec`, or UNKNOWN for null/'unknown'. Raises BadValue with a reason."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("unknown", "")):
        return UNKNOWN
    t = spec.type
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("yes", "true", "no", "false", "y", "n", "ja", "nee"):
            return value.strip().lower() in ("yes", "true", "y", "ja")
        raise BadValue(f"expected yes/no (true/false), got {value!r}")
    if t in ("integer", "number"):
        v = _number(value)
        if t == "integer":
            if not float(v).is_integer():
                raise BadValue(f"expected a whole number, got {value!r}")
            v = int(v)
        else:
            v = float(v)
        if spec.min is not None and v < spec.min or spec.max is not None and v > spec.max:
            raise BadValue(f"{_fmt(v)} is outside the valid range {spec.describe_domain()}" + (f" {spec.unit}" if spec.unit else ""))
        if spec.step and spec.min is not None and not math.isclose(((v - spec.min) / spec.step) % 1, 0, abs_tol=1e-9) and not math.isclose(((v - spec.min) / spec.step) % 1, 1, abs_tol=1e-9):
            raise BadValue(f"{_fmt(v)} is not a valid value (steps of {_fmt(spec.step)})")
        return v
    if t == "enum":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise BadValue(f"expected one of {', '.join(spec.values)}, got {value!r}")
        s = str(value).strip()
        if s not in spec.values:
            hint = suggest(s, spec.values)
            raise BadValue(f"'{s}' is not one of {', '.join(spec.values)}" + (f" (did you mean '{hint}'?)" if hint else ""))
        return s
    if t == "set":
        items: Any = value
        if isinstance(value, str):
            items = [x.strip() for x in value.replace(";", ",").split(",") if x.strip()]
        if not isinstance(items, (list, tuple, set, frozenset)):
            raise BadValue(f"expected a list of values from {', '.join(spec.values)}, got {value!r}")
        bad = [str(x) for x in items if str(x) not in spec.values]
        if bad:
            raise BadValue(f"{', '.join(repr(b) for b in bad)} not in {', '.join(spec.values)}")
        return frozenset(str(x) for x in items)
    if t == "date":
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise BadValue(f"expected a date YYYY-MM-DD, got {value!r}") from None
    if t == "string":
        return str(value)
    raise BadValue(f"unsupported type {t}")  # pragma: no cover


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise BadValue(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise BadValue(f"expected a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        try:
            v = float(value.strip().replace(",", "."))
        except ValueError:
            raise BadValue(f"expected a number, got {value!r}") from None
        if not math.isfinite(v):
            raise BadValue(f"expected a finite number, got {value!r}")
        return int(v) if v.is_integer() and "." not in value and "e" not in value.lower() else v
    raise BadValue(f"expected a number, got {value!r}")


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


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
                errors.append(FactError(key, "is not a fact in the dictionary", suggest(key, dictionary), loc))
            continue
        try:
            v = coerce(spec, value)
        except BadValue as exc:
            errors.append(FactError(key, str(exc), None, loc))
            continue
        if v is UNKNOWN:
            unknown.append(key)
        else:
            values[key] = v
    entered = {str(k): to_json_value(v) for k, v in raw.items()}
    return Facts(values=values, unknown=tuple(unknown), errors=errors, entered=entered)


def to_json_value(v: Any) -> Any:
    """A JSON-able form of a fact value (UNKNOWN -> None, sets sorted, dates ISO)."""
    if v is UNKNOWN or v is None:
        return None
    if isinstance(v, (frozenset, set, list, tuple)):
        return sorted(str(x) for x in v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return v
    if isinstance(v, (bool, int, float, str)):
        return v
    return json.loads(json.dumps(v, default=str))
