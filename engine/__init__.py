"""guidewalk.engine: load -> check -> evaluate -> walk -> trace, and the wings built on it.

Data flows one way::

    guideline YAML --load (line:col of every element)--> model (Guideline)
    model: conditions compiled from a whitelisted tree; rules in dependency order; flow graph
    case facts (CaseFacts) --check against the fact dictionary--> typed facts or per-fact errors
    typed facts --rules (forward chaining)--> derived facts + alerts
    facts + derived --walk--> Result(status, path, trace, recommendations, needs)
    Result --guidewalk.render--> text | JSON | SVG | HTML report | web page

The core, one module a step:

* :mod:`.errors` — one error root; load-time problems with a location, run-time errors
* :mod:`.format` — the guideline file format, defined once (keys, types, defaults)
* :mod:`._yaml` — safe YAML with positions of every element; :mod:`._yaml_flat` — the flat
  case file (``fact: value`` lines) read the same way without importing PyYAML
* :mod:`.structs` — dataclasses without their import cost, for the classes a one-case run
  imports (start-up); :mod:`.cache` — compiled guidelines kept in the user's cache folder
* :mod:`.load` — YAML -> :class:`.model.Guideline`, every problem located (a package)
* :mod:`.expressions` — the condition language: tree, parse, check, evaluate, readable
* :mod:`.checks` — structural checks of the flow
* :mod:`.fact_types` — each fact type, in one place: reading, checking, JSON form, ordering
* :mod:`.facts` — a case's facts (CaseFacts) checked against the dictionary
* :mod:`.unknown` — UNKNOWN, the value nobody knows (Kleene logic)
* :mod:`.rules` — derived facts and alerts: a built-in and a durable_rules backend
* :mod:`.program` — a guideline compiled once for walking: generated decisions and fact
  checker, derived facts computed when read, the trace recorded and built when read
* :mod:`.walk` — the walk (the one decision semantics, ``choose``); :mod:`.trace` — the Result
* :mod:`.scores` — one score module as a calculator; :mod:`.score_inputs` — which of its inputs
  apply to one patient; :mod:`.resources` — shipped data
* :mod:`.decision` — the team's decision next to the advice (concordance), one record
* :mod:`.golden` — golden cases run and compared (`guidewalk test`, the test suite)

The wings, each a folder that reads the loaded model and the walk's Result, never YAML:

* :mod:`.session` — a clinician's stepping state (pending, answer, undo, copy, reachable)
* :mod:`.verify` — exact proofs with z3 (lint, why-not, diff) and the JSON Schemas
* :mod:`.audit` — cohorts at scale (read, walk, summarise; synthetic cohorts)
* :mod:`.fhir` — facts from FHIR R4 (mCODE) records, results as FHIR resources

The engine never imports :mod:`guidewalk.render` (presentation) or :mod:`guidewalk.cli`.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
