"""`guidewalk score` as a calculator a clinician can read: only the inputs that apply to this
patient are asked (proved over every shipped score: an input not asked cannot change the result,
total, points, applicable outputs or alerts, whatever else is entered), the score's alerts and its
note are shown, values are the dictionary's words, and NOMS shows the Bilsky grade and SINS total
that decided it. `--format json` only gains keys."""

from __future__ import annotations

import json
import random
import re
from functools import cache
from typing import Any

import pytest
import yaml
from conftest import TESTS

from guidewalk.cli import main
from guidewalk.engine.expressions import UNKNOWN
from guidewalk.engine.facts import check_facts
from guidewalk.engine.load import load_score, score_ids
from guidewalk.engine.rules import BuiltinRules
from guidewalk.engine.score_inputs import applicable
from guidewalk.engine.scores import calculate
from guidewalk.engine.session import fact_points
from guidewalk.render.score_text import result_text

BUILTIN = BuiltinRules()
OLD_KEYS = ["score", "title", "verification", "source", "status", "inputs", "components", "total", "result", "outputs", "derived", "notes"]


@cache
def _score(sid: str) -> tuple[Any, Any]:
    return load_score(sid)


def _examples(sid: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((TESTS / "scores" / f"{sid}.yaml").read_text(encoding="utf-8"))
    return [dict(ex["facts"]) for ex in data.get("examples") or []]


def _patients(sid: str) -> list[dict[str, Any]]:
    """Every worked example, each with one fact left out, and nobody at all."""
    out: list[dict[str, Any]] = [{}]
    for ex in _examples(sid):
        out.append(ex)
        out += [{k: v for k, v in ex.items() if k != drop} for drop in ex]
    module, g = _score(sid)
    seen: list[dict[str, Any]] = []
    for p in out:
        if p not in seen and not check_facts(p, g.dictionary, g.derived).errors:  # examples of refused values are not patients
            seen.append(p)
    return seen


def _plain(v: Any) -> Any:
    return sorted(v) if isinstance(v, frozenset) else v


def _core(module: Any, g: Any, facts: dict[str, Any], outputs: list[str]) -> tuple[Any, ...]:
    """What the score says for these facts: result, total, points, the outputs that apply, alerts."""
    res = BUILTIN.run(g, facts)
    names = [n for n in (module.result, module.total, *module.components, *outputs) if n]
    return tuple(res.derived.get(n, UNKNOWN) for n in names) + (tuple(sorted(a.rule for a in res.alerts)),)


@pytest.mark.parametrize("sid", score_ids())
def test_an_input_not_asked_cannot_change_what_the_score_says(sid: str) -> None:
    module, g = _score(sid)
    declared = list(dict.fromkeys([*module.inputs, *(i for r in module.required_modules for i in r.inputs)]))
    rng = random.Random(sid)
    checked = 0
    for patient in _patients(sid):
        facts = check_facts(patient, g.dictionary, g.derived)
        apply = applicable(module, g, facts.values, facts.entered)
        hidden = [x for x in declared if x not in apply.inputs and x not in patient]
        open_inputs = [x for x in apply.inputs if x not in patient]
        # the facts entered, plus a few ways of answering the inputs that apply and are still open
        completions = [dict(patient)]
        for _ in range(4):
            more = dict(patient)
            for x in open_inputs:
                if rng.random() < 0.7:
                    more[x] = _plain(rng.choice(fact_points(g, x)))
            completions.append(more)
        for base in completions:
            want = _core(module, g, check_facts(base, g.dictionary, g.derived).values, apply.outputs)
            for x in hidden:
                for v in fact_points(g, x):
                    trial = check_facts({**base, x: _plain(v)}, g.dictionary, g.derived).values
                    assert _core(module, g, trial, apply.outputs) == want, f"{sid}: {x}={v} changes the score for {base}, but was not asked"
                    checked += 1
    assert checked or sid in {"bilsky", "gpa_2008", "sins", "van_der_linden"}  # these read every input for every patient


def _calc(sid: str, facts: dict[str, Any]) -> dict[str, Any]:
    module, g = _score(sid)
    return calculate(module, g, facts)


def test_ds_gpa_asks_per_diagnosis() -> None:
    breast = ["breast_er_positive", "breast_pr_positive", "breast_her2_positive"]
    nsclc = _calc("ds_gpa", {"primary_tumour_type": "nsclc"})
    assert not set(breast) & set(nsclc["applicable_inputs"]) and set(breast) <= set(nsclc["inputs_not_applicable"])
    assert {"age_years", "kps", "extracranial_metastases", "bm_count"} <= set(nsclc["applicable_inputs"])
    assert not set(breast) & set(nsclc.get("needs", []))
    melanoma = _calc("ds_gpa", {"primary_tumour_type": "melanoma", "kps": 80, "bm_count": 2})
    assert list(melanoma["applicable_inputs"]) == ["primary_tumour_type", "kps", "bm_count"]
    assert melanoma["status"] == "complete" and "needs" not in melanoma  # the breast receptors are not "needed"
    assert {c["component"]: c["applies"] for c in melanoma["components"]} == {
        "ds_gpa_age_points": False,
        "ds_gpa_kps_points": True,
        "ds_gpa_ecm_points": False,
        "ds_gpa_bm_points": True,
        "ds_gpa_subtype_points": False,
    }
    assert "breast_gpa_subtype" not in melanoma["applicable_outputs"]
    breast_case = _calc("ds_gpa", {"primary_tumour_type": "breast"})
    assert set(breast) <= set(breast_case["applicable_inputs"]) and "extracranial_metastases" not in breast_case["applicable_inputs"]
    entered = _calc("ds_gpa", {"primary_tumour_type": "melanoma", "age_years": 56})
    assert entered["entered_not_used"] == {"age_years": 56}  # age is not a factor of the melanoma index


def test_kps_to_ecog_does_not_ask_the_who_performance_status() -> None:
    out = _calc("kps_to_ecog", {"kps": 80})
    assert list(out["applicable_inputs"]) == ["kps"] and out["inputs_not_applicable"] == ["who_ps"]
    assert "needs" not in out and out["status"] == "complete"
    text = result_text(out, _score("kps_to_ecog")[1])
    assert "who_ps" not in text.split("not asked for this patient")[0]
    assert "kps_lower_from_who_ps" not in text
    back = _calc("kps_to_ecog", {"who_ps": 1})
    assert "kps_lower_from_who_ps" in back["applicable_outputs"] and back["outputs"]["kps_lower_from_who_ps"] == 70


def test_alerts_and_the_scores_note_are_shown() -> None:
    out = _calc("lm_prognosis", {"kps": 60, "extracranial_disease_status": "none"})
    assert [a["rule"] for a in out["alerts"]] == ["lm_category_3_single_feature"]
    assert out["alerts"][0]["severity"] == "info" and out["alerts"][0]["source"]["url"].startswith("https://")
    text = result_text(out)
    assert "! [info] Exactly one of the two category-3 features" in text
    assert "note: Encoded as an integer 1-3" in text and "LM without brain metastases" in text
    eano = _calc("lm_eano_esmo", {"csf_cytology_result": "equivocal", "eano_mri_pattern": "D_normal", "eano_clinical_signs": "normal"})
    assert [a["rule"] for a in eano["alerts"]] == ["eano_cell_unverified"]
    assert "! [info] NON-NL EANO-ESMO classification" in result_text(eano)


@pytest.mark.parametrize("sid", score_ids())
def test_values_are_the_dictionarys_words(sid: str) -> None:
    module, g = _score(sid)
    for patient in _patients(sid):
        text = result_text(calculate(module, g, patient), g)
        values = [line for line in text.splitlines() if not line.startswith(("note", "source:", "  ! "))]
        assert not re.search(r"\b(None|True|False)\b", "\n".join(values)), text
        for k, v in patient.items():
            if isinstance(v, bool):
                assert f"{k} = {'yes' if v else 'no'}" in text


def test_noms_shows_the_bilsky_grade_and_sins_total_that_decided_it() -> None:
    facts = {"sins_total_entered": 14, "bilsky_grade": "2", "tumour_radiosensitivity": "resistant", "noms_tolerates_surgery": True, "noms_myelopathy": False}
    out = _calc("noms", facts)
    assert out["result"]["value"] == "decompression_stabilisation_then_srs"
    req = {r["score"]: r for r in out["required"]}
    assert req["bilsky"]["inputs"] == {"bilsky_grade": "2"} and req["bilsky"]["read"]["escc_high_grade"] is True
    assert req["sins"]["total"] == {"fact": "sins_total", "value": 14} and req["sins"]["result"] == {"fact": "sins_category", "value": "unstable"}
    assert {"bilsky_grade", "sins_total_entered"} <= set(out["applicable_inputs"])
    text = result_text(out, _score("noms")[1])
    assert "from bilsky (" in text and "bilsky_grade = 2 → escc_category = high, escc_high_grade = yes" in text
    assert "sins_total_entered = 14 → sins_total = 14, sins_category = unstable" in text
    assert "primary_tumour_type" in out["inputs_not_applicable"]


def test_json_only_gains_keys(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    case = tmp_path / "m.yaml"
    case.write_text("primary_tumour_type: melanoma\nkps: 80\nbm_count: 2\n", encoding="utf-8")
    assert main(["score", "ds_gpa", "--facts", str(case), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = list(out)
    assert [k for k in keys if k in OLD_KEYS] == OLD_KEYS  # the existing keys, in their order
    new = [k for k in keys if k not in OLD_KEYS and k not in ("note", "needs")]
    assert all(keys.index(k) > keys.index("notes") for k in new), keys  # the new ones after them
    assert set(out["inputs"]) == set(_score("ds_gpa")[0].inputs)  # every declared input, as before
    assert {"applicable_inputs", "inputs_not_applicable", "entered_not_used", "applicable_outputs", "alerts", "required"} <= set(out)
    assert main(["score", "ds_gpa", "--facts", str(case)]) == 0
    text = capsys.readouterr().out
    assert "breast_er_positive" in text.split("not asked for this patient")[1].splitlines()[0]
    assert "ds_gpa_age_points" in text and "not scored for this patient" in text
