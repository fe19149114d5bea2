"""The FHIR wing: facts from a FHIR R4 record, results back as FHIR.

* :mod:`.bindings` — the binding table (``guidelines/bindings/fhir.yaml``): where each fact of
  the dictionary is found (resource, profile, code, value element, unit, value map)
* :mod:`.bundle` — a Bundle (or prefetched resources) read and validated with ``fhir.resources``
  (R4B models), errors located by FHIR path and ``file:line:col``
* :mod:`.extract` — resources -> facts (:mod:`.record_facts`: each with the resource it came from), plus what could
  not be mapped and why (unknown code, stale, conflicting values)
* :mod:`.output` — a walk's result as a GuidanceResponse + RequestGroup + Provenance
* :mod:`.prefetch` — CDS Hooks prefetch templates and FHIR searches for a guideline's facts
* the commands (`guidewalk fhir-facts`, `run --fhir`, `run --format fhir`) live in :mod:`guidewalk.cli.ehr`
* :mod:`.doc` — the binding table of docs/fhir.md, generated from the binding file

Only :mod:`.bundle` needs the optional ``fhir`` extra (``pip install 'guidewalk[fhir]'``); the
rest is plain Python on plain JSON, so the core never imports a FHIR library.
"""

from __future__ import annotations

from ..errors import GuidewalkError

__all__ = ["ExtraMissing", "require_extra", "EXTRA_HINT"]

EXTRA_HINT = "pip install 'guidewalk[fhir]'"


class ExtraMissing(GuidewalkError):
    """An optional dependency of the FHIR wing is not installed."""


def require_extra(module: str, what: str) -> None:
    """Raise ExtraMissing (with the install command) when `module` cannot be imported."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ExtraMissing(f"{what} needs the optional FHIR dependencies ({module} is not installed): {EXTRA_HINT}")
