"""Local protocols as overlays: added statements are marked as local in the trace; the
national flow is untouched; an overlay for another guideline is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from guidewalk.engine.errors import LoadError
from guidewalk.engine.load import load_guideline
from guidewalk.engine.walk import run

OVERLAY = ROOT / "guidelines" / "overlays" / "lecture-local-spine.yaml"
# SINS 14 as in the lecture's spinal case: 3 + 3 + 2 + 2 + 3 + 1 (junctional, mechanical pain,
# lytic, de novo deformity, collapse > 50 %, unilateral)
SINS_14 = {
    "sins_location": "junctional",
    "sins_pain": "mechanical",
    "sins_bone_lesion": "lytic",
    "sins_alignment": "de_novo_deformity",
    "sins_vertebral_body_collapse": "collapse_over_50_percent",
    "sins_posterolateral_involvement": "unilateral",
}


def test_overlay_adds_local_alerts_marked_as_local() -> None:
    national = load_guideline("spinal-metastases")
    local = load_guideline("spinal-metastases", overlays=[str(OVERLAY)])
    a = run(national, SINS_14)
    b = run(local, SINS_14)
    assert a.derived["sins_total"] == 14 == b.derived["sins_total"]
    assert a.path == b.path and a.status == b.status  # the national flow is untouched
    local_alerts = [x for x in b.alerts if x.origin == "overlay:lecture-local-spine"]
    assert {x.rule for x in local_alerts} >= {"local_sins_spine_surgeon", "local_task_orthopaedics"}
    assert not [x for x in a.alerts if x.origin.startswith("overlay:")]
    assert b.to_json()["guideline"]["overlays"] == [str(OVERLAY)]
    assert local.sha256 != national.sha256  # a record names the overlay's content too


def test_overlay_boundary_sins_6_and_7() -> None:
    local = load_guideline("spinal-metastases", overlays=[str(OVERLAY)])
    six = {
        **SINS_14,
        "sins_location": "semi_rigid",
        "sins_pain": "occasional_non_mechanical",
        "sins_bone_lesion": "blastic",
        "sins_alignment": "normal_alignment",
        "sins_vertebral_body_collapse": "collapse_over_50_percent",
        "sins_posterolateral_involvement": "unilateral",
    }
    r6 = run(local, six)
    seven = {**six, "sins_bone_lesion": "mixed"}
    r7 = run(local, seven)
    assert r6.derived["sins_total"] == 6 and r7.derived["sins_total"] == 7
    assert "local_sins_spine_surgeon" not in {x.rule for x in r6.alerts}
    assert "local_sins_spine_surgeon" in {x.rule for x in r7.alerts}


def test_overlay_for_another_guideline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="applies to 'spinal-metastases'"):
        load_guideline("brain-metastases-2020", overlays=[str(OVERLAY)])
