"""The flat case-file reader (engine._yaml_flat) reads exactly what the PyYAML path reads.

For every generated file it takes on, the data (with types), the position of every key and
value, and the spelling of every number must equal those of engine._yaml's PyYAML path; a file
it declines goes through PyYAML, so reading a file never depends on which path took it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guidewalk.engine import _yaml, _yaml_flat
from guidewalk.engine.errors import LoadError

ROOT = Path(__file__).resolve().parent.parent

KEYS = ["kps", "bm_count", "primary_tumour_type", "a", "_x", "true", "no", "null", "Key1"]
VALUES = [
    "80", "0", "-3", "007", "1.000", "1.5", "-0.25", "00.5", "1.", ".5", "1e3", "1.0e+3", "1_000", "0x1f", "0o7", "12:30", "+5",
    "true", "false", "null", "True", "FALSE", "yes", "No", "on", "OFF", "y", "n", "~", "Null", ".inf", "-.inf", ".nan",
    "renal", "controlled_limited", "her2-positive", "v1.2", "a b", "a  b", "a #c", "a#b", "a: b", "-a", "- a", "? a",
    "2024-05-01", "2024-5-1", "2024-05-01T10:00:00", '"quoted"', '"with \\"escape\\""', "'single'", "'it''s'", '""', "''",
    "1" + "0" * 5000, "0." + "1" * 400, "[1, 2]", "{a: 1}", "&anchor x", "*alias", "!!str 5", "|", ">", "", "unknown", "éé", "x\ty",
]  # fmt: skip
SPACES = [" ", "  "]
TAILS = ["", " ", " # comment", "  #c", "#c"]
OTHER = ["", "   ", "# a comment", "  # indented comment", "---", "...", "  nested: 1", "- item", "%YAML 1.1", "{}", "key:value", "key :1"]


@st.composite
def case_files(draw: Any) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(OTHER)))
        else:
            lines.append(draw(st.sampled_from(KEYS)) + ":" + draw(st.sampled_from(SPACES)) + draw(st.sampled_from(VALUES)) + draw(st.sampled_from(TAILS)))
    end = draw(st.sampled_from(["\n", "", "\n\n", "\r\n"]))
    return end.join(lines) + (end if lines else "")


def by_pyyaml(text: str) -> Any:
    marks: dict[Any, Any] = {}
    numbers: dict[Any, Any] = {}
    try:
        data = _yaml._build("case.yaml", text, text.splitlines(), marks, numbers)
    except LoadError as exc:
        return ("error", str(exc))
    return typed(data), marks, numbers


def typed(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: typed(v) for k, v in data.items()}
    if isinstance(data, list):
        return [typed(v) for v in data]
    return (type(data).__name__, data)


def by_flat(text: str) -> Any:
    marks: dict[Any, Any] = {}
    numbers: dict[Any, Any] = {}
    data = _yaml_flat.read(text, marks, numbers)
    if data is None:
        assert not marks and not numbers
        return None
    return typed(data), marks, numbers


@settings(max_examples=3000, deadline=None)
@given(case_files())
def test_what_the_flat_reader_takes_it_reads_as_pyyaml_does(text: str) -> None:
    flat = by_flat(text)
    if flat is not None:
        assert flat == by_pyyaml(text), text


#: (line, what YAML makes of it when the flat reader takes it; None: the flat reader declines)
LINES: list[tuple[str, Any]] = [
    ("kps: 80", ("int", 80)),
    ("kps: 1.000", ("float", 1.0)),
    ("kps: -0.5  # half", ("float", -0.5)),
    ("mass_effect: false", ("bool", False)),
    ("mass_effect: null", ("NoneType", None)),
    ("primary_tumour_type: renal", ("str", "renal")),
    ("primary_tumour_type: 'renal'", ("str", "renal")),
    ("primary_tumour_type: unknown primary", ("str", "unknown primary")),
    ("diagnosis_date: 2024-05-01", ("str", "2024-05-01")),
    ("mass_effect: yes", None),
    ("mass_effect: False", None),
    ("kps: 1_000", None),
    ("kps: 012", None),
    ("kps:", None),
    ("kps: [80]", None),
    ("kps:\t80", None),
    ("  kps: 80", None),
    ("note: 'it''s'", None),
    ('note: "a\\tb"', None),
    ("note: één", None),
]


@pytest.mark.parametrize(("line", "expected"), LINES, ids=[line for line, _ in LINES])
def test_which_lines_are_taken(line: str, expected: Any) -> None:
    flat = by_flat(line + "\n")
    if expected is None:
        assert flat is None
    else:
        assert flat is not None and flat[0] == {line.split(":")[0]: expected}
        assert flat == by_pyyaml(line + "\n")


def test_bundled_example_cases_take_the_flat_path() -> None:
    """The bundled example cases are what users copy: none of them needs PyYAML."""
    paths = sorted((ROOT / "examples" / "cases").glob("*.yaml"))
    assert paths
    for path in paths:
        text = path.read_text("utf-8")
        flat = by_flat(text)
        assert flat is not None, path
        assert flat == by_pyyaml(text), path


def test_a_file_read_either_way_gives_the_same_doc(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("# case\nkps: 1.000\nmass_effect: false\n\nprimary_tumour_type: renal  # from the letter\n", "utf-8")
    doc = _yaml.load_file(str(tmp_path / "c.yaml"))
    assert doc.data == {"kps": 1.0, "mass_effect": False, "primary_tumour_type": "renal"}
    assert doc.numbers == {("kps",): "1.000"}
    assert doc.where(("primary_tumour_type",)).line == 5 and doc.where(("primary_tumour_type",)).col == 22
    assert doc.key_where(("kps",)).line == 2
