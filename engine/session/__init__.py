"""A clinician's session with one guideline: ask only what matters next, keep every answer.

The names to import are re-exported here; the pieces, one job each:

* :mod:`engine.session.session` — :class:`Session` (pending, answer, undo, copy, result,
  reachable), :class:`Pending` (one question it can ask) and :class:`AnswerError`;
* :mod:`engine.session.analysis` — the representative values of each fact
  (:func:`fact_points`; :class:`ReachabilityError` when a fact's use cannot be enumerated);
* :mod:`engine.session.reachable` — the exact search for the recommendation nodes still
  reachable (:func:`reachable_nodes`; :func:`search` with a deadline) and where one
  decision goes (:func:`decision_outcome`).
"""

from __future__ import annotations

from .analysis import ReachabilityError, fact_points
from .reachable import Reach, decision_outcome, reachable_nodes, search
from .session import AnswerError, Pending, Session, first_page

__all__ = ["Session", "Pending", "AnswerError", "ReachabilityError", "reachable_nodes", "search", "Reach", "first_page", "fact_points", "decision_outcome"]
