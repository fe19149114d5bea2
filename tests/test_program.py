"""The compiled walk (engine/program) against the step-by-step walk it replaced
(tests/reference_walk.py): on generated cases of every shipped and fixture guideline, every
flowchart, both rules backends, the JSON and the text output are byte-identical, and an
error is the same error with the same message."""

from __future__ import annotations

import datetime as dt
import random
import zlib
from pathlib import Path
from typing import Any

import pytest
import reference_walk
from conftest import ROOT, guideline

from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import FactSpec, Guideline
from guidewalk.engine.rules import backend, durable_available
from guidewalk.engine.session import ReachabilityError, fact_points
from guidewalk.engine.trace import dumps
from guidewalk.engine.walk import run
from guidewalk.render.text import to_text

SHIPPED = ["brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"]
FIXTURES = sorted(p.parent for p in (ROOT / "tests" / "fixtures").glob("*/*/guideline.yaml") if p.parent.name not in ("bad", "syntax"))
FIXTURES += sorted(p.parent for p in (ROOT / "examples").glob("*/guideline.yaml"))
BACKENDS = ["builtin"] + (["durable_rules"] if durable_available()[0] else [])


def _load(name: str | Path) -> Guideline:
    return guideline(name) if isinstance(name, str) else load_guideline(name)


def _odd(spec: FactSpec, rng: random.Random) -> Any:
    """A value that exercises the full check: wrong type, out of range, text, unknown."""
    return rng.choice(
        [
            None,
            "unknown",
            "x",
            True,
            1,
            80.0,
            -5,
            10**6,
            " yes ",
            "1,5",
            float("nan"),
            [spec.values[0]] if spec.values else [],
            dt.date(2020, 1, 1),
            "2020-02-30",
        ]
    )


def _value(g: Guideline, spec: FactSpec, rng: random.Random) -> Any:
    try:
        pts = fact_points(g, spec.name)
    except ReachabilityError:
        pts = []
    if pts and rng.random() < 0.85:
        v = rng.choice(pts)
        if isinstance(v, frozenset):
            return sorted(v)
        if spec.type == "number" and isinstance(v, float) and v.is_integer() and rng.random() < 0.3:
            return int(v)  # an int for a number fact: converted, not kept as is
        if spec.type == "date" and rng.random() < 0.3:
            return str(v)
        return v
    if spec.type == "boolean":
        return rng.random() < 0.5
    if spec.type in ("enum", "set"):
        return rng.choice(spec.values) if spec.type == "enum" else rng.sample(spec.values, k=min(2, len(spec.values)))
    if spec.type in ("integer", "number"):
        lo = spec.min if spec.min is not None else 0
        hi = spec.max if spec.max is not None else lo + 100
        v = rng.uniform(lo, hi)
        return int(v) if spec.type == "integer" else round(v, 1)
    if spec.type == "date":
        return dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3000))
    return "text"


def cases(g: Guideline, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    asks = list(g.asks)
    out = []
    for i in range(n):
        keep = rng.choice([1.0, 0.9, 0.6, 0.3])
        case: dict[str, Any] = {}
        for f in asks:
            if rng.random() < keep:
                spec = g.dictionary[f]
                case[f] = _odd(spec, rng) if rng.random() < 0.02 else _value(g, spec, rng)
        if i % 17 == 0:
            case["not_a_fact_at_all"] = 1
        if i % 13 == 0 and g.derived:
            case[sorted(g.derived)[0]] = 1
        if i % 11 == 0 and asks:  # entered in another order
            case = dict(reversed(list(case.items())))
        out.append(case)
    return out


def _outputs(fn: Any, g: Guideline, case: dict[str, Any], fc: str, be: str) -> str:
    try:
        r = fn(g, case, flowchart=fc, rules=backend(be))
        return dumps(r.to_json()) + to_text(r, g) + "|".join(r.actions) + "|" + repr(r.needs)
    except Exception as exc:  # an error is an output too: the same one, with the same message
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("be", BACKENDS)
@pytest.mark.parametrize("name", SHIPPED + FIXTURES, ids=lambda p: p if isinstance(p, str) else f"{p.parent.name}/{p.name}")
def test_compiled_walk_is_the_step_by_step_walk(name: str | Path, be: str) -> None:
    g = _load(name)
    n = 60 if be == "durable_rules" else 150
    for fc in g.flowcharts:
        for i, case in enumerate(cases(g, n, seed=zlib.crc32(f"{name}:{fc}".encode()))):
            want = _outputs(reference_walk.run, g, case, fc, be)
            got = _outputs(run, g, case, fc, be)
            assert got == want, f"{fc} case {i}: {case}"


def test_a_result_read_twice_is_the_same() -> None:
    g = _load("brain-metastases-2020")
    r = run(g, {"kps": 80, "bm_count": 3}, rules=backend("builtin"))
    first = dumps(r.to_json())
    assert dumps(r.to_json()) == first
    assert r == reference_walk.run(g, {"kps": 80, "bm_count": 3}, rules=backend("builtin"))


def test_the_entered_mapping_changed_after_the_walk_changes_nothing() -> None:
    g = _load("brain-metastases-2020")
    case: dict[str, Any] = {"suspected_brain_metastasis": True, "kps": 80}
    r = run(g, case, rules=backend("builtin"))
    want = dumps(reference_walk.run(g, dict(case), rules=backend("builtin")).to_json())
    case["kps"] = 40
    case["bm_count"] = 3
    assert dumps(r.to_json()) == want
