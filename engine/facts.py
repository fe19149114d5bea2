"""Patient facts: read a case file, check every value against the fact dictionary.

Every bad fact is reported (wrong type, out of range, not a listed value, unknown name with
a suggestion, a derived fact entered by hand); nothing is dropped silently. `null` or the
word `unknown` means "asked, not known" and is kept apart from an absent fact.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from . import _yaml
from .errors import GuidewalkError, LoadError, Location, Problem, suggest
from .expressions import UNKNOWN
from .model import FactSpec

__all__ = ["FactError", "Facts", "CaseFacts", "Positions", "BadValue", "read_case", "check_facts", "coerce", "parse_number", "to_json_value"]


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


class Positions(Protocol):
    """Where a case's facts came from: a YAML/JSON file (:class:`engine._yaml.Doc`) or a FHIR
    record (:class:`engine.fhir.extract.Extraction`)."""

    def where(self, path: tuple[Any, ...]) -> Location: ...


@dataclass(frozen=True)
class CaseFacts:
    """One case's facts as entered (fact name -> value), with where each came from when they
    were read from a file or a record, so an error can name the file, line and column."""

    values: Mapping[str, Any]
    doc: Positions | None = None

    @classmethod
    def of(cls, case: "CaseFacts | Mapping[str, Any]") -> "CaseFacts":
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


def coerce(spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
    """The typed value for `spec`, or UNKNOWN for null/'unknown'. Raises BadValue with a reason.

    Numbers written as text follow :func:`parse_number` (`locale` None, "nl" or "en");
    `source_text` is how a number was written in a file (YAML reads an unquoted 1.000 as 1.0),
    so the same ambiguity rules apply to it."""
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
        if source_text is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = source_text  # judge the number as it was written
        v = _number(value, locale)
        if t == "integer":
            v = _whole(v, value)
        else:
            try:
                v = float(v)
            except OverflowError:
                raise BadValue(f"{value!r} is too large for a number") from None
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


#: how a number written as text is read: None (default: refuse what is ambiguous), "nl"
#: (decimal comma, dot groups thousands: 1.000,5) or "en" (decimal point, comma groups: 1,000.5)
NUMBER_LOCALES = (None, "nl", "en")
_PLAIN_INT = re.compile(r"[+-]?\d+")
_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DOT_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")  # 1.000, 12.500, 1.000.000
_NL_NUMBER = re.compile(r"[+-]?\d{1,3}(\.\d{3})*(,\d+)?|[+-]?\d+(,\d+)?")
_EN_NUMBER = re.compile(r"[+-]?\d{1,3}(,\d{3})*(\.\d+)?|[+-]?\d+(\.\d+)?")


def parse_number(text: str, locale: str | None = None) -> int | float:
    """A number written as text. Without a locale, text that could mean two numbers is refused
    with the reason: a comma (decimal comma '1,5' or thousands '1,500'?) or a dot before
    exactly three digits ('1.000': one, or a thousand in Dutch notation?). Whole numbers stay
    exact integers, however large."""
    t = text.strip()
    if locale == "nl":
        if not _NL_NUMBER.fullmatch(t):
            raise BadValue(f"expected a number in Dutch notation (1.000,5), got {text!r}")
        t = t.replace(".", "").replace(",", ".")
    elif locale == "en":
        if not _EN_NUMBER.fullmatch(t):
            raise BadValue(f"expected a number in English notation (1,000.5), got {text!r}")
        t = t.replace(",", "")
    elif "," in t:
        raise BadValue(f"{text!r} has a comma: a decimal comma (1,5 = 1.5) and a thousands separator (1,500 = 1500) cannot be told apart; write the number with a decimal point and no separators (1.5 or 1500)")
    elif _DOT_THOUSANDS.fullmatch(t):
        whole = t.replace(".", "")
        other = f" or {float(t):g}" if t.count(".") == 1 else ""
        raise BadValue(f"{text!r} is ambiguous: a dot before three digits groups thousands in Dutch notation ({whole}){other}; write {whole}{other} without separators")
    if _PLAIN_INT.fullmatch(t):
        return int(t)
    if not _PLAIN_DECIMAL.fullmatch(t):
        raise BadValue(f"expected a number, got {text!r}")
    v = float(t)
    if not math.isfinite(v):
        raise BadValue(f"expected a finite number, got {text!r}")
    return v


def _number(value: Any, locale: str | None = None) -> int | float:
    if isinstance(value, bool):
        raise BadValue(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue(f"expected a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        return parse_number(value, locale)
    raise BadValue(f"expected a number, got {value!r}")


def _whole(v: int | float, value: Any) -> int:
    """An integer fact's value: a fraction is refused; 80.0 (as spreadsheets write whole
    numbers) is 80."""
    if isinstance(v, int):
        return v
    if not v.is_integer():
        raise BadValue(f"expected a whole number, got {value!r}")
    return int(v)


def _fmt(v: float) -> str:
    if isinstance(v, int):
        return str(v) if abs(v) < 10**15 else f"{str(v)[:6]}… ({len(str(abs(v)))} digits)"
    return str(int(v)) if v.is_integer() else str(v)


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


def to_json_value(v: Any) -> Any:
    """A JSON-able form of a fact value (UNKNOWN -> None, sets sorted, dates ISO)."""
    if v is UNKNOWN or v is None:
        return None
    if isinstance(v, (frozenset, set, list, tuple)):
        return sorted(str(x) for x in v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # as entered, for the record; JSON has no NaN or Infinity
    if isinstance(v, (bool, int, float, str)):
        return v
    return json.loads(json.dumps(v, default=str))
