"""Hostile guideline files: `validate` and `lint` answer with located errors (file:line:col),
never a RecursionError or OverflowError traceback; nesting is bounded; sources are web pages."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from guidewalk.cli import main
from guidewalk.engine.errors import LoadError
from guidewalk.engine.expressions.parse import MAX_DEPTH
from guidewalk.engine.load import load_guideline

LINT = Path(__file__).resolve().parent / "fixtures" / "lint"
CLEAN = (LINT / "clean" / "guideline.yaml").read_text(encoding="utf-8")
BRANCH = "{when: kps < 70, to: bsc}"
LOCATED = re.compile(r"guideline\.yaml:\d+:\d+: error: |facts\.yaml:\d+:\d+: error: ")


def _root(tmp_path: Path, guideline: str = CLEAN, facts_extra: str = "") -> Path:
    root = tmp_path / "root"
    shutil.copytree(LINT, root)
    (root / "clean" / "guideline.yaml").write_text(guideline, encoding="utf-8")
    if facts_extra:
        with open(root / "facts.yaml", "a", encoding="utf-8") as fh:
            fh.write(facts_extra)
    return root / "clean" / "guideline.yaml"


def _branch(cond: str) -> str:
    assert BRANCH in CLEAN
    return CLEAN.replace(BRANCH, '{when: "' + cond + '", to: bsc}')


def _validate_and_lint(path: Path, capsys: pytest.CaptureFixture[str], fragment: str) -> None:
    for command in (["validate", str(path)], ["lint", str(path)]):
        code = main(command)
        out, err = capsys.readouterr()
        assert code == (1 if command[0] == "validate" else code) and code in (1, 2), (command, code, out, err)
        text = out + err
        assert "internal error" not in text and "Traceback" not in text and "RecursionError" not in text, text[-2000:]
        assert LOCATED.search(text), text[-2000:]
        assert fragment in text, text[-2000:]


HOSTILE = {
    "a 500-term + chain": (_branch(" + ".join(["kps"] * 500) + " < 70"), "nested deeper than"),
    "900 nested nots": (_branch("not " * 900 + "(kps < 70)"), "nested deeper than"),
    "a literal over 1e308": (_branch("kps < 1e309"), "out of range"),
    "a 400-digit integer": (_branch("kps < 1" + "0" * 400), "out of range"),
    "-1e999 in a rule": (CLEAN.replace("value: bm_total_volume_cm3 > 30", "value: bm_total_volume_cm3 > -1e999"), "out of range"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_expressions_are_located_errors_in_validate_and_lint(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    """A 500-term `+` chain (under the length limit), 900 nested `not`s and a literal over 1e308
    raised RecursionError / OverflowError tracebacks in `validate` and `lint`."""
    text, fragment = HOSTILE[name]
    _validate_and_lint(_root(tmp_path, text), capsys, fragment)


def test_an_expression_just_under_the_depth_limit_loads_and_lints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the limit admits must work in every later step (check, evaluate, lint's solver)."""
    n = MAX_DEPTH - 3
    cond = "(" + " + ".join(["kps"] * n) + f") < {70 * n}"
    nots = "not " * (MAX_DEPTH - 4) + "(kps >= 70)"  # even count: the same as kps >= 70
    text = _branch(cond).replace("{when: kps >= 70, to: srs_check}", '{when: "' + nots + '", to: srs_check}')
    path = _root(tmp_path, text)
    g = load_guideline(path, root=path.parent.parent)
    from guidewalk.engine.walk import run

    assert run(g, {"kps": 60}).path[:2] == ["fitness", "bsc"]
    assert main(["lint", str(path)]) in (0, 1)
    out, err = capsys.readouterr()
    assert "internal error" not in out + err


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("  min: 1.0e+400\n", "must be a finite number"),
        ("  min: 1e400\n", "must be a number"),
        ("  max: .inf\n", "must be a finite number"),
        ("  min: .nan\n", "must be a finite number"),
        ("  max: 1" + "0" * 30 + "\n", "must be a finite number"),
    ],
)
def test_a_non_finite_range_in_the_dictionary_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, fragment: str) -> None:
    extra = "hostile_number:\n  type: number\n" + bad + '  question: "?"\n'
    _validate_and_lint(_root(tmp_path, facts_extra=extra), capsys, fragment)


@pytest.mark.parametrize("value", ['"two words"', '""', '"\\e[31mred"', '"a,b"', '" x"', "1.5", '"' + "v" * 65 + '"'])
def test_enum_values_are_checked_to_be_words(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    """Enum values were not checked to be words: a value with a space, a comma or an escape
    could not be named in a condition and reached forms and messages as it was."""
    extra = f"hostile_enum:\n  type: enum\n  values: [ok_value, {value}]\n"
    _validate_and_lint(_root(tmp_path, facts_extra=extra), capsys, "must be words")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "JaVaScRiPt:x", "vbscript:x", " https://x.org"]
)
def test_javascript_source_links_are_refused_at_load(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    """A `javascript:` source link reached the web page (the stepper linked node sources as
    they were written). The loader now admits http(s) addresses and urn: names only."""
    text = CLEAN.replace(
        'srs: {kind: action, actions: [srs], text: "SRS", source: {url: "https://example.org/fixture"',
        f'srs: {{kind: action, actions: [srs], text: "SRS", source: {{url: "{url}"',
    )
    assert text != CLEAN
    _validate_and_lint(_root(tmp_path, text), capsys, "a source must be an http(s) address or a urn: name")
    meta = CLEAN.replace('source: "https://example.org"', f'source: "{url}"')
    assert meta != CLEAN
    with pytest.raises(LoadError, match="a source must be"):
        p = _root(tmp_path / "meta", meta)
        load_guideline(p, root=p.parent.parent)


def test_urn_sources_still_load() -> None:
    g = load_guideline("spinal-metastases", overlays=("guidelines/overlays/lecture-local-spine.yaml",))
    assert any(r.source and r.source.url.startswith("urn:") for r in g.rules)


def test_an_overlay_without_applies_to_is_refused(tmp_path: Path) -> None:
    """An overlay without `applies_to` applied to every guideline."""
    src = Path("guidelines/overlays/lecture-local-spine.yaml").read_text(encoding="utf-8")
    ov = tmp_path / "ov.yaml"
    ov.write_text(re.sub(r"(?m)^  applies_to: .*\n", "", src), encoding="utf-8")
    with pytest.raises(LoadError, match="overlay needs applies_to"):
        load_guideline("spinal-metastases", overlays=(str(ov),))
    ov.write_text(src, encoding="utf-8")
    with pytest.raises(LoadError, match="not to 'brain-metastases-2020'"):
        load_guideline("brain-metastases-2020", overlays=(str(ov),))


def test_step_leaves_no_temporary_file_after_a_kill(tmp_path: Path) -> None:
    """`step` saves through a temporary file; one left by a killed process stayed forever.
    Temporary files now name their process, and the next save removes those of processes
    that are gone (never one of a process still writing)."""
    import subprocess
    import sys

    from guidewalk.render.stepper import save_case

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    target = tmp_path / "case.yaml"
    stale = tmp_path / f".case.yaml.{dead}.x1y2.tmp"
    alive = tmp_path / f".case.yaml.{os.getppid()}.z3.tmp"  # our parent: still running
    other = tmp_path / f".other.yaml.{dead}.q.tmp"
    for f in (stale, alive, other):
        f.write_text("partial")
    save_case(target, {"kps": 70})
    assert not stale.exists() and alive.exists() and other.exists()
    assert target.read_text(encoding="utf-8").endswith("kps: 70\n")
    assert oct(target.stat().st_mode & 0o777) == "0o600", "a saved case stays private"
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted([alive.name, other.name, target.name])
