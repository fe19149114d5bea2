"""The columnar audit of plain CSV chunks (engine/audit/columnar.py) writes exactly what the row
reader writes: the same per-patient lines, byte for byte, and the same summary, on generated
cohorts with invalid cells, missing cells, ids, reasons and several chunks; a chunk that is not
plain (a quote, CRLF, a blank line, a short record, a byte that is not UTF-8) goes through the
row reader, so the messy cases read as they always have."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from guidewalk.engine.audit import audit, columnar
from guidewalk.engine.audit.cohort import write_cohort
from guidewalk.engine.load import load_guideline

FIXTURE = Path(__file__).parent / "fixtures" / "audit" / "cohortx"


def _run(path: Path, guideline: str, enabled: bool, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[bytes, str]:
    monkeypatch.setattr(columnar, "ENABLED", enabled)
    from guidewalk.engine.audit import chunk

    chunk._CONTEXTS.clear()  # each run builds its own caches and memos
    buf = io.BytesIO()
    kw.setdefault("flowchart", "treatment")
    summary = audit(guideline, str(path), out=buf, **kw)
    return buf.getvalue(), json.dumps(summary, sort_keys=True)


def _with_id_and_reason(src: Path, dst: Path) -> None:
    lines = src.read_text("utf-8").splitlines()
    out = [lines[0] + ',"patient_id","why"']
    for i, line in enumerate(lines[1:]):
        out.append(f"{line},P{i:05d},{'' if i % 3 else 'patient preference'}")
    dst.write_text("\n".join(out) + "\n", "utf-8")


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    d = tmp_path_factory.mktemp("columnar")
    out: dict[str, tuple[Path, str]] = {}
    gx = load_guideline(str(FIXTURE))
    write_cohort(gx, 2500, d / "fixture.csv", flowchart="treatment", seed=3, deviation_rate=0.2, missing_rate=0.05, invalid_rate=0.03, chunk=600)
    out["fixture"] = (d / "fixture.csv", str(FIXTURE))
    brain = load_guideline("brain-metastases-2020")
    write_cohort(brain, 2500, d / "brain.csv", flowchart="treatment", seed=9, missing_rate=0.08, invalid_rate=0.02, chunk=800)
    out["brain"] = (d / "brain.csv", "brain-metastases-2020")
    _with_id_and_reason(d / "brain.csv", d / "brain_ids.csv")
    out["brain with ids and reasons"] = (d / "brain_ids.csv", "brain-metastases-2020")
    return out


@pytest.mark.parametrize("name", ["fixture", "brain", "brain with ids and reasons"])
@pytest.mark.parametrize("chunk_bytes", [3000, 1 << 20])
def test_columnar_and_row_reader_write_the_same(name: str, chunk_bytes: int, cohorts: dict[str, tuple[Path, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    path, guideline = cohorts[name]
    kw: dict[str, Any] = {"actual": "actual", "chunk_bytes": chunk_bytes}
    if "ids" in name:
        kw.update(id_column="patient_id", reason="why")
    used = []
    read = columnar.read_columns
    monkeypatch.setattr(columnar, "read_columns", lambda *a: used.append(1) or read(*a))
    by_column = _run(path, guideline, True, monkeypatch, **kw)
    assert used, "the columnar reader never took a chunk"
    by_row = _run(path, guideline, False, monkeypatch, **kw)
    assert by_column[0] == by_row[0]
    assert by_column[1] == by_row[1]
    lines = by_column[0].decode().splitlines()
    assert len(lines) == 2500 and any('"invalid_facts"' in line for line in lines) and any('"needs_facts"' in line for line in lines)


def _at40(change: Any) -> Any:
    """A change of the 41st record (its cells)."""
    return lambda lines: lines[:40] + [",".join(change(lines[40].split(",")))] + lines[41:]


MESSY: dict[str, Any] = {
    "a quoted cell": _at40(lambda cells: [f'"{cells[0]}"', *cells[1:]]),
    "a quote inside a cell": _at40(lambda cells: [cells[0] + '8"0', *cells[1:]]),
    "a broken quote": _at40(lambda cells: ['"' + cells[0], *cells[1:]]),
    "a short record": _at40(lambda cells: cells[:-1]),
    "a long record": _at40(lambda cells: [*cells, "extra"]),
    "CRLF line ends": lambda lines: [line + "\r" for line in lines],
    "a blank line": lambda lines: lines[:40] + [""] + lines[40:],
    "no newline at the end": None,
}


@pytest.mark.parametrize("case", list(MESSY))
def test_a_chunk_that_is_not_plain_reads_as_before(case: str, cohorts: dict[str, tuple[Path, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, guideline = cohorts["brain"]
    lines = path.read_text("utf-8").splitlines()
    change = MESSY[case]
    messy = tmp_path / "messy.csv"
    if change is None:
        messy.write_text("\n".join(lines), "utf-8")
    else:
        messy.write_text("\n".join([lines[0], *change(lines[1:])]) + "\n", "utf-8")
    kw = {"actual": "actual", "chunk_bytes": 3000}
    assert _run(messy, guideline, True, monkeypatch, **kw) == _run(messy, guideline, False, monkeypatch, **kw)


def test_a_byte_that_is_not_utf8_reads_as_before(cohorts: dict[str, tuple[Path, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, guideline = cohorts["brain"]
    raw = path.read_bytes()
    cut = raw.index(b"\n", len(raw) // 2) + 1
    messy = tmp_path / "messy.csv"
    messy.write_bytes(raw[:cut] + raw[cut:].replace(b",", b",\xe9", 1))
    kw = {"actual": "actual", "chunk_bytes": 3000}
    by_column = _run(messy, guideline, True, monkeypatch, **kw)
    assert by_column == _run(messy, guideline, False, monkeypatch, **kw)
    assert b"not valid utf-8" in by_column[0]
