"""guidewalk: clinical practice guidelines as checkable YAML decision graphs.

A guideline's flowcharts are YAML decision graphs; :func:`run` walks one for a patient's facts
and returns what the guideline recommends, every step traced::

    import guidewalk

    g = guidewalk.load_guideline("brain-metastases-2020")
    case = guidewalk.read_case("examples/cases/lecture-case-1.yaml")
    result = guidewalk.run(g, case)
    print(result.status, result.actions, result.needs)

The public names are listed in ``__all__``; everything else is private by name (modules and
functions whose names start with ``_``) or an implementation detail of the packages
``guidewalk.engine`` (load, check, evaluate, walk, trace and the wings built on it) and
``guidewalk.render`` (text, SVG, HTML). Names are imported on first use, so ``import
guidewalk`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from guidewalk.engine import __version__

__all__ = [
    "__version__",
    # load
    "load_guideline",
    "list_guidelines",
    "read_case",
    "Guideline",
    "CaseFacts",
    # walk
    "run",
    "Result",
    "Recommendation",
    "Alert",
    "UNKNOWN",
    # clinicians
    "Session",
    # scores and proofs
    "score",
    "lint",
    # errors
    "GuidewalkError",
    "LoadError",
    "RunError",
]

_WHERE = {
    "load_guideline": ("guidewalk.engine.load", "load_guideline"),
    "list_guidelines": ("guidewalk.engine.load", "guideline_ids"),
    "read_case": ("guidewalk.engine.facts", "read_case"),
    "Guideline": ("guidewalk.engine.model", "Guideline"),
    "CaseFacts": ("guidewalk.engine.facts", "CaseFacts"),
    "run": ("guidewalk.engine.walk", "run"),
    "Result": ("guidewalk.engine.trace", "Result"),
    "Recommendation": ("guidewalk.engine.trace", "Recommendation"),
    "Alert": ("guidewalk.engine.trace", "Alert"),
    "UNKNOWN": ("guidewalk.engine.expressions", "UNKNOWN"),
    "Session": ("guidewalk.engine.session", "Session"),
    "score": ("guidewalk.engine.scores", "score"),
    "lint": ("guidewalk.engine.verify.lint", "lint"),
    "GuidewalkError": ("guidewalk.engine.errors", "GuidewalkError"),
    "LoadError": ("guidewalk.engine.errors", "LoadError"),
    "RunError": ("guidewalk.engine.errors", "RunError"),
}

if TYPE_CHECKING:  # for type checkers and editors; at run time names load on first use
    from guidewalk.engine.errors import GuidewalkError, LoadError, RunError
    from guidewalk.engine.expressions import UNKNOWN
    from guidewalk.engine.facts import CaseFacts, read_case
    from guidewalk.engine.load import guideline_ids as list_guidelines
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.model import Guideline
    from guidewalk.engine.scores import score
    from guidewalk.engine.session import Session
    from guidewalk.engine.trace import Alert, Recommendation, Result
    from guidewalk.engine.verify.lint import lint
    from guidewalk.engine.walk import run


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'guidewalk' has no attribute '{name}'")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
