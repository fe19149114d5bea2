"""Questions that cannot change the outcome are not asked (fidelity review, round 2, item 12).

The content side: the spinal guideline's rules are written so that a fact which cannot change the
result for this patient is not read at all (Kleene `and` with a false guard), and the stepper's
`pending()` therefore does not ask it. (`Result.needs` still lists every fact an unknown condition
reads; narrowing it to the deciding facts is engine work, so these checks use `pending()`.)
"""

from __future__ import annotations

from conftest import guideline

from guidewalk.engine.session import Session
from guidewalk.engine.walk import run

BASE = dict(
    primary_tumour_known=True,
    spinal_relation_to_primary_doubtful=False,
    primary_diagnosed_long_ago=False,
    primary_tumour_type="breast",
    kps=70,
    spinal_metastasis_symptomatic=True,
    radicular_deficit="none",
    clinical_suspicion_mescc=False,
    neuro_deficit_due_to_mescc=False,
    prior_rt_same_site=False,
    fit_for_surgery=True,
    bartels_expected_survival_months=8,
)


def _pending(facts, flowchart="treatment"):
    return [p.fact for p in Session(guideline("spinal-metastases"), facts, flowchart=flowchart).pending()]


def test_no_deficit_is_not_asked_whether_the_deficit_progresses():
    asked = _pending(dict(BASE, spine_stability_judgement="stable"))
    assert "neuro_deficit_progressive_despite_steroids" not in asked
    assert "neuro_deterioration_during_rt_and_steroids" not in asked
    assert "radicular_deficit_progressive" not in asked
    assert asked == ["pain_progressive_severe_despite_rt"]


def test_unstable_spine_is_not_asked_chemosensitivity():
    facts = dict(BASE, spine_stability_judgement="unstable")
    result = run(guideline("spinal-metastases"), facts, flowchart="treatment")
    assert result.status == "complete"
    assert "tx_surgery_stabilisation" in [s.node for s in result.trace]
    assert "tumour_chemosensitive_mdo" not in _pending(facts)


def test_kps_0_is_refused_with_a_located_error_not_a_rule_gap():
    """KPS 0 means dead. A spinal case with KPS 0 and no Bartels estimate used to end in 'a gap in
    a rule' (Van der Linden has no points for KPS 0); the dictionary now starts KPS at 10, so the
    case is refused on kps before any rule runs. (The golden case invalid_kps_0_refused walks the
    same facts through `run` and the stepper, which shows the refusal.)"""
    import pytest

    from guidewalk.engine.session import AnswerError

    facts = dict(BASE, primary_tumour_type="prostate", kps=0, visceral_metastases=False, spine_stability_judgement="unstable", fit_for_surgery=False)
    facts.pop("bartels_expected_survival_months")
    result = run(guideline("spinal-metastases"), facts, flowchart="treatment")
    assert result.status == "invalid_facts"
    assert [e.fact for e in result.errors] == ["kps"]
    with pytest.raises(AnswerError):
        Session(guideline("spinal-metastases"), flowchart="treatment").answer("kps", 0)
    # the lowest living KPS completes on the Van der Linden group (no gap)
    ok = run(guideline("spinal-metastases"), dict(facts, kps=10, mescc_on_imaging=False, bone_metastasis_count=6), flowchart="treatment")
    assert ok.status == "complete", (ok.status, ok.needs, ok.errors)
    assert ok.derived["vdl_group"] == "A"
