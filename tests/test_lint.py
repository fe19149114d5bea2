"""guidewalk lint: seeded faults are found with correct witnesses, the clean fixture and the
shipped guidelines have no gap or overlap, and the solver agrees with brute force."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from guidewalk.cli import main
from guidewalk.engine.checks import domain_points
from guidewalk.engine.errors import RunError
from guidewalk.engine.load import default_root, guideline_ids, load_guideline
from guidewalk.engine.model import FactSpec, Guideline
from guidewalk.engine.rules import BuiltinRules
from guidewalk.engine.verify.lint import Finding, lint
from guidewalk.engine.verify.smt import thresholds
from guidewalk.engine.walk import run

LINT = Path(__file__).resolve().parent / "fixtures" / "lint"


def load(name: str) -> Guideline:
    return load_guideline(LINT / name / "guideline.yaml", root=LINT)


def by_kind(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def walk_error(g: Guideline, facts: dict[str, Any]) -> str | None:
    """Walk with the ordinary engine; the message of the RunError it raises, or None."""
    try:
        run(g, facts, rules=BuiltinRules())
    except RunError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- seeded faults


def test_gap_at_a_boundary_has_the_boundary_as_witness() -> None:
    g = load("gap_boundary")
    gaps = by_kind(lint(g), "gap")
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap.node == "fitness" and gap.severity == "error"
    assert gap.witness == {"kps": 70}
    assert str(gap.location) == str(g.nodes["fitness"].location)
    assert ":6:7" in str(gap.location)
    err = walk_error(g, gap.witness)
    assert err is not None and "no branch of decision 'fitness' holds" in err


def test_overlap_names_both_branches_and_a_witness() -> None:
    g = load("overlap")
    overlaps = {f.node: f for f in by_kind(lint(g), "overlap")}
    assert set(overlaps) == {"fitness", "volume"}
    f = overlaps["fitness"]
    assert f.witness == {"kps": 70}
    assert [b["when"] for b in f.branches] == ["kps <= 70", "kps >= 70"]
    assert all(":" in b["location"] for b in f.branches)
    v = overlaps["volume"]
    assert v.witness is not None and v.witness["bm_total_volume_cm3"] == 30
    for w in (f.witness, v.witness):
        err = walk_error(g, w)
        assert err is not None and "promises exclusive branches" in err


def test_shadowed_branch_makes_its_node_unreachable() -> None:
    fs = lint(load("unreachable"))
    assert [f.node for f in by_kind(fs, "unreachable")] == ["wbrt"]
    dead = by_kind(fs, "dead-branch")
    assert len(dead) == 1 and dead[0].branches[0]["when"] == "kps >= 70"
    assert not [f for f in fs if f.severity == "error"]


def test_contradictory_path_condition() -> None:
    fs = lint(load("contradictory"))
    unreachable = by_kind(fs, "unreachable")
    assert [f.node for f in unreachable] == ["wbrt"]
    assert "contradict" in unreachable[0].message
    dead = by_kind(fs, "dead-branch")
    assert [d.node for d in dead] == ["count"]


def test_gap_behind_a_derived_class_and_a_rule_gap() -> None:
    g = load("derived_gap")
    fs = lint(g)
    gaps = {f.node: f for f in by_kind(fs, "gap")}
    assert set(gaps) == {"prognosis", "her2"}
    # rpa_class III (kps < 70) with kps >= 50: no branch; the boundary value is the witness
    assert gaps["prognosis"].witness == {"kps": 50}
    err = walk_error(g, gaps["prognosis"].witness or {})
    assert err is not None and "no branch of decision 'prognosis'" in err
    # her2_pretreated has no value when the set is neither empty nor contains both drugs
    her2 = gaps["her2"]
    assert her2.witness is not None
    assert "her2_pretreated" in her2.message
    err = walk_error(g, her2.witness)
    assert err is not None and "no rule could derive" in err
    assert [f.message.split("'")[1] for f in by_kind(fs, "rule-gap")] == ["her2_pretreated"]
    assert [f.message.split("'")[1] for f in by_kind(fs, "unused-rule")] == ["never_used"]
    assert ["primary_tumour_type" in f.message for f in by_kind(fs, "unused-fact")] == [True]


def test_threshold_drift_3_5_vs_4_0() -> None:
    fs = by_kind(lint(load("thresholds")), "threshold")
    assert len(fs) == 1
    assert "4" in fs[0].message and "3.5" in fs[0].message and "bm_total_volume_cm3" in fs[0].message


def test_threshold_boundary_side(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LINT, root)
    p = root / "thresholds" / "guideline.yaml"
    p.write_text(p.read_text().replace("bm_total_volume_cm3 <= 4.0 and", "bm_total_volume_cm3 > 3.5 and"))
    fs = by_kind(lint(load_guideline(p, root=root)), "threshold")
    assert len(fs) == 1 and "upper side" in fs[0].message and "lower side" in fs[0].message


def test_unknown_handling_lists_the_facts_that_stop_the_walk() -> None:
    fs = {f.node: f for f in by_kind(lint(load("clean")), "unknowns")}
    assert fs["fitness"].facts == ["kps"]
    assert fs["srs_check"].facts == ["bm_count", "bm_total_volume_cm3"]
    # rpa_class: kps is decided before (path), so only the class-I inputs can stop the walk here
    assert fs["prognosis"].facts == ["age_years", "primary_controlled", "extracranial_metastases"]


def test_clean_fixture_has_no_errors_or_warnings() -> None:
    fs = lint(load("clean"))
    assert [f for f in fs if f.severity in ("error", "warning")] == []


# --------------------------------------------------------------------------- brute force agrees


def _points(spec: FactSpec, consts: list[Any]) -> list[Any]:
    if spec.type == "set":
        vals = list(spec.values)
        return [list(c) for r in range(len(vals) + 1) for c in itertools.combinations(vals, r)]
    return domain_points(spec, consts)


@pytest.mark.parametrize("name", ["clean", "gap_boundary", "overlap", "derived_gap", "contradictory", "unreachable", "thresholds"])
def test_lint_agrees_with_exhaustive_walks(name: str) -> None:
    """Every combination of representative values (each side of every threshold) is walked;
    the decisions where the engine hits a gap or overlap are exactly those lint reports."""
    g = load(name)
    consts = thresholds(g)
    facts = sorted({f for r in g.rules for f in r.inputs if f in g.dictionary} | {f for f in g.asks})
    grids = [_points(g.dictionary[f], [c for _, c, _, _ in consts.get(f, [])]) for f in facts]
    seen: set[tuple[str, str]] = set()
    reached: set[str] = set()
    for combo in itertools.product(*grids):
        case = dict(zip(facts, combo))
        try:
            res = run(g, case, rules=BuiltinRules())
            reached.update(res.path)
        except RunError as exc:
            kind = "overlap" if "promises exclusive" in str(exc) else "gap"
            seen.add((kind, exc.node))
    found = {(f.kind, f.node or "") for f in lint(g) if f.kind in ("gap", "overlap")}
    # lint may report several overlapping pairs at one node; the walk stops at the first
    assert {k for k in found} == seen
    unreachable = {f.node for f in lint(g) if f.kind == "unreachable"}
    assert unreachable == set(g.nodes) - reached


# --------------------------------------------------------------------------- CLI


def test_cli_exit_codes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(LINT / "gap_boundary")]) == 1
    out = capsys.readouterr().out
    assert "gap_boundary/guideline.yaml:6:7: error: gap" in out and "patient: kps = 70" in out
    assert main(["lint", str(LINT / "clean"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["guidelines"][0]["guideline"] == "clean"
    assert main(["lint", str(LINT / "overlap"), "--format", "json", "--min-severity", "error"]) == 1
    data = json.loads(capsys.readouterr().out)
    kinds = {f["kind"] for f in data["guidelines"][0]["findings"]}
    assert kinds == {"overlap"}
    f = data["guidelines"][0]["findings"][0]
    assert {"file", "line", "col", "witness", "branches", "node"} <= set(f)


def test_cli_lint_of_a_guideline_that_does_not_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    shutil.copytree(LINT, root)
    p = root / "clean" / "guideline.yaml"
    p.write_text(p.read_text().replace("kps < 70", "kpz < 70"))
    assert main(["lint", str(p)]) == 1
    assert "kpz" in capsys.readouterr().err


# --------------------------------------------------------------------------- shipped guidelines


@pytest.mark.parametrize("gid", guideline_ids(default_root()))
def test_shipped_guidelines_have_no_gap_or_overlap(gid: str) -> None:
    g = load_guideline(gid)
    errors = [f.text() for f in lint(g, unknowns=False) if f.severity == "error"]
    assert errors == []


def test_division_by_a_fact_that_can_be_zero() -> None:
    g = load("division")
    fs = by_kind(lint(g), "division")
    assert len(fs) == 1 and "bm_count" in fs[0].message
    with pytest.raises((ZeroDivisionError, RunError)):  # the walk fails on this patient
        run(g, {"bm_total_volume_cm3": 10, "bm_count": 0}, rules=BuiltinRules())


def test_the_cli_does_not_import_z3_until_an_analysis_command_runs() -> None:
    import subprocess
    import sys

    code = "import sys, guidewalk.cli; guidewalk.cli.build_parser(); print('z3' in sys.modules, 'guidewalk.engine.verify.smt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=LINT.parent.parent.parent).stdout
    assert out.split() == ["False", "False"]
