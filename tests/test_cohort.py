"""The synthetic cohort generator: seeded, plausible, with planted deviations it reports."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import guideline

from guidewalk.engine.audit.cohort import flow_actions, flow_facts, generate, write_cohort
from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "audit"


@pytest.fixture(scope="module")
def gx() -> Guideline:
    return load_guideline(FIXTURE / "cohortx")


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, gx: Guideline) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    ta = write_cohort(gx, 2000, a, flowchart="treatment", seed=9)
    tb = write_cohort(gx, 2000, b, flowchart="treatment", seed=9)
    write_cohort(gx, 2000, c, flowchart="treatment", seed=10)
    assert a.read_bytes() == b.read_bytes() and ta.to_json() == tb.to_json()
    assert a.read_bytes() != c.read_bytes()


def test_columns_are_the_facts_the_flowchart_reads(gx: Guideline) -> None:
    facts = flow_facts(gx, "treatment")
    # read through derived facts too (good_ps -> kps, prognosis -> age, extracranial ...)
    assert set(facts) == {
        "symptomatic",
        "kps",
        "age_years",
        "extracranial_metastases",
        "primary_tumour_type",
        "prior_systemic_therapies",
        "bm_count",
        "bm_max_diameter_cm",
    }
    assert "sex" not in facts
    assert set(flow_actions(gx, "treatment")) == {
        "dexamethasone",
        "mdo_discussion",
        "srs",
        "resection",
        "wbrt",
        "best_supportive_care",
        "t_dm1",
        "systemic_therapy",
    }


def test_distributions_are_plausible_and_missingness_as_asked(gx: Guideline) -> None:
    ((columns, rows),) = list(generate(gx, 20_000, flowchart="treatment", seed=1, missing_rate=0.05, chunk=20_000))
    col = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    kps = [v for v in col["kps"] if v is not None]
    assert set(kps) <= {30, 40, 50, 60, 70, 80, 90, 100} and 0.62 < sum(v >= 70 for v in kps) / len(kps) < 0.74  # weights: 68 % KPS >= 70
    age = [v for v in col["age_years"] if v is not None]
    assert 18 <= min(age) and max(age) <= 95 and 60 < sum(age) / len(age) < 68
    tumours = Counter(v for v in col["primary_tumour_type"] if v is not None)
    assert tumours.most_common(1)[0][0] == "nsclc"
    counts = Counter(v for v in col["bm_count"] if v is not None)
    assert counts[1] > counts[5] > counts[20] > 0  # single metastases most frequent
    cells = [v for c in columns[:-1] if c != "prior_systemic_therapies" for v in col[c]]
    missing = sum(v is None for v in cells) / len(cells)
    assert 0.045 < missing < 0.055


def test_truth_counts_planted_deviations(tmp_path: Path, gx: Guideline) -> None:
    truth = write_cohort(gx, 5000, tmp_path / "t.jsonl", flowchart="treatment", seed=2, deviation_rate=0.2, invalid_rate=0.01)
    assert truth.complete_with_actual > 3000
    share = len(truth.deviating_rows) / truth.complete_with_actual
    assert 0.17 < share < 0.23
    assert truth.concordance == 1 - share
    assert 20 < len(truth.invalid_rows) < 90
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(rows) == 5000
    for r in truth.invalid_rows[:5]:
        assert "not-a-value" in rows[r - 1].values()  # JSON Lines: row = line number


def test_writes_parquet_and_csv_with_the_same_rows(tmp_path: Path, gx: Guideline) -> None:
    import pyarrow.parquet as pq

    write_cohort(gx, 1000, tmp_path / "c.parquet", flowchart="treatment", seed=4)
    write_cohort(gx, 1000, tmp_path / "c.csv", flowchart="treatment", seed=4)
    table = pq.read_table(tmp_path / "c.parquet")
    with open(tmp_path / "c.csv", newline="") as fh:
        recs = list(csv.DictReader(fh))
    assert table.num_rows == len(recs) == 1000
    assert [str(v) for v in table.column("kps").to_pylist()[:50]] == [r["kps"] or "None" for r in recs[:50]]
    assert table.column("actual").to_pylist() == [r["actual"] or None for r in recs]


def test_shipped_guideline_cohort_has_realistic_columns() -> None:
    g = guideline("brain-metastases-2020")
    facts = flow_facts(g, "treatment")
    assert {"kps", "bm_count", "primary_tumour_type"} <= set(facts)
    ((columns, rows),) = list(generate(g, 500, flowchart="treatment", seed=3, chunk=500))
    assert columns[-1] == "actual" and len(rows) == 500
    assert sum(r[-1] is None for r in rows) < 25  # 1 % without an actual treatment by default


def test_cli_cohort(tmp_path: Path) -> None:
    from guidewalk.cli import main

    out, truth = tmp_path / "c.csv", tmp_path / "t.json"
    assert main(["cohort", str(FIXTURE / "cohortx"), str(out), "--rows", "300", "--flowchart", "treatment", "--seed", "5", "--truth", str(truth)]) == 0
    t = json.loads(truth.read_text())
    assert t["rows"] == 300 and len(out.read_text().splitlines()) == 301
    assert all(r >= 2 for r in t["deviating_rows"])  # CSV: line numbers, header on line 1
