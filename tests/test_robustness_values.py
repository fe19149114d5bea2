"""Fact values that are too large, too long, not standard JSON or carry terminal escapes: each
is refused with a short, safe reason by every command, never a crash and never echoed raw."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from guidewalk.cli import main
from guidewalk.engine.facts import BadValue, CaseFacts, check_facts, coerce, parse_number
from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import FactSpec
from guidewalk.engine.walk import run

KPS = FactSpec("kps", "integer", min=0, max=100, step=10)
ANY_INT = FactSpec("n", "integer")
ANY_NUM = FactSpec("x", "number")
TUMOUR = FactSpec("tumour", "enum", values=("nsclc", "breast"))
DRUGS = FactSpec("drugs", "set", values=("a", "b"))
DAY = FactSpec("day", "date")
ESC = "\x1b[2J\x1b]0;owned\x07"


@pytest.mark.parametrize("spec", [ANY_INT, ANY_NUM, KPS, TUMOUR, DRUGS, DAY], ids=lambda s: s.type)
@pytest.mark.parametrize(
    "value",
    [2**1024, -(2**1100), 10**5000, "1" + "0" * 5000, "9" * 401, "1" * 5000 + ".5"],
    ids=["2^1024", "-2^1100", "10^5000", "text5000", "text401", "frac"],
)
def test_a_huge_number_is_refused_with_a_short_reason_for_every_type(spec: FactSpec, value: object) -> None:
    """int('1'+'0'*5000) raised Python's own ValueError (more than 4,300 digits), and
    float(2**1024) an OverflowError: both escaped as internal errors."""
    with pytest.raises(BadValue) as exc:
        coerce(spec, value)
    assert len(str(exc.value)) < 300


def test_unicode_digits_are_not_numbers() -> None:
    """'١٢٣' (Arabic-Indic digits) was read as 123 by int()."""
    for text in ("١٢٣", "１２", "7\u0663"):
        with pytest.raises(BadValue):
            parse_number(text)
        with pytest.raises(BadValue):
            coerce(ANY_INT, text)


@pytest.mark.parametrize("spec", [TUMOUR, DRUGS, ANY_NUM, KPS, DAY, FactSpec("ok", "boolean")], ids=lambda s: s.type)
def test_terminal_escape_characters_are_never_echoed_back(spec: FactSpec) -> None:
    """An enum error message echoed '\\x1b[2J...' to the terminal as it was entered."""
    with pytest.raises(BadValue) as exc:
        coerce(spec, ESC)
    msg = str(exc.value)
    assert "\x1b" not in msg and "\x07" not in msg and "\\x1b" in msg


def test_an_unknown_fact_name_with_escapes_or_of_great_length_is_shown_safely() -> None:
    facts = check_facts({ESC: 1, "k" * 100_000: 2}, {"kps": KPS})
    shown = [str(e) for e in facts.errors]
    assert all("\x1b" not in s and len(s) < 400 for s in shown)


def test_long_text_is_cut_in_the_message() -> None:
    with pytest.raises(BadValue) as exc:
        coerce(TUMOUR, "x" * 100_000)
    assert len(str(exc.value)) < 300 and "100,000 characters" in str(exc.value)


def test_a_set_with_items_that_are_no_words_is_refused() -> None:
    for items in ([{"a": 1}], [1.5], [10**30], [ESC]):
        with pytest.raises(BadValue):
            coerce(DRUGS, items)
    assert coerce(DRUGS, ["a", " b "]) == frozenset({"a", "b"})


# --------------------------------------------------------------- item 5: every command


def _case(tmp_path: Path, text: str) -> str:
    p = tmp_path / "case.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


HUGE_CASES = {
    "2^1024": f"kps: {2**1024}\nage_years: {2**1024}\n",
    "10^5000": "kps: 1" + "0" * 5000 + "\n",
    "nan": "kps: .nan\nage_years: .inf\n",
    "escape": 'kps: "\\e[2J"\n',
}


@pytest.mark.parametrize("case", list(HUGE_CASES), ids=list(HUGE_CASES))
@pytest.mark.parametrize(
    "command",
    [
        ("run", "{g}", "--facts", "{f}"),
        ("run", "{g}", "--facts", "{f}", "--format", "json"),
        ("score", "gpa_2008", "--facts", "{f}"),
        ("score", "gpa_2008", "--facts", "{f}", "--format", "json"),
        ("step", "{g}", "--facts", "{f}", "--save", "{d}/saved.yaml"),
        ("report", "{g}", "--facts", "{f}", "--format", "json"),
        ("report", "{g}", "--facts", "{f}", "-o", "{d}/report.html"),
        ("why-not", "{g}", "--facts", "{f}", "--target", "await_histology_then_reassess", "--format", "json"),
        ("render", "{g}", "--facts", "{f}", "-o", "{d}/case.svg"),
    ],
    ids=lambda c: "-".join(c[:1] + tuple(a for a in c if a in ("json", "-o"))),
)
def test_an_integer_of_2_to_the_1024_or_nan_is_invalid_facts_in_every_command(
    tmp_path: Path, case: str, command: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """float(v) on a huge int crashed run, score, step, report, why-not and render; `.nan` in a
    case file made `run --format json` write NaN. Each is now invalid facts (exit 2), in
    standard JSON where JSON is asked for, with no escape character echoed."""
    f = _case(tmp_path, HUGE_CASES[case])
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    args = [a.format(g="spinal-metastases", f=f, d=tmp_path) for a in command]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 2, (code, out[-500:], err[-500:])
    assert "internal error" not in err and "Traceback" not in err
    assert "\x1b" not in out + err
    if "json" in command:
        json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_walk_never_completes_on_a_huge_value() -> None:
    g = load_guideline("brain-metastases-2020")
    r = run(g, CaseFacts({"kps": 10**400, "bm_count": "1" + "0" * 5000}), flowchart="treatment")
    assert r.status == "invalid_facts" and {e.fact for e in r.errors} == {"kps", "bm_count"}


def test_arithmetic_that_leaves_the_numbers_is_an_error_never_nan_or_infinity() -> None:
    """inf - inf made NaN, which compared false silently (and a derived NaN would be emitted as
    non-standard JSON). Arithmetic whose result is not a finite number is now an error that
    the walk reports with its node, like a division by zero."""
    from guidewalk.engine.expressions import compile_condition, compile_expr

    scope = {"a": FactSpec("a", "number"), "b": FactSpec("b", "number")}
    f = compile_expr(compile_condition("a * b - a * b > 1", scope))
    with pytest.raises(ArithmeticError):
        f({"a": 1e300, "b": 1e300})
    assert compile_expr(compile_condition("a * b > 1", scope))({"a": 2.0, "b": 3.0}) is True
