"""Concordance per decision: at each decision on a patient's path, how many assessable patients
were treated as the guideline recommends, and how many deviated with or without a reason.

This is the deviation record of :mod:`engine.decision` counted over a cohort: an assessable
patient (complete walk, valid actual codes) is ``concordant`` when every actual code is
recommended on the path; otherwise the deviation is ``deviation_with_reason`` when the reason
column (``--reason``) holds text for the patient, else ``deviation_without_reason`` (without a
reason column, no deviation has a recorded reason). Each patient counts once at every decision
node on their path: where the counts of deviations without a reason rise is where practice
leaves the guideline unexplained, the measure guideline owners ask for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from ..model import Guideline
from .config import AuditConfig

__all__ = ["decision_concordance", "KINDS", "NOTE"]

KINDS = ("concordant", "deviation_with_reason", "deviation_without_reason")

NOTE = (
    "Per decision node on the path of each assessable patient: concordant, or a deviation with a reason (the reason column "
    "holds text) or without one. Without a reason column no deviation has a recorded reason."
)


def decision_concordance(
    g: Guideline,
    cfg: AuditConfig,
    cells: Mapping[tuple[tuple[Any, ...], Any], int],
    reasoned: Mapping[tuple[tuple[Any, ...], Any], int],
) -> dict[str, Any]:
    """The three counts overall and per decision node (in the guideline's order), from the
    merged counts of the audit: `cells` (outcome key, actual codes) -> patients, and
    `reasoned`, the patients among them whose reason cell holds text."""
    overall: Counter[str] = Counter()
    by_path: dict[tuple[str, ...], Counter[str]] = {}  # summed per path, then spread over its nodes
    for (okey, akey), c in cells.items():
        status, path, acts = okey[0], okey[1], okey[2]
        if status != "complete" or akey is None or akey == ("!invalid",):
            continue
        if all(a in acts for a in akey):
            split = {"concordant": c}
        else:
            r = min(reasoned.get((okey, akey), 0), c)
            split = {"deviation_with_reason": r, "deviation_without_reason": c - r}
        overall.update(split)
        by_path.setdefault(path, Counter()).update(split)
    per: dict[str, Counter[str]] = {}
    for path, split_sum in by_path.items():
        for nid in dict.fromkeys(path):
            node = g.nodes.get(nid)
            if node is not None and node.kind == "decision":
                per.setdefault(nid, Counter()).update(split_sum)
    by_decision = []
    for nid, node in g.nodes.items():
        if nid not in per:
            continue
        counts = per[nid]
        by_decision.append(
            {
                "node": nid,
                "flowchart": node.flowchart,
                "title": node.title or "",
                "question": node.question or "",
                "assessable": sum(counts[k] for k in KINDS),
                **{k: counts[k] for k in KINDS},
            }
        )
    return {
        "reason_column": cfg.reason,
        "deviation_with_reason": overall["deviation_with_reason"],
        "deviation_without_reason": overall["deviation_without_reason"],
        "by_decision_note": NOTE,
        "by_decision": by_decision,
    }
