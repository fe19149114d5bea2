"""The auditor's report as a page: only the flowcharts the walk touched are drawn, each opened on
the path (its viewBox fitted to it; no script), the case beside the drawings, a compact table of
derived facts, and a header with the patient's pseudonym, the date and the MDO (checked, stored in
the record, escaped). The browser part measures the page in Chromium and keeps screenshots."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, TESTS, guideline

from guidewalk.cli import main
from guidewalk.engine.walk import run
from guidewalk.render.report import embedded_record, make_record, render_html
from guidewalk.render.report_layout import report_header
from guidewalk.render.svg.fit import _TRANSFORM, _shape_points

LECTURE = ROOT / "examples" / "cases" / "lecture-case-1.yaml"
LM_CASE = TESTS / "cases" / "leptomeningeal-metastases-2020" / "b11_kps60_progressive_category3_alk_targeted.yaml"
ARTIFACTS = TESTS / "artifacts"


def _report(gid: str, case: Path, **header: str) -> tuple[Any, Any, str]:
    g = guideline(gid)
    data = yaml.safe_load(case.read_text(encoding="utf-8"))
    facts, fc = (data["facts"], data.get("flowchart")) if "expect" in data else (data, None)
    result = run(g, facts, flowchart=fc)
    record = make_record(g, result, header=report_header(**header) if header else None)
    return g, result, render_html(g, record)


def _flow_box(html: str, fc: str) -> tuple[list[float], str]:
    """The viewBox of one drawing's flowchart and its markup (as written, for the shape readers)."""
    start = html.index(f'<figure id="drawing-{fc}"')
    figure = html[start : html.index("</figure>", start)]
    m = re.search(r'<svg id="flow" [^>]*viewBox="([^"]+)"', figure)
    assert m is not None
    return [float(v) for v in m.group(1).split()], figure


def test_only_the_flowcharts_walked_are_drawn_each_fitted_to_its_part_of_the_path() -> None:
    for gid, case in (("brain-metastases-2020", LECTURE), ("leptomeningeal-metastases-2020", LM_CASE)):
        g, result, html = _report(gid, case)
        root = ET.fromstring(html.encode("utf-8"))
        walked = list(dict.fromkeys(s.flowchart for s in result.trace))
        figures = [el for el in root.iter() if (el.get("id") or "").startswith("drawing-")]
        assert [f.get("id") for f in figures] == [f"drawing-{fc}" for fc in walked]
        drawn_nodes = {(el.get("id") or "")[5:] for el in root.iter() if (el.get("id") or "").startswith("node-")}
        assert drawn_nodes == {n for fc in walked for n in g.flowcharts[fc].nodes}, "a flowchart the walk did not touch is drawn"
        for fc in walked:
            (x, y, w, h), inner = _flow_box(html, fc)
            m = _TRANSFORM.search(inner)
            assert m is not None
            sx, sy, tx, ty = (float(v) for v in m.groups())
            for node in (n for n in result.path if g.nodes[n].flowchart == fc):
                pts = _shape_points(inner, f"node-{node}")
                assert pts, node
                for px, py in pts:
                    X, Y = sx * (px + tx), sy * (py + ty)
                    assert x - 0.5 <= X <= x + w + 0.5 and y - 0.5 <= Y <= y + h + 0.5, f"{fc}: {node} is outside the view"
            assert 'data-fit="path"' in inner
            assert w <= 700, (fc, w)  # opened on the path (a straight spine), not on the whole flowchart


def test_case_panel_is_beside_the_drawings_and_there_is_no_script() -> None:
    _, result, html = _report("brain-metastases-2020", LECTURE)
    root = ET.fromstring(html.encode("utf-8"))
    drawing = next(el for el in root.iter() if "drawing" in (el.get("class") or "").split())
    children = list(drawing)
    assert [c.get("class") for c in children] == ["figures", "case-panel"]
    panel = "".join(children[1].itertext())
    assert "Facts that decided the path" in panel and "kps = 80" in panel and "suggests considering" in panel
    assert all(el.get("type") == "application/json" for el in root.iter("script"))
    assert "default-src 'none'" in html


def test_derived_facts_are_compact() -> None:
    g, result, html = _report("brain-metastases-2020", LECTURE)
    root = ET.fromstring(html.encode("utf-8"))
    table = next(el for el in root.iter("table") if el.get("class") == "derived")
    rows = table.findall("tr")[1:]
    with_value = [d for d in result.derivations if d["value"] is not None]
    assert len(rows) == len(with_value) and len(rows) < len(result.derivations)
    assert all(r.find(".//details") is not None for r in rows)  # inputs, source and note folded
    rest = root.find(".//*[@id='derived-unknown']")
    assert rest is not None and f"{len(result.derivations) - len(with_value)} derived facts have no value" in " ".join(rest.itertext())


def test_header_fields_are_checked_stored_and_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    args = ["report", "brain-metastases-2020", "--facts", str(LECTURE), "-o", str(out)]
    assert main([*args, "--patient-id", "GW-<0042>", "--date", "2019-03-15", "--mdo", "Neuro-oncologisch MDO & <b>regio</b>"]) == 0
    html = out.read_text(encoding="utf-8")
    root = ET.fromstring(html.encode("utf-8"))
    assert " ".join(root.find(".//*[@id='header-patient']").itertext()) == "GW-<0042>"
    assert " ".join(root.find(".//*[@id='header-mdo']").itertext()) == "Neuro-oncologisch MDO & <b>regio</b>"
    assert "<b>regio</b>" not in html
    assert embedded_record(html)["header"] == {"patient_id": "GW-<0042>", "date": "2019-03-15", "mdo": "Neuro-oncologisch MDO & <b>regio</b>"}
    js = tmp_path / "r.json"
    assert main(["report", "brain-metastases-2020", "--facts", str(LECTURE), "-o", str(js), "--date", "2019-03-15"]) == 0
    assert json.loads(js.read_text(encoding="utf-8"))["header"] == {"date": "2019-03-15"}
    capsys.readouterr()
    assert main([*args, "--patient-id", "111222333"]) == 2  # a BSN (eleven test) is refused
    assert "pseudonymous" in capsys.readouterr().err
    assert main([*args, "--date", "15-03-2019"]) == 2
    assert main(["report", "brain-metastases-2020", "--facts", str(LECTURE), "-o", str(out)]) == 0
    root = ET.fromstring(out.read_text(encoding="utf-8").encode("utf-8"))
    assert "not given" in " ".join(root.find(".//*[@id='header-patient']").itertext())
    assert "header" not in embedded_record(out.read_text(encoding="utf-8"))


def test_report_header_rules() -> None:
    from guidewalk.engine.errors import UsageError

    assert report_header("GW-1", " 2020-02-29 ", "  MDO   x ") == {"patient_id": "GW-1", "date": "2020-02-29", "mdo": "MDO x"}
    assert report_header() == {}
    for bad in ({"patient_id": "123456782"}, {"patient_id": "x" * 65}, {"patient_id": "a\nb"}, {"date": "2019-02-30"}, {"mdo": "m" * 301}):
        with pytest.raises(UsageError):
            report_header(**bad)
    assert report_header("123456789")["patient_id"] == "123456789"  # nine digits failing the eleven test are no BSN


# --------------------------------------------------------------------------- in the browser

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(os.environ.get("GUIDEWALK_NO_BROWSER") == "1", reason="GUIDEWALK_NO_BROWSER=1: browser tests switched off explicitly")
def test_in_chromium_the_drawing_opens_on_the_path_with_the_case_beside_it(tmp_path: Path) -> None:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium (or set GUIDEWALK_NO_BROWSER=1 explicitly)"
    from playwright.sync_api import sync_playwright

    _, _, html = _report("brain-metastases-2020", LECTURE, patient_id="GW-0042", date="2019-03-15", mdo="Neuro-oncologisch MDO")
    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_file.as_uri())
            m = page.evaluate(
                """() => {
                const rect = e => { const b = e.getBoundingClientRect(); return {x: b.x, y: b.y + scrollY, r: b.right, b: b.bottom + scrollY}; };
                const box = document.querySelector('.svgbox');
                const first = box.querySelector('.on-path');
                return {box: rect(box), first: rect(first), panel: rect(document.querySelector('.case-panel')),
                        derived: rect(document.querySelector('table.derived')), height: document.documentElement.scrollHeight,
                        scroll: [box.scrollLeft, box.scrollTop]};
            }"""
            )
            page.evaluate("document.querySelector('#flowchart').scrollIntoView()")
            page.screenshot(path=str(ARTIFACTS / "report-drawing.png"))
            page.evaluate("document.querySelector('#derived').scrollIntoView()")
            page.screenshot(path=str(ARTIFACTS / "report-derived.png"))
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "report-top.png"))
        finally:
            browser.close()
    box, first, panel = m["box"], m["first"], m["panel"]
    assert m["scroll"] == [0, 0]
    # the first step of the path is inside the drawing's box as it opens (no scrolling)
    assert box["x"] <= first["x"] and first["r"] <= box["r"] and box["y"] <= first["y"] and first["b"] <= box["b"], m
    # the case is beside the drawing: to its right, level with its top
    assert panel["x"] >= box["r"] and abs(panel["y"] - box["y"]) < 120, m
    assert m["derived"]["b"] - m["derived"]["y"] < 1000, m  # was 2,171 px
