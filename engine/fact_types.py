"""The fact types (boolean, integer, number, enum, set, date, string): everything guidewalk
knows about one type, in one place.

For each type: how an entered value is read and checked (and why it is refused), its
JSON form, how its valid values are described to a clinician, which kind it has in the
condition language, whether it is ordered (<, >) and how it maps to a number for the solver,
and the input a form offers. The fact layer, the condition checker, the stepping search, the
solver encoding and the steppers ask this module instead of testing type names. A new fact
type is a new class here plus its name in :data:`engine.format.FACT_TYPES`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import TYPE_CHECKING, Any

from .errors import GuidewalkError, suggest
from .unknown import UNKNOWN

if TYPE_CHECKING:
    from .model import FactSpec

__all__ = ["BadValue", "FactType", "fact_type", "TYPES", "NUMBER_LOCALES", "parse_number", "to_json_value", "show_number", "quoted"]


class BadValue(GuidewalkError, ValueError):
    """A fact value that does not fit its definition; the message says why."""


#: how a number written as text is read: None (default: refuse what is ambiguous), "nl"
#: (decimal comma, dot groups thousands: 1.000,5) or "en" (decimal point, comma groups: 1,000.5)
NUMBER_LOCALES = (None, "nl", "en")
# ASCII digits only: '١٢٣' (Arabic-Indic) or '１２' (full width) are not read as numbers
_PLAIN_INT = re.compile(r"[+-]?[0-9]+")
_PLAIN_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DOT_THOUSANDS = re.compile(r"[+-]?[1-9][0-9]{0,2}(\.[0-9]{3})+")  # 1.000, 12.500, 1.000.000
_NL_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{3})*(,[0-9]+)?|[+-]?[0-9]+(,[0-9]+)?")
_EN_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?|[+-]?[0-9]+(\.[0-9]+)?")
_UNKNOWN_WORDS = ("unknown", "")
#: number text longer than this is refused before it is read (a float ends near 1.8e308)
MAX_NUMBER_TEXT = 400
_QUOTE_LIMIT = 60


def quoted(value: Any, limit: int = _QUOTE_LIMIT) -> str:
    """A value as an error message quotes it: control and invisible characters escaped (no
    terminal escape sequence is echoed back), long text cut, huge integers by their size."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return show_number(value)
    if isinstance(value, str):
        cut = value if len(value) <= limit else value[:limit]
        return repr(cut) + (f"… ({len(value):,} characters)" if cut is not value else "")
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        inner = ", ".join(quoted(x, limit) for x in items[:8]) + (", …" if len(items) > 8 else "")
        return "[" + inner + "]"
    text = repr(value) if isinstance(value, float) else type(value).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def parse_number(text: str, locale: str | None = None) -> int | float:
    """A number written as text. Without a locale, text that could mean two numbers is refused
    with the reason: a comma (decimal comma '1,5' or thousands '1,500'?) or a dot before
    exactly three digits ('1.000': one, or a thousand in Dutch notation?). Whole numbers stay
    exact integers, however large."""
    t = text.strip()
    if len(t) > MAX_NUMBER_TEXT:
        raise BadValue(f"{quoted(text)} is too long for a number")
    if locale == "nl":
        if not _NL_NUMBER.fullmatch(t):
            raise BadValue(f"expected a number in Dutch notation (1.000,5), got {quoted(text)}")
        t = t.replace(".", "").replace(",", ".")
    elif locale == "en":
        if not _EN_NUMBER.fullmatch(t):
            raise BadValue(f"expected a number in English notation (1,000.5), got {quoted(text)}")
        t = t.replace(",", "")
    elif "," in t:
        raise BadValue(
            f"{quoted(text)} has a comma: a decimal comma (1,5 = 1.5) and a thousands separator (1,500 = 1500) cannot be told apart; "
            "write the number with a decimal point and no separators (1.5 or 1500)"
        )
    elif _DOT_THOUSANDS.fullmatch(t):
        whole = t.replace(".", "")
        other = f" or {float(t):g}" if t.count(".") == 1 else ""
        raise BadValue(
            f"{quoted(text)} is ambiguous: a dot before three digits groups thousands in Dutch notation ({whole}){other}; write {whole}{other} without separators"
        )
    if _PLAIN_INT.fullmatch(t):
        return int(t)
    if not _PLAIN_DECIMAL.fullmatch(t):
        raise BadValue(f"expected a number, got {quoted(text)}")
    v = float(t)
    if not math.isfinite(v):
        raise BadValue(f"expected a finite number, got {quoted(text)}")
    return v


def show_number(v: float | int | None) -> str:
    """A bound or value as people read it: 70, not 70.0; huge integers shortened."""
    if v is None:
        return ""
    if isinstance(v, int):
        if abs(v) < 10**15:
            return str(v)
        digits = len(str(abs(v))) if v.bit_length() < 10_000 else _digits(abs(v))  # str() refuses > 4,300 digits
        lead = abs(v) // 10 ** (digits - 6)
        return f"{'-' if v < 0 else ''}{lead}… ({digits} digits)"
    return str(int(v)) if float(v).is_integer() else str(v)


def _digits(n: int) -> int:
    """The number of decimal digits of a positive integer, without str()."""
    d = int(n.bit_length() * 0.30102999566398) + 1
    while d > 1 and 10 ** (d - 1) > n:
        d -= 1
    while 10**d <= n:
        d += 1
    return d


def to_json_value(v: Any) -> Any:
    """A JSON-able form of a fact value (UNKNOWN -> None, sets sorted, dates ISO; NaN and
    infinity as text, since JSON has neither)."""
    if v is UNKNOWN or v is None:
        return None
    if isinstance(v, (frozenset, set, list, tuple)):
        return sorted(str(x) for x in v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (bool, int, float, str)):
        return v
    return json.loads(json.dumps(v, default=str))


class FactType:
    """One fact type. Subclasses say how values are read; the attributes say the rest."""

    name = ""
    kind = ""  #: the kind of a fact of this type in the condition language
    accepts: tuple[str, ...] = ()  #: kinds of value expressions a derive rule may assign to it
    ordered = False  #: compared with < <= > >= (and mapped to a number for the solver)
    whole = False  #: only whole numbers (as the solver sees it)
    html_input = "text"  #: the input a web form offers
    answer = "text"  #: how a clinician writes an answer

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        raise NotImplementedError

    def domain(self, spec: FactSpec) -> str:
        """The valid values, as a clinician reads them."""
        return ""

    def placeholder(self, spec: FactSpec) -> Any:
        """One value standing for all, where no condition compares the fact."""
        return None

    def to_number(self, value: Any) -> Any:
        """An ordered type's value as a number (the solver's view)."""
        return value

    def from_number(self, number: Any) -> Any:
        return number


def coerce_value(spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
    """The typed value for `spec`, or UNKNOWN for null/'unknown'. Raises BadValue with a reason."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _UNKNOWN_WORDS):
        return UNKNOWN
    return fact_type(spec.type).parse(spec, value, locale=locale, source_text=source_text)


class _Boolean(FactType):
    name, kind, accepts, html_input, answer = "boolean", "boolean", ("boolean",), "radio", "yes or no"
    _WORDS = {"yes": True, "true": True, "y": True, "ja": True, "no": False, "false": False, "n": False, "nee": False}

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in self._WORDS:
            return self._WORDS[value.strip().lower()]
        raise BadValue(f"expected yes/no (true/false), got {quoted(value)}")

    def domain(self, spec: FactSpec) -> str:
        return "yes, no"


class _Number(FactType):
    name, kind, accepts, ordered, html_input, answer = "number", "number", ("number",), True, "number", "a number"

    def _read(self, value: Any, locale: str | None, source_text: str | None) -> int | float:
        if source_text is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = source_text  # judge the number as it was written (YAML reads 1.000 as 1.0)
        if isinstance(value, bool):
            raise BadValue(f"expected a number, got {quoted(value)}")
        if isinstance(value, str):
            value = parse_number(value, locale)
        if isinstance(value, int):
            if value.bit_length() > 1000:  # beyond what a number fact can hold (float ends near 2**1024)
                raise BadValue(f"{quoted(value)} is too large for a number")
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise BadValue(f"expected a finite number, got {quoted(value)}")
            return value
        raise BadValue(f"expected a number, got {quoted(value)}")

    def _typed(self, v: int | float, value: Any) -> int | float:
        try:
            return float(v)
        except OverflowError:
            raise BadValue(f"{quoted(value)} is too large for a number") from None

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        v = self._typed(self._read(value, locale, source_text), value)
        if spec.min is not None and v < spec.min or spec.max is not None and v > spec.max:
            raise BadValue(f"{show_number(v)} is outside the valid range {self.domain(spec)}" + (f" {spec.unit}" if spec.unit else ""))
        if spec.step and spec.min is not None:
            off = ((v - spec.min) / spec.step) % 1
            if not math.isclose(off, 0, abs_tol=1e-9) and not math.isclose(off, 1, abs_tol=1e-9):
                raise BadValue(f"{show_number(v)} is not a valid value (steps of {show_number(spec.step)})")
        return v

    def domain(self, spec: FactSpec) -> str:
        lo, hi = show_number(spec.min), show_number(spec.max)
        step = f" step {show_number(spec.step)}" if spec.step else ""
        return f"{lo}..{hi}{step}" if (lo or hi) else ("any" + step)


class _Integer(_Number):
    name, whole, answer = "integer", True, "a whole number"

    def _typed(self, v: int | float, value: Any) -> int:
        """A fraction is refused; 80.0 (as spreadsheets write whole numbers) is 80."""
        if isinstance(v, int):
            return v
        if not v.is_integer():
            raise BadValue(f"expected a whole number, got {quoted(value)}")
        return int(v)


def _word(value: Any) -> str | None:
    """An enum/set value as text: a string (stripped) or a plain whole number; None otherwise."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**15:
        return str(value)
    return None


class _Enum(FactType):
    name, kind, accepts, html_input, answer = "enum", "enum", ("enum", "string"), "radio", "one of the values"

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        s = _word(value)
        if s is None:
            raise BadValue(f"expected one of {', '.join(spec.values)}, got {quoted(value)}")
        if s not in spec.values:
            hint = suggest(s, spec.values) if len(s) <= 100 else None
            raise BadValue(f"{quoted(s)} is not one of {', '.join(spec.values)}" + (f" (did you mean '{hint}'?)" if hint else ""))
        return s

    def domain(self, spec: FactSpec) -> str:
        return ", ".join(spec.values)


class _Set(_Enum):
    name, kind, accepts, html_input, answer = "set", "set", ("set", "list"), "checkbox", "values from the list (or none)"

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        items: Any = value
        if isinstance(value, str):
            items = [x.strip() for x in value.replace(";", ",").split(",") if x.strip()]
        if not isinstance(items, (list, tuple, set, frozenset)):
            raise BadValue(f"expected a list of values from {', '.join(spec.values)}, got {quoted(value)}")
        words = [_word(x) for x in items]
        bad = [x for x, w in zip(items, words) if w is None or w not in spec.values]
        if bad:
            raise BadValue(f"{quoted(bad)[1:-1]} not in {', '.join(spec.values)}")
        return frozenset(w for w in words if w is not None)


class _Date(FactType):
    name, kind, accepts, ordered, whole, html_input, answer = "date", "date", ("date",), True, True, "date", "a date YYYY-MM-DD"

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        if isinstance(value, _dt.date):
            return value
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise BadValue(f"expected a date YYYY-MM-DD, got {quoted(value)}") from None

    def domain(self, spec: FactSpec) -> str:
        return "YYYY-MM-DD"

    def placeholder(self, spec: FactSpec) -> Any:
        return "2000-01-01"

    def to_number(self, value: Any) -> int:
        d = value if isinstance(value, _dt.date) else _dt.date.fromisoformat(str(value))
        return d.toordinal()

    def from_number(self, number: Any) -> str:
        return _dt.date.fromordinal(max(1, int(number))).isoformat()


class _String(FactType):
    name, kind, accepts = "string", "string", ("string", "enum")

    def parse(self, spec: FactSpec, value: Any, *, locale: str | None = None, source_text: str | None = None) -> Any:
        s = value if isinstance(value, str) else _word(value)
        if s is None and isinstance(value, float) and math.isfinite(value):
            s = str(value)
        if s is None:
            raise BadValue(f"expected text, got {quoted(value)}")
        return s

    def placeholder(self, spec: FactSpec) -> Any:
        return ""


TYPES: dict[str, FactType] = {t.name: t for t in (_Boolean(), _Integer(), _Number(), _Enum(), _Set(), _Date(), _String())}


def fact_type(name: str) -> FactType:
    """The type named `name` (the loader admits only the names of engine.format.FACT_TYPES)."""
    return TYPES[name]
