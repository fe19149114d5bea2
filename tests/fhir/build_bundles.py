"""Writes the FHIR R4 test Bundles of tests/fhir/ (run: python tests/fhir/build_bundles.py).

Each lecture case history is written as a patient record the way an EHR would hold it:
mCODE resources with standard codes (Patient, PrimaryCancerCondition, SecondaryCancerCondition,
Karnofsky/ECOG, genomic variant and tumour marker Observations), plus one Observation per fact
that has no standard code, coded with the guidewalk code system — and the noise of a real
record: an older Karnofsky score, a result entered in error, a haemoglobin, a variant for a
gene no fact reads, a practitioner. The standard resources are written out by hand below; only
the guidewalk-coded Observations are generated from the case file's facts, by their types.
The tests then check that the extractor gives back exactly the case file's facts.

The broken Bundles (not FHIR, conflicting, stale, out of range, two patients) are derived
from the first case.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from guidewalk.engine.load import load_guideline  # noqa: E402  (fact types and units only)

LOINC, SCT, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10"
HGNC = "http://www.genenames.org/geneId"
UCUM = "http://unitsofmeasure.org"
GW_FACT, GW_VALUE = "urn:guidewalk:fhir:CodeSystem:fact", "urn:guidewalk:fhir:CodeSystem:fact-value"
DAR = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM_OF = {
    "%": "%",
    "years": "a",
    "days": "d",
    "weeks": "wk",
    "months": "mo",
    "cm": "cm",
    "cm³": "cm3",
    "mL": "mL",
    "mg": "mg",
    "mg/day": "mg/d",
    "cells/µL": "/uL",
    "lesions": "{lesions}",
    "seizures": "{seizures}",
    "punctures": "{punctures}",
    "options": "{options}",
    "key muscle functions": "{key muscle functions}",
}
# facts written below as standard (mCODE) resources; every other case fact becomes a guidewalk code
STANDARD = {
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

SAME_DAY = {
    "days_since_brain_imaging",
    "days_since_resection",
    "months_since_last_seizure",
    "weeks_since_treatment_start",
    "it_therapy_weeks",
    "radicular_deficit_onset_days",
    "dexamethasone_weeks",
    "dexamethasone_months",
}

DICT = load_guideline("brain-metastases-2020").dictionary


class Record:
    def __init__(self, pid: str):
        self.pid = pid
        self.entries: list[dict[str, Any]] = []
        self.n = 0

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.entries.append({"fullUrl": f"urn:uuid:{_uuid(self.pid, resource['resourceType'], resource['id'])}", "resource": resource})
        return resource

    def subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.pid}"}

    def bundle(self) -> dict[str, Any]:
        return {"resourceType": "Bundle", "id": f"record-{self.pid}", "type": "collection", "entry": self.entries}

    # -------------------------------------------------------------- standard resources
    def patient(self, birth: str, gender: str) -> None:
        self.add(
            {
                "resourceType": "Patient",
                "id": self.pid,
                "meta": {"profile": [MCODE + "mcode-cancer-patient"]},
                "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": f"test-{self.pid}"}],
                "gender": gender,
                "birthDate": birth,
            }
        )

    def primary(
        self,
        rid: str,
        system: str,
        code: str,
        display: str,
        onset: str,
        *,
        histology: tuple[str, str] | None = None,
        site: tuple[str, str] | None = None,
        clinical: str = "active",
    ) -> None:
        r: dict[str, Any] = {
            "resourceType": "Condition",
            "id": rid,
            "meta": {"profile": [MCODE + "mcode-primary-cancer-condition"]},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "subject": self.subject(),
            "onsetDateTime": onset,
        }
        if histology:
            r["extension"] = [
                {
                    "url": MCODE + "mcode-histology-morphology-behavior",
                    "valueCodeableConcept": {"coding": [{"system": SCT, "code": histology[0], "display": histology[1]}]},
                }
            ]
        if site:
            r["bodySite"] = [{"coding": [{"system": SCT, "code": site[0], "display": site[1]}]}]
        self.add(r)

    def secondary(self, rid: str, system: str, code: str, display: str, onset: str | None, *, verification: str = "confirmed") -> None:
        r: dict[str, Any] = {
            "resourceType": "Condition",
            "id": rid,
            "meta": {"profile": [MCODE + "mcode-secondary-cancer-condition"]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "subject": self.subject(),
        }
        if verification != "refuted":
            r["clinicalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
        if onset:
            r["onsetDateTime"] = onset
        else:
            r["recordedDate"] = "2020-02-03"
        self.add(r)

    def performance(self, rid: str, kind: str, value: int, date: str, status: str = "final") -> None:
        code, display, profile = {
            "kps": ("89243-0", "Karnofsky Performance Status score", "mcode-karnofsky-performance-status"),
            "ecog": ("89247-1", "ECOG Performance Status score", "mcode-ecog-performance-status"),
        }[kind]
        self.add(
            {
                "resourceType": "Observation",
                "id": rid,
                "meta": {"profile": [MCODE + profile]},
                "status": status,
                "category": [{"coding": [{"system": OBS_CAT, "code": "survey"}]}],
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "subject": self.subject(),
                "effectiveDateTime": date,
                "valueInteger": value,
            }
        )

    def variant(self, rid: str, hgnc: str, gene: str, present: bool, date: str, *, note: str | None = None) -> None:
        r: dict[str, Any] = {
            "resourceType": "Observation",
            "id": rid,
            "meta": {"profile": [MCODE + "mcode-genomic-variant"]},
            "status": "final",
            "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": "69548-6", "display": "Genetic variant assessment"}]},
            "subject": self.subject(),
            "effectiveDateTime": date,
            "valueCodeableConcept": {
                "coding": [{"system": LOINC, "code": "LA9633-4" if present else "LA9634-2", "display": "Present" if present else "Absent"}]
            },
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": "48018-6", "display": "Gene studied [ID]"}]},
                    "valueCodeableConcept": {"coding": [{"system": HGNC, "code": hgnc, "display": gene}]},
                }
            ],
        }
        if note:
            r["note"] = [{"text": note}]
        self.add(r)

    def marker(self, rid: str, code: str, display: str, positive: bool, date: str) -> None:
        self.add(
            {
                "resourceType": "Observation",
                "id": rid,
                "meta": {"profile": [MCODE + "mcode-tumor-marker-test"]},
                "status": "final",
                "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "subject": self.subject(),
                "effectiveDateTime": date,
                "valueCodeableConcept": {
                    "coding": [{"system": LOINC, "code": "LA6576-8" if positive else "LA6577-6", "display": "Positive" if positive else "Negative"}]
                },
            }
        )

    # -------------------------------------------------------------- noise of a real record
    def noise(self, date: str) -> None:
        self.add({"resourceType": "Practitioner", "id": f"{self.pid}-neurologist", "name": [{"family": "Neuroloog", "prefix": ["dr."]}]})
        self.add(
            {
                "resourceType": "Observation",
                "id": f"{self.pid}-hb",
                "status": "final",
                "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
                "code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hemoglobin [Mass/volume] in Blood"}]},
                "subject": self.subject(),
                "effectiveDateTime": date,
                "valueQuantity": {"value": 8.1, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
            }
        )

    # -------------------------------------------------------------- facts with no standard code
    def guidewalk(self, fact: str, value: Any, date: str) -> None:
        spec = DICT[fact]
        r: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{self.pid}-{fact.replace('_', '-')}",
            "status": "final",
            "code": {"coding": [{"system": GW_FACT, "code": fact, "display": spec.question}], "text": spec.question},
            "subject": self.subject(),
            "effectiveDateTime": date,
        }
        if value is None:
            r["dataAbsentReason"] = {"coding": [{"system": DAR, "code": "asked-unknown"}]}
        elif spec.type == "enum" and value in ("not_done", "not_tested", "not_assessed"):
            r["dataAbsentReason"] = {"coding": [{"system": DAR, "code": "not-performed", "display": "Not Performed"}]}
        elif spec.type == "boolean":
            r["valueBoolean"] = bool(value)
        elif spec.type in ("integer", "number") and spec.unit:
            r["valueQuantity"] = {"value": value, "unit": spec.unit, "system": UCUM, "code": UCUM_OF[spec.unit]}
        elif spec.type == "integer":
            r["valueInteger"] = value
        elif spec.type == "number":
            r["valueQuantity"] = {"value": value}
        elif spec.type == "enum":
            r["valueCodeableConcept"] = {"coding": [{"system": GW_VALUE, "code": str(value)}], "text": str(value)}
        elif spec.type == "set":
            r["component"] = [{"code": {"coding": [{"system": GW_VALUE, "code": v}]}, "valueBoolean": True} for v in value]
        elif spec.type == "date":
            r["valueDateTime"] = str(value)
        else:
            r["valueString"] = str(value)
        self.add(r)

    def rest(self, facts: dict[str, Any], date: str, today: str) -> None:
        """Every fact without a standard code, recorded on `date`; a "time since ..." value on
        the day of the decision (`today`), the only day it holds."""
        for fact, value in facts.items():
            if fact not in STANDARD:
                self.guidewalk(fact, value, today if fact in SAME_DAY else date)


def _uuid(*parts: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "guidewalk-test:" + "/".join(parts)))


def case_facts(path: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    return dict(data.get("facts", data))


def brain_case_1() -> dict[str, Any]:
    """Lecture case 1 (March 2019): 56-year-old man, NSCLC stage IVB, four brain metastases."""
    f = case_facts("tests/cases/brain-metastases-2020/s01a_lecture_case1_nsclc_4_bm_2019.yaml")
    r = Record("lecture-56")
    r.patient("1962-08-14", "male")  # 56 on 2019-03-15
    r.primary("lecture-56-nsclc", SCT, "254637007", "Non-small cell lung cancer (disorder)", "2019-03-04", site=("39607008", "Lung structure (body structure)"))
    r.secondary("lecture-56-bm", SCT, "94225005", "Secondary malignant neoplasm of brain (disorder)", "2019-03-04")
    r.performance("lecture-56-kps-0301", "kps", 90, "2019-03-01")  # superseded by the later score
    r.performance("lecture-56-kps-0314", "kps", f["kps"], "2019-03-14")
    r.performance("lecture-56-kps-err", "kps", 40, "2019-03-14", status="entered-in-error")
    r.performance("lecture-56-ecog", "ecog", f["who_ps"], "2019-03-14")
    r.variant("lecture-56-egfr", "HGNC:3236", "EGFR", False, "2019-03-11")
    r.variant("lecture-56-alk", "HGNC:427", "ALK", False, "2019-03-11", note="ALK rearrangement not detected")
    r.noise("2019-03-14")
    r.rest(f, "2019-03-14", "2019-03-15")
    return r.bundle()


def brain_case_2() -> dict[str, Any]:
    """Lecture case 2 (January 2023): 44-year-old woman, HER2+ ER+ PR+ breast cancer, new brain metastases."""
    f = case_facts("tests/cases/brain-metastases-2020/s02a_lecture_case2_her2_breast_new_bm_2023.yaml")
    r = Record("lecture-44")
    r.patient("1978-06-02", "female")  # 44 on 2023-01-20
    r.primary(
        "lecture-44-breast",
        SCT,
        "254837009",
        "Malignant neoplasm of breast (disorder)",
        "2017-11-06",
        histology=("82711006", "Infiltrating duct carcinoma (morphologic abnormality)"),
    )
    r.marker("lecture-44-er", "85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain", True, "2017-11-10")
    r.marker("lecture-44-pr", "85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain", True, "2017-11-10")
    r.marker("lecture-44-her2", "48676-1", "HER2 [Interpretation] in Tissue", True, "2017-11-10")
    r.secondary("lecture-44-liver", ICD10, "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct", "2021-08-16")
    r.secondary("lecture-44-bm", SCT, "94225005", "Secondary malignant neoplasm of brain (disorder)", "2023-01-12")
    r.performance("lecture-44-kps", "kps", f["kps"], "2023-01-19")
    r.noise("2023-01-19")
    r.rest(f, "2023-01-19", "2023-01-20")
    return r.bundle()


def lepto_case() -> dict[str, Any]:
    """Lecture case (January 2020): 68-year-old, facial palsy and radicular pain; LM of an EGFR-mutant NSCLC."""
    f = case_facts("tests/cases/leptomeningeal-metastases-2020/s01_lecture_egfr_nsclc.yaml")
    r = Record("lecture-68-lm")
    r.patient("1951-10-02", "male")  # 68 on 2020-02-10
    r.primary(
        "lecture-68-lm-nsclc",
        SCT,
        "254637007",
        "Non-small cell lung cancer (disorder)",
        "2020-01-28",
        histology=("1187332001", "Adenocarcinoma (morphologic abnormality)"),
        site=("39607008", "Lung structure (body structure)"),
    )
    r.secondary("lecture-68-lm-bm", SCT, "94225005", "Secondary malignant neoplasm of brain (disorder)", None, verification="refuted")
    r.variant("lecture-68-lm-egfr", "HGNC:3236", "EGFR", True, "2020-02-06", note="EGFR exon 19 in-frame deletion (NGS)")
    r.noise("2020-02-07")
    r.rest(f, "2020-02-07", "2020-02-10")
    return r.bundle()


def spinal_case(which: str) -> dict[str, Any]:
    """Lecture case (68 years, SINS 14 at Th4): at diagnosis (unknown primary) or at the treatment decision (NSCLC)."""
    path = {
        "diagnostics": "tests/cases/spinal-metastases/lecture-68y-sins14-diagnostics.yaml",
        "treatment": "tests/cases/spinal-metastases/lecture-68y-sins14-treatment.yaml",
    }[which]
    f = case_facts(path)
    r = Record(f"lecture-68-spine-{which[:2]}")
    r.patient("1955-09-30", "male")  # 68 on 2024-05-13
    if which == "treatment":
        r.primary(
            f"{r.pid}-nsclc",
            SCT,
            "254637007",
            "Non-small cell lung cancer (disorder)",
            "2024-05-10",
            histology=("1187332001", "Adenocarcinoma (morphologic abnormality)"),
        )
        r.performance(f"{r.pid}-kps", "kps", f["kps"], "2024-05-12")
    r.secondary(f"{r.pid}-bone", SCT, "94222008", "Secondary malignant neoplasm of bone (disorder)", "2024-05-08")
    r.noise("2024-05-12")
    r.rest(f, "2024-05-12", "2024-05-13")
    return r.bundle()


def broken(good: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def find(b: dict[str, Any], rid: str) -> dict[str, Any]:
        return next(e["resource"] for e in b["entry"] if e["resource"]["id"] == rid)

    b = copy.deepcopy(good)  # not valid FHIR R4: a text where an integer belongs, an unknown element, a missing status
    kps = find(b, "lecture-56-kps-0314")
    kps["valueInteger"] = "eighty"
    find(b, "lecture-56-ecog")["performedBy"] = {"reference": "Practitioner/x"}
    del find(b, "lecture-56-egfr")["status"]
    out["broken-not-fhir"] = b

    b = copy.deepcopy(good)  # valid FHIR, but a value the dictionary refuses (KPS is in steps of 10)
    find(b, "lecture-56-kps-0314")["valueInteger"] = 85
    out["broken-kps-85"] = b

    b = copy.deepcopy(good)  # two Karnofsky scores on the same day that disagree, and a second primary tumour
    r = copy.deepcopy(find(b, "lecture-56-kps-0314"))
    r["id"], r["valueInteger"] = "lecture-56-kps-0314b", 60
    b["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": r})
    c = copy.deepcopy(find(b, "lecture-56-nsclc"))
    c["id"] = "lecture-56-breast"
    c["code"] = {"coding": [{"system": SCT, "code": "254837009", "display": "Malignant neoplasm of breast (disorder)"}]}
    b["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002", "resource": c})
    out["broken-conflicts"] = b

    b = copy.deepcopy(good)  # the Karnofsky score is months old, the ECOG score has no date
    for e in b["entry"]:
        if e["resource"]["id"].startswith("lecture-56-kps"):
            e["resource"]["effectiveDateTime"] = "2018-11-02"
    del find(b, "lecture-56-ecog")["effectiveDateTime"]
    out["broken-stale"] = b

    b = copy.deepcopy(good)  # a second patient in the same Bundle
    b["entry"].append(
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000003", "resource": {"resourceType": "Patient", "id": "someone-else", "birthDate": "1970-01-01"}}
    )
    out["broken-two-patients"] = b
    return out


def main() -> None:
    bundles = {
        "brain-lecture-case-1": brain_case_1(),
        "brain-lecture-case-2": brain_case_2(),
        "leptomeningeal-lecture-case": lepto_case(),
        "spinal-lecture-case-diagnostics": spinal_case("diagnostics"),
        "spinal-lecture-case-treatment": spinal_case("treatment"),
    }
    bundles.update(broken(bundles["brain-lecture-case-1"]))
    for name, b in bundles.items():
        (HERE / f"{name}.json").write_text(json.dumps(b, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote tests/fhir/{name}.json ({len(b['entry'])} resources)")


if __name__ == "__main__":
    main()
