"""One fact dictionary for every shipped guideline: one patient file means the same to each.

* One patient file with facts for all three guidelines (the lecture's 68-year-old with EGFR-mutant
  NSCLC, here with brain, leptomeningeal and spinal metastases) is valid for every guideline and
  every flowchart: the walk ends `complete` or `needs_facts`, never `invalid_facts`.
* No two dictionary facts ask the same question (a duplicate question is a duplicate concept).
* The merged concepts keep one name: the former near-duplicates are gone from the dictionary.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, guideline

from guidewalk.engine.walk import run

GUIDELINES = ["brain-metastases-2020", "leptomeningeal-metastases-2020", "spinal-metastases"]

# One patient, one file. Lecture case (LM section): 68 years, NSCLC with an EGFR exon 19 deletion,
# facial palsy, hearing loss and radicular pain; extended with brain and spinal findings so that every
# guideline reads its own part of the SAME file (shared facts entered once).
PATIENT = yaml.safe_load(
    """
# shared by several guidelines and scores
age_years: 68
kps: 70
who_ps: 1
primary_tumour_type: nsclc
primary_tumour_known: true
egfr_status: activating_mutation
extracranial_metastases: true
primary_controlled: true
extracranial_disease_status: controlled_limited
hydrocephalus_status: none
effective_systemic_option_available: true
patient_wants_tumour_directed_treatment: true
tumour_radiosensitivity: resistant
brain_metastases_present: true
mri_contraindicated: false
visceral_metastases: false
# brain metastases (Hersenmetastasen 2020)
suspected_brain_metastasis: true
bm_count: 2
bm_symptomatic: false
bm_max_diameter_cm: 1.2
bm_total_volume_cm3: 1.5
bm_max_individual_volume_cm3: 0.9
bm_presentation_timing: metachronous
histology_has_therapeutic_consequence: true
atypical_imaging_or_abscess_suspected: false
molecular_status_needed_for_targeted_therapy: false
egfr_tki_history: naive
posterior_fossa_lesion: false
mass_effect: false
tissue_needed_for_diagnosis: false
dominant_lesion_present: false
# leptomeningeal metastases (2020)
primary_tumour_origin: extracranial_solid
lm_clinically_suspected: true
alternative_cause_established: false
symptomatic_region: brain_and_spine
imaging_lm_result: positive
known_malignancy: true
lm_imaging_location: intracranial_and_spinal
targeted_therapy_cns_penetrant_available: true
csf_cytology_result: not_done
bulky_or_nodular_lm: false
symptomatic_focal_site: false
multifocal_symptoms_no_other_option: false
weeks_since_treatment_start: 0
severe_encephalopathy_or_neuro_deficit: false
tumour_resistant_to_chemo_and_hormonal: false
meningeal_irritation: false
headache_severity: mild_moderate
vomiting_severity: none
delirium: false
# spinal metastases (Wervelmetastasen 2015)
cancer_history: true
spinal_relation_to_primary_doubtful: false
primary_diagnosed_long_ago: false
back_or_neck_pain: true
spinal_metastasis_symptomatic: true
radicular_pain: unilateral
radicular_deficit: none
clinical_suspicion_mescc: false
mescc_on_imaging: false
neuro_deficit_due_to_mescc: false
prior_rt_same_site: false
spine_stability_judgement: stable
fit_for_surgery: true
bone_metastasis_count: 2
sins_location: semi_rigid
sins_pain: occasional_non_mechanical
sins_bone_lesion: mixed
sins_alignment: normal_alignment
sins_vertebral_body_collapse: none_of_these
sins_posterolateral_involvement: unilateral
"""
)


def _dictionary_files() -> list[Path]:
    return [ROOT / "guidelines" / "facts.yaml", *sorted((ROOT / "guidelines" / "facts").glob("*.yaml"))]


def _dictionary() -> dict[str, dict]:
    facts: dict[str, dict] = {}
    for path in _dictionary_files():
        with open(path, encoding="utf-8") as fh:
            facts.update(yaml.safe_load(fh) or {})
    return facts


def test_patient_file_only_uses_dictionary_facts() -> None:
    unknown = sorted(set(PATIENT) - set(_dictionary()))
    assert not unknown, f"not in the shared dictionary: {unknown}"


@pytest.mark.parametrize("gid", GUIDELINES)
def test_one_patient_file_runs_through_every_guideline(gid: str) -> None:
    g = guideline(gid)
    for fc in g.flowcharts:
        result = run(g, PATIENT, flowchart=fc)
        assert result.status in ("complete", "needs_facts"), f"{gid}/{fc}: status {result.status}; errors={[str(e) for e in result.errors]}"


def test_every_guideline_reads_part_of_the_same_file() -> None:
    """The file is not three files glued together: shared facts are read by several guidelines."""
    shared = {"kps", "primary_tumour_type", "extracranial_disease_status"}
    readers = {name: [gid for gid in GUIDELINES if name in set(_asked(gid)) | _score_inputs(gid)] for name in shared}
    for name, gids in readers.items():
        assert len(gids) >= 2, f"{name} is read by {gids} only"


def _asked(gid: str) -> list[str]:
    path = ROOT / "guidelines" / gid / "guideline.yaml"
    with open(path, encoding="utf-8") as fh:
        return list(yaml.safe_load(fh).get("facts") or [])


def _score_inputs(gid: str) -> set[str]:
    path = ROOT / "guidelines" / gid / "guideline.yaml"
    with open(path, encoding="utf-8") as fh:
        scores = yaml.safe_load(fh).get("scores") or []
    out: set[str] = set()
    for name in scores:
        with open(ROOT / "guidelines" / "scores" / f"{name}.yaml", encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        out |= set((doc.get("score") or {}).get("inputs") or [])
    return out


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_no_two_facts_share_a_question() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in _dictionary_files():
        with open(path, encoding="utf-8") as fh:
            for name, spec in (yaml.safe_load(fh) or {}).items():
                q = (spec or {}).get("question")
                assert q, f"{path.name}: fact '{name}' has no question"
                seen[_norm(q)].append(f"{path.name}:{name}")
    dups = {q: names for q, names in seen.items() if len(names) > 1}
    assert not dups, f"facts sharing a question: {dups}"


# Merged near-duplicates: the old name must not come back next to the new one.
MERGED = {
    "extra_cns_disease_status": "extracranial_disease_status",
    "hydrocephalus": "hydrocephalus_status",
    "driver_alteration": "egfr_status / rare_driver_alteration / breast_her2_positive / melanoma_braf_status / other_tumour_driver_alteration",
    "systemic_options_remaining": "effective_systemic_option_available",
    "patient_prefers_no_active_treatment": "patient_wants_tumour_directed_treatment",
    "tumour_radiosensitive": "tumour_radiosensitivity",
    "noms_radiosensitivity": "tumour_radiosensitivity",
    "lung_egfr_alk_status": "egfr_status / rare_driver_alteration",
    "tumour_chemosensitive_mdt": "tumour_chemosensitive_mdo",
}


def test_merged_names_stay_merged() -> None:
    facts = _dictionary()
    back = {old: new for old, new in MERGED.items() if old in facts}
    assert not back, f"merged fact names are back in the dictionary (use the new name): {back}"
    with open(ROOT / "guidelines" / "actions.yaml", encoding="utf-8") as fh:
        actions = set(yaml.safe_load(fh) or {})
    for path in sorted((ROOT / "guidelines" / "actions").glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            actions |= set(yaml.safe_load(fh) or {})
    for old in ("mdt_discussion", "refer_expertise_centre_rare_mutation_nsclc"):
        assert old not in actions, f"action code {old} was merged (mdo_discussion / refer_nvalt_rare_driver_centre)"


def test_driver_entered_once_is_read_by_brain_and_lm() -> None:
    """egfr_status, entered once, drives the brain flow (osimertinib) and the LM targeted branch."""
    lm = run(guideline("leptomeningeal-metastases-2020"), PATIENT, flowchart="treatment")
    assert lm.derived.get("lm_driver_alteration") == "egfr_mutation"
    assert "systemic_therapy_targeted" in lm.actions
    brain = run(guideline("brain-metastases-2020"), PATIENT, flowchart="treatment")
    assert brain.status == "complete" and "osimertinib_first" in brain.actions
