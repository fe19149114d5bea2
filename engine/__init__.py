"""guidewalk engine: load -> check -> evaluate -> walk -> trace.

The pipeline, one module a step:

* :mod:`engine._yaml` — safe YAML with positions of every element
* :mod:`engine.load` — YAML -> :class:`engine.model.Guideline` (all problems located)
* :mod:`engine.expressions` — the condition language (whitelisted AST, Kleene logic)
* :mod:`engine.checks` — structural checks (networkx)
* :mod:`engine.facts` — a patient's facts checked against the dictionary
* :mod:`engine.rules` / :mod:`engine.rules_durable` — derived facts and alerts
* :mod:`engine.walk` — the walk; :mod:`engine.trace` — the result and its JSON form
* :mod:`engine.cli` — the `guidewalk` command

Built on that pipeline, each reading the loaded model and the walk's Result, never YAML:

* :mod:`engine.scores` — one score module as a calculator
* :mod:`engine.session` — a clinician's stepping state (pending, answer, undo, copy, reachable)
* :mod:`engine.analysis` with ``lint_*`` — exact proofs (z3): gaps, overlaps, why-not, diff;
  :mod:`engine.schema` — the JSON Schema generated from the loader's key lists
* :mod:`engine.audit` with ``audit_*`` and :mod:`engine.cohort` — cohorts at scale

Presentation lives in the ``render`` package (SVG, HTML report, steppers, audit summary).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
