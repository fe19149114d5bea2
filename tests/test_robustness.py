"""Robustness of the authoring path (property-based, hypothesis): random and mutated
expressions and guideline files never crash with anything but a located guidewalk error;
alias bombs and deep nesting are refused; code in conditions is rejected at load time."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidewalk.engine import _yaml
from guidewalk.engine.errors import ExpressionError, GuidewalkError, LoadError
from guidewalk.engine.expressions import compile_condition, compile_expr, parse
from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import FactSpec

LINT = Path(__file__).resolve().parent / "fixtures" / "lint"
CLEAN = (LINT / "clean" / "guideline.yaml").read_text(encoding="utf-8")

SCOPE = {
    "kps": FactSpec("kps", "integer", min=0, max=100, step=10),
    "bm_count": FactSpec("bm_count", "integer", min=0, max=200),
    "volume": FactSpec("volume", "number", min=0, max=500),
    "controlled": FactSpec("controlled", "boolean"),
    "tumour": FactSpec("tumour", "enum", values=("nsclc", "breast", "melanoma")),
    "drugs": FactSpec("drugs", "set", values=("trastuzumab", "pertuzumab")),
    "dx": FactSpec("dx", "date"),
}

SEEDS = [
    "kps >= 70 and bm_count <= 10",
    "tumour in [nsclc, breast] or not controlled",
    "trastuzumab in drugs and count(drugs) >= 1",
    "50 <= kps <= 90",
    "min(volume, 30) + abs(-2) > 3.5",
    "known(kps) and unknown(volume)",
    "days_between(dx, '2020-01-01') > 30",
    "not (kps < 70 or volume > 20.5)",
]

ALPHABET = st.sampled_from(
    list("abkpsv_019 .,()[]<>=!+-*/'\"\\:;{}#@&|^~%$`?\n\t")
    + ["and", "or", "not", "in", "kps", "volume", "tumour", "drugs", "count(", "known(", "__import__", "lambda", "if", "else", "**", "//", "\x00", "é", "1e309"]
)


def _compile(text: str) -> None:
    try:
        tree = compile_condition(text, SCOPE)
    except ExpressionError as exc:
        assert isinstance(exc.col, int) and exc.col >= 0
        assert exc.message
        return
    compile_expr(tree)  # a tree that checks also compiles


pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # Python's parser warns on e.g. '1and'


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_random_text_never_crashes_the_expression_parser(text: str) -> None:
    _compile(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_token_soup_never_crashes(text: str) -> None:
    _compile(text)


@st.composite
def mutated(draw: Any) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        i = draw(st.integers(0, len(text)))
        piece = draw(ALPHABET)
        if op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "replace":
            text = text[:i] + piece + text[i + 1 :]
        else:
            text = text[:i] + text[i:] + text[i:]
    return text


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_mutated_conditions_never_crash(text: str) -> None:
    _compile(text)


_LEAF = st.sampled_from(["kps", "bm_count", "volume", "controlled", "tumour", "nsclc", "drugs", "3.5", "70", "true", "'x'", "-1", "1e3"])


def _combine(children: Any) -> Any:
    return st.one_of(
        st.tuples(children, st.sampled_from([" and ", " or ", " < ", " >= ", " == ", " != ", " + ", " * ", " / ", " in ", " not in "]), children).map("".join),
        children.map(lambda c: f"not {c}"),
        children.map(lambda c: f"({c})"),
        st.lists(children, min_size=1, max_size=3).map(lambda cs: "[" + ", ".join(cs) + "]"),
        st.tuples(st.sampled_from(["min", "max", "abs", "count", "known", "unknown", "days_between"]), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


@settings(max_examples=500, deadline=None)
@given(st.recursive(_LEAF, _combine, max_leaves=12))
def test_structured_random_expressions_never_crash(text: str) -> None:
    _compile(text)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("__import__('os').system('x')", "only the built-in functions may be called"),
        ("__import__('os')", "unknown function '__import__'"),
        ("__builtins__ == 1", "name '__builtins__' is not allowed"),
        ("kps.real > 3", "attribute access"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("(lambda: 1)()", "only the built-in functions"),
        ("[x for x in drugs]", "not allowed"),
        ("kps if controlled else 0", "not allowed"),
        ("drugs[0] == 1", "subscripts"),
        ("kps ** 2 > 1", "only + - * /"),
    ],
)
def test_code_is_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment.replace("(", r"\(").replace("*", r"\*").replace("+", r"\+")):
        compile_condition(text, SCOPE)


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(LINT, root)
    return root


@pytest.mark.parametrize("cond, fragment", [("__import__('os').system('x')", "only the built-in functions"), ("kps.real >= 70", "attribute access")])
def test_code_in_a_guideline_is_rejected_at_load_with_its_location(tmp_path: Path, cond: str, fragment: str) -> None:
    root = _root(tmp_path)
    p = root / "clean" / "guideline.yaml"
    p.write_text(CLEAN.replace("{when: kps < 70, to: bsc}", '{when: "' + cond.replace('"', '\\"') + '", to: bsc}'))
    line = next(i for i, t in enumerate(CLEAN.splitlines(), 1) if "{when: kps < 70, to: bsc}" in t)
    with pytest.raises(LoadError) as info:
        load_guideline(p, root=root)
    msgs = [pr for pr in info.value.problems if fragment in pr.message]
    assert msgs and msgs[0].location.line == line and msgs[0].location.col > 0


def test_yaml_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    with pytest.raises(LoadError, match="anchors and aliases are not allowed"):
        _yaml.load_text(bomb, "bomb.yaml")


def test_deep_nesting_is_refused_and_finishes() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(LoadError, match="nesting") as info:  # libyaml's own limit may answer first
        _yaml.load_text(deep, "deep.yaml")
    assert len(str(info.value)) < 2000  # the context line is cut to a window
    with pytest.raises(LoadError, match="nesting deeper than 64"):
        _yaml.load_text("[" * 65 + "]" * 65, "deep.yaml")
    deep_map = "".join("  " * i + f"k{i}:\n" for i in range(80)) + "  " * 80 + "v\n"
    with pytest.raises(LoadError, match="nesting deeper than 64"):
        _yaml.load_text(deep_map, "deep.yaml")


def test_deeply_nested_expression_is_refused() -> None:
    with pytest.raises(ExpressionError):
        parse("(" * 3000 + "kps" + ")" * 3000)
    with pytest.raises(ExpressionError):
        parse("not " * 2000 + "controlled")
    with pytest.raises(ExpressionError):
        parse("kps" + " + 1" * 5000)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_yaml(raw: bytes) -> None:
    try:
        _yaml.load_text(raw, "random.yaml")
    except LoadError as exc:
        assert exc.problems and all(p.location.file == "random.yaml" for p in exc.problems)


@st.composite
def mutated_guideline(draw: Any) -> str:
    lines = CLEAN.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete_line", "duplicate_line", "edit", "indent", "swap"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete_line":
            del lines[i]
        elif op == "duplicate_line":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["  ", "", "\t", " "])) + lines[i].lstrip(draw(st.sampled_from(["", " "])))
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            line = lines[i]
            k = draw(st.integers(0, len(line)))
            lines[i] = (
                line[:k]
                + draw(st.sampled_from(["", "x", ":", "-", "[", "{", "&a ", "*a", "!!python/object ", "70", "kps", "'", "#", "to: nowhere"]))
                + line[k + draw(st.integers(0, 3)) :]
            )
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=mutated_guideline())
def test_mutated_guidelines_load_or_fail_with_located_errors(tmp_path: Path, text: str) -> None:
    root = tmp_path / "r"
    if not root.exists():
        shutil.copytree(LINT, root)
    p = root / "clean" / "guideline.yaml"
    p.write_text(text, encoding="utf-8")
    try:
        load_guideline(p, root=root)
    except LoadError as exc:
        assert exc.problems
        for pr in exc.problems:
            assert pr.message
            assert pr.location.file  # every problem names a file
    except GuidewalkError as exc:  # pragma: no cover - should be a LoadError
        pytest.fail(f"unexpected {type(exc).__name__}: {exc}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=mutated_guideline())
def test_lint_never_crashes_on_what_loads(tmp_path: Path, text: str) -> None:
    from guidewalk.engine.verify.lint import lint

    root = tmp_path / "r"
    if not root.exists():
        shutil.copytree(LINT, root)
    p = root / "clean" / "guideline.yaml"
    p.write_text(text, encoding="utf-8")
    try:
        g = load_guideline(p, root=root)
    except LoadError:
        return
    for f in lint(g, unknowns=False):
        assert f.location.file and f.message
