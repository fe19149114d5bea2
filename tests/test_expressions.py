"""The condition language: parsing whitelist, type checks, Kleene logic, readable text."""

from __future__ import annotations

from typing import Any

import pytest

from guidewalk.engine.errors import ExpressionError
from guidewalk.engine.expressions import UNKNOWN, compile_condition, compile_expr, facts_read, readable
from guidewalk.engine.model import FactSpec

SCOPE = {
    "kps": FactSpec("kps", "integer", min=0, max=100, step=10),
    "age_years": FactSpec("age_years", "integer", min=0, max=120),
    "vol": FactSpec("vol", "number", min=0, max=500),
    "tumour": FactSpec("tumour", "enum", values=("nsclc", "breast", "melanoma")),
    "grade": FactSpec("grade", "enum", values=("0", "1a", "2")),
    "sympt": FactSpec("sympt", "boolean"),
    "prior": FactSpec("prior", "set", values=("taxane", "t_dm1")),
}


def ev(text: str, env: dict[str, Any]) -> Any:
    return compile_expr(compile_condition(text, SCOPE, want=None))(env)


@pytest.mark.parametrize(
    "text,env,want",
    [
        ("kps >= 70", {"kps": 70}, True),
        ("kps >= 70", {"kps": 60}, False),
        ("kps >= 70", {}, UNKNOWN),
        # Kleene: false and unknown = false; true or unknown = true; otherwise unknown
        ("kps >= 70 and sympt", {"kps": 60}, False),
        ("kps >= 70 and sympt", {"kps": 80}, UNKNOWN),
        ("kps >= 70 or sympt", {"kps": 80}, True),
        ("kps >= 70 or sympt", {"kps": 60}, UNKNOWN),
        ("not sympt", {}, UNKNOWN),
        ("not sympt", {"sympt": False}, True),
        ("known(kps)", {}, False),
        ("unknown(kps)", {}, True),
        ("tumour in [nsclc, breast]", {"tumour": "breast"}, True),
        ("tumour not in [nsclc, breast]", {"tumour": "breast"}, False),
        ("tumour in [nsclc, breast]", {}, UNKNOWN),
        ("t_dm1 in prior", {"prior": frozenset({"t_dm1"})}, True),
        ("t_dm1 in prior", {"prior": frozenset()}, False),
        ("count(prior) >= 1", {"prior": frozenset({"taxane"})}, True),
        ("50 <= age_years <= 60", {"age_years": 60}, True),
        ("50 <= age_years <= 60", {"age_years": 61}, False),
        ("grade == '1a'", {"grade": "1a"}, True),
        ("(kps / 10) + 1", {"kps": 70}, 8.0),
        ("max(kps, age_years)", {"kps": 70, "age_years": 80}, 80),
        ("vol > 30", {"vol": 30.0}, False),
        ("sympt == true", {"sympt": True}, True),
    ],
)
def test_evaluate(text: str, env: dict[str, Any], want: Any) -> None:
    got = ev(text, env)
    assert got is want or got == want


@pytest.mark.parametrize(
    "text,message,col,suggestion",
    [
        ("kpss >= 70", "unknown fact 'kpss'", 0, "kps"),
        ("kps >= 170", "outside the declared range of kps", 7, None),
        ("kps == 75", "not a valid value of kps", 7, None),
        ("tumour == lung", "neither a fact nor a value of tumour", 10, None),
        ("tumour == 'melanomma'", "not a value of tumour", 10, "melanoma"),
        ("tumour < nsclc", "cannot order enum values", 0, None),
        ("tumour == 3", "cannot compare enum with number", 0, None),
        ("kps and sympt", "'and' needs true/false operands", 0, None),
        ("kps + 1", "a condition must be true/false", 0, None),
        ("__import__('os').system('x')", "built-in functions", 0, None),
        ("kps.real > 3", "attribute access", 0, None),
        ("prior[0] == 1", "subscripts", 0, None),
        ("lambda: 1", "not allowed", 0, None),
        ("[x for x in prior]", "not allowed", 0, None),
        ("kps >= ", "syntax error", None, None),
        ("knwn(kps)", "unknown function", 0, "known"),
        ("kps is None", "'is' comparisons are not allowed", 7, None),
        ("_secret > 1", "reserved", 0, None),
    ],
)
def test_errors_are_located(text: str, message: str, col: int | None, suggestion: str | None) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_condition(text, SCOPE)
    assert message in info.value.message
    if col is not None:
        assert info.value.col == col
    if suggestion:
        assert info.value.suggestion == suggestion


def test_readable_and_facts_read() -> None:
    e = compile_condition("kps >= 70 and not sympt and tumour in [nsclc, breast]", SCOPE)
    assert readable(e) == "kps ≥ 70 and not sympt and tumour in {nsclc, breast}"
    assert facts_read(e) == ("kps", "sympt", "tumour")
    assert readable(compile_condition("(kps < 70 or sympt) and vol <= 30", SCOPE)) == "(kps < 70 or sympt) and vol ≤ 30"


def test_unknown_has_no_truth_value() -> None:
    with pytest.raises(TypeError):
        bool(UNKNOWN)


def test_relevant_unknowns_follow_kleene() -> None:
    from guidewalk.engine.expressions import relevant_unknowns

    e = compile_condition("(tumour == breast and sympt) or kps >= 70", SCOPE)
    # the conjunction is already false: only kps can still decide
    assert relevant_unknowns(e, {"tumour": "nsclc"}) == ["kps"]
    assert relevant_unknowns(e, {"tumour": "breast"}) == ["sympt", "kps"]
    assert relevant_unknowns(e, {"kps": 80}) == []  # already true
    assert relevant_unknowns(compile_condition("not (sympt and not known(kps))", SCOPE), {}) == ["sympt"]
