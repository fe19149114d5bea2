"""Seeded fuzzing of the whole pipeline: cases generated from the fact dictionary (valid and
invalid values, every flowchart of every shipped guideline) and hostile condition text.

For every case: no exception but guidewalk's own errors; a case with an invalid value is
never walked (always ``invalid_facts``), a valid one never refused; the same output twice;
the built-in and durable_rules backends agree; and a batch audited as a JSON Lines cohort
gives each case the walk's status, path, actions and needs, one row per case.

CI runs ``GUIDEWALK_FUZZ_CASES`` cases (default 2,000, seeded, the same every run). The long
run::

    GUIDEWALK_FUZZ_CASES=100000 GUIDEWALK_FUZZ_REPORT=fuzz.jsonl .venv/bin/python -m pytest -q tests/test_fuzz.py

writes one line of counts per batch to the report file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import guideline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidewalk.engine.audit import audit
from guidewalk.engine.audit.cohort import flow_facts
from guidewalk.engine.errors import GuidewalkError
from guidewalk.engine.model import FactSpec, Guideline
from guidewalk.engine.rules import backend, durable_available
from guidewalk.engine.trace import dumps
from guidewalk.engine.walk import run

CASES = int(os.environ.get("GUIDEWALK_FUZZ_CASES", "2000"))
BATCH = 500
SEED = 20_240_611
REPORT = os.environ.get("GUIDEWALK_FUZZ_REPORT")
GUIDELINES = ("spinal-metastases", "brain-metastases-2020", "leptomeningeal-metastases-2020")
ESC = "\x1b[2J\x1b]0;x\x07"


@cache
def _targets() -> list[tuple[str, str, tuple[str, ...]]]:
    """(guideline, flowchart, the base facts it can read) for every flowchart."""
    out = []
    for gid in GUIDELINES:
        g = guideline(gid)
        for fc in g.flowcharts:
            out.append((gid, fc, tuple(flow_facts(g, fc))))
    return out


# ------------------------------------------------------------------------------- values


def _valid(spec: FactSpec, rng: random.Random) -> Any:
    """A value the fact accepts, in one of the forms a case file, a form or a cohort gives."""
    t = spec.type
    if t == "boolean":
        return rng.choice([True, False, "yes", "no", "ja", "nee", "true", " No ", "Y"])
    if t in ("integer", "number"):
        lo = spec.min if spec.min is not None else -1000
        hi = spec.max if spec.max is not None else lo + 1000
        if spec.step:
            k = rng.randint(0, int((hi - lo) // spec.step))
            v: float = min(round(lo + k * spec.step, 9), hi)
        elif t == "integer":
            v = rng.randint(math.ceil(lo), math.floor(hi))
        else:
            v = round(rng.uniform(lo, hi), rng.choice([0, 1, 2]))
            v = min(max(v, lo), hi)
        if t == "integer" or float(v).is_integer():
            v = int(v)
            return rng.choice([v, str(v), float(v), f" {v} ", f"{v}.0"] if t == "integer" else [v, str(v), float(v)])
        text = repr(float(v))
        # text with exactly three decimals after a dot reads as Dutch thousands: refused by design
        ok_text = "." not in text or len(text.split(".")[1]) != 3
        return rng.choice([v, text] if ok_text else [v])
    if t == "enum":
        return rng.choice(spec.values) if rng.random() < 0.9 else f" {rng.choice(spec.values)} "
    if t == "set":
        picks = [x for x in spec.values if rng.random() < 0.25]
        return rng.choice([picks, ";".join(picks) if picks else [], ", ".join(picks) if picks else []])
    if t == "date":
        return (dt.date(2010, 1, 1) + dt.timedelta(days=rng.randint(0, 5000))).isoformat()
    return rng.choice(["text", "x y", ""])


def _invalid(spec: FactSpec, rng: random.Random) -> Any:
    """A value the fact must refuse (and so the whole case)."""
    t = spec.type
    common = [ESC, {"a": 1}, "x" * 5000, "\u202eevil"]
    if t == "boolean":
        return rng.choice(common + ["maybe", 2, 1.5, [True], "0.5"])
    if t in ("integer", "number"):
        forms: list[Any] = common + [
            "abc",
            "1,5",
            "1.000",
            "12,500",
            float("nan"),
            float("inf"),
            -float("inf"),
            "nan",
            "Infinity",
            2**1024,
            -(2**1100),
            "1" + "0" * 5000,
            True,
            [1],
            "١٢",
            "0x10",
            "1_000",
            "--1",
        ]
        if spec.max is not None:
            forms += [spec.max + (spec.step or 1), str(spec.max + (spec.step or 1))]
        if spec.min is not None:
            forms += [spec.min - (spec.step or 1), spec.min - 0.5]
        if t == "integer":
            forms += ["7.5", 7.25, "1e-1"]  # a fraction
        if spec.step and spec.min is not None and spec.max is not None and spec.max - spec.min >= spec.step:
            forms.append(spec.min + spec.step / 2)  # between two steps
        return rng.choice(forms)
    if t == "enum":
        return rng.choice(common + ["not_a_value", 3.5, True, [spec.values[0]], 10**20, spec.values[0] + "x"])
    if t == "set":
        return rng.choice(common[:2] + [["bogus"], "bogus;x", 5, [spec.values[0], {"a": 1}], [ESC]])
    if t == "date":
        return rng.choice(common + ["2020-13-01", 20200101, "31-01-2020", True, "2020-02-30"])
    return rng.choice([{"a": 1}, [1], 2**1100])


@dataclass
class Case:
    gid: str
    flowchart: str
    facts: dict[str, Any]
    invalid: list[str] = field(default_factory=list)  # the facts given an invalid value (or names that are no facts)
    bad_names: bool = False  # a name that is no fact (a cohort ignores such a column; a case file refuses it)

    @property
    def json_safe(self) -> bool:
        """Whether the case is standard JSON (a JSON Lines row) as it is."""
        try:
            json.dumps(self.facts, allow_nan=False)
        except (ValueError, TypeError):
            return False
        return True


def generate(rng: random.Random) -> Case:
    gid, fc, names = rng.choice(_targets())
    g = guideline(gid)
    facts: dict[str, Any] = {}
    for name in names:
        r = rng.random()
        if r < 0.08:
            continue  # not given
        facts[name] = rng.choice([None, "unknown", ""]) if r < 0.12 else _valid(g.dictionary[name], rng)
    case = Case(gid, fc, facts)
    if rng.random() < 0.15:  # a fact the flowchart does not read: still checked
        name = rng.choice(list(g.dictionary))
        if name not in facts:
            facts[name] = _valid(g.dictionary[name], rng)
    if rng.random() < 0.3:  # one to three invalid values
        pool = list(names) or list(g.dictionary)
        for name in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
            facts[name] = _invalid(g.dictionary[name], rng)
            case.invalid.append(name)
    if rng.random() < 0.03:
        bad = rng.choice(["kpss", "bm_cuont", ESC, "x" * 300] + list(g.derived)[:5])
        facts[bad] = 1
        case.invalid.append(bad)
        case.bad_names = True
    return case


# ------------------------------------------------------------------------------- checks


def _walk(case: Case, rules: Any) -> tuple[str, str]:
    """(status, JSON text) of one walk; a guideline gap (RunError) is status 'error'."""
    try:
        r = run(guideline(case.gid), case.facts, flowchart=case.flowchart, rules=rules)
    except GuidewalkError as exc:
        return "error", f"{type(exc).__name__}: {exc}"
    return r.status, dumps(r.to_json())


def _without_backend(text: str) -> Any:
    if not text.startswith("{"):
        return text
    obj = json.loads(text)
    obj["engine"].pop("rules_backend", None)
    return obj


def _check_batch(batch: int, tmp_path: Path) -> Counter[str]:
    rng = random.Random(SEED + batch)
    n = min(BATCH, CASES - batch * BATCH)
    builtin = backend("builtin")
    durable = backend("durable_rules") if durable_available()[0] else None
    counts: Counter[str] = Counter()
    problems: list[str] = []
    walked: list[tuple[Case, Any]] = []
    for _ in range(n):
        case = generate(rng)
        try:
            status, text = _walk(case, builtin)
            again = _walk(case, builtin)
        except Exception as exc:  # anything that is not guidewalk's own error
            counts["crash"] += 1
            problems.append(f"crash {type(exc).__name__}: {exc!s:.300} in {case!r:.2000}")
            continue
        counts["cases"] += 1
        counts[f"status:{status}"] += 1
        counts[f"flowchart:{case.gid}/{case.flowchart}"] += 1
        if (status, text) != again:
            counts["nondeterministic"] += 1
            problems.append(f"nondeterministic: {case!r:.2000}")
        if case.invalid and status != "invalid_facts":
            counts["invalid_accepted"] += 1
            problems.append(f"invalid accepted ({status}): {case.invalid} in {case!r:.2000}")
        if not case.invalid and status == "invalid_facts":
            counts["valid_refused"] += 1
            problems.append(f"valid refused: {text[:600]} in {case!r:.2000}")
        if durable is not None:
            try:
                d_status, d_text = _walk(case, durable)
            except Exception as exc:
                counts["crash"] += 1
                problems.append(f"durable crash {type(exc).__name__}: {exc!s:.300} in {case!r:.2000}")
                continue
            counts["backend_compared"] += 1
            if d_status != status or _without_backend(d_text) != _without_backend(text):
                counts["backends_disagree"] += 1
                problems.append(f"backends disagree ({status} / {d_status}): {case!r:.2000}")
        walked.append((case, json.loads(text) if text.startswith("{") else {"status": "error"}))
    _audit_batch(walked, tmp_path, counts, problems)
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"batch": batch, "seed": SEED + batch, **counts}, sort_keys=True) + "\n")
    assert not problems, "\n".join(problems[:10])
    return counts


def _audit_batch(walked: list[tuple[Case, Any]], tmp_path: Path, counts: Counter[str], problems: list[str]) -> None:
    """The batch as one JSON Lines cohort per flowchart: one row per case, and each row as the walk."""
    by_target: dict[tuple[str, str], list[tuple[Case, Any]]] = {}
    for case, res in walked:
        by_target.setdefault((case.gid, case.flowchart), []).append((case, res))
    for (gid, fc), items in by_target.items():
        path = tmp_path / f"{gid}-{fc}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for case, _ in items:
                fh.write(json.dumps(case.facts, ensure_ascii=False, default=_json_default) + "\n")
        buf = io.BytesIO()
        s = audit(gid, str(path), out=buf, flowchart=fc)
        rows = [json.loads(x) for x in buf.getvalue().decode("utf-8").splitlines()]
        counts["audited"] += len(rows)
        if len(rows) != len(items) or s["rows"]["read"] != len(items) or s["rows"]["read"] != s["rows"]["walked"] + s["rows"]["invalid"]:
            counts["audit_rows_lost"] += 1
            problems.append(f"audit of {path.name}: {len(items)} cases, {len(rows)} rows, summary {s['rows']}")
            continue
        for (case, res), row in zip(items, rows):
            want = res["status"]
            if not case.json_safe:  # NaN/Infinity are not standard JSON: the row is refused
                ok = row["status"] in ("invalid_row", "invalid_facts")
            elif case.bad_names:  # the audit ignores a column that is no fact (and lists it)
                ok = row["status"] == want or (row["status"] != "invalid_row" and len(case.invalid) > 0)
            elif want == "error":
                ok = row["status"] == "error"
            else:
                ok = row["status"] == want and (
                    want == "invalid_facts" or (row["path"] == res["path"] and row["needs"] == res.get("needs", []) and row["actions"] == _actions(res))
                )
            if not ok:
                counts["audit_differs"] += 1
                problems.append(f"audit row differs from the walk: {row} vs {want} {res.get('path')} for {case!r:.1500}")


def _actions(res: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for rec in res.get("recommendations", []):
        out += rec["actions"]
    return out


def _json_default(v: Any) -> Any:
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    return str(v)


@pytest.mark.parametrize("batch", range(math.ceil(CASES / BATCH)))
def test_generated_cases_through_every_flowchart(batch: int, tmp_path: Path) -> None:
    counts = _check_batch(batch, tmp_path)
    assert counts["cases"] + counts["crash"] == min(BATCH, CASES - batch * BATCH)


def test_the_generator_reaches_every_flowchart_and_status() -> None:
    rng = random.Random(SEED)
    seen_fc: set[tuple[str, str]] = set()
    statuses: Counter[str] = Counter()
    for _ in range(1500):
        case = generate(rng)
        seen_fc.add((case.gid, case.flowchart))
        statuses[_walk(case, backend("builtin"))[0]] += 1
    assert seen_fc == {(g, f) for g, f, _ in _targets()}
    assert {"complete", "needs_facts", "invalid_facts"} <= set(statuses), statuses


# --------------------------------------------------------------------- condition text

_PIECES = st.sampled_from(
    [
        "kps",
        "bm_count",
        "age_years",
        "primary_controlled",
        " and ",
        " or ",
        "not ",
        " < ",
        " >= ",
        " == ",
        " + ",
        " / ",
        " * ",
        " - ",
        "(",
        ")",
        "70",
        "1e309",
        "1" + "0" * 400,
        "-0.5",
        "[",
        "]",
        ", ",
        " in ",
        "known(",
        "max(",
        "'x'",
        "__import__",
        ".real",
        "\\x00",
        ESC,
        "not " * 60,
        " + kps" * 60,
    ]
)

_CLEAN = (Path(__file__).resolve().parent / "fixtures" / "lint" / "clean" / "guideline.yaml").read_text(encoding="utf-8")


@settings(max_examples=max(50, CASES // 20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cond=st.lists(_PIECES, min_size=1, max_size=12).map("".join))
def test_generated_condition_text_in_a_guideline(tmp_path: Path, cond: str) -> None:
    """A condition made of hostile pieces, written into a guideline file: it loads or is
    refused with located errors; what loads walks without a crash, the same twice."""
    import shutil

    from guidewalk.engine.errors import LoadError
    from guidewalk.engine.load import load_guideline

    root = tmp_path / "root"
    if not root.exists():
        shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "lint", root)
    p = root / "clean" / "guideline.yaml"
    p.write_text(_CLEAN.replace("{when: kps < 70, to: bsc}", "{when: " + json.dumps(cond) + ", to: bsc}"), encoding="utf-8")
    try:
        g: Guideline = load_guideline(p, root=root)
    except LoadError as exc:
        assert exc.problems and all(pr.location.file and pr.location.line > 0 for pr in exc.problems), exc.problems
        return
    rng = random.Random(len(cond))
    for _ in range(5):
        facts = {n: _valid(g.dictionary[n], rng) for n in ("kps", "bm_count", "age_years", "primary_controlled") if n in g.dictionary}
        try:
            a = run(g, facts, rules=backend("builtin"))
            b = run(g, facts, rules=backend("builtin"))
        except GuidewalkError:
            continue
        assert dumps(a.to_json()) == dumps(b.to_json())
