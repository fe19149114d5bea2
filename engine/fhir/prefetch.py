"""CDS Hooks prefetch templates for exactly the resources a guideline's facts need.

Only the searches CDS Hooks recommends clients support are used (read by id, search by patient
and by token equality): the Patient when the guideline asks the age; the patient's Conditions
with the bound SNOMED CT / ICD-10 codes; Observations with the bound LOINC codes; and the
Observations of the guideline's guidewalk-coded facts, split over a few templates so that no
URL grows past about 2,000 characters. ICD-10 categories bound by prefix (C50 -> breast) are
listed with their subcodes (C50.0 ... C50.9), because token search has no prefix match.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Guideline
from .bindings import Binding, Bindings

__all__ = ["prefetch_templates", "needed_bindings", "fill", "MAX_URL"]

MAX_URL = 2000
PATIENT = "{{context.patientId}}"


def needed_bindings(g: Guideline, bindings: Bindings) -> list[Binding]:
    """The bindings of the base facts the guideline may ask, in the guideline's order."""
    return [bindings.by_fact[f] for f in g.asks if f in bindings.by_fact]


def _tokens(b: Binding) -> list[str]:
    if b.element == "code":
        out = []
        for m in b.map:
            out.append(f"{m.coding.system}|{m.coding.code}")
            if m.prefix and "." not in m.coding.code:
                out += [f"{m.coding.system}|{m.coding.code}.{i}" for i in range(10)]
        return out
    return [f"{c.system}|{c.code}" for c in b.codes]


def _chunks(base: str, tokens: Iterable[str]) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for t in tokens:
        if cur and len(base) + len(",".join(cur + [t])) > MAX_URL:
            out.append(base + ",".join(cur))
            cur = []
        cur.append(t)
    if cur:
        out.append(base + ",".join(cur))
    return out


def prefetch_templates(g: Guideline, bindings: Bindings) -> dict[str, str]:
    """Prefetch key -> FHIR query template with ``{{context.patientId}}``."""
    need = needed_bindings(g, bindings)
    out: dict[str, str] = {}
    if any(b.resource == "Patient" for b in need):
        out["patient"] = f"Patient/{PATIENT}"
    cond = list(dict.fromkeys(t for b in need if b.resource == "Condition" for t in _tokens(b)))
    for i, url in enumerate(_chunks(f"Condition?patient={PATIENT}&code=", cond)):
        out["conditions" if i == 0 else f"conditions-{i + 1}"] = url
    std = list(dict.fromkeys(t for b in need if b.resource == "Observation" and b.standard for t in _tokens(b)))
    for i, url in enumerate(_chunks(f"Observation?patient={PATIENT}&code=", std)):
        out["observations" if i == 0 else f"observations-{i + 1}"] = url
    gw = [t for b in need if b.resource == "Observation" and not b.standard for t in _tokens(b)]
    for i, url in enumerate(_chunks(f"Observation?patient={PATIENT}&code=", gw)):
        out[f"facts-{i + 1}"] = url
    return out


def fill(template: str, context: dict[str, Any]) -> str:
    """A template with its ``{{context.X}}`` tokens replaced (values URL-encoded)."""
    import re
    import urllib.parse

    def sub(m: re.Match[str]) -> str:
        v = context.get(m.group(1))
        if v is None:
            raise KeyError(m.group(1))
        return urllib.parse.quote(str(v), safe="")

    return re.sub(r"\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}", sub, template)
