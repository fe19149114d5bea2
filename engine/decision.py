"""The clinician's decision next to the guideline's advice: one deviation record.

A case may carry what the clinician (or the multidisciplinary meeting) actually decided::

    clinician_decision:
      actions: [wbrt]                 # action codes from guidelines/actions.yaml
      reason: "patient preference"    # why, when it differs from the guideline
      by: "Dr. A. Jansen"
      date: 2024-03-01

The web stepper, the audit and the CDS Hooks feedback endpoint all record this one shape.
:func:`concordance` compares it with a walk's result:

* ``concordant`` — at least one action was decided and every decided action code is among the
  codes recommended on the path (the audit's definition of a concordant patient);
* ``deviation_with_reason`` / ``deviation_without_reason`` — otherwise, with or without a
  reason given. A decision with no actions (e.g. a card dismissed) is a deviation.

A case file carries the decision under the reserved key ``clinician_decision``
(:data:`DECISION_KEY`; :class:`engine.facts.CaseFacts` keeps it apart from the facts);
:func:`with_decision` puts it, and :func:`assess` (the concordance of a *complete* walk; None
when the walk reached no final recommendation), on a walk's :class:`~engine.trace.Result`.
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _yaml
from .contract import ClinicianDecisionJSON
from .errors import LoadError, Location, Problem, suggest
from .structs import struct

if TYPE_CHECKING:
    from .trace import Result

__all__ = ["ClinicianDecision", "concordance", "assess", "with_decision", "CONCORDANCE_VALUES", "KEYS", "DECISION_KEY"]

DECISION_KEY = "clinician_decision"  # the reserved key of a case file
KEYS = ("actions", "reason", "by", "date")
CONCORDANCE_VALUES = ("concordant", "deviation_with_reason", "deviation_without_reason")


@struct(frozen=True)
class ClinicianDecision:
    """What was decided (action codes), why, by whom and when."""

    actions: tuple[str, ...]
    reason: str | None = None
    by: str | None = None
    date: str | None = None  # YYYY-MM-DD

    @classmethod
    def from_json(
        cls,
        raw: Any,
        actions: Mapping[str, Any] | Iterable[str] | None,
        *,
        doc: _yaml.Doc | None = None,
        path: tuple[Any, ...] = ("clinician_decision",),
        file: str = "<clinician_decision>",
    ) -> ClinicianDecision:
        """Check a ``clinician_decision`` mapping; every problem is reported at once, located
        (``file:line:col`` when `doc` is the loaded case file). `actions` is the guideline's
        action list (``Guideline.actions``) or any collection of known codes; None checks the
        codes as words only (a case read before its guideline is known)."""
        known = list(actions) if actions is not None else None
        problems: list[Problem] = []

        def where(p: tuple[Any, ...]) -> Location:
            return doc.where(p) if doc is not None else Location(file, 0, 0, "/".join(str(x) for x in p))

        def add(p: tuple[Any, ...], message: str, hint: str | None = None) -> None:
            problems.append(Problem(where(p), message, suggestion=hint))

        if not isinstance(raw, Mapping):
            raise LoadError([Problem(where(path), "clinician_decision must be a mapping with actions, reason, by, date")])
        for k in raw:
            if k not in KEYS:
                loc = doc.key_where(path + (k,)) if doc is not None else where(path + (k,))
                problems.append(Problem(loc, f"unknown key '{k}' in clinician_decision", suggestion=suggest(str(k), KEYS)))
        codes: list[str] = []
        acts = raw.get("actions")
        if acts is None:
            add(path, "clinician_decision needs 'actions': the action codes decided (an empty list when none)")
        elif not isinstance(acts, list):
            add(path + ("actions",), "actions must be a list of action codes")
        else:
            for i, a in enumerate(acts):
                if not isinstance(a, str) or not a.strip():
                    add(path + ("actions", i), f"an action code must be a word, got {a!r}")
                elif known is not None and a not in known:
                    add(path + ("actions", i), f"unknown action code '{a}'", suggest(a, known))
                elif a not in codes:
                    codes.append(a)
        texts: dict[str, str | None] = {}
        for k in ("reason", "by"):
            v = raw.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int, float))):
                add(path + (k,), f"{k} must be text")
                v = None
            texts[k] = str(v).strip() or None if v is not None else None
        date = raw.get("date")
        if date is not None:
            try:
                date = _dt.date.fromisoformat(str(date).strip()).isoformat()
            except ValueError:
                add(path + ("date",), f"date must be YYYY-MM-DD, got {date!r}")
                date = None
        if problems:
            raise LoadError(problems)
        return cls(tuple(codes), texts["reason"], texts["by"], date)

    def to_json(self) -> ClinicianDecisionJSON:
        out: ClinicianDecisionJSON = {"actions": list(self.actions)}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.by is not None:
            out["by"] = self.by
        if self.date is not None:
            out["date"] = self.date
        return out


def _recommended(result: Any) -> set[str]:
    if hasattr(result, "actions"):
        return set(result.actions)
    if isinstance(result, Mapping):  # a `run --format json` object
        return {a for r in result.get("recommendations", []) for a in r.get("actions", [])}
    return set(result)


def concordance(result: Any, decision: ClinicianDecision) -> str:
    """``concordant`` when the decision names at least one action and every one of them is
    recommended on the path; else a deviation, with or without a reason. `result` is a walk's
    :class:`~engine.trace.Result`, its JSON form, or the recommended action codes."""
    recommended = _recommended(result)
    if decision.actions and all(a in recommended for a in decision.actions):
        return "concordant"
    return "deviation_with_reason" if decision.reason else "deviation_without_reason"


def assess(result: Any, decision: ClinicianDecision) -> str | None:
    """:func:`concordance` for a walk that reached its recommendation (status ``complete``);
    None otherwise: a walk that stopped for facts, or invalid facts, recommends nothing final
    to compare with (the audit's "not assessable")."""
    status = result.get("status") if isinstance(result, Mapping) else getattr(result, "status", "complete")
    return concordance(result, decision) if status == "complete" else None


def with_decision(result: Result, case: Any, actions: Mapping[str, Any] | Iterable[str]) -> Result:
    """`result`, given the case's decision (checked against `actions`, located in the case file)
    and its concordance; `result` itself when the case carries no decision. `case` is a
    :class:`~engine.facts.CaseFacts` or a :class:`ClinicianDecision`."""
    decision = case if isinstance(case, ClinicianDecision) else case.decision_for(actions)
    if decision is None:
        return result
    out = copy.copy(result)  # a result may be cached (the stepper's): never changed in place
    out.decision, out.concordance = decision, assess(result, decision)
    return out
