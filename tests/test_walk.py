"""The walk and the run contract (DESIGN.md): statuses, needs, errors, trace, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MINI, ROOT

from guidewalk.engine.errors import RunError
from guidewalk.engine.walk import run

CONTRACT_KEYS = {"guideline", "engine", "status", "recommendations", "derived", "alerts", "path", "trace"}


def test_complete_walk_traces_every_branch(mini) -> None:  # type: ignore[no-untyped-def]
    r = run(mini, {"kps": 80, "bm_count": 3, "bm_total_volume_cm3": 12.5, "age_years": 50})
    assert r.status == "complete"
    assert r.path == ["fitness", "srs_check", "srs"]
    assert r.actions == ["srs"]
    first = r.trace[0]
    assert [b.value for b in first.branches] == [False, True]
    assert first.branches[1].facts == {"kps": 80}
    assert first.taken == "srs_check" and first.note == "KPS 70 passes."
    assert r.derived["mini_group"] == "high" and r.derived["large_volume"] is False
    d = next(d for d in r.derivations if d["fact"] == "mini_total")
    assert d["rule"] == "mini_total" and d["inputs"] == {"mini_kps_points": 1.0, "mini_age_points": 0.5}
    assert [a.rule for a in r.alerts] == ["srt_needs_mdo"]  # if_recommended: [srs]


def test_missing_kps_stops_with_needs_never_a_recommendation(mini) -> None:  # type: ignore[no-untyped-def]
    r = run(mini, {"bm_count": 3})
    assert r.status == "needs_facts"
    assert r.needs == ["kps"]
    assert r.recommendations == [] and r.path == ["fitness"]
    assert r.trace[-1].how == "needs facts" and r.trace[-1].taken is None


def test_unknown_never_falls_through_to_otherwise(mini) -> None:  # type: ignore[no-untyped-def]
    # srs_check has an otherwise; with bm_count unknown the walk must stop, not take it
    r = run(mini, {"kps": 80, "bm_total_volume_cm3": 10})
    assert r.status == "needs_facts" and r.needs == ["bm_count"]
    # a derived fact that is unknown asks for its unknown base inputs
    r = run(mini, {"kps": 80, "bm_count": 3})
    assert r.status == "needs_facts" and r.needs == ["bm_total_volume_cm3"]
    # Kleene: false and unknown is false, so a known count > 10 decides without the volume
    r = run(mini, {"kps": 80, "bm_count": 12})
    assert r.status == "complete" and r.actions == ["wbrt"]


def test_explicit_unknown_is_kept_apart_from_absent(mini) -> None:  # type: ignore[no-untyped-def]
    r = run(mini, {"kps": None, "bm_count": "unknown"})
    assert r.status == "needs_facts" and r.needs == ["kps"]
    assert r.unknown == ["kps", "bm_count"]


def test_invalid_facts_lists_every_bad_fact(mini) -> None:  # type: ignore[no-untyped-def]
    r = run(mini, {"kps": 75, "age_years": "old", "bm_count": 500, "primary_tumour_type": "lung", "kpz": 3, "mini_total": 2, "srt_planned": "maybe"})
    assert r.status == "invalid_facts"
    by = {e.fact: e for e in r.errors}
    assert set(by) == {"kps", "age_years", "bm_count", "primary_tumour_type", "kpz", "mini_total", "srt_planned"}
    assert "steps of 10" in by["kps"].message
    assert "outside the valid range 0..200" in by["bm_count"].message
    assert by["kpz"].suggestion == "kps"
    assert "derived by rule 'mini_total'" in by["mini_total"].message
    assert r.recommendations == [] and r.path == []


def test_facts_the_guideline_does_not_use_are_accepted(mini) -> None:  # type: ignore[no-untyped-def]
    r = run(mini, {"kps": 60, "prior_systemic_therapies": ["taxane"]})
    assert r.status == "complete" and r.actions == ["best_supportive_care"]
    assert r.unused_facts == ["prior_systemic_therapies"]


def test_overlapping_exclusive_branches_are_a_guideline_error(tmp_path: Path) -> None:
    import shutil

    from guidewalk.engine.load import load_guideline

    root = tmp_path / "r"
    shutil.copytree(MINI, root)
    g = root / "mini" / "guideline.yaml"
    g.write_text(g.read_text().replace("- when: kps < 70", "- when: kps <= 70"))
    gl = load_guideline(root / "mini", root=root)
    with pytest.raises(RunError, match="several hold"):
        run(gl, {"kps": 70})


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "guidewalk", *args], capture_output=True, text=True, cwd=ROOT, env=e)


def test_cli_json_contract_and_determinism(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("kps: 70\nbm_count: 10\nbm_total_volume_cm3: 30\nage_years: 65\n")
    env = {"GUIDEWALK_GUIDELINES": str(MINI)}
    a = _cli("run", "mini", "--facts", str(case), "--format", "json", env=env)
    b = _cli("run", "mini", "--facts", str(case), "--format", "json", env=env)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout  # byte-identical
    out = json.loads(a.stdout)
    assert CONTRACT_KEYS <= set(out)
    assert set(out["guideline"]) >= {"id", "version", "sha256"}
    assert out["engine"]["rules_backend"] in ("durable_rules", "builtin")
    assert out["recommendations"][0]["actions"] == ["srs"]
    assert out["recommendations"][0]["source"]["module"] == "M21"
    step = out["trace"][0]
    assert set(step) >= {"step", "node", "kind", "branches", "taken"}
    assert set(step["branches"][0]) >= {"when", "value", "facts", "to"}


def test_cli_exit_codes(tmp_path: Path) -> None:
    env = {"GUIDEWALK_GUIDELINES": str(MINI)}
    bad = tmp_path / "bad.yaml"
    bad.write_text("kps: 700\n")
    r = _cli("run", "mini", "--facts", str(bad), env=env)
    assert r.returncode == 2 and "outside the valid range" in r.stdout
    partial = tmp_path / "p.yaml"
    partial.write_text("bm_count: 2\n")
    r = _cli("run", "mini", "--facts", str(partial), "--format", "json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["needs"] == ["kps"]
    r = _cli("run", "nonexistent", "--facts", str(partial), env=env)
    assert r.returncode == 2 and "no guideline 'nonexistent'" in r.stderr
    r = _cli("validate", str(MINI / "bad"), env=env)
    assert r.returncode == 1 and "unknown fact 'kpss'" in r.stderr


def test_version_names_the_rules_backend() -> None:
    r = _cli("--version")
    assert r.returncode == 0 and "rules backend:" in r.stdout


def test_unknown_rules_backend_is_a_usage_error(tmp_path: Path) -> None:
    from guidewalk.engine.errors import UsageError
    from guidewalk.engine.rules import backend

    with pytest.raises(UsageError, match="unknown rules backend 'rete'"):
        backend("rete")
    case = tmp_path / "case.yaml"
    case.write_text("kps: 80\n")
    r = _cli("run", "mini", "--facts", str(case), env={"GUIDEWALK_GUIDELINES": str(MINI), "GUIDEWALK_RULES": "rete"})
    assert r.returncode == 2 and "error: unknown rules backend 'rete'" in r.stderr, r.stderr


def test_durable_rules_asked_for_but_not_loadable_says_why(tmp_path: Path) -> None:
    """`auto` falls back to the built-in backend silently; `--rules durable_rules` where it
    cannot load is an error that says why and what to use instead (no traceback)."""
    case = tmp_path / "case.yaml"
    case.write_text("kps: 80\n")
    code = "import sys; sys.modules['durable'] = None\nfrom guidewalk.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {**os.environ, "GUIDEWALK_GUIDELINES": str(MINI)}
    run_ = [sys.executable, "-c", code, "run", "mini", "--facts", str(case), "--format", "json"]
    r = subprocess.run([*run_, "--rules", "durable_rules"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 2, r.stderr
    message = json.loads(r.stdout)["error"]["message"]  # --format json: the error as JSON on stdout
    assert message.startswith("durable_rules cannot load on Python") and "--rules builtin" in message
    assert "Traceback" not in r.stderr
    r = subprocess.run([*run_, "--rules", "auto"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["engine"]["rules_backend"] == "builtin", r.stderr


def test_rules_face_does_not_import_durable() -> None:
    code = "import sys, guidewalk.engine.rules\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'durable' or '.rules.durable' in m))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_shipped_guidelines_validate() -> None:
    r = _cli("validate")
    assert r.returncode == 0, r.stderr + r.stdout


def test_exception_in_a_branch_condition_is_located(tmp_path: Path) -> None:
    import shutil

    from guidewalk.engine.load import load_guideline

    root = tmp_path / "r"
    shutil.copytree(MINI, root)
    g = root / "mini" / "guideline.yaml"
    g.write_text(g.read_text().replace("- when: bm_count <= 10 and not large_volume", "- when: 100 / bm_count > 10 and not large_volume"))
    gl = load_guideline(root / "mini", root=root)
    with pytest.raises(RunError, match=r"condition '100 / bm_count > 10 and not large_volume' of decision 'srs_check' failed: ZeroDivisionError.*bm_count=0"):
        run(gl, {"kps": 80, "bm_count": 0, "bm_total_volume_cm3": 1})


def test_text_form_asks_the_needed_facts_with_question_and_range(mini) -> None:  # type: ignore[no-untyped-def]
    from guidewalk.render.text import to_text

    text = to_text(run(mini, {"bm_count": 3}), mini)
    assert "  - kps: Karnofsky performance status? [0..100 step 10 %]" in text
