"""Golden cases: a case's facts with the outcome the guideline must give, run and compared.

A golden case is a YAML (or JSON) file::

    description: Lecture case 1 ...          # what the case is (free text)
    source: lecture; reference §7 S01        # where the expected outcome comes from
    flowchart: treatment                     # optional: start here instead of the entry
    guideline: brain-metastases-2020         # optional: an id, or a path relative to this file
    overlay: local.yaml                      # optional: a local protocol overlay
    facts: {kps: 80, bm_count: 4, ...}
    clinician_decision: {actions: [srs]}     # optional: the team's decision (engine.decision)
    expect:
      status: complete                       # required
      path: [...]                            # the nodes walked, in order
      actions: [...]                         # the action codes recommended, in path order
      needs: [...]                           # facts the walk needs (any order)
      errors: [...]                          # facts with invalid values (any order)
      derived: {rpa_class: II, ...}          # these derived facts (others are not compared)
      alerts: [...]                          # the alert rules that hold (any order)
      concordance: deviation_with_reason     # with a clinician_decision

Without ``guideline:``, the case belongs to the guideline named by its folder
(``tests/cases/<guideline id>/case.yaml``), or, when no guideline has that id, to
``<folder>/../../<folder name>/guideline.yaml`` (a guidelines root of its own whose cases lie
in ``<root>/cases/<name>/``). :func:`run_golden` runs one case and lists every expected key
that differs; :func:`diff_text` shows them as a unified diff of expected against actual. Used
by ``guidewalk test`` and by the test suite, so the two cannot disagree. No pytest here.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _yaml
from .errors import GuidewalkError, LoadError, Problem, suggest
from .model import Guideline
from .trace import Result

__all__ = ["CASE_KEYS", "EXPECT_KEYS", "GoldenOutcome", "discover", "read_golden", "guideline_ref", "run_golden", "compare", "diff_text"]

CASE_KEYS = ("description", "source", "note", "guideline", "flowchart", "overlay", "facts", "clinician_decision", "expect")
EXPECT_KEYS = ("status", "path", "actions", "needs", "errors", "derived", "alerts", "concordance")
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class GoldenOutcome:
    """One golden case run: passed, or the expected and actual value of every key that differs
    (``differences``), or why it could not run (``error``)."""

    file: Path
    name: str
    guideline: str = ""
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    error: str | None = None
    result: Result | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.differences

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"case": self.name, "file": str(self.file), "guideline": self.guideline, "ok": self.ok}
        if self.error is not None:
            out["error"] = self.error
        if self.differences:
            out["differences"] = {k: {"expected": e, "actual": a} for k, (e, a) in self.differences.items()}
        return out


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The case files: each file given, and every YAML/JSON file under each folder (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
        elif p.exists():
            out.append(p)
        else:
            raise GuidewalkError(f"{p}: no such file or folder")
    return list(dict.fromkeys(out))


def read_golden(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A golden case file, its keys checked (every problem located, at once)."""
    doc = _yaml.load_file(str(path))
    data = doc.data
    if not isinstance(data, dict):
        raise LoadError([Problem(doc.where(()), "a golden case is a mapping with facts and expect")])
    problems = [Problem(doc.key_where((k,)), f"unknown key '{k}' in a golden case", suggestion=suggest(str(k), CASE_KEYS)) for k in data if k not in CASE_KEYS]
    expect = data.get("expect")
    if not isinstance(expect, dict):
        problems.append(Problem(doc.where(("expect",)), "a golden case needs 'expect', a mapping with at least 'status'"))
    else:
        problems += [
            Problem(doc.key_where(("expect", k)), f"unknown key '{k}' in expect", suggestion=suggest(str(k), EXPECT_KEYS))
            for k in expect
            if k not in EXPECT_KEYS
        ]
        if "status" not in expect:
            problems.append(Problem(doc.where(("expect",)), "expect needs 'status'"))
    if data.get("facts") is not None and not isinstance(data.get("facts"), dict):
        problems.append(Problem(doc.where(("facts",)), "facts must be a mapping of fact name to value"))
    if problems:
        raise LoadError(problems)
    return data


def guideline_ref(path: Path, data: dict[str, Any], override: str | None = None) -> str:
    """Which guideline a case belongs to (see the module docstring)."""
    from .load import default_root, guideline_ids

    if data.get("guideline"):
        ref = str(data["guideline"])
        near = path.parent / ref
        return str(near) if near.exists() else ref
    if override:
        return override
    name = path.resolve().parent.name
    if name in guideline_ids(default_root()):
        return name
    sibling = path.resolve().parent.parent.parent / name / "guideline.yaml"
    if sibling.exists():
        return str(sibling)
    raise GuidewalkError(f"{path}: which guideline? No guideline '{name}' (the case's folder); add `guideline:` to the case or pass --guideline")


def _overlay(path: Path, ref: str) -> str:
    for cand in (Path(ref), path.parent / ref, Path.cwd() / ref):
        if cand.exists():
            return str(cand.resolve())
    raise GuidewalkError(f"{path}: overlay {ref} not found (relative to the case file or the current folder)")


def run_golden(
    path: str | os.PathLike[str],
    *,
    guideline: str | None = None,
    rules: Any = None,
    load: Callable[[str, tuple[str, ...]], Guideline] | None = None,
) -> GoldenOutcome:
    """Run one golden case and compare (`guideline`: the guideline for cases that do not name
    one; `rules`: a rules backend; `load`: a loader (ref, overlays) -> Guideline, e.g. cached)."""
    from .facts import CaseFacts
    from .walk import run

    p = Path(path)
    out = GoldenOutcome(p, f"{p.parent.name}/{p.stem}")
    try:
        data = read_golden(p)
        out.guideline = guideline_ref(p, data, guideline)
        overlays = (_overlay(p, str(data["overlay"])),) if data.get("overlay") else ()
        g = load(out.guideline, overlays) if load is not None else _load(out.guideline, overlays)
        case = CaseFacts(data.get("facts") or {}, decision_raw=data.get("clinician_decision"))
        result = run(g, case, flowchart=data.get("flowchart"), rules=rules)
    except GuidewalkError as exc:
        out.error = str(exc)
        return out
    out.result = result
    out.differences = compare(data["expect"], result)
    return out


def _load(ref: str, overlays: tuple[str, ...]) -> Guideline:
    from .load import load_guideline

    return load_guideline(ref, overlays=overlays)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return math.isclose(float(expected), float(actual), rel_tol=1e-6, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return bool(expected == actual)


def _sorted(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=str)


def compare(expect: dict[str, Any], result: Result) -> dict[str, tuple[Any, Any]]:
    """Every expected key whose actual value differs: key -> (expected, actual). Lists whose
    order does not matter (needs, errors, alerts) are compared and shown sorted; `derived`
    compares only the facts named (numbers to 6 significant digits)."""
    got = result.to_json()
    actual: dict[str, Any] = {
        "status": result.status,
        "path": list(result.path),
        "actions": list(result.actions),
        "needs": _sorted(result.needs),
        "errors": _sorted(e.fact for e in result.errors),
        "alerts": _sorted(a.rule for a in result.alerts),
        "concordance": got.get("concordance"),
    }
    diffs: dict[str, tuple[Any, Any]] = {}
    for key in EXPECT_KEYS:
        if key not in expect:
            continue
        exp = expect[key]
        if key == "derived":
            have = got.get("derived") or {}
            want = dict(exp or {})
            now = {k: have.get(k, "<not derived>") for k in want}
            if any(not _same(v, now[k]) for k, v in want.items()):
                diffs[key] = (want, now)
            continue
        if key in ("needs", "errors", "alerts"):
            exp = _sorted(exp or [])
        if exp != actual[key]:
            diffs[key] = (exp, actual[key])
    if result.status == "needs_facts" and result.recommendations and not result.needs:
        diffs["needs"] = (expect.get("needs", "<facts that would decide>"), [])
    return diffs


def diff_text(outcome: GoldenOutcome) -> str:
    """The differences of a failed case as a unified diff (expected -> actual), or its error."""
    if outcome.error is not None:
        return outcome.error + "\n"
    import yaml

    def dump(side: int) -> list[str]:
        data = {k: v[side] for k, v in outcome.differences.items()}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000).splitlines(keepends=True)

    return "".join(difflib.unified_diff(dump(0), dump(1), fromfile="expected", tofile="actual", n=3))
