"""Read FHIR R4 JSON and validate it with a maintained model library (``fhir.resources``).

``fhir.resources`` ships R5 by default and R4B as a subpackage (pure R4 is no longer shipped);
R4B's Observation, Condition, Patient and Bundle are R4's, so an R4 Bundle validates against
them. Validation errors are reported with the FHIR path of the bad element
(``Bundle.entry[2].resource.valueInteger``), the resource it belongs to (``Observation/kps-1``)
and, for a file, its ``line:col``. After validation the plain JSON is what the extractor reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import _yaml
from ..errors import LoadError, Location, Problem
from . import require_extra

__all__ = ["Entry", "Record", "read_bundle", "record_from_json", "record_from_resources", "fhir_path", "MAX_BYTES"]

MAX_BYTES = 50_000_000


@dataclass
class Entry:
    """One resource of the record, with where it came from."""

    resource: dict[str, Any]
    path: tuple[Any, ...]  # JSON path of the resource in its document, e.g. ("entry", 3, "resource")
    full_url: str | None = None
    origin: str = ""  # the file, or the prefetch key

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def ref(self) -> str:
        rid = self.resource.get("id")
        return f"{self.type}/{rid}" if rid else (self.full_url or f"{self.type} at {fhir_path(self.path, self.type)}")


@dataclass
class Record:
    """The resources of one patient's record (a Bundle file or CDS Hooks prefetch)."""

    entries: list[Entry]
    file: str
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    root: str = "Bundle"  # the root resource type, for FHIR paths

    def location(self, path: tuple[Any, ...]) -> Location:
        """file:line:col of the element at `path` (or its nearest located ancestor), with its
        FHIR path."""
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        line, col = self.marks.get(p, (0, 0))
        return Location(self.file, line, col, fhir_path(path, self.root))

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)


def fhir_path(path: tuple[Any, ...], root: str = "Bundle") -> str:
    """("entry", 2, "resource", "valueInteger") -> "Bundle.entry[2].resource.valueInteger"."""
    out = root
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _problem(
    record_file: str, marks: dict[tuple[Any, ...], tuple[int, int]], path: tuple[Any, ...], message: str, root: str, ref: str | None = None
) -> Problem:
    p = tuple(path)
    while p and p not in marks:
        p = p[:-1]
    line, col = marks.get(p, (0, 0))
    where = fhir_path(path, root)
    return Problem(Location(record_file, line, col, where), f"{where}: {message}" + (f" (in {ref})" if ref else ""))


def read_bundle(path: str) -> Record:
    """A FHIR R4 Bundle from a JSON file, validated; LoadError with every problem otherwise."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise LoadError([Problem(Location(path), f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise LoadError([Problem(Location(path), f"file larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise LoadError([Problem(Location(path), f"not UTF-8 text: {exc}")]) from None
    except json.JSONDecodeError as exc:
        raise LoadError([Problem(Location(path, exc.lineno, exc.colno), f"not valid JSON: {exc.msg}")]) from None
    marks: dict[tuple[Any, ...], tuple[int, int]] = {}
    try:  # positions of every element (JSON is YAML); best effort, the data comes from json
        marks = _yaml.load_text(text, path).marks
    except LoadError:
        pass
    return record_from_json(data, path, marks)


def record_from_json(data: Any, file: str, marks: dict[tuple[Any, ...], tuple[int, int]] | None = None) -> Record:
    """Validate a Bundle (JSON data) and list its resources."""
    marks = marks or {}
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        got = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise LoadError([_problem(file, marks, (), f"expected a FHIR Bundle (resourceType 'Bundle'), got {got!r}", "Bundle")])
    _validate(data, file, marks, "Bundle")
    entries = [
        Entry(e["resource"], ("entry", i, "resource"), e.get("fullUrl"), file)
        for i, e in enumerate(data.get("entry") or [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    return Record(entries, file, marks)


def record_from_resources(items: dict[str, Any], origin: str = "prefetch") -> Record:
    """CDS Hooks prefetch: key -> a resource, a searchset Bundle, or null. Every resource is
    validated; the paths are ``prefetch.KEY...``."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for key, data in items.items():
        if data is None:
            continue
        try:
            if isinstance(data, dict) and data.get("resourceType") == "Bundle":
                _validate(data, origin, {}, f"prefetch.{key}")
                for i, e in enumerate(data.get("entry") or []):
                    if isinstance(e, dict) and isinstance(e.get("resource"), dict):
                        entries.append(Entry(e["resource"], (key, "entry", i, "resource"), e.get("fullUrl"), f"prefetch.{key}"))
            else:
                _validate(data, origin, {}, f"prefetch.{key}")
                entries.append(Entry(data, (key,), None, f"prefetch.{key}"))
        except LoadError as exc:
            problems.extend(exc.problems)
    if problems:
        raise LoadError(problems)
    return Record(entries, origin, {}, root="prefetch")


def _validate(data: Any, file: str, marks: dict[tuple[Any, ...], tuple[int, int]], root: str) -> None:
    """Validate one resource (a Bundle with its entries, or a single resource) against the R4B
    models; LoadError listing each bad element with its FHIR path."""
    require_extra("fhir.resources", "reading FHIR resources")
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise LoadError([_problem(file, marks, (), "not a FHIR resource (no resourceType)", root)])
    problems: list[Problem] = []
    # unknown resource types first: the model library would stop at the first with a KeyError
    todo: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    if data.get("resourceType") == "Bundle" and isinstance(data.get("entry"), list):
        todo += [(("entry", i, "resource"), e.get("resource")) for i, e in enumerate(data["entry"]) if isinstance(e, dict) and "resource" in e]
    for path, res in todo:
        rt = res.get("resourceType") if isinstance(res, dict) else None
        try:
            if not isinstance(rt, str):
                raise ValueError
            get_fhir_model_class(rt)
        except (ValueError, KeyError):
            problems.append(_problem(file, marks, path + ("resourceType",), f"unknown FHIR resource type {rt!r}", root))
    if problems:
        raise LoadError(problems)
    cls = get_fhir_model_class(data["resourceType"])
    try:
        cls.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err.get("loc") or ())
            ref = _ref_at(data, loc)
            problems.append(_problem(file, marks, loc, _message(err), root, ref))
    except (ValueError, TypeError, KeyError) as exc:  # the library's own checks outside pydantic
        problems.append(_problem(file, marks, (), f"not valid FHIR R4: {type(exc).__name__}: {exc}", root))
    if problems:
        raise LoadError(problems)


def _message(err: Any) -> str:
    msg = str(err.get("msg") or "invalid")
    kind = err.get("type") or ""
    if kind in ("missing",) or kind.endswith(".missing"):
        return "required element is missing"
    if kind == "extra_forbidden":
        return "unknown element (not part of this resource in FHIR R4)"
    msg = msg.replace("Value error, ", "")
    if "input" in err and kind not in ("missing",):
        shown = repr(err["input"])
        if len(shown) < 60:
            msg += f" (got {shown})"
    return msg


def _ref_at(data: Any, loc: tuple[Any, ...]) -> str | None:
    """The resource an error path points into, e.g. 'Observation/kps-1'."""
    if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int):
        try:
            res = data["entry"][loc[1]]["resource"]
            rid = res.get("id")
            return f"{res.get('resourceType')}/{rid}" if rid else f"{res.get('resourceType')} (entry {loc[1]})"
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
    return None
