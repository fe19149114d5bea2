"""One test per defect found, named after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from guidewalk.engine.rules import durable_available

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
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
        assert '"rules_backend": "durable_rules"' in r.stdout


# --------------------------------------------------------------------------- messy numbers


from guidewalk.engine.facts import BadValue, CaseFacts, check_facts, coerce, parse_number  # noqa: E402
from guidewalk.engine.load import load_guideline  # noqa: E402
from guidewalk.engine.model import FactSpec  # noqa: E402
from guidewalk.engine.walk import run  # noqa: E402

DAYS = FactSpec("radicular_deficit_onset_days", "integer", min=0, max=3650)
MG = FactSpec("dexamethasone_cumulative_mg", "number", min=0, max=100000)


@pytest.mark.parametrize("text", ["1.000", "1,000", "1,500", "1.500", "12.000", "1.000.000", "1 000,5"])
def test_number_text_with_a_grouping_separator_or_decimal_comma_is_refused_with_the_reason(text: str) -> None:
    """'1.000' was read as 1 (1000 meant) and '1,500' as 1.5: a different MRI urgency node and a
    hidden PJP alert. Text that can mean two numbers is refused, saying why."""
    for spec in (DAYS, MG):
        with pytest.raises(BadValue) as exc:
            coerce(spec, text)
        assert text in str(exc.value)


def test_unambiguous_number_text_still_reads() -> None:
    assert coerce(DAYS, "1000") == 1000 and coerce(DAYS, " 7 ") == 7 and coerce(DAYS, "80.0") == 80
    assert coerce(MG, "1.5") == 1.5 and coerce(MG, "0.500") == 0.5 and coerce(MG, "1500") == 1500.0


def test_an_integer_fact_never_accepts_a_fraction() -> None:
    for v in ("7.5", 7.5, "1e-1"):
        with pytest.raises(BadValue):
            coerce(DAYS, v)


def test_an_explicit_locale_reads_dutch_and_english_notation() -> None:
    assert parse_number("1.000", "nl") == 1000 and parse_number("1.000,5", "nl") == 1000.5 and parse_number("1,5", "nl") == 1.5
    assert parse_number("1,000", "en") == 1000 and parse_number("1,000.5", "en") == 1000.5 and parse_number("1.000", "en") == 1.0
    with pytest.raises(BadValue):
        parse_number("1,5", "en")


def test_an_unquoted_yaml_1_000_is_judged_as_it_was_written(tmp_path: Path) -> None:
    """YAML reads `radicular_deficit_onset_days: 1.000` as the float 1.0; the case file keeps how
    the number was written, so it is refused like the text '1.000'."""
    from guidewalk.engine.facts import read_case

    f = tmp_path / "case.yaml"
    f.write_text("radicular_deficit_onset_days: 1.000\ndexamethasone_cumulative_mg: 12.5\n")
    facts = check_facts(read_case(str(f)), {"radicular_deficit_onset_days": DAYS, "dexamethasone_cumulative_mg": MG})
    assert [e.fact for e in facts.errors] == ["radicular_deficit_onset_days"]
    assert str(facts.errors[0]).startswith(f"{f}:1:")
    assert facts.values == {"dexamethasone_cumulative_mg": 12.5}


def test_an_integer_of_2_to_the_1024_is_invalid_facts_not_a_crash() -> None:
    """float(v) on a huge int raised OverflowError in run, score, step, report, why-not, render."""
    g = load_guideline("spinal-metastases")
    r = run(g, {"kps": 2**1024, "age_years": 10**400})
    assert r.status == "invalid_facts" and {e.fact for e in r.errors} == {"kps", "age_years"}
    assert all(len(str(e)) < 300 for e in r.errors)
    with pytest.raises(BadValue):
        coerce(MG, 2**2000)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), ".nan", "inf", "NaN"])
def test_nan_and_infinity_are_refused_and_never_emitted(value: object) -> None:
    """`.nan`/`.inf` in a case file made `run --format json` print NaN/Infinity (not JSON)."""
    import json

    from guidewalk.engine.trace import dumps

    g = load_guideline("spinal-metastases")
    r = run(g, CaseFacts({"kps": value}))
    assert r.status == "invalid_facts"
    text = dumps(r.to_json())
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_a_second_yaml_document_after_an_empty_first_one_is_refused() -> None:
    from guidewalk.engine import _yaml
    from guidewalk.engine.errors import LoadError

    with pytest.raises(LoadError, match="only one YAML document"):
        _yaml.load_text("---\n---\nkps: 70\n", "case.yaml")
