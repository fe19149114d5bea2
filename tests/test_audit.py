"""guidewalk audit: the fast walker equals engine.walk.run, concordance equals what was
planted, invalid rows are reported (never dropped), formats/engines/job counts agree."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import guideline

from guidewalk.engine.audit import audit
from guidewalk.engine.audit.cohort import Truth, generate, write_cohort
from guidewalk.engine.audit.fast import FastWalker, ValueClasses, threshold_facts
from guidewalk.engine.errors import RunError
from guidewalk.engine.expressions import UNKNOWN
from guidewalk.engine.facts import coerce
from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline
from guidewalk.engine.rules import BuiltinRules
from guidewalk.engine.walk import run

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "audit"
GUIDELINE = str(FIXTURE / "cohortx")


@pytest.fixture(scope="module")
def gx() -> Guideline:
    return load_guideline(GUIDELINE)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory, gx: Guideline) -> dict[str, Any]:
    """The fixture cohort in three formats, with what was planted."""
    d = tmp_path_factory.mktemp("cohort")
    out: dict[str, Any] = {}
    for fmt in ("csv", "jsonl", "parquet"):
        p = d / f"c.{fmt}"
        out[fmt] = (p, write_cohort(gx, 3000, p, flowchart="treatment", seed=5, deviation_rate=0.15, missing_rate=0.04, invalid_rate=0.02, chunk=700))
    return out


def _audit(path: Path, **kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any], bytes]:
    buf = io.BytesIO()
    kw.setdefault("flowchart", "treatment")
    kw.setdefault("actual", "actual")
    summary = audit(kw.pop("guideline", GUIDELINE), str(path), out=buf, **kw)
    data = buf.getvalue()
    return [json.loads(line) for line in data.decode().splitlines()], summary, data


# --------------------------------------------------------------------------- fast walker == engine


def _compare(g: Guideline, fc: str, n: int, seed: int, missing: float, memo_cap: int = 50_000) -> Counter[str]:
    """Walk generated cases with FastWalker (+ value classes, as the audit does) and with
    engine.walk.run; every case must get the same status, path, actions and needs."""
    seen: Counter[str] = Counter()
    th = threshold_facts(g)
    for columns, rows in generate(g, n, flowchart=fc, seed=seed, missing_rate=missing, chunk=n):
        names = columns[:-1]
        walker = FastWalker(g, names, fc, memo_cap=memo_cap)
        classes = [ValueClasses(th[f], g.dictionary[f].type == "enum") if f in th else None for f in names]
        for row in rows:
            raw = {c: v for c, v in zip(names, row) if v is not None}
            vals = []
            for f, v, vc in zip(names, row, classes):
                x = UNKNOWN if v is None else coerce(g.dictionary[f], v)
                vals.append(vc(x) if vc is not None else x)
            o = walker.walk(vals)
            try:
                r = run(g, raw, flowchart=fc, rules=BuiltinRules())
            except RunError:
                assert o.status == "error", raw
                seen["error"] += 1
                continue
            assert (o.status, list(o.path), list(o.actions), list(o.needs)) == (r.status, r.path, r.actions, r.needs), raw
            seen[o.status] += 1
    return seen


@pytest.mark.parametrize(
    "gid,fc",
    [
        ("brain-metastases-2020", "treatment"),
        ("brain-metastases-2020", "diagnostics"),
        ("spinal-metastases", "treatment"),
        ("spinal-metastases", "diagnostics"),
        ("leptomeningeal-metastases-2020", "treatment"),
        ("leptomeningeal-metastases-2020", "diagnostics"),
    ],
)
def test_fast_walker_matches_engine_on_shipped_guidelines(gid: str, fc: str) -> None:
    seen = _compare(guideline(gid), fc, 1500, seed=11, missing=0.08)
    assert seen["complete"] > 0 and seen["needs_facts"] > 0, seen


@pytest.mark.parametrize("gid", ["brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"])
def test_fast_walker_memoised_per_branch_everywhere_still_matches_engine(gid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every decision with several branches memoised per branch (the audit does it for
    decisions that read many facts): the same outcomes as engine.walk.run."""
    from guidewalk.engine.audit import fast

    monkeypatch.setattr(fast, "BRANCH_MEMO_FACTS", 1)
    g = guideline(gid)
    for fc in g.flowcharts:
        seen = _compare(g, fc, 600, seed=5, missing=0.1)
        assert seen["complete"] > 0, (fc, seen)
    walker = FastWalker(g, list(g.dictionary), g.entry)
    assert walker.root.branches is not None or walker.root.final is not None


def test_fast_walker_matches_engine_on_fixture_also_without_memo(gx: Guideline) -> None:
    a = _compare(gx, "treatment", 3000, seed=3, missing=0.1)
    b = _compare(gx, "treatment", 1000, seed=4, missing=0.1, memo_cap=0)  # every case by direct evaluation
    assert a["complete"] > 1000 and a["needs_facts"] > 100 and b["complete"] > 0


def test_value_classes_only_for_threshold_facts(gx: Guideline) -> None:
    th = threshold_facts(gx)
    assert th["bm_count"] == (4, 10)
    assert th["kps"] == (50, 70)
    assert "prior_systemic_therapies" not in th  # a set: membership, not thresholds
    vc = ValueClasses(th["bm_count"], False)
    assert vc(2) == vc(3) == vc(1)  # all below 4: one representative
    assert vc(4) != vc(3) and vc(5) == vc(9) and vc(10) != vc(11)
    assert vc(UNKNOWN) is UNKNOWN


# --------------------------------------------------------------------------- concordance


def test_concordance_equals_planted_deviations(cohort: dict[str, Any]) -> None:
    path, truth = cohort["csv"]
    assert isinstance(truth, Truth)
    lines, s, _ = _audit(path)
    c = s["concordance"]
    assert c["assessable"] == truth.complete_with_actual
    assert c["concordant"] == truth.complete_with_actual - len(truth.deviating_rows)
    assert c["rate"] == round(truth.concordance, 6)
    assert 0.8 < c["rate"] < 0.9  # 15 % planted
    discordant = [p["row"] for p in lines if p.get("concordant") is False]
    assert discordant == truth.deviating_rows
    # the definition is stated, and the exclusions add up
    assert "every actual code is among the action codes" in c["definition"]
    ex = c["excluded"]
    assert c["assessable"] + ex["walk_not_complete"] + ex["no_actual"] + ex["invalid_actual"] == s["patients"] == 3000


def test_concordance_per_node_recounted_from_patients(cohort: dict[str, Any]) -> None:
    lines, s, _ = _audit(cohort["csv"][0])
    passing: Counter[str] = Counter()
    assess: Counter[str] = Counter()
    conc: Counter[str] = Counter()
    for p in lines:
        for nid in p["path"]:
            passing[nid] += 1
            if p["concordant"] is not None:
                assess[nid] += 1
                conc[nid] += p["concordant"] is True
    by_node = {b["node"]: b for b in s["concordance"]["by_node"]}
    assert set(by_node) == set(passing)
    for nid, b in by_node.items():
        assert (b["patients"], b["assessable"], b["concordant"]) == (passing[nid], assess[nid], conc[nid]), nid
    assert by_node["fitness"]["kind"] == "decision" and by_node["fitness"]["rate"] is not None


def test_distribution_and_needs_recounted(cohort: dict[str, Any]) -> None:
    lines, s, _ = _audit(cohort["csv"][0])
    status = Counter(p["status"] for p in lines)
    assert s["status"] == {k: status.get(k, 0) for k in s["status"]}
    acts = Counter(a for p in lines if p["status"] == "complete" for a in set(p["actions"]))
    assert {a["code"]: a["patients"] for a in s["recommendations"]["actions"]} == dict(acts)
    needs = Counter(f for p in lines if p["status"] == "needs_facts" for f in p["needs"])
    assert {f["fact"]: f["patients"] for f in s["needs_facts"]["facts"]} == dict(needs)
    assert needs  # 4 % missing cells: some walks stop


# --------------------------------------------------------------------------- invalid rows


def test_invalid_rows_reported_not_dropped(cohort: dict[str, Any]) -> None:
    path, truth = cohort["csv"]
    lines, s, _ = _audit(path)
    assert len(lines) == 3000
    assert [p["row"] for p in lines] == list(range(2, 3002))  # CSV: line numbers, header is line 1
    bad = [p for p in lines if p["status"] == "invalid_facts"]
    assert [p["row"] for p in bad] == truth.invalid_rows
    assert all(p["errors"] and "not-a-value" in p["errors"][0]["message"] for p in bad)
    listed = [r for r in s["invalid_rows"]["rows"] if r["status"] == "invalid_facts"]
    assert [r["row"] for r in listed] == truth.invalid_rows
    assert all(r["reasons"] for r in listed)


def test_malformed_csv_rows_quotes_and_chunk_boundaries(tmp_path: Path) -> None:
    text = (
        "kps,bm_count,symptomatic,note,actual\n"
        "80,2,no,plain,srs\n"
        "80,2,no\n"  # too few fields
        '90,1,yes,"quoted, with comma",srs\n'
        '60,1,no,"a note over\ntwo lines",best_supportive_care\n'
        "\n"
        "abc,3,no,x,srs\n"  # not a number
        "40,3,no,x,not_a_code\n"  # actual is not an action code (the walk is complete: BSC)
        "70,12,maybe,x,wbrt\n"
    )
    p = tmp_path / "m.csv"
    p.write_text(text, encoding="utf-8")
    whole, s, data = _audit(p, chunk_bytes=1 << 20)
    tiny, s2, data2 = _audit(p, chunk_bytes=16)  # many chunks; cuts never inside quotes
    assert data == data2 and s == s2
    rows = {r["row"]: r for r in whole}
    assert sorted(rows) == [2, 3, 4, 5, 8, 9, 10]  # the blank line 7 is not a record; line 6 continues row 5
    assert rows[3]["status"] == "invalid_row" and "has 3 fields" in rows[3]["errors"][0]["message"]
    assert rows[4]["status"] != "invalid_row" and rows[5]["status"] != "invalid_row"
    assert rows[8]["status"] == "invalid_facts" and rows[8]["errors"][0]["fact"] == "kps"
    assert rows[10]["status"] == "invalid_facts" and rows[10]["errors"][0]["fact"] == "symptomatic"
    assert rows[9]["concordant"] is None
    by = {(r["row"], r["status"]) for r in s["invalid_rows"]["rows"]}
    assert {(3, "invalid_row"), (8, "invalid_facts"), (9, "invalid_actual"), (10, "invalid_facts")} <= by
    assert s["invalid_rows"]["count"] == 4
    assert s["concordance"]["excluded"]["invalid_actual"] == 1
    assert {c["column"] for c in s["input"]["ignored_columns"]} == {"note"}


def test_bad_json_lines_reported(tmp_path: Path) -> None:
    p = tmp_path / "b.jsonl"
    p.write_text(
        '{"kps": 80, "bm_count": 2, "bm_max_diameter_cm": 1, "symptomatic": false, "actual": "srs"}\n{"kps": 80,\n[1, 2]\n\n'
        '{"kps": 40, "symptomatic": true, "extra_key": 1, "good_ps": true}\n',
        encoding="utf-8",
    )
    lines, s, _ = _audit(p)
    by = {p["row"]: p for p in lines}
    assert by[1]["status"] == "complete" and by[1]["concordant"] is True
    assert by[2]["status"] == "invalid_row" and "not valid JSON" in by[2]["errors"][0]["message"]
    assert by[3]["status"] == "invalid_row" and "JSON object" in by[3]["errors"][0]["message"]
    assert 4 not in by
    assert by[5]["status"] in ("complete", "needs_facts")
    ignored = {c["column"]: c for c in s["input"]["ignored_columns"]}
    assert ignored["extra_key"]["rows"] == 1 and "good_ps" in ignored


# --------------------------------------------------------------------------- agreement


def test_formats_agree(cohort: dict[str, Any]) -> None:
    base, s_csv, _ = _audit(cohort["csv"][0])
    for fmt in ("jsonl", "parquet"):
        lines, s, _ = _audit(cohort[fmt][0])
        # rows are numbered per format (CSV lines start at 2); everything else is the same
        assert [{**p, "row": None} for p in lines] == [{**p, "row": None} for p in base]
        for key in ("status", "recommendations", "needs_facts"):
            assert s[key] == s_csv[key], (fmt, key)
        assert {k: v for k, v in s["concordance"].items()} == s_csv["concordance"]


def test_full_engine_walk_gives_the_same_patients(cohort: dict[str, Any]) -> None:
    _, s_fast, fast = _audit(cohort["csv"][0])
    _, s_walk, walk = _audit(cohort["csv"][0], engine="walk", rules="builtin")
    assert fast == walk
    assert s_fast["engine"]["rules_backend"] == "builtin" and "audit.fast" in s_fast["engine"]["walker"]
    assert "engine.walk.run" in s_walk["engine"]["walker"]


def test_parallel_output_equals_serial(cohort: dict[str, Any]) -> None:
    _, s1, one = _audit(cohort["csv"][0], jobs=1, chunk_bytes=20_000)
    _, s2, two = _audit(cohort["csv"][0], jobs=2, chunk_bytes=20_000)
    assert one == two and s1 == s2


def test_mapping_renames_and_recodes(tmp_path: Path) -> None:
    canon = tmp_path / "canon.csv"
    canon.write_text(
        "kps,bm_count,bm_max_diameter_cm,symptomatic,sex,actual\n80,2,1.5,no,male,srs\n90,12,1.5,yes,female,wbrt\n40,1,1.5,no,female,srs\n", encoding="utf-8"
    )
    dutch = tmp_path / "nl.csv"
    dutch.write_text(
        "kps_score,aantal_mets,bm_max_diameter_cm,symptomen,geslacht,behandeling\n80,2,1.5,nee,M,SRS\n90,12,1.5,ja,V,WBRT\n40,1,1.5,nee,V,SRS\n",
        encoding="utf-8",
    )
    mp = tmp_path / "map.yaml"
    mp.write_text(
        "kps_score: kps\naantal_mets: {fact: bm_count}\nsymptomen: symptomatic\n"
        "geslacht: {column: sex, values: {M: male, V: female}}\nbehandeling: {values: {SRS: srs, WBRT: wbrt}}\n",
        encoding="utf-8",
    )
    a, sa, da = _audit(canon)
    b, sb, db = _audit(dutch, actual="behandeling", mapping=str(mp))
    assert da == db
    assert sb["concordance"]["concordant"] == sa["concordance"]["concordant"] == 2
    assert sb["input"]["ignored_columns"] == [] and sb["input"]["mapping"][3] == {"column": "geslacht", "fact": "sex", "values": {"M": "male", "V": "female"}}


def test_id_column_and_several_actual_codes(tmp_path: Path) -> None:
    p = tmp_path / "ids.csv"
    p.write_text('pid,kps,bm_count,bm_max_diameter_cm,symptomatic,actual\nP<1>,80,2,1,yes,dexamethasone;srs\nP2,80,2,1,yes,"srs, wbrt"\n', encoding="utf-8")
    lines, s, _ = _audit(p, id_column="pid")
    assert [x["id"] for x in lines] == ["P<1>", "P2"]
    assert [x["concordant"] for x in lines] == [True, False]  # every actual code must be recommended
    assert [x["actual"] for x in lines] == ["dexamethasone;srs", "srs;wbrt"]


def test_cli_writes_summary_and_escaped_html(tmp_path: Path, cohort: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from guidewalk.cli import main

    out, summ, page = tmp_path / "o.jsonl", tmp_path / "s.json", tmp_path / "s.html"
    rc = main(
        [
            "audit",
            GUIDELINE,
            str(cohort["csv"][0]),
            "--flowchart",
            "treatment",
            "--actual",
            "actual",
            "-o",
            str(out),
            "--summary",
            str(summ),
            "--html",
            str(page),
            "--jobs",
            "1",
        ]
    )
    assert rc == 0
    assert "concordance:" in capsys.readouterr().out
    s = json.loads(summ.read_text())
    assert s["patients"] == 3000 and len(out.read_text().splitlines()) == 3000
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html
    assert "&lt;with&gt; markup &amp; quotes" in html and "<with>" not in html
    assert "Fit &lt;for&gt; treatment?" in html


def test_cli_unknown_actual_column_is_an_error(tmp_path: Path, cohort: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from guidewalk.cli import main

    rc = main(["audit", GUIDELINE, str(cohort["csv"][0]), "--actual", "treatment_given", "-o", str(tmp_path / "o.jsonl")])
    assert rc == 2
    assert "no column 'treatment_given'" in capsys.readouterr().err
