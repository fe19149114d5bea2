"""guidewalk diff: structural changes and the regions of patients whose recommendation
changes, each with a witness confirmed by walking both versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guidewalk.cli import main
from guidewalk.engine.load import load_guideline
from guidewalk.engine.rules import BuiltinRules
from guidewalk.engine.verify.diff import Region, affected, effect, structural
from guidewalk.engine.walk import run

TESTS = Path(__file__).resolve().parent
LINT = TESTS / "fixtures" / "lint"
EXAMPLES = TESTS.parent / "examples"


@pytest.fixture(scope="module")
def lecture_vs_2020() -> list[Region]:
    return effect(load_guideline(EXAMPLES / "srs-lecture"), load_guideline(EXAMPLES / "srs-2020"))


def test_kps_70_region(lecture_vs_2020: list[Region]) -> None:
    kps70 = [r for r in lecture_vs_2020 if "kps = 70" in r.description]
    assert len(kps70) == 1
    r = kps70[0]
    assert (r.old, r.new) == ("none", "srs")
    assert r.bounds["kps"] == "kps = 70"
    assert r.bounds["bm_count"] == "bm_count <= 10"
    assert r.witness["kps"] == 70 and r.checked


def test_11_to_20_metastases_region(lecture_vs_2020: list[Region]) -> None:
    many = [r for r in lecture_vs_2020 if "11 <= bm_count <= 20" in r.description]
    assert len(many) == 1
    r = many[0]
    assert (r.old, r.new) == ("srs", "none")
    assert r.bounds["kps"] == "kps >= 80"
    assert r.bounds["bm_max_diameter_cm"] == "bm_max_diameter_cm < 3.5"
    assert 11 <= r.witness["bm_count"] <= 20 and r.checked


def test_every_region_witness_walks_as_described(lecture_vs_2020: list[Region]) -> None:
    old, new = load_guideline(EXAMPLES / "srs-lecture"), load_guideline(EXAMPLES / "srs-2020")
    assert len(lecture_vs_2020) == 5
    for r in lecture_vs_2020:
        a = run(old, {k: v for k, v in r.witness.items() if k in old.asks}, rules=BuiltinRules()).actions or ["none"]
        b = run(new, {k: v for k, v in r.witness.items() if k in new.asks}, rules=BuiltinRules()).actions or ["none"]
        assert (" + ".join(a), " + ".join(b)) == (r.old, r.new)
    # the volume limits and the diameter limit give the other three regions
    descs = " | ".join(r.description for r in lecture_vs_2020)
    assert "bm_max_diameter_cm >= 3.5" in descs
    assert "bm_total_volume_cm3 > 30" in descs and "bm_max_individual_volume_cm3 > 20" in descs


def test_structural_changes_of_the_example_pair() -> None:
    ch = structural(load_guideline(EXAMPLES / "srs-lecture"), load_guideline(EXAMPLES / "srs-2020"))
    kinds = {(c["change"], c.get("node")) for c in ch}
    assert ("node-removed", "srs_indication") in kinds
    assert ("node-added", "performance_gate") in kinds and ("node-added", "srs_eligibility") in kinds
    assert {"change": "facts-no-longer-asked", "old": ["bm_max_diameter_cm"]} in ch


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(LINT, root)
    return root


def test_threshold_change_and_its_region(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "clean" / "guideline.yaml"
    p.write_text(p.read_text().replace("kps < 70", "kps < 80").replace("kps >= 70", "kps >= 80"))
    old = load_guideline(LINT / "clean" / "guideline.yaml", root=LINT)
    new = load_guideline(p, root=root)
    ch = [c for c in structural(old, new) if c["change"] == "threshold"]
    assert {(c["node"], c["old"], c["new"]) for c in ch} == {("fitness", "kps < 70", "kps < 80"), ("fitness", "kps >= 70", "kps >= 80")}
    regions = effect(old, new)
    assert regions and all(r.bounds.get("kps") == "kps = 70" for r in regions)
    assert {r.new for r in regions} == {"best_supportive_care"}
    assert {r.old for r in regions} == {"srs", "wbrt"}
    assert all(r.checked for r in regions)
    assert affected(old, new) == {"kps": "kps = 70"}


def test_affected_slice_of_the_example_pair() -> None:
    old, new = load_guideline(EXAMPLES / "srs-lecture"), load_guideline(EXAMPLES / "srs-2020")
    assert affected(old, new) == {"bm_count": "bm_count <= 20", "kps": "kps >= 70"}


def test_identical_versions_have_no_changes() -> None:
    g = load_guideline(LINT / "clean" / "guideline.yaml", root=LINT)
    g2 = load_guideline(LINT / "clean" / "guideline.yaml", root=LINT)
    assert structural(g, g2) == []
    assert effect(g, g2) == []


def test_a_gap_introduced_by_the_new_version_is_a_region(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "gap_boundary" / "guideline.yaml"
    old_p = root / "gap_boundary" / "old.yaml"
    old_p.write_text(p.read_text().replace("kps < 70", "kps <= 70"))
    regions = effect(load_guideline(old_p, root=root), load_guideline(p, root=root))
    assert len(regions) == 1
    assert regions[0].old == "best_supportive_care" and regions[0].new.startswith("(gap")
    assert regions[0].bounds == {"kps": "kps = 70"}


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(EXAMPLES / "srs-lecture"), str(EXAMPLES / "srs-2020")]) == 0
    out = capsys.readouterr().out
    assert "kps = 70 and bm_count <= 10" in out and ": none -> srs" in out
    assert "kps >= 80 and 11 <= bm_count <= 20 and bm_max_diameter_cm < 3.5: srs -> none" in out
    assert main(["diff", str(EXAMPLES / "srs-lecture"), str(EXAMPLES / "srs-2020"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["effect"]) == 5 and all(r["witness_checked"] for r in data["effect"])


def test_cli_two_roots_pairs_guidelines_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(tmp_path)
    p = root / "gap_boundary" / "guideline.yaml"
    p.write_text(p.read_text().replace("kps < 70", "kps <= 70"))
    shutil.rmtree(root / "division")
    assert main(["diff", str(LINT), str(root)]) == 0
    out = capsys.readouterr().out
    assert "guideline division: only in OLD" in out
    assert "+++ gap_boundary 1" in out and "condition at 'fitness' (branch to bsc): kps < 70 -> kps <= 70" in out
    assert "kps = 70: (gap: no recommendation) -> best_supportive_care" in out
    assert out.count("+++ ") == len(list(LINT.glob("*/guideline.yaml"))) - 1
