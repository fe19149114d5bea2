"""One test per defect found, named after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from guidewalk.engine.rules import durable_available

from conftest import ROOT

DEMO = ROOT / "tests" / "fixtures" / "session" / "demo-stepper" / "guideline.yaml"


@pytest.mark.skipif(not durable_available()[0], reason="durable_rules cannot load on this Python (the built-in backend runs)")
def test_durable_session_whose_fact_was_never_handled_is_deleted_without_a_crash(tmp_path: Path) -> None:
    """durable_rules 2.0.28 corrupted its heap (SIGSEGV in delete_state) when the first case of
    a process matched no rule after partly matching an $and. Run in a subprocess: a crash
    must fail this test, not kill the test runner."""
    case = tmp_path / "case.yaml"
    case.write_text("symptomatic: false\n")
    for _ in range(3):
        r = subprocess.run(
            [sys.executable, "-m", "guidewalk", "run", str(DEMO), "--facts", str(case), "--rules", "durable_rules", "--format", "json"],
            capture_output=True, text=True, cwd=ROOT,
        )
        assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
        assert '"rules_backend": "durable_rules"' in r.stdout
