"""Golden cases: one YAML file per case under tests/cases/<guideline>/ (facts in; status,
path, actions, derived values, alerts out), run by engine.golden as `guidewalk test` runs
them. The same files feed the docs and the steppers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, guideline

from guidewalk.engine.golden import diff_text, read_golden, run_golden

FILES = sorted(CASES.glob("*/*.yaml"))
FIXTURE_CASES = CASES.parent / "fixtures" / "session" / "cases"


def _load(ref: str, overlays: tuple[str, ...]) -> Any:
    if overlays:
        from guidewalk.engine.load import load_guideline

        return load_guideline(ref, overlays=overlays)
    return guideline(ref)


def _run(path: Path) -> tuple[dict[str, Any], Any]:
    outcome = run_golden(path, load=_load)
    assert outcome.result is not None, diff_text(outcome)
    return read_golden(path), outcome.result


def test_golden_cases_exist() -> None:
    assert FILES, "no golden cases found under tests/cases/"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_golden(path: Path) -> None:
    """The same runner as `guidewalk test` (engine.golden): the two cannot disagree."""
    outcome = run_golden(path, load=_load)
    assert outcome.ok, f"{path}\n{diff_text(outcome)}"


def _coverage() -> dict[str, tuple[set[str], set[str]]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for path in FILES:
        _, result = _run(path)
        seen[path.parent.name].update(result.path)
    out = {}
    for gid, nodes in seen.items():
        out[gid] = (set(guideline(gid).nodes), nodes)
    return out


GIDS = sorted({p.parent.name for p in FILES})


@pytest.mark.parametrize("gid", GIDS)
def test_every_node_reached_by_a_golden_case(gid: str, capsys: pytest.CaptureFixture[str]) -> None:
    all_nodes, seen = _coverage()[gid]
    missing = sorted(all_nodes - seen)
    with capsys.disabled():
        print(f"\nnode coverage {gid}: {len(all_nodes & seen)}/{len(all_nodes)}")
    assert not missing, f"nodes on no golden case's path: {missing}"


# --------------------------------------------------------------------------- `guidewalk test`


def _gw(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GUIDEWALK_RULES": "builtin"}  # the fixture crashes durable_rules (reported)
    return subprocess.run([sys.executable, "-m", "guidewalk", "test", *args], capture_output=True, text=True, env=env, timeout=600, cwd=CASES.parent.parent)


def test_guidewalk_test_passes_on_every_golden_folder() -> None:
    folders = sorted(CASES.glob("*/")) + [FIXTURE_CASES]
    r = _gw(*map(str, folders))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    lines = r.stdout.splitlines()
    n = len(FILES) + len(list(FIXTURE_CASES.glob("*/*.yaml")))
    assert lines[-1] == f"{n} passed, 0 failed"
    assert sum(1 for line in lines if line.startswith("ok  ")) == n
    assert _gw().stdout.splitlines()[-1] == f"{len(FILES)} passed, 0 failed"  # default: tests/cases


def test_guidewalk_test_fails_with_a_readable_diff(tmp_path: Path) -> None:
    src = CASES / "brain-metastases-2020" / "s01a_lecture_case1_nsclc_4_bm_2019.yaml"
    folder = tmp_path / "brain-metastases-2020"
    folder.mkdir()
    text = src.read_text(encoding="utf-8")
    broken = text.replace("tx_srs_decision_outcome, tx_srs]", "tx_srs_decision_outcome, tx_wbrt]").replace("rpa_class: II,", "rpa_class: III,")
    assert broken != text
    (folder / "broken.yaml").write_text(broken, encoding="utf-8")
    (folder / "good.yaml").write_text(text, encoding="utf-8")
    (folder / "typo.yaml").write_text("facts: {kps: 80}\nexpect: {status: complete, paht: []}\n", encoding="utf-8")
    r = _gw(str(tmp_path))
    assert r.returncode == 1
    out = r.stdout
    assert "FAIL  brain-metastases-2020/broken  (complete, 24 steps)" in out
    assert "ok    brain-metastases-2020/good  (complete, 24 steps)" in out
    assert "--- expected\n      +++ actual\n" in out
    assert "      -- tx_wbrt\n      +- tx_srs\n" in out
    assert "      -  rpa_class: III\n      +  rpa_class: II\n" in out
    assert "typo.yaml:2:28: error: unknown key 'paht' in expect (did you mean 'path'?)" in out
    assert out.splitlines()[-1] == "1 passed, 2 failed"
    j = json.loads(_gw(str(tmp_path), "--format", "json").stdout)
    assert (j["passed"], j["failed"]) == (1, 2)
    broken_case = next(c for c in j["cases"] if c["case"].endswith("/broken"))
    derived = broken_case["differences"]["derived"]
    assert (derived["expected"]["rpa_class"], derived["actual"]["rpa_class"]) == ("III", "II")
    assert broken_case["differences"]["path"]["actual"][-1] == "tx_srs"


def test_a_case_with_a_decision_checks_its_concordance(tmp_path: Path) -> None:
    folder = tmp_path / "brain-metastases-2020"
    folder.mkdir()
    src = (CASES / "brain-metastases-2020" / "s01a_lecture_case1_nsclc_4_bm_2019.yaml").read_text(encoding="utf-8")
    case = src.replace("expect:\n", "clinician_decision: {actions: [wbrt], reason: patient preference}\nexpect:\n  concordance: deviation_with_reason\n")
    (folder / "dev.yaml").write_text(case, encoding="utf-8")
    assert run_golden(folder / "dev.yaml").ok
    (folder / "dev.yaml").write_text(case.replace("deviation_with_reason", "concordant"), encoding="utf-8")
    o = run_golden(folder / "dev.yaml")
    assert o.differences == {"concordance": ("concordant", "deviation_with_reason")}
