"""Shared by the FHIR and CDS Hooks tests: the lecture records, and prefetch built from them the
way an EHR answers the prefetch templates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

TESTS = Path(__file__).resolve().parent
FHIR = TESTS / "fhir"

# bundle -> (guideline, case file, evaluation date, facts the record adds that the case file leaves out)
LECTURE = {
    "brain-lecture-case-1": (
        "brain-metastases-2020",
        "tests/cases/brain-metastases-2020/s01a_lecture_case1_nsclc_4_bm_2019.yaml",
        "2019-03-15",
        {"brain_metastases_present": True},
    ),
    "brain-lecture-case-2": (
        "brain-metastases-2020",
        "tests/cases/brain-metastases-2020/s02a_lecture_case2_her2_breast_new_bm_2023.yaml",
        "2023-01-20",
        {"brain_metastases_present": True},
    ),
    "leptomeningeal-lecture-case": (
        "leptomeningeal-metastases-2020",
        "tests/cases/leptomeningeal-metastases-2020/s01_lecture_egfr_nsclc.yaml",
        "2020-02-10",
        {},
    ),
    "spinal-lecture-case-diagnostics": ("spinal-metastases", "tests/cases/spinal-metastases/lecture-68y-sins14-diagnostics.yaml", "2024-05-13", {}),
    "spinal-lecture-case-treatment": ("spinal-metastases", "tests/cases/spinal-metastases/lecture-68y-sins14-treatment.yaml", "2024-05-13", {}),
}


def bundle(name: str) -> dict[str, Any]:
    return json.loads((FHIR / f"{name}.json").read_text(encoding="utf-8"))


def case(path: str) -> dict[str, Any]:
    return yaml.safe_load((TESTS.parent / path).read_text(encoding="utf-8"))


def as_of(name: str) -> dt.date:
    return dt.date.fromisoformat(LECTURE[name][2])


def _matches(resource: dict[str, Any], query: str) -> bool:
    """Does a resource answer a prefetch search (patient + code tokens)?"""
    path, _, qs = query.partition("?")
    if resource.get("resourceType") != path:
        return False
    params = parse_qs(qs)
    codes = [c for v in params.get("code", []) for c in v.split(",")]
    if codes:
        have = {f"{c.get('system')}|{c.get('code')}" for c in (resource.get("code") or {}).get("coding", [])}
        if not have & set(codes):
            return False
    return True


def answer(resources: list[dict[str, Any]], template: str, patient_id: str) -> Any:
    """What a FHIR server holding `resources` returns for a filled prefetch template."""
    q = template.replace("{{context.patientId}}", patient_id)
    if "?" not in q:
        rtype, _, rid = q.partition("/")
        return next((r for r in resources if r["resourceType"] == rtype and r.get("id") == rid), None)
    hits = [r for r in resources if _matches(r, q)]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(hits), "entry": [{"resource": r} for r in hits]}


def prefetch_for(record: dict[str, Any], templates: dict[str, str], patient_id: str) -> dict[str, Any]:
    resources = [e["resource"] for e in record["entry"]]
    return {k: answer(resources, t, patient_id) for k, t in templates.items()}


def patient_id(record: dict[str, Any]) -> str:
    return next(e["resource"]["id"] for e in record["entry"] if e["resource"]["resourceType"] == "Patient")


def path_of(url: str) -> str:
    return urlsplit(url).path
