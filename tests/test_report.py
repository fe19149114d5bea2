"""The HTML report and JSON record of a case, and `replay` against the current guideline."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_render import case_drawing, case_runs

from guidewalk.cli import main
from guidewalk.render.replay import compare, load_record, replay, to_text
from guidewalk.render.report import RECORD_FORMAT, embedded_record, make_record, render_html

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "render"
DEMO = FIX / "root" / "demo-brain"
CASES = FIX / "cases"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html_text: str) -> tuple[ET.Element, _Collect]:
    root = ET.fromstring(html_text.encode("utf-8"))  # well-formed as XML too
    p = _Collect()
    p.feed(html_text)
    p.close()
    return root, p


def _record_for(ref: str, case: Path, golden: bool) -> tuple[Any, dict[str, Any]]:
    g, result, _ = case_drawing(ref, str(case), "golden" if golden else None)
    fc = result.flowchart if golden else None
    return g, make_record(g, result, flowchart_requested=fc, case_file=str(case), guideline_ref=ref)


@pytest.mark.parametrize(("ref", "case", "kind"), case_runs())
def test_report_for_each_case_is_well_formed_and_complete(ref: str, case: str, kind: str | None) -> None:
    g, result, svg = case_drawing(ref, case, kind)
    record = make_record(g, result, case_file=case, guideline_ref=ref)
    html_text = render_html(g, record, svg=svg)
    root, parsed = _parse(html_text)
    text = " ".join(root.itertext())
    res = record["result"]
    for r in res["recommendations"]:
        assert r["text"] in text
    assert g.sha256 in text and g.version in text
    assert res["engine"]["rules_backend"] in text and res["engine"]["version"] in text
    assert record["made"] in text
    for s in res["trace"]:
        assert root.find(f".//*[@id='step-{s['step']}']") is not None
    if res["trace"]:
        assert {el.get("id") for el in root.iter() if (el.get("id") or "").startswith("node-")} >= {f"node-{n}" for n in res["path"]}
    # self-contained: nothing fetched from anywhere
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed")
        assert "src" not in attrs, (tag, attrs)
        if tag == "script":
            assert attrs.get("type") == "application/json"
    assert "url(" not in html_text and "@import" not in html_text
    assert embedded_record(html_text) == json.loads(json.dumps(record))


def test_record_holds_what_replay_needs() -> None:
    g, record = _record_for(str(DEMO), CASES / "srs.yaml", False)
    assert record["format"] == RECORD_FORMAT
    assert record["guideline"]["id"] == "demo-brain"
    assert record["guideline"]["sha256"] == g.sha256 and record["guideline"]["version"] == g.version
    assert record["engine"]["version"] and record["engine"]["rules_backend"]
    assert record["flowchart"] == "diagnostics" and record["overlays"] == []
    assert record["facts"]["kps"] == 80 and record["facts"]["case_label"].startswith("<script>")
    assert record["result"]["path"][-1] == "srs" and record["result"]["trace"]
    json.dumps(record)  # JSON-able


def test_report_escapes_script_in_facts_notes_and_alerts() -> None:
    g, record = _record_for(str(DEMO), CASES / "srs.yaml", False)
    html_text = render_html(g, record)
    root, parsed = _parse(html_text)
    scripts = [el for el in root.iter() if el.tag.split("}")[-1] == "script"]
    assert len(scripts) == 1 and scripts[0].get("type") == "application/json"
    assert "<script>alert(" not in html_text
    text = " ".join(root.itertext())
    assert "<script>alert('label')</script> & co" in text
    assert "<script>alert('note')</script>" in text
    assert "MDO discussion <script>alert('x')</script>" in text


def test_report_of_a_stopped_walk_lists_the_facts_needed() -> None:
    g, record = _record_for(str(DEMO), CASES / "needs.yaml", False)
    root, _ = _parse(render_html(g, record))
    needs = root.find(".//*[@id='needs']")
    assert needs is not None
    text = " ".join(root.itertext())
    assert "Type of the primary tumour?" in text and "Number of brain metastases?" in text


def test_report_of_invalid_facts_lists_the_errors(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(DEMO), "--facts", str(CASES / "invalid.yaml"), "-o", str(out)]) == 2
    root, _ = _parse(out.read_text(encoding="utf-8"))
    assert root.find(".//*[@id='errors']") is not None
    text = " ".join(root.itertext())
    assert "<b>many</b>" in text and "invalid facts" in text


def test_report_cli_html_and_json(tmp_path: Path) -> None:
    case = str(CASES / "srs.yaml")
    assert main(["report", str(DEMO), "--facts", case, "-o", str(tmp_path / "r.html")]) == 0
    assert main(["report", str(DEMO), "--facts", case, "-o", str(tmp_path / "r.json")]) == 0
    assert main(["report", str(DEMO), "--facts", case, "--format", "json", "-o", str(tmp_path / "r.txt")]) == 0
    rec = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert rec["format"] == RECORD_FORMAT
    assert json.loads((tmp_path / "r.txt").read_text(encoding="utf-8"))["result"] == rec["result"]
    _parse((tmp_path / "r.html").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- replay


def test_replay_of_a_fresh_record_is_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, record = _record_for(str(DEMO), CASES / "srs.yaml", False)
    out = replay(record)
    assert out.identical and not out.differing and not out.changes
    assert to_text(out).startswith("identical")
    for suffix in ("json", "html"):
        path = tmp_path / f"r.{suffix}"
        assert main(["report", str(DEMO), "--facts", str(CASES / "srs.yaml"), "-o", str(path)]) == 0
        capsys.readouterr()
        assert main(["replay", str(path)]) == 0
        assert capsys.readouterr().out.startswith("identical")


def _copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(FIX / "root", root)
    return root / "demo-brain"


def test_replay_after_a_changed_threshold_names_the_change_and_first_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _copy_root(tmp_path)
    rec_path = tmp_path / "record.json"
    assert main(["report", str(copy), "--facts", str(CASES / "srs.yaml"), "-o", str(rec_path)]) == 0
    capsys.readouterr()
    assert main(["replay", str(rec_path)]) == 0
    capsys.readouterr()
    gfile = copy / "guideline.yaml"
    text = gfile.read_text(encoding="utf-8")
    assert "when: kps < 70" in text and "when: kps >= 70" in text
    gfile.write_text(text.replace("when: kps < 70", "when: kps < 90").replace("when: kps >= 70", "when: kps >= 90"), encoding="utf-8")

    assert main(["replay", str(rec_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("different")
    assert "guideline sha256:" in out
    assert "first step that differs: step 4" in out
    assert "kps < 90: yes" in out and "kps < 70: no" in out
    assert "srs → best_supportive_care" in out.replace("mri_brain, dexamethasone, ", "")

    outcome = replay(load_record(str(rec_path)))
    assert not outcome.identical
    assert outcome.first_step == 4 and outcome.recorded_step and outcome.recorded_step["node"] == "fitness"
    assert {"path", "trace", "recommendations"} <= set(outcome.differing)
    assert any(c.startswith("guideline sha256") for c in outcome.changes)


def test_replay_with_guideline_option_and_unchanged_result_despite_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = _copy_root(tmp_path)
    _, record = _record_for(str(DEMO), CASES / "srs.yaml", False)
    rec_path = tmp_path / "record.json"
    rec_path.write_text(json.dumps(record), encoding="utf-8")
    gfile = copy / "guideline.yaml"
    gfile.write_text(gfile.read_text(encoding="utf-8").replace('version: "2020.1-fixture"', 'version: "2020.2-fixture"'), encoding="utf-8")
    assert main(["replay", str(rec_path), "--guideline", str(copy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("identical") and "guideline version: 2020.1-fixture → 2020.2-fixture" in out


def test_record_with_overlay_replays_and_shows_the_local_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overlay = FIX / "overlay-local.yaml"
    html_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    for p in (html_path, json_path):
        assert main(["report", str(DEMO), "--facts", str(CASES / "srs.yaml"), "--overlay", str(overlay), "-o", str(p)]) == 0
    rec = json.loads(json_path.read_text(encoding="utf-8"))
    assert rec["overlays"] == [str(overlay.resolve())]
    root, parsed = _parse(html_path.read_text(encoding="utf-8"))
    assert "[local protocol] Local: book SRS within 2 weeks <img src=x onerror=alert(1)>" in " ".join(root.itertext())
    assert not [t for t, _ in parsed.tags if t == "img"]
    capsys.readouterr()
    assert main(["replay", str(json_path)]) == 0
    assert capsys.readouterr().out.startswith("identical")


def test_compare_names_engine_change_and_missing_steps() -> None:
    _, record = _record_for(str(DEMO), CASES / "srs.yaml", False)
    now = json.loads(json.dumps(record["result"]))
    now["engine"]["version"] = "9.9.9"
    now["trace"] = now["trace"][:2]
    now["path"] = now["path"][:2]
    out = compare(record, now)
    assert not out.identical
    assert "engine version: " + record["engine"]["version"] + " → 9.9.9" in out.changes
    assert out.first_step == 3 and out.replayed_step is None
    assert "(no such step)" in to_text(out)


def test_replay_rejects_what_is_not_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"status": "complete"}', encoding="utf-8")
    assert main(["replay", str(bad)]) == 2
    assert "not a guidewalk record" in capsys.readouterr().err


def test_report_shows_why_not(tmp_path: Path) -> None:
    """`report --why-not TARGET` explains the smallest change of facts, escaped, in the HTML."""
    import html.parser
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    case = root / "tests" / "cases" / "brain-metastases-2020" / "boundary_count_11_no_srs.yaml"
    import yaml

    facts = tmp_path / "facts.yaml"
    facts.write_text(yaml.safe_dump(yaml.safe_load(case.read_text())["facts"]))
    out = tmp_path / "r.html"
    flowchart = yaml.safe_load(case.read_text()).get("flowchart")
    cmd = [sys.executable, "-m", "guidewalk", "report", "brain-metastases-2020", "--facts", str(facts), "-o", str(out), "--why-not", "srs"]
    if flowchart:
        cmd += ["--flowchart", flowchart]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    html.parser.HTMLParser().feed(text)
    assert 'id="why-not-srs"' in text
    section = text[text.index('id="why-not-srs"') :]
    assert "with 1 fact(s) changed" in section  # in_trial: no -> yes, or bm_count: 11 -> 10
    assert "Decisions on the way" in section
