"""The binding table: where each fact of the dictionary is found in a FHIR R4 record.

``guidelines/bindings/fhir.yaml`` binds facts that have a standard code (LOINC, SNOMED CT, WHO
ICD-10, HGNC; mCODE profiles); every other base fact of the dictionary is bound to an
Observation coded with the guidewalk code system (code = the fact name), its value element
chosen by the fact's type. The file is loaded with positions, and every problem (an unknown
fact, a code system without a name, a value the fact cannot take, ...) is reported at once with
``file:line:col``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import LoadError, Location, Problem
from ..facts import BadValue, coerce, to_json_value
from ..load import default_root
from ..model import FactSpec

__all__ = [
    "Coding",
    "MapEntry",
    "Component",
    "Binding",
    "Bindings",
    "load_bindings",
    "default_path",
    "GW_FACT",
    "GW_VALUE",
    "GW_ACTION",
    "GW_OVERRIDE",
    "GW_GUIDELINE",
    "UNKNOWN_REASONS",
    "NOT_DONE_VALUES",
]

FORMAT = "guidewalk-fhir-bindings/1"
RESOURCES = ("Patient", "Observation", "Condition")
ELEMENTS = {
    "Patient": ("birthDate",),
    "Observation": ("valueInteger", "valueQuantity", "valueCodeableConcept", "valueBoolean", "valueString", "valueDateTime"),
    "Condition": ("code", "presence"),
}
BINDING_KEYS = (
    "resource",
    "profile",
    "code",
    "display",
    "element",
    "component",
    "map",
    "absent",
    "max_age_days",
    "inferred",
    "note",
    "source",
    "guidewalk_code",
)
TOP_KEYS = ("format", "fhir", "systems", "observation_status", "staleness", "units", "bindings", "unverified")
# the gw-* names every deployment needs (the code uses them for guidewalk codes and outputs)
GW_FACT, GW_VALUE, GW_ACTION, GW_OVERRIDE, GW_GUIDELINE = "gw-fact", "gw-value", "gw-action", "gw-override", "gw-guideline"
REQUIRED_SYSTEMS = (GW_FACT, GW_VALUE, GW_ACTION, GW_OVERRIDE, GW_GUIDELINE, "dar", "ucum")
# data-absent-reason codes that mean "asked, not known" (a fact answered `unknown`)
UNKNOWN_REASONS = ("unknown", "asked-unknown", "temp-unknown")
# enum values that mean "not done"; a guidewalk-coded Observation with dataAbsentReason
# not-performed takes the one its fact has
NOT_DONE_VALUES = ("not_done", "not_tested", "not_assessed")
# value elements of guidewalk-coded Observations, by fact type (the first is the canonical one)
GW_ELEMENTS = {
    "boolean": ("valueBoolean",),
    "integer": ("valueInteger", "valueQuantity"),
    "number": ("valueQuantity", "valueInteger"),
    "enum": ("valueCodeableConcept", "valueString"),
    "set": ("component",),
    "date": ("valueDateTime",),
    "string": ("valueString",),
}


@dataclass(frozen=True)
class Coding:
    system: str  # the URL
    code: str
    display: str | None = None
    alias: str = ""  # the short name used in the binding file

    def key(self) -> str:
        return f"{self.system}|{self.code}"

    def short(self) -> str:
        return f"{self.alias or self.system}|{self.code}"

    def to_fhir(self) -> dict[str, str]:
        out = {"system": self.system, "code": self.code}
        if self.display:
            out["display"] = self.display
        return out


@dataclass(frozen=True)
class MapEntry:
    coding: Coding
    value: Any  # the fact value (JSON level: str, bool, ...)
    prefix: bool = False  # match codes that start with this one (ICD-10 categories)

    def matches(self, system: str | None, code: str | None) -> bool:
        if system != self.coding.system or not code:
            return False
        if self.prefix:
            return (
                code == self.coding.code
                or code.startswith(self.coding.code + ".")
                or (code.startswith(self.coding.code) and "." not in self.coding.code and code[len(self.coding.code) :].isdigit())
            )
        return code == self.coding.code


@dataclass(frozen=True)
class Component:
    codes: tuple[Coding, ...]
    values: tuple[Coding, ...]


@dataclass
class Binding:
    """Where one fact is found. `standard` is False for guidewalk-coded facts."""

    fact: str
    resource: str
    element: str
    spec: FactSpec
    codes: tuple[Coding, ...] = ()
    standard: bool = True
    profile: str | None = None
    display: str | None = None
    component: Component | None = None
    map: tuple[MapEntry, ...] = ()
    absent: dict[str, Any] = field(default_factory=dict)  # data-absent-reason -> value (None: unknown)
    ucum: str | None = None
    also: dict[str, float] = field(default_factory=dict)  # other UCUM codes -> factor
    max_age_days: int | None = None  # None: no limit
    same_day: bool = False
    inferred: str | None = None
    note: str | None = None
    source: str | None = None
    location: Location | None = None

    @property
    def elements(self) -> tuple[str, ...]:
        if self.standard:
            return (self.element,)
        return GW_ELEMENTS.get(self.spec.type, (self.element,))

    def value_for(self, system: str | None, code: str | None) -> tuple[bool, Any]:
        """(found, value) for a coded answer."""
        for m in self.map:
            if m.matches(system, code):
                return True, m.value
        return False, None


@dataclass
class Bindings:
    file: str
    sha256: str
    systems: dict[str, str]
    by_fact: dict[str, Binding]
    observation_status: tuple[str, ...]
    default_days: int | None
    unverified: dict[str, str]
    units: dict[str, tuple[str, dict[str, float]]]
    # standard-bound facts that may also be recorded with their guidewalk code (values the
    # standard codes do not cover); read together with the standard source
    alternatives: dict[str, Binding] = field(default_factory=dict)
    _index: dict[tuple[str, str, str], list[Binding]] = field(default_factory=dict)
    _prefix: dict[tuple[str, str], list[Binding]] = field(default_factory=dict)

    def system(self, alias: str) -> str:
        return self.systems[alias]

    @property
    def standard(self) -> list[Binding]:
        return [b for b in self.by_fact.values() if b.standard]

    def index(self) -> None:
        self._index.clear()
        self._prefix.clear()
        for b in [*self.by_fact.values(), *self.alternatives.values()]:
            keys = list(b.codes) if b.element != "code" else [m.coding for m in b.map if not m.prefix]
            for c in keys:
                self._index.setdefault((b.resource, c.system, c.code), []).append(b)
            for m in b.map:
                if m.prefix and b.element == "code":
                    self._prefix.setdefault((b.resource, m.coding.system), []).append(b)

    def candidates(self, resource_type: str, system: str | None, code: str | None) -> list[Binding]:
        """The bindings a coding of a resource may feed."""
        if not system or not code:
            return []
        out = list(self._index.get((resource_type, system, code), []))
        for b in self._prefix.get((resource_type, system), []):
            if b not in out and b.value_for(system, code)[0]:
                out.append(b)
        return out


def default_path() -> Path:
    return default_root() / "bindings" / "fhir.yaml"


_CACHE: dict[tuple[str, int, int], Bindings] = {}


def load_bindings(dictionary: Mapping[str, FactSpec], path: str | Path | None = None) -> Bindings:
    """The binding table for `dictionary` (a guideline's ``dictionary``): the file's standard
    bindings plus a guidewalk binding for every other base fact. Raises LoadError with every
    problem, located."""
    p = Path(path) if path else default_path()
    try:
        st = p.stat()
    except OSError as exc:
        raise LoadError([Problem(Location(str(p)), f"cannot read the FHIR binding file: {exc.strerror}")]) from None
    key = (str(p.resolve()), st.st_mtime_ns, hash(tuple(sorted(dictionary))))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    doc = _yaml.load_file(_rel(p))
    out = _Loader(doc, dictionary).load()
    _CACHE[key] = out
    return out


def _rel(p: Path) -> str:
    try:
        return os.path.relpath(p)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(p)


class _Loader:
    def __init__(self, doc: _yaml.Doc, dictionary: Mapping[str, FactSpec]):
        self.doc = doc
        self.dictionary = dictionary
        self.problems: list[Problem] = []
        self.systems: dict[str, str] = {}

    def err(self, path: tuple[Any, ...], message: str, suggestion: str | None = None, *, key: bool = False) -> None:
        loc = self.doc.key_where(path) if key else self.doc.where(path)
        self.problems.append(Problem(loc, message, suggestion=suggestion))

    def suggest(self, name: str, names: Any) -> str | None:
        import difflib

        found = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
        return found[0] if found else None

    def mapping(self, path: tuple[Any, ...], value: Any, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.err(path, f"{what} must be a mapping")
            return {}
        return value

    def names(self, path: tuple[Any, ...], value: Any, what: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.err(path, f"{what} must be a list of fact names")
            return []
        for i, v in enumerate(value):
            if v not in self.dictionary:
                self.err(path + (i,), f"'{v}' is not a base fact of the dictionary", self.suggest(v, self.dictionary))
        return value

    def coding(self, path: tuple[Any, ...], text: Any, display: str | None = None) -> Coding | None:
        if not isinstance(text, str) or "|" not in text:
            self.err(path, f"a code is written SYSTEM|CODE with a system named under 'systems', got {text!r}")
            return None
        alias, code = text.split("|", 1)
        if alias not in self.systems:
            self.err(path, f"unknown code system '{alias}' (known: {', '.join(self.systems)})", self.suggest(alias, self.systems))
            return None
        if not code.strip():
            self.err(path, "empty code")
            return None
        return Coding(self.systems[alias], code.strip(), display, alias)

    def codings(self, path: tuple[Any, ...], value: Any, display: str | None = None) -> tuple[Coding, ...]:
        items = value if isinstance(value, list) else [value]
        out = []
        for i, t in enumerate(items):
            c = self.coding(path + ((i,) if isinstance(value, list) else ()), t, display)
            if c:
                out.append(c)
        return tuple(out)

    def load(self) -> Bindings:
        d = self.doc.data
        if not isinstance(d, dict):
            raise LoadError([Problem(self.doc.where(()), "the FHIR binding file must be a mapping")])
        for k in d:
            if k not in TOP_KEYS:
                self.err((k,), f"unknown key '{k}' in the FHIR binding file", self.suggest(str(k), TOP_KEYS), key=True)
        if d.get("format") != FORMAT:
            self.err(("format",), f"format must be {FORMAT}")
        systems = self.mapping(("systems",), d.get("systems"), "systems")
        for alias, url in systems.items():
            if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
                self.err(("systems", alias), "a code system is a URI without spaces")
            else:
                self.systems[str(alias)] = url
        for need in REQUIRED_SYSTEMS:
            if need not in self.systems:
                self.err(("systems",), f"systems must name '{need}'")
        status = d.get("observation_status") or ["final", "amended", "corrected"]
        if not isinstance(status, list):
            self.err(("observation_status",), "observation_status must be a list")
            status = ["final", "amended", "corrected"]
        stale = self.mapping(("staleness",), d.get("staleness"), "staleness")
        for k in stale:
            if k not in ("default_days", "none", "same_day"):
                self.err(("staleness", k), f"unknown key '{k}' in staleness", self.suggest(str(k), ("default_days", "none", "same_day")), key=True)
        default_days = stale.get("default_days", 30)
        if default_days is not None and (isinstance(default_days, bool) or not isinstance(default_days, int) or default_days < 0):
            self.err(("staleness", "default_days"), "default_days must be a whole number of days (or null: no limit)")
            default_days = 30
        no_limit = set(self.names(("staleness", "none"), stale.get("none"), "staleness.none"))
        same_day = set(self.names(("staleness", "same_day"), stale.get("same_day"), "staleness.same_day"))
        units = self._units(d.get("units"))
        by_fact: dict[str, Binding] = {}
        raw_b = self.mapping(("bindings",), d.get("bindings"), "bindings")
        for fact, rb in raw_b.items():
            b = self._binding(str(fact), rb, units)
            if b is not None:
                by_fact[b.fact] = b
        unverified = {str(k): str(v) for k, v in self.mapping(("unverified",), d.get("unverified"), "unverified").items()}
        for k in unverified:
            if k not in self.dictionary:
                self.err(("unverified", k), f"'{k}' is not a base fact of the dictionary", self.suggest(k, self.dictionary), key=True)
            elif k in by_fact:
                self.err(("unverified", k), f"'{k}' is bound above; an unverified code cannot also be listed", key=True)
        if self.problems:
            raise LoadError(self.problems)
        alternatives: dict[str, Binding] = {}
        todo: list[tuple[str, FactSpec, Binding]] = []
        for name, spec in self.dictionary.items():
            if name in by_fact:
                b = by_fact[name]
                if (raw_b.get(name) or {}).get("guidewalk_code") is True:
                    alternatives[name] = self._guidewalk(name, spec)
                    todo.append((name, spec, alternatives[name]))
            else:
                b = self._guidewalk(name, spec)
            todo.append((name, spec, b))
        for name, spec, b in todo:
            if b.resource == "Observation" and spec.unit and not b.ucum:
                ucum, also = units.get(spec.unit, (None, {}))
                if ucum is None and spec.type in ("integer", "number"):
                    self.err(("units",), f"no UCUM code for unit '{spec.unit}' (fact {name})")
                b.ucum, b.also = ucum, also
            for r in UNKNOWN_REASONS:
                b.absent.setdefault(r, None)
            if b.resource == "Observation" and name not in no_limit:
                if name in same_day:
                    b.same_day, b.max_age_days = True, 0
                elif b.max_age_days is None and ("max_age_days" not in (raw_b.get(name) or {}) or not b.standard):
                    b.max_age_days = default_days
            if name not in alternatives or b is not alternatives[name]:
                by_fact[name] = b
        if self.problems:
            raise LoadError(self.problems)
        out = Bindings(
            file=self.doc.file,
            sha256=hashlib.sha256(self.doc.text).hexdigest(),
            systems=dict(self.systems),
            by_fact=by_fact,
            observation_status=tuple(str(s) for s in status),
            default_days=default_days,
            unverified=unverified,
            units=units,
            alternatives=alternatives,
        )
        out.index()
        return out

    def _guidewalk(self, name: str, spec: FactSpec) -> Binding:
        b = Binding(
            fact=name,
            resource="Observation",
            element=GW_ELEMENTS.get(spec.type, ("valueString",))[0],
            spec=spec,
            codes=(Coding(self.systems[GW_FACT], name, spec.question, GW_FACT),),
            standard=False,
        )
        if spec.type == "enum":
            nd = [v for v in NOT_DONE_VALUES if v in spec.values]
            if nd:
                b.absent["not-performed"] = nd[0]
        return b

    def _units(self, raw: Any) -> dict[str, tuple[str, dict[str, float]]]:
        out: dict[str, tuple[str, dict[str, float]]] = {}
        for unit, spec in self.mapping(("units",), raw, "units").items():
            p = ("units", unit)
            if not isinstance(spec, dict) or not isinstance(spec.get("ucum"), str):
                self.err(p, "a unit needs {ucum: CODE} (and optionally also: {OTHER: FACTOR})")
                continue
            also: dict[str, float] = {}
            for other, factor in self.mapping(p + ("also",), spec.get("also"), "also").items():
                if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
                    self.err(p + ("also", other), "a conversion factor is a positive number")
                else:
                    also[str(other)] = float(factor)
            out[str(unit)] = (spec["ucum"], also)
        return out

    def _binding(self, fact: str, rb: Any, units: dict[str, tuple[str, dict[str, float]]]) -> Binding | None:
        p: tuple[Any, ...] = ("bindings", fact)
        spec = self.dictionary.get(fact)
        if spec is None:
            self.err(p, f"'{fact}' is not a base fact of the dictionary", self.suggest(fact, self.dictionary), key=True)
            return None
        if not isinstance(rb, dict):
            self.err(p, "a binding must be a mapping")
            return None
        for k in rb:
            if k not in BINDING_KEYS:
                self.err(p + (k,), f"unknown key '{k}' in the binding of {fact}", self.suggest(str(k), BINDING_KEYS), key=True)
        resource = rb.get("resource")
        if resource not in RESOURCES:
            self.err(p + ("resource",), f"resource must be one of {', '.join(RESOURCES)}, got {resource!r}", self.suggest(str(resource), RESOURCES))
            return None
        element = rb.get("element")
        if element not in ELEMENTS[resource]:
            self.err(
                p + ("element",),
                f"element of a {resource} binding must be one of {', '.join(ELEMENTS[resource])}, got {element!r}",
                self.suggest(str(element), ELEMENTS[resource]),
            )
            return None
        display = rb.get("display") if isinstance(rb.get("display"), str) else None
        codes = self.codings(p + ("code",), rb["code"], display) if "code" in rb else ()
        if resource != "Patient" and element != "code" and not codes:
            self.err(p, f"a {resource} binding needs a code (SYSTEM|CODE)")
        b = Binding(
            fact=fact,
            resource=resource,
            element=element,
            spec=spec,
            codes=codes,
            profile=rb.get("profile"),
            display=display,
            inferred=rb.get("inferred"),
            note=rb.get("note"),
            source=rb.get("source"),
            location=self.doc.where(p),
        )
        if "component" in rb:
            comp = self.mapping(p + ("component",), rb["component"], "component")
            cc = self.codings(p + ("component", "code"), comp.get("code"), comp.get("display"))
            cv = self.codings(p + ("component", "value"), comp.get("value"))
            if not cc or not cv:
                self.err(p + ("component",), "component needs code and value (SYSTEM|CODE, or a list)")
            b.component = Component(cc, cv)
        entries = rb.get("map")
        if entries is not None:
            if not isinstance(entries, list):
                self.err(p + ("map",), "map must be a list of {code, value, display?, match?}")
                entries = []
            mp: list[MapEntry] = []
            for i, e in enumerate(entries):
                ep = p + ("map", i)
                if not isinstance(e, dict) or "code" not in e or "value" not in e:
                    self.err(ep, "a map entry is {code: SYSTEM|CODE, value: VALUE, display: TEXT, match: prefix}")
                    continue
                c = self.coding(ep + ("code",), e["code"], e.get("display"))
                if e.get("match") not in (None, "prefix", "exact"):
                    self.err(ep + ("match",), "match is exact (default) or prefix")
                try:
                    v = coerce(spec, e["value"])
                except BadValue as exc:
                    self.err(ep + ("value",), f"not a value of {fact}: {exc}")
                    continue
                if c:
                    mp.append(MapEntry(c, to_json_value(v), e.get("match") == "prefix"))
            b.map = tuple(mp)
        if element in ("valueCodeableConcept", "code") and not b.map:
            self.err(p, f"a binding read from {element} needs a map from codes to values of {fact}")
        if element == "presence" and spec.type != "boolean":
            self.err(p + ("element",), f"presence gives yes/no, but {fact} is {spec.type}")
        if element == "birthDate" and (spec.type != "integer" or spec.unit != "years"):
            self.err(p + ("element",), f"birthDate gives an age in years, but {fact} is {spec.type} in {spec.unit}")
        for reason, value in self.mapping(p + ("absent",), rb.get("absent"), "absent").items():
            try:
                b.absent[str(reason)] = to_json_value(coerce(spec, value))
            except BadValue as exc:
                self.err(p + ("absent", reason), f"not a value of {fact}: {exc}")
        if rb.get("guidewalk_code") not in (None, True, False):
            self.err(p + ("guidewalk_code",), "guidewalk_code is true or false")
        if "max_age_days" in rb:
            m = rb["max_age_days"]
            if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 0):
                self.err(p + ("max_age_days",), "max_age_days is a whole number of days, or null for no limit")
            else:
                b.max_age_days = m
        if resource == "Observation" and spec.unit:
            b.ucum, b.also = units.get(spec.unit, (None, {}))
        return b
