"""SVG flowcharts: stable ids, the path of a case drawn exactly, escaping, freshness of flowcharts/."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from guidewalk.cli import main
from guidewalk.engine.facts import read_case
from guidewalk.engine.load import default_root, guideline_ids, load_guideline
from guidewalk.engine.model import Guideline
from guidewalk.engine.resources import flowcharts_dir
from guidewalk.engine.walk import run
from guidewalk.render.svg import edge_refs, flowchart_files, nodes_with_class, overlay_from_result, render_svg, safe_url

FLOWCHARTS_DIR = flowcharts_dir()

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "render"
DEMO = FIX / "root" / "demo-brain"
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
REAL = guideline_ids(default_root())


def _demo() -> Guideline:
    return load_guideline(DEMO)


def _elements(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg.encode("utf-8"))
    return {el.get("id", ""): el for el in root.iter() if el.get("id")}


def _classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def _text(el: ET.Element) -> str:
    return " ".join(t.strip() for t in el.itertext() if t.strip())


def _golden_cases() -> list[Path]:
    return sorted((HERE / "cases").glob("*/*.yaml"))


def case_runs() -> list[Any]:
    """(guideline ref, facts file, flowchart) for the fixture cases and every golden case."""
    out: list[Any] = [pytest.param(str(DEMO), str(p), None, id=f"fixture-{p.stem}") for p in sorted((FIX / "cases").glob("*.yaml"))]
    for p in _golden_cases():
        out.append(pytest.param(p.parent.name, str(p), "golden", id=f"{p.parent.name}-{p.stem}"))
    return out


@cache
def _guideline(ref: str, overlays: tuple[str, ...] = ()) -> Guideline:
    return load_guideline(ref, overlays=overlays)


def load_case(ref: str, path: str, kind: str | None) -> tuple[Guideline, dict[str, Any], str | None]:
    """The guideline, facts and flowchart of a fixture case or a golden case."""
    if kind == "golden":
        import yaml

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        overlays = (str(HERE.parent / data["overlay"]),) if data.get("overlay") else ()
        return _guideline(ref, overlays), dict(data.get("facts") or {}), data.get("flowchart")
    raw = read_case(path).values
    return _guideline(ref), dict(raw), None


@cache
def case_drawing(ref: str, path: str, kind: str | None) -> tuple[Guideline, Any, str]:
    """(guideline, run Result, highlighted SVG) of a case, rendered once per session."""
    g, facts, fc = load_case(ref, path, kind)
    result = run(g, facts, flowchart=fc)
    return g, result, render_svg(g, overlay_from_result(g, result.to_json()))


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize("ref", [str(DEMO)] + REAL)
def test_every_node_and_edge_has_its_stable_id(ref: str) -> None:
    g = _guideline(ref)
    svg = render_svg(g)
    els = _elements(svg)
    for nid in g.nodes:
        assert f"node-{nid}" in els, nid
        assert "node" in _classes(els[f"node-{nid}"])
    refs = edge_refs(g)
    assert len({e.id for e in refs}) == len(refs)  # unique
    for e in refs:
        assert e.id in els, e.id
        assert "edge" in _classes(els[e.id])
    drawn_edges = [i for i in els if i.startswith("edge-")]
    assert sorted(drawn_edges) == sorted(e.id for e in refs)
    for fid in g.flowcharts:
        assert f"cluster-{fid}" in els
    assert "legend" in els


def test_second_edge_between_the_same_nodes_gets_a_suffix() -> None:
    ids = [e.id for e in edge_refs(_demo())]
    # histology: branch 3 and `otherwise` both go to srs_check
    assert "edge-histology-srs_check" in ids and "edge-histology-srs_check-2" in ids
    e2 = next(e for e in edge_refs(_demo()) if e.id == "edge-histology-srs_check-2")
    assert e2.kind == "otherwise"


def test_labels_are_readable_conditions_and_shapes_follow_kind() -> None:
    g = _demo()
    els = _elements(render_svg(g))
    assert "kps ≥ 70" in _text(els["edge-fitness-histology"])
    assert "bm_count ≤ 10 and not large_volume" in _text(els["edge-srs_check-srs"])
    assert "otherwise" in _text(els["edge-histology-srs_check-2"])
    assert "Cmp(" not in render_svg(g)
    assert els["node-fitness"].find(f"{SVG}g/{SVG}a/{SVG}polygon") is not None  # hexagon
    assert "kind-decision" in _classes(els["node-fitness"])
    assert "kind-end" in _classes(els["node-bsc"])


def test_node_links_to_its_source_module_with_tooltip() -> None:
    els = _elements(render_svg(_demo()))
    a = els["node-fitness"].find(f"{SVG}g/{SVG}a")
    assert a is not None
    assert a.get(f"{XLINK}href") == "https://example.org/m20"
    assert "M20" in (a.get(f"{XLINK}title") or "")
    assert "KPS 70 passes" in (a.get(f"{XLINK}title") or "")


def test_only_web_urls_are_linked() -> None:
    assert safe_url("https://example.org/x") == "https://example.org/x"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<script>") is None


def test_one_flowchart_alone_with_jump_stubs() -> None:
    g = _demo()
    els = _elements(render_svg(g, flowchart="diagnostics"))
    nodes = {i[5:] for i in els if i.startswith("node-")}
    assert nodes == {"imaging", "symptomatic", "steroids"}
    assert "jump-fitness" in els
    assert "cluster-treatment" not in els


# --------------------------------------------------------------------------- a case drawn


@pytest.mark.parametrize(("ref", "path", "kind"), case_runs())
def test_highlighted_nodes_are_exactly_the_path(ref: str, path: str, kind: str | None) -> None:
    g, result, svg = case_drawing(ref, path, kind)
    res = result.to_json()
    els = _elements(svg)
    on = {i[5:] for i, el in els.items() if i.startswith("node-") and "on-path" in _classes(el)}
    assert on == set(res["path"])
    assert sorted(nodes_with_class(svg, "on-path")) == sorted(set(res["path"]))
    off = {i[5:] for i, el in els.items() if i.startswith("node-") and "off-path" in _classes(el)}
    assert off == set(g.nodes) - set(res["path"])
    # the walked edges join consecutive path nodes, one per move
    walked = [el for i, el in els.items() if i.startswith("edge-") and "on-path" in _classes(el)]
    by_id = {e.id: e for e in edge_refs(g)}
    pairs = sorted((by_id[el.get("id", "")].source, by_id[el.get("id", "")].target) for el in walked)
    assert pairs == sorted(set(zip(res["path"], res["path"][1:])))


def test_stopped_node_shows_the_facts_it_needs_and_panel_lists_derived_and_alerts() -> None:
    g = _demo()
    raw = read_case(str(FIX / "cases" / "needs.yaml")).values
    res = run(g, raw).to_json()
    assert res["status"] == "needs_facts"
    els = _elements(render_svg(g, overlay_from_result(g, res)))
    stopped = [i for i, el in els.items() if "stopped" in _classes(el)]
    assert stopped == ["node-histology"]
    label = _text(els["node-histology"])
    assert "walk stopped: needs" in label and "primary_tumour_type" in label and "bm_count" in label
    unknown_branch = els["edge-histology-wbrt"]
    assert "evaluated" in _classes(unknown_branch) and "?" in _text(unknown_branch)
    panel = _text(els["case-panel"])
    assert "fit_for_rt" in panel and "needs facts" in panel


def test_escaping_script_in_fact_values_notes_and_alerts() -> None:
    g = _demo()
    raw = read_case(str(FIX / "cases" / "srs.yaml")).values
    svg = render_svg(g, overlay_from_result(g, run(g, raw).to_json()))
    root = ET.fromstring(svg.encode("utf-8"))  # well-formed
    assert not [el for el in root.iter() if el.tag.lower().endswith("script")]
    assert "<script>" not in svg
    els = _elements(svg)
    assert "<script>alert('label')</script> & co" in _text(els["case-panel"])
    assert "MDO discussion <script>alert('x')</script>" in _text(els["case-panel"])
    a = els["node-symptomatic"].find(f"{SVG}g/{SVG}a")
    assert a is not None and "<script>alert('note')</script>" in (a.get(f"{XLINK}title") or "")
    assert "Diagnostics <& suspected metastases>" in _text(els["cluster-diagnostics"])


def test_render_is_deterministic_and_carries_no_version_stamp() -> None:
    g = _demo()
    a, b = render_svg(g), render_svg(load_guideline(DEMO))
    assert a == b
    assert "Generated by graphviz" not in a


def test_render_cli_with_facts_and_with_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = str(FIX / "cases" / "srs.yaml")
    assert main(["render", str(DEMO), "--facts", case, "-o", str(tmp_path / "a.svg")]) == 0
    assert main(["run", str(DEMO), "--facts", case, "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    (tmp_path / "run.json").write_text(json.dumps(res), encoding="utf-8")
    assert main(["render", str(DEMO), "--trace", str(tmp_path / "run.json"), "-o", str(tmp_path / "b.svg")]) == 0
    a = (tmp_path / "a.svg").read_text(encoding="utf-8")
    b = (tmp_path / "b.svg").read_text(encoding="utf-8")
    assert a == b
    assert sorted(nodes_with_class(a, "on-path")) == sorted(res["path"])
    assert main(["render", str(DEMO), "--flowchart", "nope"]) == 2


# --------------------------------------------------------------------------- flowcharts/


def test_committed_flowcharts_are_fresh() -> None:
    """flowcharts/*.svg must equal a fresh `guidewalk render --all` (run it after editing guidelines/)."""
    want: dict[str, str] = {}
    for gid in REAL:
        want.update(flowchart_files(_guideline(gid)))
    have = {p.name for p in FLOWCHARTS_DIR.glob("*.svg")}
    assert have == set(want), "flowcharts/ differs from guidelines/: run `guidewalk render --all`"
    stale = [n for n, svg in want.items() if (FLOWCHARTS_DIR / n).read_text(encoding="utf-8") != svg]
    assert not stale, f"stale SVGs {stale}: run `guidewalk render --all`"


def test_render_all_writes_and_check_detects_staleness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GUIDEWALK_GUIDELINES", str(FIX / "root"))
    out = tmp_path / "flowcharts"
    assert main(["render", "--all", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.glob("*.svg"))
    assert names == ["demo-brain--diagnostics.svg", "demo-brain--treatment.svg", "demo-brain.svg"]
    assert main(["render", "--all", "--check", "-o", str(out)]) == 0
    p = out / "demo-brain.svg"
    p.write_text(p.read_text(encoding="utf-8").replace("kps ≥ 70", "kps ≥ 80"), encoding="utf-8")
    (out / "old-guideline.svg").write_text("<svg/>", encoding="utf-8")
    capsys.readouterr()
    assert main(["render", "--all", "--check", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "demo-brain.svg" in err and "old-guideline.svg" in err
    assert main(["render", "--all", "-o", str(out)]) == 0
    assert not (out / "old-guideline.svg").exists()
    assert main(["render", "--all", "--check", "-o", str(out)]) == 0


def test_a_branch_label_is_drawn_in_words_with_the_condition_as_its_tooltip() -> None:
    """85 of 91 edge labels of the brain treatment chart read as code; an author's `label`
    is drawn instead, and the condition stays in the tooltip."""
    g = load_guideline("brain-metastases-2020")
    node = next(n for n in g.nodes.values() if n.branches and len(n.branches[0].when.readable) > 20)
    node.branches[0].label = "a label in words"
    svg = render_svg(g, None, flowchart=node.flowchart)
    assert "a label in words" in svg
    edge = next(e for e in edge_refs(g) if e.source == node.id and e.index == 0)
    assert edge.label == "a label in words" and edge.condition == node.branches[0].when.readable
    assert f"a label in words — when {node.branches[0].when.readable[:12]}" in html.unescape(svg)


def test_no_word_is_split_across_lines_in_a_drawing() -> None:
    from guidewalk.render.svg.draw import _wrap

    assert _wrap("[surgery, best_supportive_care]", 8) == ["[surgery,", "best_supportive_care]"]


@pytest.mark.parametrize("gid", guideline_ids(default_root()))
def test_at_most_a_tenth_of_each_charts_edge_labels_name_a_fact(gid: str) -> None:
    """An auditor reads the drawn labels: per flowchart, at most 10% of the branch labels may
    contain a fact's name (code); the rest are the author's words."""
    import re

    g = load_guideline(gid)
    names = set(g.dictionary) | set(g.derived)
    by_chart: dict[str, list[str]] = {}
    for e in edge_refs(g):
        if e.kind == "branch":
            by_chart.setdefault(g.nodes[e.source].flowchart, []).append(e.label)
    assert by_chart
    for chart, labels in by_chart.items():
        coded = [lab for lab in labels if names & set(re.findall(r"[a-z][a-z0-9_]*", lab))]
        assert len(coded) <= 0.1 * len(labels), f"{gid}/{chart}: {len(coded)} of {len(labels)} labels name a fact: {coded[:5]}"
