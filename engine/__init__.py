"""guidewalk engine: load -> check -> evaluate -> walk -> trace.

The pipeline, one module a step:

* :mod:`engine._yaml` — safe YAML with positions of every element
* :mod:`engine.load` — YAML -> :class:`engine.model.Guideline` (all problems located)
* :mod:`engine.expressions` — the condition language (whitelisted AST, Kleene logic)
* :mod:`engine.checks` — structural checks (networkx)
* :mod:`engine.facts` — a patient's facts checked against the dictionary
* :mod:`engine.rules` / :mod:`engine.rules_durable` — derived facts and alerts
* :mod:`engine.walk` — the walk; :mod:`engine.trace` — the result and its JSON/text forms
* :mod:`engine.cli` — the `guidewalk` command
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
