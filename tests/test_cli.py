"""CLI conventions: documented exit codes, errors as JSON with --format json, no traceback for
any misuse (missing or unwritable files, a missing extra, a missing Graphviz, no guidelines),
shell completion, NO_COLOR, `python -m guidewalk`, and the public API's names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import guidewalk
from guidewalk.cli import main
from guidewalk.cli.parser import EXIT_CODES

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "cases" / "lecture-case-1.yaml"


def _gw(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "guidewalk", *args], capture_output=True, text=True, env=e, cwd=cwd or ROOT, input=stdin, timeout=120)


def test_help_lists_every_exit_code() -> None:
    r = _gw("--help")
    assert r.returncode == 0
    for code, what in EXIT_CODES:
        assert f"{code}" in r.stdout and what.split(":")[0] in r.stdout
    assert "NO_COLOR" in r.stdout and "GUIDEWALK_GUIDELINES" in r.stdout


def test_python_dash_m_runs_the_demo_case() -> None:
    r = _gw("run", "brain-metastases-2020", "--facts", str(CASE), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "complete"


def test_unknown_guideline_is_a_json_error_on_stdout_with_format_json() -> None:
    r = _gw("run", "brain-metastases-2002", "--facts", str(CASE), "--format", "json")
    assert r.returncode == 2
    err = json.loads(r.stdout)["error"]
    assert err["kind"] == "load_error"
    assert err["problems"][0]["suggestion"] == "brain-metastases-2020"
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("run", "brain-metastases-2020", "--facts", "no/such/case.yaml"),
        ("report", "brain-metastases-2020", "--facts", str(CASE), "-o", "/proc/forbidden/report.html"),
        ("render", "spinal-metastases", "-o", "/proc/forbidden.svg"),
        ("replay", "no-such-record.json"),
        ("audit", "brain-metastases-2020", "no-such-cohort.csv", "-q"),
    ],
)
def test_missing_or_unwritable_files_are_messages_not_tracebacks(args: tuple[str, ...]) -> None:
    r = _gw(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.strip()


def test_a_directory_given_as_save_is_refused_with_a_message(tmp_path: Path) -> None:
    r = _gw("step", "spinal-metastases", "--save", str(tmp_path), stdin="quit\n")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert str(tmp_path) in r.stderr and "Traceback" not in r.stderr


def test_no_guidelines_found_says_so_and_exits_2(tmp_path: Path) -> None:
    for args in (("list",), ("validate",), ("render", "--all", "--check"), ("lint",)):
        r = _gw(*args, env={"GUIDEWALK_GUIDELINES": str(tmp_path)})
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "no guidelines" in r.stderr, (args, r.stderr)
    r = _gw("list", env={"GUIDEWALK_GUIDELINES": str(tmp_path / "missing")})
    assert r.returncode == 2 and "not a folder" in r.stderr


def test_validate_of_a_folder_without_guidelines_is_an_error(tmp_path: Path) -> None:
    r = _gw("validate", str(tmp_path))
    assert r.returncode == 2 and "nothing to validate" in r.stderr


def test_a_missing_extra_names_the_pip_command() -> None:
    code = "import sys; sys.modules['z3'] = None; from guidewalk.cli import main; sys.exit(main(['lint', 'spinal-metastases']))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2
    assert "pip install 'guidewalk[lint]'" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_graphviz_program_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    r = _gw("render", "spinal-metastases", "-o", str(tmp_path / "x.svg"), env={"PATH": str(tmp_path / "bin")})
    assert r.returncode == 2
    assert "Graphviz" in r.stderr and "Traceback" not in r.stderr


def test_an_internal_error_exits_3_without_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import guidewalk.cli.core as core

    def boom(args: Any) -> int:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(core, "cmd_list", boom)
    assert main(["list"]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "simulated bug" in err and "Traceback" not in err


def test_shell_completion_script() -> None:
    r = _gw("completion", "bash")
    assert r.returncode == 0 and "guidewalk" in r.stdout and "complete" in r.stdout
    for command in ("run", "lint", "audit", "serve"):
        assert command in r.stdout


def test_color_only_when_wanted() -> None:
    case_args = ("run", "brain-metastases-2020", "--facts", str(CASE))
    assert "\033[" not in _gw(*case_args).stdout  # not a terminal
    assert "\033[" in _gw("--color", "always", *case_args).stdout
    assert "\033[" in _gw(*case_args, env={"FORCE_COLOR": "1"}).stdout
    assert "\033[" not in _gw(*case_args, env={"FORCE_COLOR": "", "NO_COLOR": "1"}).stdout


def test_public_api_is_small_and_works() -> None:
    assert 12 <= len(guidewalk.__all__) <= 20
    g = guidewalk.load_guideline("brain-metastases-2020")
    result = guidewalk.run(g, guidewalk.read_case(str(CASE)))
    assert isinstance(result, guidewalk.Result) and result.status == "complete"
    assert "brain-metastases-2020" in guidewalk.list_guidelines()
    out = guidewalk.score("kps_to_ecog", {"kps": 80})
    assert out["status"] in ("complete", "needs_facts")
    with pytest.raises(AttributeError):
        guidewalk.no_such_name  # noqa: B018


def test_report_without_graphviz_still_writes_the_record_and_says_the_picture_is_missing(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    out = tmp_path / "report.html"
    r = _gw("report", "brain-metastases-2020", "--facts", str(CASE), "-o", str(out), env={"PATH": str(tmp_path / "bin")})
    assert r.returncode == 0, r.stderr
    assert "Graphviz" in r.stderr and "Traceback" not in r.stderr
    html = out.read_text(encoding="utf-8")
    assert 'id="no-drawing"' in html and "Every step of the walk" in html
    from guidewalk.render.report import embedded_record

    assert embedded_record(html)["result"]["status"] == "complete"


def test_every_sub_command_is_named_in_commands_and_builds_alone() -> None:
    """`guidewalk X` builds only X's parser (start-up): a sub-command missing from COMMANDS
    would never be found."""
    import argparse

    from guidewalk.cli.parser import COMMANDS, build_parser

    def names(p: argparse.ArgumentParser) -> list[str]:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        return list(sub.choices)

    assert names(build_parser()) == list(COMMANDS)
    for c in COMMANDS:
        assert names(build_parser(only=c)) == [c]
