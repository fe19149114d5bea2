"""A guideline compiled once into the form that walks it with the least work per case.

* :mod:`.codegen` — Python source generated from the checked condition trees (never from
  the author's text): each decision's fast path, and the fact checker;
* :mod:`.flow` — the flow as decisions and transitions, derived facts computed when read,
  the walk with the trace on (a record) or off;
* :mod:`.record` — the Result built from a walk's record when it is read (the lazy trace).

:func:`compiled` gives a guideline's program, compiled on first use and kept with it.
"""

from __future__ import annotations

from ..model import Guideline
from .flow import MAX_STEPS, Flow, Transition
from .record import Filler

__all__ = ["compiled", "Flow", "Transition", "Filler", "MAX_STEPS"]


def compiled(g: Guideline) -> Flow:
    """The program of guideline `g` (compiled on first use, then kept on the guideline)."""
    flow: Flow | None = g.__dict__.get("_program")
    if flow is None:
        flow = g.__dict__["_program"] = Flow(g)
    return flow
