"""A walk's result as FHIR R4: GuidanceResponse + RequestGroup + Provenance, in one Bundle.

* ``GuidanceResponse`` — the evaluation: ``status`` ``success`` (complete), ``data-required``
  (needs facts; one ``dataRequirement`` per needed fact, saying where the binding table looks
  for it and how recent it must be) or ``failure`` (invalid facts; an ``OperationOutcome`` lists
  each bad value with its FHIR path); alerts are its ``note``\\ s.
* ``RequestGroup`` (intent ``proposal``, status ``draft``) — one action per recommendation on
  the path, coded with the guidewalk action codes, with the guideline module as citation and,
  where the source gives it, the strength (extension ``cqf-strengthOfRecommendation``).
* ``Provenance`` — targets both; the agent is the guidewalk engine (a ``Device`` with its version
  and rules backend); the entities are the guideline (id, version, sha256 of its sources), the
  FHIR binding table (sha256) and every input resource.

Plain dictionaries: no FHIR library is needed to write them (the tests validate them with
``fhir.resources``). Ids are derived from the content, so the same input gives the same ids;
only the time stamps (``SOURCE_DATE_EPOCH`` fixes them) differ between runs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from typing import Any

from .. import __version__
from ..model import Guideline
from ..trace import Result
from .bindings import GW_ACTION, GW_GUIDELINE, Binding, Bindings
from .extract import Extraction
from .summary import summary_of

__all__ = ["guidance_bundle", "data_requirement", "made_now", "strength_extension"]

PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
STRENGTH_EXTENSION = "http://hl7.org/fhir/StructureDefinition/cqf-strengthOfRecommendation"
STRENGTH_SYSTEM = "http://terminology.hl7.org/CodeSystem/recommendation-strength"
STRENGTH_CODES = {"directive": ("strong", "Strong"), "conditional": ("weak", "Weak")}


def made_now() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch else _dt.datetime.now(_dt.UTC)
    return now.replace(microsecond=0).isoformat()


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "guidewalk:" + "/".join(parts)))


def strength_extension(strength: str) -> dict[str, Any]:
    """A recommendation's strength on its RequestGroup action, as the R4 core extension
    cqf-strengthOfRecommendation (allowed on any element; a CodeableConcept): coded in the HL7
    recommendation-strength system (directive -> strong, conditional -> weak, as GRADE words
    the two Dutch verb forms) with the guideline's own word kept as the text. Not
    ``action.priority``: that is urgency (routine | urgent | asap | stat), not strength."""
    code, display = STRENGTH_CODES[strength]
    words = {"directive": "directive: the guideline recommends it", "conditional": "conditional: the guideline suggests considering it"}[strength]
    return {
        "url": STRENGTH_EXTENSION,
        "valueCodeableConcept": {"coding": [{"system": STRENGTH_SYSTEM, "code": code, "display": display}], "text": words},
    }


def data_requirement(b: Binding, bindings: Bindings) -> dict[str, Any]:
    """Where the binding table looks for one fact, as a FHIR DataRequirement (its element id is
    the fact name)."""
    out: dict[str, Any] = {"id": b.fact.replace("_", "-"), "type": b.resource}
    if b.profile:
        out["profile"] = [b.profile]
    if b.resource == "Patient":
        out["mustSupport"] = [b.element]
        return out
    codes = [c.to_fhir() for c in b.codes] or [m.coding.to_fhir() for m in b.map]
    out["codeFilter"] = [{"path": "code", "code": codes}]
    if b.resource == "Observation" and b.max_age_days is not None:
        out["dateFilter"] = [
            {"path": "effective", "valueDuration": {"value": max(b.max_age_days, 1), "unit": "days", "system": bindings.system("ucum"), "code": "d"}}
        ]
    return out


def guidance_bundle(
    g: Guideline,
    result: Result,
    bindings: Bindings,
    *,
    extraction: Extraction | None = None,
    summaries: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Bundle (type collection) holding GuidanceResponse, RequestGroup, Provenance, the
    engine Device and, for invalid facts, an OperationOutcome. `summaries` (node id -> text)
    override the action titles (default: the node's summary, else its shortened text)."""
    res_json = result.to_json()
    digest = hashlib.sha256(json.dumps(res_json, sort_keys=True, default=str).encode()).hexdigest()
    ids = {k: _uuid(g.sha256, digest, k) for k in ("gr", "rg", "prov", "dev", "oo")}
    url = {k: f"urn:uuid:{v}" for k, v in ids.items()}
    now = made_now()
    module = f"{bindings.system(GW_GUIDELINE)}:{g.id}"
    subject = {"reference": f"Patient/{extraction.patient}"} if extraction and extraction.patient else None
    summaries = summaries or {}
    actions_sys = bindings.system(GW_ACTION)

    device = {
        "resourceType": "Device",
        "id": ids["dev"],
        "deviceName": [{"name": "guidewalk", "type": "user-friendly-name"}],
        "version": [{"value": __version__}, {"type": {"text": "rules backend"}, "value": str(result.engine.get("rules_backend"))}],
    }
    rg_actions = []
    for r in result.recommendations:
        a: dict[str, Any] = {
            "id": r.node.replace("_", "-"),
            "title": summaries.get(r.node) or summary_of(g.nodes.get(r.node), r.text),
            "description": r.text,
            "code": [{"coding": [{"system": actions_sys, "code": c, "display": g.actions.get(c) or c} for c in r.actions]}] if r.actions else [],
        }
        docs = []
        if r.source:
            docs.append({"type": "citation", "label": r.source.module or r.source.url, "url": r.source.url})
        if r.note:
            docs.append({"type": "documentation", "display": r.note[:1000]})
        if docs:
            a["documentation"] = docs
        if not a["code"]:
            del a["code"]
        if r.strength in STRENGTH_CODES:
            a["extension"] = [strength_extension(r.strength)]
        rg_actions.append(a)
    rg: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "id": ids["rg"],
        "status": "draft",
        "intent": "proposal",
        "authoredOn": now,
        "author": {"reference": url["dev"]},
        "note": [{"text": f"What {g.title} (version {g.version}) recommends for these facts; the clinician and the multidisciplinary meeting decide."}],
    }
    if subject:
        rg["subject"] = subject
    if rg_actions:
        rg["action"] = rg_actions

    status = {"complete": "success", "needs_facts": "data-required", "invalid_facts": "failure"}[result.status]
    gr: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": ids["gr"],
        "requestIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_uuid(digest)}"},
        "moduleUri": module,
        "status": status,
        "occurrenceDateTime": now,
        "performer": {"reference": url["dev"]},
        "result": {"reference": url["rg"]},
    }
    if subject:
        gr["subject"] = subject
    notes = [
        {"text": f"[{al.severity}]{f' [{al.strength}]' if al.strength else ''} {al.text}" + (f" ({al.source.short()})" if al.source else "")}
        for al in result.alerts
    ]
    if notes:
        gr["note"] = notes
    entries: list[dict[str, Any]] = []
    if result.status == "needs_facts":
        gr["dataRequirement"] = [data_requirement(bindings.by_fact[n], bindings) for n in result.needs if n in bindings.by_fact]
    if result.status == "invalid_facts":
        issues = []
        for e in result.errors:
            issue: dict[str, Any] = {"severity": "error", "code": "invalid", "diagnostics": f"{e.fact}: {e.message}"}
            if e.location and e.location.path and (e.location.path.startswith("Bundle") or e.location.path.startswith("prefetch")):
                issue["expression"] = [e.location.path]
            issues.append(issue)
        entries.append({"fullUrl": url["oo"], "resource": {"resourceType": "OperationOutcome", "id": ids["oo"], "issue": issues}})
        gr["evaluationMessage"] = [{"reference": url["oo"]}]

    ext_base = bindings.system(GW_GUIDELINE)
    entities: list[dict[str, Any]] = [
        {
            "role": "source",
            "what": {"identifier": {"system": ext_base, "value": g.id}, "display": f"{g.title} version {g.version} (sha256 {g.sha256})"},
            "extension": [{"url": f"{ext_base}:version", "valueString": g.version}, {"url": f"{ext_base}:sha256", "valueString": g.sha256}],
        },
        {
            "role": "source",
            "what": {"display": f"guidewalk FHIR binding table {bindings.file} (sha256 {bindings.sha256})"},
            "extension": [{"url": f"{ext_base}:sha256", "valueString": bindings.sha256}],
        },
    ]
    if extraction is not None:
        seen: set[str] = set()
        for s in extraction.sources.values():
            if s.origin == "fhir" and s.resource not in seen and "/" in s.resource:
                seen.add(s.resource)
                entities.append({"role": "source", "what": {"reference": s.resource}})
            elif s.origin != "fhir" and s.resource not in seen:
                seen.add(s.resource)
                entities.append({"role": "source", "what": {"display": f"case file {s.resource}"}})
    prov = {
        "resourceType": "Provenance",
        "id": ids["prov"],
        "target": [{"reference": url["gr"]}, {"reference": url["rg"]}],
        "recorded": now,
        "agent": [
            {
                "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "assembler", "display": "Assembler"}]},
                "who": {"reference": url["dev"], "display": f"guidewalk {__version__}"},
            }
        ],
        "entity": entities,
    }
    bundle = {
        "resourceType": "Bundle",
        "id": _uuid(digest, "bundle"),
        "type": "collection",
        "timestamp": now,
        "entry": [{"fullUrl": url["gr"], "resource": gr}, {"fullUrl": url["rg"], "resource": rg}]
        + entries
        + [{"fullUrl": url["prov"], "resource": prov}, {"fullUrl": url["dev"], "resource": device}],
    }
    return bundle
