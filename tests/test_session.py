"""The session object: answers, undo, copy, pending questions, and reachable() against brute
force over small fact domains, for the fixture and for every shipped guideline that loads."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from guidewalk.engine.errors import GuidewalkError, LoadError
from guidewalk.engine.expressions import UNKNOWN
from guidewalk.engine.facts import coerce
from guidewalk.engine.load import default_root, guideline_ids, load_guideline
from guidewalk.engine.model import FactSpec, Guideline
from guidewalk.engine.rules import BuiltinRules
from guidewalk.engine.session import AnswerError, ReachabilityError, Session, fact_points, reachable_nodes
from guidewalk.engine.walk import run

TESTS = Path(__file__).resolve().parent
FIXTURE_ROOT = TESTS / "fixtures" / "session"
FIXTURE_CASES = FIXTURE_ROOT / "cases"
CASES = TESTS / "cases"
ARTIFACTS = TESTS / "artifacts"
BUILTIN = BuiltinRules()  # the fixture tests pin the built-in backend (see the report on durable_rules)


def fixture_guideline() -> Guideline:
    return load_guideline(FIXTURE_ROOT / "demo-stepper" / "guideline.yaml", root=FIXTURE_ROOT)


@cache
def shipped(gid: str) -> Guideline | None:
    try:
        return load_guideline(gid)
    except LoadError:
        return None


def golden_cases() -> list[tuple[str, Path]]:
    """(guideline ref, case file) for every golden case, plus the fixture's cases."""
    out: list[tuple[str, Path]] = []
    for f in sorted(FIXTURE_CASES.glob("*/*.yaml")):
        out.append(("fixture", f))
    for f in sorted(CASES.glob("*/*.yaml")):
        out.append((f.parent.name, f))
    return out


def guideline_for(ref: str) -> Guideline | None:
    return fixture_guideline() if ref == "fixture" else shipped(ref)


def read_golden(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------- brute force


def full_domain(spec: FactSpec, rng: random.Random, consts_points: list[Any]) -> list[Any]:
    """A small but independent domain for brute force: every value where the domain is
    small, else the representative points plus random values from the declared range."""
    if spec.type == "boolean":
        return [False, True]
    if spec.type == "enum":
        return list(spec.values)
    if spec.type == "set":
        vals = list(spec.values)
        if len(vals) <= 6:
            return [list(c) for k in range(len(vals) + 1) for c in itertools.combinations(vals, k)]
        subsets = [sorted(p) for p in consts_points] + [sorted(rng.sample(vals, rng.randint(0, len(vals)))) for _ in range(12)]
        return subsets
    if spec.type == "integer" and spec.min is not None and spec.max is not None:
        step = spec.step or 1
        n = int((spec.max - spec.min) // step) + 1
        grid = [int(spec.min + k * step) for k in range(n)]
        if n <= 40:
            return grid
        return sorted(set(consts_points) | set(rng.sample(grid, 15)))
    if spec.type in ("integer", "number"):
        lo = spec.min if spec.min is not None else -100.0
        hi = spec.max if spec.max is not None else 1000.0
        extra = [round(rng.uniform(lo, hi), 3) for _ in range(12)]
        return sorted(set(consts_points) | set(extra) | {lo, hi})
    return []


def brute_force(g: Guideline, fixed: dict[str, Any], free: list[str], flowchart: str | None, seed: int = 0, include_unknown: bool = True) -> set[str]:
    """Recommendation nodes on the path of every complete walk (engine.walk.run) over all
    combinations of the free facts (each also 'unknown' unless include_unknown is False)."""
    rng = random.Random(seed)
    domains = []
    for f in free:
        pts = fact_points(g, f)
        dom = full_domain(g.dictionary[f], rng, pts)
        domains.append(dom + ([None] if include_unknown else []))
    found: set[str] = set()
    for combo in itertools.product(*domains):
        facts = dict(fixed)
        for f, v in zip(free, combo):
            if v is not None:
                facts[f] = v
        try:
            res = run(g, facts, flowchart=flowchart, rules=BUILTIN)
        except Exception:
            continue
        if res.status == "complete":
            found.update(r.node for r in res.recommendations)
    return found


def typed(g: Guideline, facts: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in facts.items():
        t = coerce(g.dictionary[k], v)
        if t is not UNKNOWN:
            out[k] = t
    return out


def domain_size(g: Guideline, f: str) -> int:
    return len(full_domain(g.dictionary[f], random.Random(0), fact_points(g, f))) + 1


def pick_free(g: Guideline, facts: dict[str, Any], path_facts: list[str], budget: int = 6000, most: int = 4) -> list[str]:
    """Up to `most` facts read on the path whose joint brute-force domain stays within budget."""
    chosen: list[str] = []
    size = 1
    for f in path_facts:
        if f in chosen or f not in g.dictionary:
            continue
        s = domain_size(g, f)
        if size * s <= budget:
            chosen.append(f)
            size *= s
        if len(chosen) >= most:
            break
    return chosen


def read_facts(g: Guideline, facts: dict[str, Any], flowchart: str | None) -> list[str]:
    res = run(g, facts, flowchart=flowchart, rules=BUILTIN)
    out: dict[str, None] = {}
    for step in res.trace:
        node = g.nodes[step.node]
        for b in node.branches:
            for f in b.when.facts:
                for base in g.base_inputs(f):
                    out.setdefault(base, None)
    return list(out)


# --------------------------------------------------------------------------- session basics


def test_bad_answer_is_refused_and_changes_nothing() -> None:
    s = Session(fixture_guideline(), rules=BUILTIN)
    s.answer("symptomatic", "no")
    before = s.facts
    for fact, value in [("kps", 75), ("kps", 110), ("kps", "abc"), ("primary", "lung"), ("symptomatic", "perhaps"), ("nonsense", 1), ("rpa_like", "I")]:
        with pytest.raises(AnswerError) as info:
            s.answer(fact, value)
        assert info.value.fact == fact and info.value.reason
        assert s.facts == before
    assert [p.fact for p in s.pending()] == ["kps"]


def test_session_errors_are_under_the_one_error_root() -> None:
    for cls in (AnswerError, ReachabilityError):
        assert issubclass(cls, GuidewalkError) and issubclass(cls, ValueError)


def test_undo_copy_and_pending_metadata() -> None:
    s = Session(fixture_guideline(), rules=BUILTIN)
    p = s.pending()[0]
    assert p.fact == "symptomatic" and p.type == "boolean" and p.node == "symptoms" and p.question
    s.answer("symptomatic", False)
    k = s.pending()[0]
    assert (k.fact, k.unit, k.min, k.max, k.step) == ("kps", "%", 0, 100, 10)
    assert k.node == "fitness" and k.node_note == "Fixture note." and "M20" in (k.node_source or "")
    fork = s.copy()
    fork.answer("kps", 40)
    assert fork.result().path == ["symptoms", "fitness", "bsc"]
    assert "kps" not in s.facts and s.pending()[0].fact == "kps"
    assert fork.undo() and fork.facts == {"symptomatic": False}
    assert s.undo() and s.facts == {} and not s.undo()


def test_only_questions_that_can_change_the_outcome() -> None:
    s = Session(fixture_guideline(), rules=BUILTIN)
    s.answer("symptomatic", False)
    s.answer("kps", 40)  # rpa_like is III from kps alone: age and the rest are never asked
    assert s.pending() == []
    assert s.result().status == "complete" and s.result().path[-1] == "bsc"
    s2 = Session(fixture_guideline(), rules=BUILTIN)
    s2.answer("symptomatic", False)
    s2.answer("kps", 80)
    s2.answer("age_years", 28)  # case 2 of rpa_like is false: controlled/extracranial no longer matter
    assert [p.fact for p in s2.pending()] == ["bm_count", "volume_cm3"]


def test_answers_no_longer_needed_are_kept_and_marked_unused() -> None:
    s = Session(fixture_guideline(), rules=BUILTIN)
    for f, v in [("symptomatic", False), ("kps", 80), ("age_years", 28), ("bm_count", 2), ("volume_cm3", 3)]:
        s.answer(f, v)
    assert s.result().path[-1] == "srs" and s.result().unused_facts == []
    s.answer("kps", 40)  # changed: the path no longer reads count and volume
    res = s.result()
    assert res.path[-1] == "bsc"
    # age_years is still an input of rpa_like, which the path reads (case 1 decides it)
    assert set(res.unused_facts) == {"bm_count", "volume_cm3"}
    assert s.facts["bm_count"] == 2


def test_unknown_answers_are_not_asked_again() -> None:
    s = Session(fixture_guideline(), rules=BUILTIN)
    s.answer("symptomatic", False)
    s.answer("kps", None)
    assert s.pending() == [] and s.result().status == "needs_facts"
    assert set(s.reachable()) == {"srs", "systemic", "wbrt", "bsc"}


def test_result_equals_run_for_the_same_facts() -> None:
    g = fixture_guideline()
    facts = read_golden(FIXTURE_CASES / "demo-stepper" / "systemic.yaml")["facts"]
    s = Session(g, facts, rules=BUILTIN)
    ref = run(g, facts, rules=BUILTIN)
    assert s.result().to_json()["path"] == ref.path and s.result().actions == ref.actions


# --------------------------------------------------------------------------- reachable vs brute force


FIXTURE_FREE_SETS = [
    ["symptomatic", "kps", "age_years", "primary_controlled"],
    ["kps", "bm_count", "volume_cm3"],
    ["primary", "prior_therapies", "bm_count", "extracranial_metastases"],
    ["age_years", "primary_controlled", "extracranial_metastases", "volume_cm3"],
]


@pytest.mark.parametrize("free", FIXTURE_FREE_SETS, ids=lambda f: "+".join(f))
@pytest.mark.parametrize("flowchart", ["treatment", "followup"])
def test_reachable_matches_brute_force_on_fixture(free: list[str], flowchart: str) -> None:
    g = fixture_guideline()
    base = {
        "symptomatic": True,
        "kps": 70,
        "age_years": 22,
        "primary_controlled": True,
        "extracranial_metastases": False,
        "bm_count": 5,
        "volume_cm3": 10.0,
        "primary": "breast",
        "prior_therapies": ["taxane"],
    }
    fixed = {k: v for k, v in base.items() if k not in free}
    expected = brute_force(g, fixed, free, flowchart)
    got = set(reachable_nodes(g, typed(g, fixed), flowchart, free=free))
    assert got == expected


def test_reachable_empty_fixture_all_facts_open() -> None:
    """Every fact open: the session's own reachable() against brute force over all facts."""
    g = fixture_guideline()
    s = Session(g, rules=BUILTIN)
    free = ["symptomatic", "kps", "age_years", "primary_controlled", "extracranial_metastases", "bm_count", "volume_cm3", "primary", "prior_therapies"]
    # small domains: representative points of the fixture are already small; brute force over them
    rng = random.Random(1)
    domains = [[*fact_points(g, f), None] for f in free]
    found: set[str] = set()
    combos = list(itertools.product(*domains))
    for combo in rng.sample(combos, min(len(combos), 20000)):
        facts = {f: (sorted(v) if isinstance(v, frozenset) else v) for f, v in zip(free, combo) if v is not None}
        res = run(g, facts, rules=BUILTIN)
        if res.status == "complete":
            found.update(r.node for r in res.recommendations)
    assert set(s.reachable()) == found == {"steroids", "srs", "systemic", "wbrt", "bsc"}


def _shipped_ids() -> list[str]:
    return guideline_ids(default_root())


def _brute_cases() -> Iterator[Any]:
    for gid in _shipped_ids():
        files = sorted((CASES / gid).glob("*.yaml"))
        files = [f for f in files if not read_golden(f).get("overlay")]  # overlays: a local protocol
        for f in files[:: max(1, len(files) // 8)][:8]:
            yield pytest.param(gid, f, id=f"{gid}/{f.stem}")


@pytest.mark.parametrize("gid", _shipped_ids())
def test_every_shipped_guideline_has_brute_force_coverage(gid: str) -> None:
    """reachable() is checked on every guideline: it must load and have golden cases."""
    g = shipped(gid)
    assert g is not None, f"{gid} does not load"
    assert list((CASES / gid).glob("*.yaml")), f"no golden cases for {gid}"


@pytest.mark.parametrize("gid,case", list(_brute_cases()))
def test_reachable_matches_brute_force_on_shipped_guidelines(gid: str, case: Path) -> None:
    g = shipped(gid)
    assert g is not None, f"{gid} does not load"
    data = read_golden(case)
    facts = dict(data["facts"])
    fc = data.get("flowchart")
    path_facts = read_facts(g, facts, fc)
    rng = random.Random(case.name)
    rng.shuffle(path_facts)
    free = pick_free(g, facts, path_facts)
    assert free, "no fact on the path to open"
    fixed = {k: v for k, v in facts.items() if k not in free}
    expected = brute_force(g, fixed, free, fc)
    got = set(reachable_nodes(g, typed(g, fixed), fc, free=free))
    assert got == expected, f"free={free}"
