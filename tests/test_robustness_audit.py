"""Broken cohorts: rows in = rows out, every bad row reported with its line, in time linear in
the file; Dutch Excel files (semicolons, cp1252, decimal commas) detected or refused with what
to do; outputs whole or absent after an interruption."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidewalk.engine.audit import audit
from guidewalk.engine.audit.io import BadRow, plan_file, read_rows
from guidewalk.engine.errors import GuidewalkError

ROOT = Path(__file__).resolve().parent.parent
G = "brain-metastases-2020"
HEADER = ["kps", "bm_count", "bm_max_diameter_cm", "bm_symptomatic", "actual"]
GOOD = ["80", "2", "1.5", "no", "srs"]


def _csv(path: Path, rows: list[list[str]], sep: str = ",", encoding: str = "utf-8", end: str = "\n") -> Path:
    path.write_bytes((end.join(sep.join(r) for r in [HEADER, *rows]) + end).encode(encoding))
    return path


def _audit(path: Path, **kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    buf = io.BytesIO()
    kw.setdefault("flowchart", "treatment")
    kw.setdefault("actual", "actual")
    s = audit(G, str(path), out=buf, **kw)
    lines = [json.loads(x, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}")) for x in buf.getvalue().decode("utf-8").splitlines()]
    _adds_up(lines, s)
    return lines, s


def _adds_up(lines: list[dict[str, Any]], s: dict[str, Any]) -> None:
    """The summary's row accounting: read = walked + invalid = lines out = patients."""
    rows = s["rows"]
    assert rows["read"] == rows["walked"] + rows["invalid"] == len(lines) == s["patients"] == sum(s["status"].values())
    assert rows["invalid"] == sum(1 for x in lines if x["status"] in ("invalid_facts", "invalid_row"))
    assert [x["row"] for x in lines] == sorted({x["row"] for x in lines}), "one line per row, in file order"


def _two_hundred(tmp_path: Path, bad: dict[int, list[str]] | None = None) -> Path:
    rows = [list(GOOD) for _ in range(200)]
    for i, r in (bad or {}).items():
        rows[i] = r
    return _csv(tmp_path / "c.csv", rows)


# ------------------------------------------------------------------------------ item 2


def test_a_csv_cell_that_starts_with_a_quote_loses_no_patient(tmp_path: Path) -> None:
    """A cell starting with '"' left 10 of 200 rows in the output and the summary said
    `patients: 10` (the quote swallowed the rest of its block)."""
    p = _two_hundred(tmp_path, {9: ['"80', "2", "1.5", "no", "srs"], 120: ["80", '"2', "1.5", "no", "srs"]})
    lines, s = _audit(p, chunk_bytes=512)
    assert len(lines) == 200 and s["rows"]["read"] == 200
    bad = [x for x in lines if x["status"] == "invalid_row"]
    assert [x["row"] for x in bad] == [11, 122]  # the header is line 1
    assert "quoted field" in bad[0]["errors"][0]["message"]
    assert s["status"]["complete"] + s["status"]["needs_facts"] == 198


def test_a_field_over_131072_characters_loses_no_patient(tmp_path: Path) -> None:
    """A field over csv's 131,072-character limit aborted its block: 5 of 200 rows were left."""
    long = "x" * 200_000
    p = _two_hundred(tmp_path, {3: ["80", "2", "1.5", f'"{long}"', "srs"], 4: ["80", long, "1.5", "no", '"srs"']})
    lines, s = _audit(p)
    assert len(lines) == 200
    assert [x["status"] for x in lines[3:5]] == ["invalid_facts", "invalid_facts"]
    assert all(len(json.dumps(x)) < 2000 for x in lines), "a long value is cut in the message"


def test_one_huge_number_in_a_jsonl_cohort_loses_no_patient(tmp_path: Path) -> None:
    """One huge number in a JSONL cohort aborted the audit with nothing written."""
    p = tmp_path / "c.jsonl"
    p.write_text(
        '{"kps": 80}\n{"kps": NaN}\n{"kps": Infinity}\n{"kps": 1'
        + "0" * 400
        + "}\n"
        + '{"kps": 1'
        + "0" * 5000
        + "}\n"
        + '{"kps": 1e999}\n'
        + "[" * 100_000
        + "\n",
        encoding="utf-8",
    )
    lines, s = _audit(p, actual=None)
    assert [x["row"] for x in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert [x["status"] for x in lines][1:] == ["invalid_row", "invalid_row", "invalid_facts", "invalid_row", "invalid_facts", "invalid_row"]
    assert "not standard JSON" in lines[1]["errors"][0]["message"]
    assert s["rows"] == {**s["rows"], "read": 7, "walked": 1, "invalid": 6}


def test_duplicate_jsonl_keys_are_refused_not_read_last_wins(tmp_path: Path) -> None:
    """`{"kps": 80, "kps": 40}` was read as kps 40 (last wins), silently."""
    p = tmp_path / "c.jsonl"
    p.write_text(
        '{"kps": 80, "kps": 40}\n{"kps": 80, "note": "12:30", "kps": 80}\n{"kps": 80, "x": {"a": 1, "a": 2}}\n{"kps": 80, "note": "a:b"}\n', encoding="utf-8"
    )
    lines, _ = _audit(p, actual=None)
    assert [x["status"] for x in lines[:3]] == ["invalid_row"] * 3
    assert "given twice" in lines[0]["errors"][0]["message"]
    assert lines[3]["status"] != "invalid_row"


def test_a_semicolon_file_from_dutch_excel_is_read_not_taken_as_one_column(tmp_path: Path) -> None:
    """A ';'-separated file was read as 200 rows of one ignored column (all needs_facts)."""
    rows = [["80", "2", "1,5", "no", "srs"] for _ in range(50)]  # decimal commas, as Dutch Excel writes them
    rows[1] = ["80", "2", "1.000", "no", "srs"]  # a thousand in Dutch notation (out of range here)
    p = _csv(tmp_path / "nl.csv", rows, sep=";", end="\r\n")
    lines, s = _audit(p)
    assert s["input"]["delimiter"] == ";" and not s["input"]["ignored_columns"]
    assert len(lines) == 50 and {x["status"] for x in lines} == {"invalid_facts"}, "1,5 and 1.000 are refused without a locale"
    assert "comma" in lines[0]["errors"][0]["message"] and "ambiguous" in lines[1]["errors"][0]["message"]
    lines_nl, s_nl = _audit(p, locale="nl")
    assert lines_nl[0]["status"] != "invalid_facts" and s_nl["input"]["number_locale"] == "nl"
    assert "1000 is outside the valid range" in lines_nl[1]["errors"][0]["message"]
    with pytest.raises(GuidewalkError, match="separated by semicolon"):
        _audit(p, delimiter=",")
    both = tmp_path / "both.csv"
    both.write_text("kps;bm_count,actual\n80;2,srs\n", encoding="utf-8")
    with pytest.raises(GuidewalkError, match="give --delimiter"):
        _audit(both)


def test_a_tab_separated_file_is_read(tmp_path: Path) -> None:
    p = _csv(tmp_path / "t.csv", [list(GOOD)] * 3, sep="\t")
    lines, s = _audit(p)
    assert s["input"]["delimiter"] == "\t" and lines[0]["status"] != "invalid_row"


def test_a_cp1252_file_is_refused_with_what_to_do_or_read_with_encoding(tmp_path: Path) -> None:
    """A cp1252 file (Dutch Excel) was decoded with replacement characters, silently."""
    rows = [list(GOOD) for _ in range(20)]
    rows[5] = ["80", "2", "1.5", "no", "srs;caf\u00e9"]
    p = _csv(tmp_path / "w.csv", rows, encoding="cp1252")
    with pytest.raises(GuidewalkError, match="not UTF-8.*--encoding cp1252"):
        _audit(p)
    lines, s = _audit(p, encoding="cp1252")
    assert s["input"]["encoding"] == "cp1252" and len(lines) == 20
    assert lines[5]["actual"] == "srs;caf\u00e9"


def test_a_line_in_another_encoding_far_into_the_file_is_a_bad_row(tmp_path: Path) -> None:
    rows = [list(GOOD) for _ in range(5000)]
    rows[4500] = ["80", "2", "1.5", "no", "caf\u00e9"]  # beyond the first 64 KiB that are checked up front
    p = _csv(tmp_path / "late.csv", rows, encoding="cp1252")
    lines, _ = _audit(p, chunk_bytes=4096)
    assert len(lines) == 5000
    assert lines[4500]["status"] == "invalid_row" and "--encoding cp1252" in lines[4500]["errors"][0]["message"]


def test_utf16_and_unknown_encodings_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_bytes("kps,actual\n80,srs\n".encode("utf-16"))
    with pytest.raises(GuidewalkError, match="UTF-16"):
        _audit(p)
    with pytest.raises(GuidewalkError, match="unknown encoding"):
        _audit(_csv(tmp_path / "x.csv", [GOOD]), encoding="klingon")


# ------------------------------------------------------------------------------ item 3


@pytest.mark.parametrize("cell", ['8"0', '"80'])
def test_one_mid_field_quote_does_not_make_the_audit_quadratic(tmp_path: Path, cell: str) -> None:
    """One `8"0` in 20,000 rows took 43 s instead of 0.45 s (the chunker re-counted quotes
    from the start of a growing block); 300,000 rows ran for more than 10 minutes."""
    rows = [list(GOOD) for _ in range(20_000)]
    rows[3] = ["80", cell, "1.5", "no", "srs"]
    p = _csv(tmp_path / "q.csv", rows)
    t0 = time.perf_counter()
    plan = plan_file(p, chunk_bytes=8192)
    n = sum(1 for ch in plan.chunks for _ in read_rows(ch, plan.columns))
    elapsed = time.perf_counter() - t0
    assert n == 20_000
    assert elapsed < 15, f"reading took {elapsed:.1f} s"


# ------------------------------------------------------------------ the grammar, exactly

TOKENS = st.sampled_from(["a", "1", ",", ",", ";", '"', '"', '""', "\n", "\n", "\r\n", "\r", " ", "é"])


def _reference(body: str, ncols: int, sep: str = ",") -> list[tuple[int, str]]:
    """The documented grammar, read character by character: (line, 'ok' | 'bad') per record."""
    if body and not body.endswith("\n"):
        body += "\n"
    out: list[tuple[int, str]] = []
    starts = [0] + [i + 1 for i, c in enumerate(body) if c == "\n"][:-1]
    line_of = {s: k for k, s in enumerate(starts)}
    pos = 0
    while pos < len(body):
        fields, end = _ref_record(body, pos, sep)
        line = line_of[pos] + 2
        if fields is None:  # bad: its first line
            out.append((line, "bad"))
            pos = body.index("\n", pos) + 1
            continue
        raw = body[pos:end]
        if raw in ("\n", "\r\n"):
            pos = end  # blank line
            continue
        bare_cr = "\r" in raw.replace("\r\n", "")
        out.append((line, "ok" if len(fields) == ncols and not bare_cr else "bad"))
        pos = end
    return out


def _ref_record(text: str, pos: int, sep: str) -> tuple[list[str] | None, int]:
    fields: list[str] = []
    while True:
        if text[pos] == '"':  # a quoted field
            j, buf = pos + 1, []
            while True:
                if j >= len(text):
                    return None, 0
                if text[j] == '"':
                    if text[j + 1 : j + 2] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    k = j + 1
                    if text[k : k + 1] == sep:
                        fields.append("".join(buf))
                        pos = k + 1
                        break
                    if text[k : k + 1] == "\n":
                        return fields + ["".join(buf)], k + 1
                    if text[k : k + 2] == "\r\n":
                        return fields + ["".join(buf)], k + 2
                    return None, 0
                buf.append(text[j])
                j += 1
            continue
        k = pos
        while text[k] not in (sep, "\n"):
            k += 1
        fields.append(text[pos:k])
        if text[k] == "\n":
            return fields, k + 1
        pos = k + 1


def _read(path: Path, chunk_bytes: int) -> list[tuple[int, str]]:
    plan = plan_file(path, chunk_bytes=chunk_bytes)
    return [(row, "bad" if isinstance(rec, BadRow) else "ok") for ch in plan.chunks for row, rec in read_rows(ch, plan.columns)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(TOKENS, max_size=120).map("".join))
def test_every_line_of_a_broken_csv_is_a_row_or_part_of_one_whatever_the_chunking(tmp_path: Path, body: str) -> None:
    """Rows in = rows out: the records read equal the documented grammar's records (each bad
    one reported at its first line), for any chunk size."""
    p = tmp_path / "g.csv"
    p.write_bytes(("a,b,c\n" + body).encode("utf-8"))
    want = _reference(body, 3)
    for chunk_bytes in (1, 7, 64, 1 << 20):
        assert _read(p, chunk_bytes) == want, chunk_bytes


def test_rows_in_equal_rows_out_under_every_executor(tmp_path: Path) -> None:
    rows = [list(GOOD) for _ in range(3000)]
    for i in range(0, 3000, 97):
        rows[i] = ["80", '"2', "1.5", "no", "srs"]
    for i in range(5, 3000, 89):
        rows[i] = ["80", "2", "1.5", 'a "quoted" word', '"srs, wbrt"']
    for i in range(7, 3000, 83):
        rows[i] = ["80", "2"]
    p = _csv(tmp_path / "m.csv", rows)
    base, s1 = _audit(p, chunk_bytes=1 << 20, jobs=1)
    small, s2 = _audit(p, chunk_bytes=700, jobs=2)
    assert base == small and s1 == s2 and len(base) == 3000


# ------------------------------------------------------------------------------ item 4


def _cli(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "guidewalk", *args], cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


# A shell starts a command with Ctrl-C at its default; a child of the test process inherits
# whatever the test process holds, so this starts guidewalk as a terminal would.
_AS_FROM_A_TERMINAL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); sys.argv[0] = 'guidewalk'; "
    "runpy.run_module('guidewalk', run_name='__main__', alter_sys=True)"
)


def _cli_from_a_terminal(*args: str, **kw: Any) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", _AS_FROM_A_TERMINAL, *args]
    return subprocess.Popen(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def big_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("big") / "big.csv"
    r = subprocess.run(
        [sys.executable, "-m", "guidewalk", "cohort", G, str(p), "--rows", "60000", "--flowchart", "treatment"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    return p


def _wait_started(out: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if any(f.name.startswith(f".{out.name}.") for f in out.parent.iterdir()):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("the audit did not start")


def test_a_killed_audit_leaves_no_output_that_looks_complete(tmp_path: Path, big_cohort: Path) -> None:
    """After a kill the output held 126,742 of 300,000 lines with no end marker, and the
    previous summary stayed in place."""
    out, summ = tmp_path / "out.jsonl", tmp_path / "summary.json"
    out.write_text("stale\n")
    summ.write_text('{"stale": true}\n')
    proc = _cli("audit", G, str(big_cohort), "--flowchart", "treatment", "-q", "-j", "1", "-o", str(out), "--summary", str(summ))
    _wait_started(out, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not out.exists() and not summ.exists(), "the stale results are gone; no partial output under the name"
    temps = [f for f in tmp_path.iterdir() if f.name.startswith(".out.jsonl.")]
    assert temps, "the partial output is under a temporary name"
    proc = _cli("audit", G, str(big_cohort), "--flowchart", "treatment", "-q", "-j", "1", "-o", str(out), "--summary", str(summ))
    assert proc.wait(timeout=600) == 0
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")], "the next run removes the dead run's temporary file"
    assert sum(1 for _ in out.open()) == json.loads(summ.read_text())["rows"]["read"] == 60_000


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_the_audit_quietly_with_exit_130(tmp_path: Path, big_cohort: Path, jobs: str) -> None:
    """Ctrl-C printed a traceback (one per worker process)."""
    out = tmp_path / "out.jsonl"
    proc = _cli_from_a_terminal("audit", G, str(big_cohort), "--flowchart", "treatment", "-q", "-j", jobs, "-o", str(out), start_new_session=True)
    _wait_started(out, proc)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err, out.exists())
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted" in err
    assert not out.exists() and not [f for f in tmp_path.iterdir() if f.name.startswith(".")]


def test_a_refused_input_keeps_the_previous_results(tmp_path: Path) -> None:
    out, summ = tmp_path / "out.jsonl", tmp_path / "summary.json"
    out.write_text("previous\n")
    summ.write_text("{}\n")
    bad = tmp_path / "w.csv"
    bad.write_bytes("kps,actual\n80,caf\xe9\n".encode("latin-1"))
    from guidewalk.cli import main

    assert main(["audit", G, str(bad), "-q", "-o", str(out), "--summary", str(summ)]) == 2
    assert out.read_text() == "previous\n" and summ.read_text() == "{}\n"


def test_the_audit_can_still_write_to_dev_null(tmp_path: Path) -> None:
    """An output that is not a regular file (/dev/null, a pipe) is written in place, never
    replaced by a rename."""
    from guidewalk.cli import main

    src = _csv(tmp_path / "c.csv", [GOOD] * 3)
    assert main(["audit", G, str(src), "-q", "--flowchart", "treatment", "-o", os.devnull]) == 0
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()


def test_a_jsonl_list_holding_an_object_is_an_invalid_value_not_a_crash(tmp_path: Path) -> None:
    """Found by the fuzz test: a set fact given as a list holding a JSON object crashed the
    audit (TypeError: unhashable type: 'dict') in the value cache."""
    p = tmp_path / "c.jsonl"
    p.write_text('{"kps": 80, "prior_systemic_therapies": ["capecitabine", {"a": 1}]}\n{"kps": [{"a": 1}]}\n{"kps": 80}\n', encoding="utf-8")
    lines, _ = _audit(p, actual=None)
    assert [x["status"] for x in lines[:2]] == ["invalid_facts", "invalid_facts"] and len(lines) == 3


def test_the_audit_command_reads_a_dutch_excel_file_with_its_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--delimiter`, `--encoding` and `--locale` on the command line: a cp1252, semicolon file
    with decimal commas is read as written; the text summary states the row accounting."""
    from guidewalk.cli import main

    rows = [["80", "2", "1,5", "nee", "srs"] for _ in range(10)]
    rows[3] = ["80", "2", "1,5", "nee", "caf\u00e9"]
    p = _csv(tmp_path / "excel.csv", rows, sep=";", encoding="cp1252", end="\r\n")
    out, summ = tmp_path / "out.jsonl", tmp_path / "s.json"
    args = ["audit", G, str(p), "--flowchart", "treatment", "--actual", "actual", "-o", str(out), "--summary", str(summ)]
    assert main(args + ["--delimiter", ";", "--encoding", "cp1252", "--locale", "nl"]) == 0
    text = capsys.readouterr().out
    assert "rows: 10 read = 10 walked + 0 invalid" in text
    s = json.loads(summ.read_text(encoding="utf-8"))
    assert s["input"]["delimiter"] == ";" and s["input"]["encoding"] == "cp1252" and s["input"]["number_locale"] == "nl"
    assert s["status"]["invalid_facts"] == 0 and s["invalid_rows"]["by_status"] == {"invalid_actual": 1}
    assert main(args + ["--delimiter", "tab", "--encoding", "cp1252"]) == 2
    assert "separated by semicolon" in capsys.readouterr().err


def test_an_unwritable_summary_stops_the_audit_before_it_reads_a_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guidewalk.cli import main

    src = _csv(tmp_path / "c.csv", [GOOD] * 3)
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    code = main(["audit", G, str(src), "-q", "-o", str(out), "--summary", str(tmp_path / "no" / "such" / "s.json")])
    assert code == 2 and "cannot use" in capsys.readouterr().err
    assert out.read_text() == "previous\n" and sorted(f.name for f in tmp_path.iterdir()) == ["c.csv", "out.jsonl"]
