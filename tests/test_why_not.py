"""guidewalk why-not: the smallest change of facts that leads to a target, or a proof that
none exists within the declared domains."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from guidewalk.cli import main
from guidewalk.engine.errors import RunError
from guidewalk.engine.load import load_guideline
from guidewalk.engine.rules import BuiltinRules
from guidewalk.engine.verify.whynot import why_not
from guidewalk.engine.walk import run

TESTS = Path(__file__).resolve().parent
LINT = TESTS / "fixtures" / "lint"
EXAMPLES = TESTS.parent / "examples"
NOT_ELIGIBLE = {"kps": 60, "bm_count": 12, "bm_total_volume_cm3": 12.5, "bm_max_individual_volume_cm3": 4}


def test_examples_2020_two_changes_to_the_nearest_boundaries() -> None:
    g = load_guideline(EXAMPLES / "srs-2020")
    res = why_not(g, NOT_ELIGIBLE, "srs")
    assert res.status == "found"
    assert [(c["fact"], c["from"], c["to"]) for c in res.changes] == [("kps", 60, 70), ("bm_count", 12, 10)]
    # the range of values that all lead there, with the other change kept
    assert [c.get("range") for c in res.changes] == ["kps >= 70", "bm_count <= 10"]
    assert [p["node"] for p in res.path] == ["performance_gate", "srs_eligibility"]
    assert all(p["source"] and "richtlijnendatabase.nl" in p["source"] for p in res.path)
    assert res.actions == ["srs"]
    # the changed case really leads there
    assert "srs" in run(g, res.facts, rules=BuiltinRules()).path


def test_examples_lecture_needs_kps_above_70_and_a_diameter() -> None:
    g = load_guideline(EXAMPLES / "srs-lecture")
    res = why_not(g, NOT_ELIGIBLE, "srs_indication")
    assert res.status == "already"
    res = why_not(g, NOT_ELIGIBLE, "srs")
    changed = {c["fact"]: c for c in res.changes}
    assert set(changed) == {"kps", "bm_max_diameter_cm"}
    assert changed["kps"]["to"] == 80  # KPS > 70 in steps of 10: 80 is the nearest
    assert changed["bm_max_diameter_cm"]["from"] is None and changed["bm_max_diameter_cm"]["to"] == 3.4
    assert changed["bm_max_diameter_cm"]["range"] == "bm_max_diameter_cm < 3.5"
    assert changed["kps"]["range"] == "kps >= 80"


def test_fewest_changes_then_smallest_distance_matches_brute_force() -> None:
    """Golden check against exhaustive search over the fixture's representative values."""
    g = load_guideline(LINT / "clean" / "guideline.yaml", root=LINT)
    case = {"kps": 40, "bm_count": 14, "bm_total_volume_cm3": 12.0, "age_years": 70, "primary_controlled": True, "extracranial_metastases": False}
    res = why_not(g, case, "srs")
    assert res.status == "found"
    best = None
    grid = {"kps": [40, 60, 70, 80], "bm_count": [14, 10, 11, 9]}
    for kps, bm in itertools.product(grid["kps"], grid["bm_count"]):
        trial = {**case, "kps": kps, "bm_count": bm}
        if "srs" in run(g, trial, rules=BuiltinRules()).path:
            n = (kps != 40) + (bm != 14)
            d = abs(kps - 40) / 100 + abs(bm - 14) / 200
            if best is None or (n, d) < best[0]:
                best = ((n, d), {"kps": kps, "bm_count": bm})
    assert best is not None
    assert {c["fact"]: c["to"] for c in res.changes} == best[1]


def test_unknown_facts_that_must_be_supplied_count_as_changes() -> None:
    g = load_guideline(LINT / "clean" / "guideline.yaml", root=LINT)
    res = why_not(g, {"kps": 80, "bm_count": 2, "bm_total_volume_cm3": 5}, "srs")
    # rpa_class needs one of its class-I inputs to be decided (any one that rules class I out suffices)
    assert len(res.changes) == 1
    assert res.changes[0]["from"] is None
    assert res.changes[0]["fact"] in ("age_years", "primary_controlled", "extracranial_metastases")
    assert "srs" in run(g, res.facts, rules=BuiltinRules()).path


def test_impossible_target_is_proved(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    g = load_guideline(LINT / "contradictory" / "guideline.yaml", root=LINT)
    res = why_not(g, {"kps": 80, "bm_count": 3}, "wbrt")
    assert res.status == "impossible"
    assert "No patient within the declared fact domains" in res.message
    case = tmp_path / "case.yaml"
    case.write_text("kps: 80\nbm_count: 3\n")
    assert main(["why-not", str(LINT / "contradictory"), "--facts", str(case), "--target", "wbrt"]) == 1


def test_target_by_action_code_and_unknown_target() -> None:
    g = load_guideline(LINT / "gap_boundary" / "guideline.yaml", root=LINT)
    res = why_not(g, {"kps": 80, "bm_count": 20}, "best_supportive_care")
    assert res.targets == ["bsc"]
    assert res.changes == [{"fact": "kps", "from": 80, "to": 60, "range": "kps <= 60"}]
    with pytest.raises(RunError, match="neither a node nor an action code"):
        why_not(g, {}, "bcs")


def test_invalid_case() -> None:
    g = load_guideline(LINT / "gap_boundary" / "guideline.yaml", root=LINT)
    assert why_not(g, {"kps": 75}, "srs").status == "invalid_facts"


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    case = EXAMPLES / "cases" / "not-eligible.yaml"
    assert main(["why-not", str(EXAMPLES / "srs-2020"), "--facts", str(case), "--target", "srs", "--format", "json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data["status"] == "found" and len(data["changes"]) == 2
    assert main(["why-not", str(EXAMPLES / "srs-2020"), "--facts", str(case), "--target", "srs"]) == 0
    out = capsys.readouterr().out
    assert "kps: 60 -> 70  (any value with kps >= 70)" in out and "bm_count: 12 -> 10" in out and "Decisions on the way" in out and "M21" in out


def test_shipped_guideline_golden_case_count_11() -> None:
    """On the real brain-metastases guideline: 11 metastases -> SRS needs 10 (M21's maximum)."""
    from guidewalk.engine import _yaml

    g = load_guideline("brain-metastases-2020")
    case = _yaml.load_file(str(TESTS / "cases" / "brain-metastases-2020" / "boundary_count_11_no_srs.yaml")).data
    res = why_not(g, case["facts"], "tx_srs", flowchart=case.get("flowchart"))
    assert res.status == "found"
    assert [(c["fact"], c["from"], c["to"]) for c in res.changes] == [("bm_count", 11, 10)]
    assert "tx_srs_eligibility" in [p["node"] for p in res.path]
    assert "srs" in res.actions
