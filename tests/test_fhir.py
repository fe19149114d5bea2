"""Facts from FHIR R4 (mCODE): the binding table, Bundle validation, extraction, and the
GuidanceResponse/Provenance output. The lecture's case histories are written as mCODE records
(tests/fhir/*.json, made by tests/fhir/build_bundles.py); the facts read from them must equal the
golden case files' facts, and walking them must give the golden path."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, guideline
from fhir_support import FHIR, LECTURE, as_of, case

from guidewalk.cli import main
from guidewalk.engine.errors import LoadError
from guidewalk.engine.facts import check_facts
from guidewalk.engine.fhir import ExtraMissing, require_extra
from guidewalk.engine.fhir.bindings import load_bindings
from guidewalk.engine.fhir.bundle import read_bundle, record_from_json, record_from_resources
from guidewalk.engine.fhir.extract import age_on, extract, parse_fhir_date
from guidewalk.engine.fhir.output import guidance_bundle
from guidewalk.engine.fhir.prefetch import prefetch_templates
from guidewalk.engine.fhir.summary import LIMIT, shorten, summary_of
from guidewalk.engine.walk import run

pytest.importorskip("fhir.resources")


def bindings(gid: str = "brain-metastases-2020") -> Any:
    return load_bindings(guideline(gid).dictionary)


# --------------------------------------------------------------------------- the binding table


def test_binding_table_covers_the_dictionary() -> None:
    b = bindings()
    g = guideline("brain-metastases-2020")
    assert set(b.by_fact) == set(g.dictionary)  # every base fact has a place in the record
    std = {x.fact for x in b.standard}
    assert std == {
        "age_years",
        "kps",
        "who_ps",
        "primary_tumour_type",
        "brain_metastases_present",
        "egfr_status",
        "breast_her2_positive",
        "breast_er_positive",
        "breast_pr_positive",
    }
    assert [c.code for c in b.by_fact["kps"].codes] == ["89243-0"]
    assert [c.code for c in b.by_fact["who_ps"].codes] == ["89247-1"]
    assert [c.code for c in b.by_fact["breast_her2_positive"].codes] == ["48676-1"]
    assert [c.code for c in b.by_fact["breast_er_positive"].codes] == ["85337-4"]
    assert [c.code for c in b.by_fact["breast_pr_positive"].codes] == ["85339-0"]
    egfr = b.by_fact["egfr_status"]
    assert egfr.component is not None and {c.code for c in egfr.component.values} == {"HGNC:3236"}
    assert {m.coding.code: m.value for m in egfr.map} == {"LA9633-4": "activating_mutation", "LA9634-2": "negative"}
    assert b.by_fact["primary_tumour_type"].value_for("http://snomed.info/sct", "254637007") == (True, "nsclc")
    assert b.by_fact["primary_tumour_type"].value_for("http://hl7.org/fhir/sid/icd-10", "C50.9") == (True, "breast")
    assert b.by_fact["primary_tumour_type"].value_for("http://hl7.org/fhir/sid/icd-10", "C34.1") == (False, None)  # NSCLC or SCLC?
    assert b.by_fact["brain_metastases_present"].codes[0].code == "94225005"
    # guidewalk codes for facts without a standard code, value element by type
    assert b.by_fact["bm_count"].codes[0].system == b.systems["gw-fact"] and b.by_fact["bm_count"].ucum == "{lesions}"
    assert b.by_fact["bm_total_volume_cm3"].elements == ("valueQuantity", "valueInteger") and b.by_fact["bm_total_volume_cm3"].ucum == "cm3"
    assert b.by_fact["csf_cytology_result"].absent["not-performed"] == "not_done"
    # staleness policy
    assert b.by_fact["kps"].max_age_days == 30 and b.by_fact["egfr_status"].max_age_days is None
    assert b.by_fact["days_since_resection"].same_day


def test_binding_file_problems_are_located(tmp_path: Path) -> None:
    src = (ROOT / "guidelines" / "bindings" / "fhir.yaml").read_text(encoding="utf-8")
    bad = src.replace("  kps:\n    resource: Observation", "  kpss:\n    resource: Observation", 1)
    bad = bad.replace("code: loinc|89247-1", "code: lonic|89247-1", 1)
    bad = bad.replace("{code: loinc|LA6576-8, display: Positive, value: true}", "{code: loinc|LA6576-8, display: Positive, value: maybe}", 1)
    f = tmp_path / "fhir.yaml"
    f.write_text(bad, encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_bindings(guideline("brain-metastases-2020").dictionary, f)
    text = str(info.value)
    lines = bad.splitlines()
    assert f"{f.name}:{next(i for i, ln in enumerate(lines, 1) if ln.startswith('  kpss:'))}:3" in text
    assert "'kpss' is not a base fact of the dictionary (did you mean 'kps'?)" in text
    assert "unknown code system 'lonic'" in text and "did you mean 'loinc'?" in text
    assert "not a value of breast_her2_positive" in text


# --------------------------------------------------------------------------- lecture records -> facts


@pytest.mark.parametrize("name", sorted(LECTURE))
def test_lecture_record_gives_the_case_file_facts(name: str) -> None:
    gid, case_file, _, extra = LECTURE[name]
    g = guideline(gid)
    x = extract(read_bundle(str(FHIR / f"{name}.json")), bindings(gid), as_of=as_of(name))
    want = case(case_file)["facts"]
    assert x.facts == {**want, **extra}
    # every fact names the resource and date it came from, and where in the file it is
    for fact, src in x.sources.items():
        assert "/" in src.resource and src.location.line > 0 and src.location.path.startswith("Bundle.entry["), fact
        if fact != "age_years":
            assert src.date is not None, fact
    assert x.sources["age_years"].inferred if "age_years" in x.sources else True
    # nothing the case needs is lost: what is not mapped is the record's noise
    assert {n.kind for n in x.not_mapped} <= {"not_read", "unknown_code", "status"}
    assert check_facts(x.facts, g.dictionary, g.derived).errors == []


@pytest.mark.parametrize("name", sorted(LECTURE))
def test_walking_the_record_gives_the_golden_path(name: str) -> None:
    gid, case_file, _, _ = LECTURE[name]
    g = guideline(gid)
    golden = case(case_file)
    x = extract(read_bundle(str(FHIR / f"{name}.json")), bindings(gid), as_of=as_of(name))
    result = run(g, x.as_case(), flowchart=golden.get("flowchart"))
    assert result.status == golden["expect"]["status"]
    assert result.path == golden["expect"]["path"]
    assert result.actions == golden["expect"]["actions"]


def test_the_record_keeps_provenance_and_noise_apart() -> None:
    x = extract(read_bundle(str(FHIR / "brain-lecture-case-1.json")), bindings(), as_of=as_of("brain-lecture-case-1"))
    kps = x.sources["kps"]
    assert (kps.value, kps.resource, kps.date) == (80, "Observation/lecture-56-kps-0314", "2019-03-14")
    assert kps.superseded == ["Observation/lecture-56-kps-0301 (2019-03-01)"]  # the older score, not a conflict
    assert x.sources["egfr_status"].resource == "Observation/lecture-56-egfr"
    assert x.sources["primary_tumour_type"].element == "Condition.code"
    why = {n.resource: (n.kind, n.reason) for n in x.not_mapped}
    assert why["Observation/lecture-56-kps-err"][0] == "status" and "entered-in-error" in why["Observation/lecture-56-kps-err"][1]
    assert why["Observation/lecture-56-hb"] == ("unknown_code", "no fact is bound to its code (http://loinc.org|718-7)")
    assert "HGNC:427" in why["Observation/lecture-56-alk"][1]
    assert why["Practitioner/lecture-56-neurologist"][0] == "not_read"
    # age is inferred at the evaluation date
    later = extract(read_bundle(str(FHIR / "brain-lecture-case-1.json")), bindings(), as_of=dt.date(2021, 3, 15))
    assert later.facts["age_years"] == 58 and "kps" not in later.facts
    assert any(n.fact == "kps" and n.kind == "stale" for n in later.not_mapped)


def test_refuted_condition_and_not_performed_test() -> None:
    x = extract(
        read_bundle(str(FHIR / "leptomeningeal-lecture-case.json")), bindings("leptomeningeal-metastases-2020"), as_of=as_of("leptomeningeal-lecture-case")
    )
    assert x.facts["brain_metastases_present"] is False
    assert x.sources["brain_metastases_present"].element == "Condition.verificationStatus"
    assert x.facts["csf_cytology_result"] == "not_done"
    assert x.sources["csf_cytology_result"].element == "Observation.dataAbsentReason"
    assert x.facts["egfr_status"] == "activating_mutation"


# --------------------------------------------------------------------------- broken records


def test_not_valid_fhir_is_refused_with_the_path_of_each_bad_element() -> None:
    path = str(FHIR / "broken-not-fhir.json")
    with pytest.raises(LoadError) as info:
        read_bundle(path)
    probs = {p.location.path: p for p in info.value.problems}
    assert set(probs) == {"Bundle.entry[4].resource.valueInteger", "Bundle.entry[6].resource.performedBy", "Bundle.entry[7].resource.status"}
    text = (FHIR / "broken-not-fhir.json").read_text(encoding="utf-8").splitlines()
    p = probs["Bundle.entry[4].resource.valueInteger"]
    assert '"valueInteger": "eighty"' in text[p.location.line - 1]
    assert "Observation/lecture-56-kps-0314" in p.message and "valid integer" in p.message
    assert "unknown element" in probs["Bundle.entry[6].resource.performedBy"].message
    assert "required element is missing" in probs["Bundle.entry[7].resource.status"].message
    rc = main(["fhir-facts", "brain-metastases-2020", path])
    assert rc == 2


def test_not_a_bundle_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="expected a FHIR Bundle"):
        record_from_json({"resourceType": "Patient", "id": "x"}, "p.json")
    f = tmp_path / "bad.json"
    f.write_text('{"resourceType": "Bundle",\n "type": "collection",\n "entry": [}', encoding="utf-8")
    with pytest.raises(LoadError) as info:
        read_bundle(str(f))
    assert str(info.value.problems[0].location) == f"{f}:3:12"
    with pytest.raises(LoadError, match="unknown FHIR resource type 'Observatoin'"):
        record_from_json({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Observatoin"}}]}, "b.json")


def test_a_bad_value_becomes_invalid_facts_with_its_resource_path(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "brain-metastases-2020", "--fhir", str(FHIR / "broken-kps-85.json"), "--as-of", "2019-03-15", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 2 and out["status"] == "invalid_facts" and out["recommendations"] == []
    (err,) = out["errors"]
    assert err["fact"] == "kps" and "steps of 10" in err["message"]
    assert "[from Observation/lecture-56-kps-0314, Bundle.entry[4].resource.valueInteger]" in err["message"]
    assert err["location"].startswith(str(FHIR / "broken-kps-85.json") + ":")


def test_conflicting_values_are_never_resolved_by_picking_one() -> None:
    x = extract(read_bundle(str(FHIR / "broken-conflicts.json")), bindings(), as_of=as_of("brain-lecture-case-1"))
    assert "kps" not in x.facts and "primary_tumour_type" not in x.facts
    conflicts = {n.fact: n.reason for n in x.conflicts}
    assert set(conflicts) == {"kps", "primary_tumour_type"}
    assert "lecture-56-kps-0314 = 80" in conflicts["kps"] and "lecture-56-kps-0314b = 60" in conflicts["kps"]
    result = run(guideline("brain-metastases-2020"), x.as_case())
    assert result.status == "needs_facts" and "primary_tumour_type" in result.needs


def test_stale_and_undated_values_are_not_used() -> None:
    x = extract(read_bundle(str(FHIR / "broken-stale.json")), bindings(), as_of=as_of("brain-lecture-case-1"))
    assert "kps" not in x.facts and "who_ps" not in x.facts
    kinds = {(n.fact, n.kind) for n in x.not_mapped}
    assert ("kps", "stale") in kinds and ("who_ps", "undated") in kinds
    assert any("133 days old" in n.reason for n in x.not_mapped if n.fact == "kps")


def test_two_patients_in_one_record_are_refused() -> None:
    with pytest.raises(LoadError, match="holds 2 patients"):
        extract(read_bundle(str(FHIR / "broken-two-patients.json")), bindings(), as_of=as_of("brain-lecture-case-1"))


def _obs(code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o" + str(abs(hash(json.dumps(value, sort_keys=True))) % 10000),
        "status": "final",
        "code": {"coding": [code]},
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2024-01-10",
        **value,
    }


def _gw(fact: str) -> dict[str, str]:
    return {"system": "urn:guidewalk:fhir:CodeSystem:fact", "code": fact}


def test_units_absent_values_dates_and_icd10() -> None:
    b = bindings()
    day = dt.date(2024, 1, 10)
    res = {
        "p": {"resourceType": "Patient", "id": "p", "birthDate": "1960-01-11"},
        "diameter": _obs(_gw("bm_max_diameter_cm"), valueQuantity={"value": 25, "system": "http://unitsofmeasure.org", "code": "mm"}),
        "volume": _obs(_gw("bm_total_volume_cm3"), valueQuantity={"value": 12.5, "system": "http://unitsofmeasure.org", "code": "mL"}),
        "oedema": _obs(
            _gw("bm_substantial_oedema"),
            dataAbsentReason={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "asked-unknown"}]},
        ),
        "dex": _obs(_gw("dexamethasone_mg_per_day"), valueQuantity={"value": 4, "system": "http://unitsofmeasure.org", "code": "mg/h"}),
        "future": {**_obs(_gw("mass_effect"), valueBoolean=True), "effectiveDateTime": "2024-02-01"},
        "therapies": _obs(
            _gw("prior_systemic_therapies"),
            component=[
                {"code": {"coding": [{"system": "urn:guidewalk:fhir:CodeSystem:fact-value", "code": "trastuzumab"}]}, "valueBoolean": True},
                {"code": {"coding": [{"system": "urn:guidewalk:fhir:CodeSystem:fact-value", "code": "lapatinib"}]}, "valueBoolean": False},
            ],
        ),
        "kps-gw": _obs(_gw("kps"), valueInteger=70),
        "primary": {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "Patient/p"},
            "onsetDateTime": "2020-05-01",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C50.4"}]},
        },
        "other-patient": {**_obs(_gw("mass_effect"), valueBoolean=False), "id": "other", "subject": {"reference": "Patient/q"}},
    }
    x = extract(record_from_resources(res), b, as_of=day)
    assert age_on(dt.date(1960, 1, 11), day) == 63 and x.facts["age_years"] == 63
    assert x.facts["bm_max_diameter_cm"] == 2.5 and x.facts["bm_total_volume_cm3"] == 12.5
    assert x.facts["bm_substantial_oedema"] is None  # asked, not known
    assert x.facts["prior_systemic_therapies"] == ["trastuzumab"]
    assert x.facts["primary_tumour_type"] == "breast"
    kinds = {(n.fact, n.kind) for n in x.not_mapped}
    assert ("dexamethasone_mg_per_day", "unit") in kinds
    assert ("mass_effect", "future") in kinds and "mass_effect" not in x.facts
    assert any(n.kind == "subject" and n.resource == "Observation/other" for n in x.not_mapped)
    assert ("kps", "unknown_code") in kinds and "kps" not in x.facts  # kps is read from its LOINC code only
    assert any("has a standard binding (loinc|89243-0)" in n.reason for n in x.not_mapped)
    g = guideline("brain-metastases-2020")
    checked = check_facts(x.as_case(), g.dictionary, g.derived)
    assert checked.errors == [] and "bm_substantial_oedema" in checked.unknown
    assert parse_fhir_date("2019-03") == dt.date(2019, 3, 1) and parse_fhir_date("2019-03-01T10:00:00+01:00") == dt.date(2019, 3, 1)


# --------------------------------------------------------------------------- CLI


def test_fhir_facts_command(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["fhir-facts", "brain-metastases-2020", str(FHIR / "brain-lecture-case-2.json"), "--as-of", "2023-01-20", "--format", "json"])
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert rc == 0 and out["patient"] == "lecture-44" and out["as_of"] == "2023-01-20"
    assert out["facts"]["breast_her2_positive"] is True and out["sources"]["breast_her2_positive"]["from"] == "Observation/lecture-44-her2"
    assert out["sources"]["breast_her2_positive"]["date"] == "2017-11-10"
    assert out["not_asked"] == ["brain_metastases_present"]
    assert {n["resource"] for n in out["not_mapped"]} >= {"Condition/lecture-44-liver", "Observation/lecture-44-hb"}
    assert "21 facts" in cap.err
    rc = main(["fhir-facts", "brain-metastases-2020", str(FHIR / "brain-lecture-case-2.json"), "--as-of", "2023-01-20"])
    data = yaml.safe_load(capsys.readouterr().out)
    assert rc == 0 and data["facts"]["kps"] == 80


def test_case_file_overrides_the_record_and_is_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    over = tmp_path / "override.yaml"
    over.write_text("kps: 60\n", encoding="utf-8")
    rc = main(
        ["run", "brain-metastases-2020", "--fhir", str(FHIR / "brain-lecture-case-1.json"), "--facts", str(over), "--as-of", "2019-03-15", "--format", "json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["facts"]["kps"] == 60
    src = out["fhir"]["sources"]["kps"]
    assert src["origin"] == "case file" and src["overrides"] == {"value": 80, "from": "Observation/lecture-56-kps-0314"}
    rc = main(["run", "brain-metastases-2020", "--fhir", str(FHIR / "brain-lecture-case-1.json"), "--facts", str(over), "--as-of", "2019-03-15"])
    text = capsys.readouterr().out
    assert "The case file overrides: kps (80 from Observation/lecture-56-kps-0314 -> 60)" in text


def test_missing_extra_says_how_to_install() -> None:
    with pytest.raises(ExtraMissing, match=r"pip install 'guidewalk\[fhir\]'"):
        require_extra("no_such_module_for_guidewalk", "reading FHIR resources")
    code = (
        "import sys; sys.modules['fhir.resources'] = None\n"
        "from guidewalk.cli import main\n"
        f"sys.exit(main(['fhir-facts', 'brain-metastases-2020', {str(FHIR / 'brain-lecture-case-1.json')!r}]))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2 and "pip install 'guidewalk[fhir]'" in p.stderr and "Traceback" not in p.stderr


# --------------------------------------------------------------------------- FHIR out


def _validate(doc: dict[str, Any]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(doc)


@pytest.mark.parametrize("record,status", [("brain-lecture-case-1", "success"), ("broken-stale", "data-required"), ("broken-kps-85", "failure")])
def test_guidance_response_validates(record: str, status: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1552608000")
    main(["run", "brain-metastases-2020", "--fhir", str(FHIR / f"{record}.json"), "--as-of", "2019-03-15", "--format", "fhir"])
    doc = json.loads(capsys.readouterr().out)
    _validate(doc)
    by_type = {e["resource"]["resourceType"]: e for e in doc["entry"]}
    gr, rg, prov = (by_type[t]["resource"] for t in ("GuidanceResponse", "RequestGroup", "Provenance"))
    g = guideline("brain-metastases-2020")
    assert gr["status"] == status and gr["moduleUri"].endswith(":brain-metastases-2020") and gr["subject"] == {"reference": "Patient/lecture-56"}
    assert gr["result"]["reference"] == by_type["RequestGroup"]["fullUrl"]
    assert gr["occurrenceDateTime"] == "2019-03-15T00:00:00+00:00"
    if status == "success":
        codes = [c["code"] for a in rg["action"] for cc in a.get("code", []) for c in cc["coding"]]
        assert "srs" in codes and all(len(a["title"]) < LIMIT for a in rg["action"])
        assert rg["intent"] == "proposal" and rg["status"] == "draft"
    if status == "data-required":
        (req,) = gr["dataRequirement"]
        assert req["id"] == "kps" and req["codeFilter"][0]["code"][0]["code"] == "89243-0" and req["dateFilter"][0]["valueDuration"]["value"] == 30
    if status == "failure":
        oo = by_type["OperationOutcome"]["resource"]
        assert oo["issue"][0]["expression"] == ["Bundle.entry[4].resource.valueInteger"]
        assert gr["evaluationMessage"][0]["reference"] == by_type["OperationOutcome"]["fullUrl"]
    targets = {t["reference"] for t in prov["target"]}
    assert targets == {by_type["GuidanceResponse"]["fullUrl"], by_type["RequestGroup"]["fullUrl"]}
    gl = prov["entity"][0]
    assert gl["what"]["identifier"]["value"] == g.id
    assert {e["valueString"] for e in gl["extension"]} == {g.version, g.sha256}
    device = by_type["Device"]["resource"]
    from guidewalk.engine import __version__

    assert device["version"][0]["value"] == __version__ and prov["agent"][0]["who"]["reference"] == by_type["Device"]["fullUrl"]
    inputs = {e["what"].get("reference") for e in prov["entity"]}
    assert "Patient/lecture-56" in inputs and "Condition/lecture-56-nsclc" in inputs
    assert ("Observation/lecture-56-kps-0314" in inputs) == (status != "data-required")


def test_format_fhir_from_a_case_file_alone(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "brain-metastases-2020", "--facts", str(ROOT / "examples" / "cases" / "lecture-case-1.yaml"), "--format", "fhir"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    _validate(doc)
    prov = next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Provenance")
    assert any("case file" in e["what"].get("display", "") for e in prov["entity"]) is False  # no FHIR record: no per-fact sources
    g = guideline("brain-metastases-2020")
    out = guidance_bundle(g, run(g, {}), bindings())
    gr = out["entry"][0]["resource"]
    assert gr["status"] == "data-required" and gr["dataRequirement"][0]["id"] == "suspected-brain-metastasis"
    _validate(out)


# --------------------------------------------------------------------------- summaries and prefetch


def test_summaries_are_short_and_cut_at_a_word() -> None:
    long = "The guideline recommends stereotactic radiosurgery/radiotherapy, with a planning MRI with double-dose contrast preferably at most 7 and at the latest 14 days before irradiation."
    s = shorten(long)
    assert len(s) < LIMIT and s.endswith("…") and long.startswith(s[:-1]) and long[len(s) - 1] == " "
    assert shorten("short text") == "short text"

    class WithSummary:
        summary = "SRS for 1-4 metastases"
        text = long

    assert summary_of(WithSummary()) == "SRS for 1-4 metastases"
    assert summary_of(object(), long) == s
    g = guideline("brain-metastases-2020")
    texts = [n.text for n in g.nodes.values() if n.kind != "decision" and n.text] + [r.text for r in g.rules if r.kind == "alert" and r.text]
    assert all(len(summary_of(None, t)) < LIMIT for t in texts)


def test_prefetch_templates_ask_for_what_the_facts_need() -> None:
    for gid in ("brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"):
        g = guideline(gid)
        t = prefetch_templates(g, bindings(gid))
        assert all(len(u) <= 2000 for u in t.values()) and all("{{context.patientId}}" in u for u in t.values())
        assert ("patient" in t) == ("age_years" in g.asks)
        joined = " ".join(t.values())
        for f in g.asks:
            assert f"urn:guidewalk:fhir:CodeSystem:fact|{f}" in joined or bindings(gid).by_fact[f].standard, f
        assert "http://loinc.org|89243-0" in t["observations"]
    brain = prefetch_templates(guideline("brain-metastases-2020"), bindings())
    assert "http://hl7.org/fhir/sid/icd-10|C50.9" in brain["conditions"] + brain.get("conditions-2", "")
    assert "http://loinc.org|85337-4" in brain["observations"]


def test_the_doc_table_is_current() -> None:
    from guidewalk.engine.fhir.doc import render_table

    doc = (ROOT / "docs" / "fhir.md").read_text(encoding="utf-8")
    start, end = "<!-- binding-table:start -->", "<!-- binding-table:end -->"
    assert start in doc and end in doc
    current = doc.split(start, 1)[1].split(end, 1)[0].strip()
    assert current == render_table(bindings()).strip(), "docs/fhir.md is stale: run `python -m engine.fhir.doc --write`"
