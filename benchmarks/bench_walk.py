"""Per-case time of a traced walk vs hand-written code, and of the two rules backends.

    .venv/bin/python benchmarks/bench_walk.py [--cases N] [--repeat R] [--profile]

In ONE run, on the same generated brain-metastases-2020 cases (treatment flowchart, main
path: scope, MDO gate, performance gate, surgery, SRS limits, shared decision, WBRT/BSC):

  (a) engine.walk.run with BuiltinRules (facts checked, every rule, the traced walk)
  (b) a hand-written Python if/else of the same flow (with the derived facts it needs)
  (c) engine.walk.run with DurableRules
  (d) a hand-written durable_rules encoding of the same flow (decisions as Rete rules)

and reports (a)/(b) and (c)/(d). Every case's recommended actions are checked to be the
same in (a), (b), (c) and (d) before anything is timed. Targets: (a) within 3x of (b),
(c) no slower than (d). A benchmark, not a test: numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guidewalk.engine import load  # noqa: E402
from guidewalk.engine.facts import check_facts  # noqa: E402
from guidewalk.engine.rules import BuiltinRules  # noqa: E402
from guidewalk.engine.walk import run  # noqa: E402

GUIDELINE = "brain-metastases-2020"
FLOWCHART = "treatment"
OUT_OF_SCOPE = ("multiple_myeloma", "lymphoma_indolent", "lymphoma_aggressive", "hodgkin_lymphoma", "medulloblastoma_pnet", "ependymoma", "other_primary_cns")
# tumour types without a subflow of their own (nsclc, sclc, melanoma and breast have one)
MAIN_PATH_TYPES = (
    "renal",
    "prostate",
    "thyroid",
    "colorectal",
    "other_gastrointestinal",
    "germ_cell_tumour",
    "other_carcinoma",
    "other_non_epithelial_solid",
    "unknown_primary",
)


# --------------------------------------------------------------------------- cases


def make_cases(n: int, seed: int = 2020) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        cases.append(
            {
                "primary_tumour_type": rng.choice(MAIN_PATH_TYPES + OUT_OF_SCOPE[:1]),
                "bm_symptomatic": rng.random() < 0.5,
                "kps": rng.choice([40, 60, 70, 80, 90, 100]),
                "systemic_therapy_with_intracranial_effect_available": rng.random() < 0.3,
                "bm_count": rng.choice([1, 1, 2, 3, 5, 10, 11, 15]),
                "bm_max_diameter_cm": rng.choice([1.0, 2.0, 2.5, 3.5]),
                "extracranial_disease_status": rng.choice(
                    ["none", "controlled_limited", "progressive_not_threatening", "threatening_treatable", "progressive_untreatable"]
                ),
                "effective_systemic_option_available": rng.random() < 0.7,
                "dominant_lesion_present": rng.random() < 0.4,
                "dominant_lesion_diameter_cm": rng.choice([1.5, 2.5, 4.0]),
                "dominant_lesion_surgically_accessible": rng.random() < 0.6,
                "tissue_needed_for_diagnosis": rng.random() < 0.1,
                "hydrocephalus_status": rng.choice(["none"] * 18 + ["asymptomatic", "symptomatic"]),
                "posterior_fossa_lesion": rng.random() < 0.1,
                "mass_effect": rng.random() < 0.1,
                "surgery_outcome": rng.choice(["resection_planned", "no_resection", "no_resection"]),
                "chemosensitive_tumour_with_extracranial_progression": rng.random() < 0.3,
                "rapid_symptom_threat": rng.random() < 0.2,
                "bm_eloquent_or_brainstem": rng.random() < 0.2,
                "bm_substantial_oedema": rng.random() < 0.2,
                "bm_total_volume_cm3": rng.choice([5.0, 15.0, 30.0, 31.0, 60.0]),
                "bm_max_individual_volume_cm3": rng.choice([2.0, 10.0, 20.0, 21.0]),
                "srs_shared_decision_outcome": rng.choice(["srs", "systemic_therapy", "best_supportive_care"]),
                "in_trial": rng.random() < 0.1,
                "bsc_indicated": rng.random() < 0.3,
                "patient_wants_tumour_directed_treatment": rng.random() >= 0.2,
            }
        )
    return cases


# --------------------------------------------------------------------------- (b) hand-written


def by_hand(f: dict[str, Any]) -> list[str]:
    """The treatment flowchart's main path as plain Python (all facts known)."""
    acts: list[str] = []
    if f["primary_tumour_type"] in OUT_OF_SCOPE:
        return acts
    if f["bm_symptomatic"]:
        acts.append("mdo_discussion")
    if f["kps"] < 70:
        acts += ["rt_reticence_bsc", "reassess_rt_if_kps_improves", "use_prognostic_score"]
        if f["systemic_therapy_with_intracranial_effect_available"]:
            acts.append("systemic_therapy_per_tumour_guideline")
        else:
            acts += ["best_supportive_care", "palliative_care_from_diagnosis"]
        return acts
    good_ps = f["kps"] >= 70
    limited = f["extracranial_disease_status"] in ("none", "controlled_limited")
    surgery = True
    if f["bm_count"] == 1 and f["bm_max_diameter_cm"] >= 2.5 and good_ps and limited and f["effective_systemic_option_available"]:
        acts.append("evaluate_resection")
    elif (
        f["bm_count"] > 1
        and f["dominant_lesion_present"]
        and f["dominant_lesion_diameter_cm"] >= 2.5
        and f["dominant_lesion_surgically_accessible"]
        and good_ps
    ):
        acts += ["evaluate_resection", "resection_dominant_plus_srs_remaining"]
    elif f["tissue_needed_for_diagnosis"] or f["hydrocephalus_status"] != "none" or f["posterior_fossa_lesion"] or f["mass_effect"]:
        acts.append("evaluate_resection")
    else:
        surgery = False
    if surgery and f["surgery_outcome"] == "resection_planned":
        return acts
    if not f["bm_symptomatic"] and f["chemosensitive_tumour_with_extracranial_progression"]:
        if not (f["rapid_symptom_threat"] or f["bm_eloquent_or_brainstem"] or f["bm_substantial_oedema"]):
            acts.append("systemic_first_mri_after_2_3_months")
            return acts
    if f["bm_count"] <= 10 and f["bm_total_volume_cm3"] <= 30 and f["bm_max_individual_volume_cm3"] <= 20:
        acts.append("srs_shared_decision")
        outcome = f["srs_shared_decision_outcome"]
        if outcome == "srs":
            acts += ["srs", "mri_double_dose_contrast", "single_rt_modality"]
        elif outcome == "systemic_therapy":
            acts.append("systemic_therapy_per_tumour_guideline")
        else:
            acts += ["best_supportive_care", "palliative_care_from_diagnosis"]
        return acts
    acts.append("no_srs_in_principle")
    if f["in_trial"]:
        acts.append("srs")
    elif f["systemic_therapy_with_intracranial_effect_available"]:
        acts.append("systemic_therapy_per_tumour_guideline")
    elif f["bsc_indicated"] or not f["patient_wants_tumour_directed_treatment"]:
        acts += ["best_supportive_care", "palliative_care_from_diagnosis"]
    else:
        acts += ["wbrt", "single_rt_modality"]
    return acts


# --------------------------------------------------------------------------- (d) durable by hand


class HandDurable:
    """The same flow written directly as a durable_rules ruleset: one fact with the case, one
    rule per decision outcome; each action records its actions and asserts the next step."""

    def __init__(self) -> None:
        from durable import engine
        from durable.lang import m, when_all

        class Host(engine.Host):  # type: ignore[misc]
            def _run(self) -> None:  # no background dispatcher threads
                return None

        self.engine = engine
        self.host = Host()
        self.out: dict[str, list[str]] = {}
        rules: dict[str, Any] = {}

        def rule(name: str, cond: Any, acts: Sequence[str], nxt: str | None) -> None:
            def action(c: Any) -> None:
                done = self.out[c.s.sid]
                if name in done:  # a second matching disjunct of the same rule
                    return
                done.append(name)
                done.extend(acts)
                if nxt:
                    c.assert_fact({"step": nxt, "f": c.m.f._d})

            r = when_all(cond)
            r.func = [action]
            rules[name] = r.define()

        at = lambda s: m.step == s  # noqa: E731
        rule("scope_out", at("scope") & _in(m.f.primary_tumour_type, OUT_OF_SCOPE), [], None)
        rule("scope_in", at("scope") & _all_ne(m.f.primary_tumour_type, OUT_OF_SCOPE), [], "mdo")
        rule("mdo_yes", at("mdo") & (m.f.bm_symptomatic == True), ["mdo_discussion"], "ps")  # noqa: E712
        rule("mdo_no", at("mdo") & (m.f.bm_symptomatic == False), [], "ps")  # noqa: E712
        rule(
            "ps_low_sys",
            at("ps") & (m.f.kps < 70) & (m.f.systemic_therapy_with_intracranial_effect_available == True),
            ["rt_reticence_bsc", "reassess_rt_if_kps_improves", "use_prognostic_score", "systemic_therapy_per_tumour_guideline"],
            None,
        )  # noqa: E712
        rule(
            "ps_low_bsc",
            at("ps") & (m.f.kps < 70) & (m.f.systemic_therapy_with_intracranial_effect_available == False),
            ["rt_reticence_bsc", "reassess_rt_if_kps_improves", "use_prognostic_score", "best_supportive_care", "palliative_care_from_diagnosis"],
            None,
        )  # noqa: E712
        rule("ps_ok", at("ps") & (m.f.kps >= 70), [], "surg")
        single = (
            (m.f.bm_count == 1)
            & (m.f.bm_max_diameter_cm >= 2.5)
            & (m.f.kps >= 70)
            & ((m.f.extracranial_disease_status == "none") | (m.f.extracranial_disease_status == "controlled_limited"))
            & (m.f.effective_systemic_option_available == True)
        )  # noqa: E712
        dominant = (
            (m.f.bm_count > 1)
            & (m.f.dominant_lesion_present == True)
            & (m.f.dominant_lesion_diameter_cm >= 2.5)
            & (m.f.dominant_lesion_surgically_accessible == True)
            & (m.f.kps >= 70)
        )  # noqa: E712
        # first-true order of the surgical candidate decision, by hand
        not_single = (
            (m.f.bm_count != 1)
            | (m.f.bm_max_diameter_cm < 2.5)
            | (m.f.kps < 70)
            | (m.f.extracranial_disease_status == "progressive_not_threatening")
            | (m.f.extracranial_disease_status == "threatening_treatable")
            | (m.f.extracranial_disease_status == "progressive_untreatable")
            | (m.f.effective_systemic_option_available == False)
        )  # noqa: E712
        not_dominant = (
            (m.f.bm_count <= 1)
            | (m.f.dominant_lesion_present == False)
            | (m.f.dominant_lesion_diameter_cm < 2.5)
            | (m.f.dominant_lesion_surgically_accessible == False)
            | (m.f.kps < 70)
        )  # noqa: E712
        other = (
            (m.f.tissue_needed_for_diagnosis == True) | (m.f.hydrocephalus_status != "none") | (m.f.posterior_fossa_lesion == True) | (m.f.mass_effect == True)
        )  # noqa: E712
        no_other = (
            (m.f.tissue_needed_for_diagnosis == False)
            & (m.f.hydrocephalus_status == "none")
            & (m.f.posterior_fossa_lesion == False)
            & (m.f.mass_effect == False)
        )  # noqa: E712
        rule("surg_single", at("surg") & single, ["evaluate_resection"], "outcome")
        rule("surg_dominant", at("surg") & not_single & dominant, ["evaluate_resection", "resection_dominant_plus_srs_remaining"], "outcome")
        rule("surg_other", at("surg") & not_single & not_dominant & other, ["evaluate_resection"], "outcome")
        rule("surg_none", at("surg") & not_single & not_dominant & no_other, [], "general")
        rule("outcome_planned", at("outcome") & (m.f.surgery_outcome == "resection_planned"), [], None)
        rule("outcome_none", at("outcome") & (m.f.surgery_outcome == "no_resection"), [], "general")
        rule("general_sympt", at("general") & (m.f.bm_symptomatic == True), [], "srs")  # noqa: E712
        rule("general_not_chemo", at("general") & (m.f.bm_symptomatic == False) & (m.f.chemosensitive_tumour_with_extracranial_progression == False), [], "srs")  # noqa: E712
        threat = (m.f.rapid_symptom_threat == True) | (m.f.bm_eloquent_or_brainstem == True) | (m.f.bm_substantial_oedema == True)  # noqa: E712
        no_threat = (m.f.rapid_symptom_threat == False) & (m.f.bm_eloquent_or_brainstem == False) & (m.f.bm_substantial_oedema == False)  # noqa: E712
        chemo = at("general") & (m.f.bm_symptomatic == False) & (m.f.chemosensitive_tumour_with_extracranial_progression == True)  # noqa: E712
        rule("general_threat", chemo & threat, [], "srs")
        rule("general_systemic_first", chemo & no_threat, ["systemic_first_mri_after_2_3_months"], None)
        within = (m.f.bm_count <= 10) & (m.f.bm_total_volume_cm3 <= 30) & (m.f.bm_max_individual_volume_cm3 <= 20)
        beyond = (m.f.bm_count > 10) | (m.f.bm_total_volume_cm3 > 30) | (m.f.bm_max_individual_volume_cm3 > 20)
        rule(
            "srs_srs",
            at("srs") & within & (m.f.srs_shared_decision_outcome == "srs"),
            ["srs_shared_decision", "srs", "mri_double_dose_contrast", "single_rt_modality"],
            None,
        )
        rule(
            "srs_sys",
            at("srs") & within & (m.f.srs_shared_decision_outcome == "systemic_therapy"),
            ["srs_shared_decision", "systemic_therapy_per_tumour_guideline"],
            None,
        )
        rule(
            "srs_bsc",
            at("srs") & within & (m.f.srs_shared_decision_outcome == "best_supportive_care"),
            ["srs_shared_decision", "best_supportive_care", "palliative_care_from_diagnosis"],
            None,
        )
        rule("no_srs", at("srs") & beyond, ["no_srs_in_principle"], "wbrt")
        rule("wbrt_trial", at("wbrt") & (m.f.in_trial == True), ["srs"], None)  # noqa: E712
        rule(
            "wbrt_sys",
            at("wbrt") & (m.f.in_trial == False) & (m.f.systemic_therapy_with_intracranial_effect_available == True),
            ["systemic_therapy_per_tumour_guideline"],
            None,
        )  # noqa: E712
        nosys = at("wbrt") & (m.f.in_trial == False) & (m.f.systemic_therapy_with_intracranial_effect_available == False)  # noqa: E712
        rule(
            "wbrt_bsc",
            nosys & ((m.f.bsc_indicated == True) | (m.f.patient_wants_tumour_directed_treatment == False)),
            ["best_supportive_care", "palliative_care_from_diagnosis"],
            None,
        )  # noqa: E712
        rule("wbrt_wbrt", nosys & (m.f.bsc_indicated == False) & (m.f.patient_wants_tumour_directed_treatment == True), ["wbrt", "single_rt_modality"], None)  # noqa: E712
        self.rule_names = set(rules)
        self.name = "bench_hand_flow"
        self.host.register_rulesets({self.name: rules})
        self.sids = iter(range(1, 1 << 62))

    def __call__(self, f: dict[str, Any]) -> list[str]:
        sid = str(next(self.sids))
        self.out[sid] = []
        try:
            self.host.assert_fact(self.name, {"sid": sid, "step": "scope", "f": f})
        finally:
            self.host.delete_state(self.name, sid)
        return [a for a in self.out.pop(sid) if a not in self.rule_names]


def _in(v: Any, values: Sequence[str]) -> Any:
    out = v == values[0]
    for x in values[1:]:
        out = out | (v == x)
    return out


def _all_ne(v: Any, values: Sequence[str]) -> Any:
    out = v != values[0]
    for x in values[1:]:
        out = out & (v != x)
    return out


# --------------------------------------------------------------------------- timing


def per_case(fn: Callable[[dict[str, Any]], Any], cases: list[dict[str, Any]], repeat: int) -> float:
    """Median over `repeat` passes of the mean CPU time per case, in microseconds.

    CPU time of this (single-threaded) process, not wall time: the machines this runs on
    are shared, and wall time there measures the neighbours as much as the code."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        for c in cases:
            fn(c)
        times.append((time.process_time() - t) / len(cases) * 1e6)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of (a)")
    args = ap.parse_args(argv)

    g = load.load_guideline(GUIDELINE)
    cases = make_cases(args.cases)
    for c in cases:
        assert not check_facts(c, g.dictionary).errors
    builtin = BuiltinRules()
    from guidewalk.engine.rules.durable import DurableRules

    durable = DurableRules()
    durable.prepare(g)
    hand_durable = HandDurable()

    def a(c: dict[str, Any]) -> list[str]:
        return run(g, c, flowchart=FLOWCHART, rules=builtin).actions

    def cc(c: dict[str, Any]) -> list[str]:
        return run(g, c, flowchart=FLOWCHART, rules=durable).actions

    def rules_builtin(c: dict[str, Any]) -> Any:
        return builtin.run(g, check_facts(c, g.dictionary).values)

    def rules_durable(c: dict[str, Any]) -> Any:
        return durable.run(g, check_facts(c, g.dictionary).values)

    for c in cases:  # same answers everywhere before anything is timed
        want = a(c)
        assert run(g, c, flowchart=FLOWCHART, rules=builtin).status == "complete"
        assert by_hand(c) == want, (c, by_hand(c), want)
        assert cc(c) == want, c
        assert hand_durable(c) == want, (c, hand_durable(c), want)

    ta = per_case(a, cases, args.repeat)
    tb = per_case(by_hand, cases, args.repeat)
    tc = per_case(cc, cases, args.repeat)
    td = per_case(hand_durable, cases, args.repeat)
    trb = per_case(rules_builtin, cases, args.repeat)
    trd = per_case(rules_durable, cases, args.repeat)
    n_rules = len(g.rules)
    print(f"{GUIDELINE} / {FLOWCHART}: {len(cases)} cases, median of {args.repeat} passes, CPU µs per case")
    print(f"  (a) walk.run, BuiltinRules        {ta:10.1f}")
    print(f"  (b) hand-written if/else          {tb:10.1f}")
    print(f"  (c) walk.run, DurableRules        {tc:10.1f}")
    print(f"  (d) hand-written durable ruleset  {td:10.1f}")
    print(f"      rules layer alone ({n_rules} rules): builtin {trb:.1f}, durable_rules {trd:.1f}")
    print(f"  (a)/(b) = {ta / tb:.1f}x  (target <= 3x)")
    print(f"  (c)/(d) = {tc / td:.2f}x  (target <= 1x)")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for c in cases:
            a(c)
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(15)
        print(s.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
