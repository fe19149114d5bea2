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
* :mod:`.cached` — the same, read back from the cache when the sources are unchanged
  (:mod:`.serial`: a guideline as plain data)

The readers are imported on first use: a guideline that comes from the cache needs no YAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .cached import load_guideline
from .find import default_root, guideline_ids, require_guidelines, resolve, score_ids

if TYPE_CHECKING:
    from .dictionary import load_dictionary
    from .scores import load_score

_LAZY = {"load_dictionary": ".dictionary", "load_score": ".scores"}

__all__ = ["default_root", "guideline_ids", "require_guidelines", "resolve", "load_guideline", "load_dictionary", "load_score", "score_ids"]


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value
