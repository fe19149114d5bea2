"""The audit's concordance per decision: concordant, deviating with a reason, deviating without
one, recounted from the per-patient lines; the same from CSV and JSON Lines; the summary page."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from guidewalk.engine.audit import audit
from guidewalk.engine.audit.cohort import write_cohort
from guidewalk.engine.errors import GuidewalkError
from guidewalk.engine.load import load_guideline

GUIDELINE = str(Path(__file__).resolve().parent / "fixtures" / "audit" / "cohortx")
KINDS = ("concordant", "deviation_with_reason", "deviation_without_reason")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The fixture cohort with a reason column: every other planted deviation has a reason
    (and a few concordant patients have one too, which must not matter)."""
    d = tmp_path_factory.mktemp("reasons")
    g = load_guideline(GUIDELINE)
    plain = d / "plain.csv"
    truth = write_cohort(g, 2000, plain, flowchart="treatment", seed=7, deviation_rate=0.2, missing_rate=0.03, chunk=500)
    rows = list(csv.reader(plain.open(encoding="utf-8")))
    deviating = set(truth.deviating_rows)
    reasons: dict[int, str] = {}
    for row_no in range(2, len(rows) + 1):
        if (row_no in deviating and row_no % 2 == 0) or row_no % 97 == 0:
            reasons[row_no] = "patient <preference>" if row_no % 4 else "  comorbidity "
    rows[0].append("reason")
    for row_no, r in enumerate(rows[1:], start=2):
        r.append(reasons.get(row_no, "" if row_no % 3 else "   "))
    path = d / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    header = rows[0]
    jsonl = d / "c.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for r in rows[1:]:
            obj = {k: (v if v != "" else None) for k, v in zip(header, r)}
            fh.write(json.dumps(obj) + "\n")
    return {"csv": path, "jsonl": jsonl, "plain": plain, "reasons": reasons, "deviating": deviating}


def _audit(path: Path, **kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    buf = io.BytesIO()
    s = audit(GUIDELINE, str(path), out=buf, flowchart="treatment", actual="actual", **kw)
    lines = [json.loads(x) for x in buf.getvalue().decode().splitlines()]
    # JSON Lines rows are numbered by line (no header): the CSV row number is one more
    return lines, s


def _recount(lines: list[dict[str, Any]], reasons: dict[int, str], offset: int = 0) -> tuple[Counter[str], dict[str, Counter[str]]]:
    g = load_guideline(GUIDELINE)
    overall: Counter[str] = Counter()
    per: dict[str, Counter[str]] = {}
    for p in lines:
        if p["concordant"] is None:
            continue
        kind = "concordant" if p["concordant"] else ("deviation_with_reason" if reasons.get(p["row"] + offset, "").strip() else "deviation_without_reason")
        overall[kind] += 1
        for nid in dict.fromkeys(p["path"]):
            if g.nodes[nid].kind == "decision":
                per.setdefault(nid, Counter())[kind] += 1
    return overall, per


def test_per_decision_counts_recounted_from_the_patients(cohort: dict[str, Any]) -> None:
    lines, s = _audit(cohort["csv"], reason="reason")
    c = s["concordance"]
    overall, per = _recount(lines, cohort["reasons"])
    assert c["reason_column"] == "reason"
    assert (c["concordant"], c["deviation_with_reason"], c["deviation_without_reason"]) == tuple(overall[k] for k in KINDS)
    assert c["deviation_with_reason"] > 50 and c["deviation_without_reason"] > 50
    assert c["concordant"] + c["deviation_with_reason"] + c["deviation_without_reason"] == c["assessable"]
    got = {b["node"]: b for b in c["by_decision"]}
    assert set(got) == set(per) and got
    for nid, b in got.items():
        assert tuple(b[k] for k in KINDS) == tuple(per[nid][k] for k in KINDS), nid
        assert b["assessable"] == sum(per[nid].values())
    assert got["fitness"]["title"] == "Fit <for> treatment?"
    assert [b["node"] for b in c["by_decision"]] == [n for n in load_guideline(GUIDELINE).nodes if n in got]  # the guideline's order
    assert not [col for col in s["input"]["ignored_columns"] if col["column"] == "reason"]


def test_json_lines_and_several_jobs_give_the_same_counts(cohort: dict[str, Any]) -> None:
    _, a = _audit(cohort["csv"], reason="reason")
    _, b = _audit(cohort["jsonl"], reason="reason", jobs=2, chunk_bytes=20_000)
    keys = ("concordant", "deviation_with_reason", "deviation_without_reason", "by_decision")
    assert {k: b["concordance"][k] for k in keys} == {k: a["concordance"][k] for k in keys}


def test_without_a_reason_column_no_deviation_has_a_reason(cohort: dict[str, Any]) -> None:
    lines, s = _audit(cohort["plain"])
    c = s["concordance"]
    assert c["reason_column"] is None and c["deviation_with_reason"] == 0
    assert c["deviation_without_reason"] == len(cohort["deviating"]) == sum(1 for p in lines if p["concordant"] is False)
    assert all(b["deviation_with_reason"] == 0 for b in c["by_decision"])


def test_reason_needs_actual_and_an_existing_column(cohort: dict[str, Any]) -> None:
    with pytest.raises(GuidewalkError, match="--reason needs --actual"):
        audit(GUIDELINE, str(cohort["csv"]), reason="reason", flowchart="treatment")
    with pytest.raises(GuidewalkError, match="no column 'why' for the reason"):
        audit(GUIDELINE, str(cohort["csv"]), actual="actual", reason="why", flowchart="treatment")


def test_cli_text_summary_and_page(tmp_path: Path, cohort: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from guidewalk.cli import main

    page, summ = tmp_path / "s.html", tmp_path / "s.json"
    args = ["audit", GUIDELINE, str(cohort["csv"]), "--flowchart", "treatment", "--actual", "actual", "--reason", "reason"]
    assert main([*args, "-o", str(tmp_path / "o.jsonl"), "--summary", str(summ), "--html", str(page), "--jobs", "1"]) == 0
    s = json.loads(summ.read_text(encoding="utf-8"))["concordance"]
    out = capsys.readouterr().out
    assert f"deviations: {s['deviation_with_reason']:,} with a recorded reason, {s['deviation_without_reason']:,} without\n" in out
    html = page.read_text(encoding="utf-8")
    assert "Per decision: concordant, deviating with a reason, deviating without one" in html
    assert "Fit &lt;for&gt; treatment?" in html and "<for>" not in html and "<script" not in html
    assert "Reason column: <code>reason</code>" in html
