"""YAML sources -> :class:`~engine.model.Guideline`, with every problem located.

A guideline loads completely or not at all: every problem found (unknown facts, type errors,
dangling targets, missing sources, ...) is collected with `file:line:col` and raised together
as one :class:`~engine.errors.LoadError`. The pieces, in the order a guideline is read:

* :mod:`.find` — where guidelines are (ids, paths)
* :mod:`._context` — the problem sink and located readers; keys checked against :mod:`engine.format`
* :mod:`.dictionary` — the shared fact dictionary and action list
* :mod:`.scores` — score modules; :mod:`.rules` — rules and conditions, in dependency order
* :mod:`.modules` — the guideline's module list (modules.yaml) with each module's coverage
* :mod:`.guideline` — metadata, flowcharts, overlays; the whole guideline
"""

from __future__ import annotations

from .dictionary import load_dictionary
from .find import default_root, guideline_ids, require_guidelines, resolve, score_ids
from .guideline import load_guideline
from .scores import load_score

__all__ = ["default_root", "guideline_ids", "require_guidelines", "resolve", "load_guideline", "load_dictionary", "load_score", "score_ids"]
