"""A recommendation's strength (its source's verb form: directive | conditional) in every output:
`run` text and JSON, the report, the flowchart drawing, CDS Hooks cards and FHIR. A source
without a strength prints nothing (never a default "directive")."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from conftest import ROOT, guideline

from guidewalk.engine.trace import Result
from guidewalk.engine.walk import run
from guidewalk.render.svg import nodes_with_class, render_svg
from guidewalk.render.text import to_text

LECTURE_CASE = ROOT / "examples" / "cases" / "lecture-case-1.yaml"
REC_KEYS = ["node", "actions", "text", "source", "note"]
ALERT_KEYS = ["rule", "text", "severity", "source", "origin", "inputs", "note"]


def _lecture() -> tuple[Any, Result]:
    g = guideline("brain-metastases-2020")
    facts = yaml.safe_load(LECTURE_CASE.read_text(encoding="utf-8"))
    return g, run(g, facts)


def test_json_has_strength_after_the_existing_keys_and_only_where_the_source_gives_it() -> None:
    g, result = _lecture()
    out = json.loads(json.dumps(result.to_json()))
    strengths = {r["node"]: r.get("strength") for r in out["recommendations"]}
    # the lecture case walks a directive, a conditional and a recommendation whose source gives none
    assert strengths["dx_mri"] == "directive"
    assert strengths["dx_presumed_metastasis"] == "conditional"
    assert strengths["tx_chemo_io"] is None and "strength" not in next(r for r in out["recommendations"] if r["node"] == "tx_chemo_io")
    for r in out["recommendations"]:
        assert r.get("strength") == ((g.nodes[r["node"]].source.to_json() or {}).get("strength"))
        keys = list(r)
        assert keys[: len([k for k in REC_KEYS if k in r])] == [k for k in REC_KEYS if k in r]
        if "strength" in r:
            assert keys[-1] == "strength"
    rules = {x.id: x for x in g.rules}
    assert any("strength" in a for a in out["alerts"]) and any("strength" not in a for a in out["alerts"])
    for a in out["alerts"]:
        src = rules[a["rule"]].source
        assert a.get("strength") == (src.strength if src else None)
        keys = list(a)
        assert keys[: len([k for k in ALERT_KEYS if k in a])] == [k for k in ALERT_KEYS if k in a]
        if "strength" in a:
            assert keys[-1] == "strength"


def test_run_text_tags_each_recommendation_and_alert_and_says_what_the_tags_mean() -> None:
    g, result = _lecture()
    text = to_text(result, g)
    conditional = next(r for r in result.recommendations if r.node == "dx_presumed_metastasis")
    directive = next(r for r in result.recommendations if r.node == "dx_mri")
    plain = next(r for r in result.recommendations if r.node == "tx_chemo_io")
    assert f"* [conditional] {conditional.text}" in text
    assert f"* [directive] {directive.text}" in text
    assert f"* {plain.text}" in text  # no strength in the source: no tag, and never "directive"
    assert "[conditional] the guideline suggests considering it" in text and "[directive] the guideline recommends it" in text
    alert = next(a for a in result.alerts if a.strength)
    assert f"[{alert.severity}] [{alert.strength}] {alert.text}" in text


def test_no_strength_no_tag_and_no_key() -> None:
    g = guideline("leptomeningeal-metastases-2020")
    result = run(g, {})
    text = to_text(result, g)
    assert "[directive]" not in text and "Strength:" not in text


def test_report_badges() -> None:
    from guidewalk.render.report import make_record, render_html

    g, result = _lecture()
    html = render_html(g, make_record(g, result), svg="<svg/>")
    # one titled badge per recommendation and alert (the path list and the legend repeat them untitled)
    assert html.count('class="strength strength-conditional" title=') == sum(1 for r in result.recommendations if r.strength == "conditional") + sum(
        1 for a in result.alerts if a.strength == "conditional"
    )
    assert 'class="strength strength-directive"' in html and ">suggests considering</span>" in html


@pytest.mark.parametrize("gid", ["brain-metastases-2020", "leptomeningeal-metastases-2020", "spinal-metastases"])
def test_flowchart_badge_on_exactly_the_recommendations_with_a_strength(gid: str) -> None:
    g = guideline(gid)
    svg = render_svg(g)
    for strength in ("directive", "conditional"):
        want = sorted(n.id for n in g.nodes.values() if n.kind != "decision" and n.source and n.source.strength == strength)
        assert sorted(nodes_with_class(svg, f"strength-{strength}")) == want
    assert "suggests considering" in svg and "recommends" in svg  # badges and the legend


def test_cds_hooks_card_detail_names_the_strength() -> None:
    pytest.importorskip("fhir.resources")
    from guidewalk.engine.fhir.bindings import load_bindings
    from guidewalk.render.cds_hooks.cards import cards_for_result

    g, result = _lecture()
    cards = cards_for_result(g, load_bindings(g.dictionary), result)
    by_node = {c.node: c.data["detail"] for c in cards if c.kind == "recommendation"}
    assert by_node["dx_presumed_metastasis"].startswith("**The guideline suggests considering:**")
    assert "**Strength:** conditional" in by_node["dx_presumed_metastasis"]
    assert by_node["dx_mri"].startswith("**The guideline recommends:**") and "**Strength:** directive" in by_node["dx_mri"]
    assert by_node["tx_chemo_io"].startswith("**The guideline recommends:**") and "**Strength:**" not in by_node["tx_chemo_io"]
    alerts = {c.node: c.data["detail"] for c in cards if c.kind == "alert"}
    for a in result.alerts:
        assert ("**Strength:**" in alerts[a.rule]) == bool(a.strength)


def test_fhir_request_group_action_carries_the_strength_extension() -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.bundle import Bundle

    from guidewalk.engine.fhir.bindings import load_bindings
    from guidewalk.engine.fhir.output import STRENGTH_EXTENSION, guidance_bundle

    g, result = _lecture()
    doc = guidance_bundle(g, result, load_bindings(g.dictionary))
    Bundle.model_validate(doc)
    rg = next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "RequestGroup")
    actions = {a["id"]: a for a in rg["action"]}
    weak = actions["dx-presumed-metastasis"]["extension"]
    assert weak[0]["url"] == STRENGTH_EXTENSION and weak[0]["valueCodeableConcept"]["coding"][0]["code"] == "weak"
    assert actions["dx-mri"]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "strong"
    assert "extension" not in actions["tx-chemo-io"]
    assert all("priority" not in a for a in rg["action"])  # priority is urgency, not strength


def test_a_record_made_before_strength_existed_still_replays_identical() -> None:
    from guidewalk.render.replay import compare
    from guidewalk.render.report import make_record

    g, result = _lecture()
    record = make_record(g, result)
    now = result.to_json()
    old = json.loads(json.dumps(record))
    for item in old["result"]["recommendations"] + old["result"]["alerts"]:
        item.pop("strength", None)
    assert compare(old, now).identical
    changed = json.loads(json.dumps(record))
    changed["result"]["recommendations"][0]["strength"] = "conditional"
    assert not compare(changed, now).identical
