"""The counts of every chunk merged (:class:`Totals`), and the summary computed from them.

Concordance (the definition the summary states): a patient is *assessable* when the walk
is complete and the actual column holds one or more valid action codes (several codes are
separated by ``;``, ``,`` or ``+``); an assessable patient is *concordant* when every
actual code is among the action codes the guideline recommends on the patient's path (any
recommendation along the path, not only the last). Per node: of the assessable patients
whose path passes the node, the share that is concordant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Guideline
from .chunk import ChunkResult
from .columns import classify
from .concordance import decision_concordance
from .config import AuditConfig

__all__ = ["Totals", "summarize", "rows_accounting", "DEFINITION", "LIST_CAP", "STATUSES"]

STATUSES = ("complete", "needs_facts", "invalid_facts", "invalid_row", "error")
WALKED = ("complete", "needs_facts", "error")  # error: the walk ran into a gap of the guideline
NOT_WALKED = ("invalid_facts", "invalid_row")

LIST_CAP = 10_000  # invalid rows listed in the summary; every one is in the per-patient output

DEFINITION = (
    "A patient is assessable when the walk is complete and the actual column holds one or more valid action codes "
    "(separated by ';', ',' or '+'). An assessable patient is concordant when every actual code is among the action "
    "codes the guideline recommends on the patient's path. Per node: of the assessable patients whose path passes "
    "the node, the share that is concordant."
)


@dataclass
class Totals:
    """The merged counts of every chunk (what the summary is computed from)."""

    rows: int = 0
    blank: int = 0
    cells: Counter[tuple[tuple[Any, ...], Any]] = field(default_factory=Counter)
    invalid: list[dict[str, Any]] = field(default_factory=list)
    invalid_count: Counter[str] = field(default_factory=Counter)
    ignored_keys: Counter[str] = field(default_factory=Counter)
    reasoned: Counter[tuple[tuple[Any, ...], Any]] = field(default_factory=Counter)  # cells with a reason (.concordance)

    def add(self, r: ChunkResult) -> None:
        self.rows += r.rows
        self.blank += r.blank
        for k, a, c in r.cells:
            self.cells[(k, a)] += c
        for item in r.invalid:
            self.invalid_count[item["status"]] += 1
            if len(self.invalid) < LIST_CAP:
                self.invalid.append(item)
        self.ignored_keys.update(r.ignored_keys)
        for k, a, c in r.reasoned:
            self.reasoned[(k, a)] += c


def iter_outcomes(totals: Totals) -> Iterator[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], Any, int]]:
    for ((status, path, actions, needs, _err), akey), c in totals.cells.items():
        yield status, path, actions, needs, akey, c


def summarize(g: Guideline, cfg: AuditConfig, totals: Totals, *, source: str, ignored_columns: list[dict[str, Any]], backend: dict[str, str]) -> dict[str, Any]:
    """The summary as a JSON-able dict (deterministic: no timings, sorted lists)."""
    status: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    endpoints: Counter[str] = Counter()
    needs: Counter[str] = Counter()
    blocked_at: Counter[str] = Counter()
    actual_codes: Counter[str] = Counter()
    deviations: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    node_pass: Counter[str] = Counter()
    node_assess: Counter[str] = Counter()
    node_conc: Counter[str] = Counter()
    assessable = concordant = no_actual = invalid_actual = not_complete = 0
    # counted per path first and spread over the path's nodes once (a path has thousands of cells)
    by_path: Counter[tuple[str, ...]] = Counter()
    assess_by_path: Counter[tuple[str, ...]] = Counter()
    conc_by_path: Counter[tuple[str, ...]] = Counter()
    for st, path, acts, nds, akey, c in iter_outcomes(totals):
        status[st] += c
        by_path[path] += c
        if st == "complete":
            for a in dict.fromkeys(acts):
                actions[a] += c
            if path:
                endpoints[path[-1]] += c
        elif st == "needs_facts":
            for f in nds:
                needs[f] += c
            if path:
                blocked_at[path[-1]] += c
        if cfg.actual is None:
            continue
        if akey is not None and akey != ("!invalid",):
            for a in akey:
                actual_codes[a] += c
        if st != "complete":
            not_complete += c
            continue
        if akey is None:
            no_actual += c
            continue
        if akey == ("!invalid",):
            invalid_actual += c
            continue
        ok = all(a in acts for a in akey)
        assessable += c
        concordant += c if ok else 0
        assess_by_path[path] += c
        conc_by_path[path] += c if ok else 0
        if not ok:
            deviations[(tuple(_last(g, path) or dict.fromkeys(acts)), akey)] += c
    for per_node, per_path in ((node_pass, by_path), (node_assess, assess_by_path), (node_conc, conc_by_path)):
        for path, c in per_path.items():
            for nid in path:
                per_node[nid] += c
    n = totals.rows
    mapping = {src: (t, dict(v)) for src, t, v in cfg.mapping}

    def share(k: int, d: int) -> float | None:
        return None if d == 0 else round(k / d, 6)

    def title(nid: str) -> str:
        node = g.nodes.get(nid)
        return (node.title or node.question or node.text or "") if node else ""

    out: dict[str, Any] = {
        "guideline": {"id": g.id, "title": g.title, "version": g.version, "sha256": g.sha256, **({"overlays": list(g.overlays)} if g.overlays else {})},
        "flowchart": cfg.flowchart,
        "engine": backend,
        "input": {
            "file": source,
            "format": cfg.fmt,
            **({"delimiter": cfg.delimiter} if cfg.fmt == "csv" else {}),
            **({"encoding": cfg.encoding} if cfg.fmt != "parquet" else {}),
            "number_locale": cfg.locale,
            "columns": list(cfg.columns) if cfg.fmt != "jsonl" else None,
            "actual_column": cfg.actual,
            "id_column": cfg.id_column,
            "mapping": [{"column": s, "fact": t, "values": dict(v)} for s, t, v in cfg.mapping],
            "ignored_columns": ignored_columns
            + [{"column": k, "reason": classify(g, k, cfg, mapping)[2] or "", "rows": c} for k, c in sorted(totals.ignored_keys.items())],
        },
        "patients": n,
        "rows": rows_accounting(n, status, totals.blank),
        "status": {k: status.get(k, 0) for k in STATUSES},
        "recommendations": {
            "note": "patients with a complete walk for whom the guideline recommends each action code (anywhere on the path)",
            "actions": [
                {"code": a, "text": g.actions.get(a, ""), "patients": c, "share": share(c, status["complete"])}
                for a, c in sorted(actions.items(), key=lambda x: (-x[1], x[0]))
            ],
            "endpoints": [{"node": k, "title": title(k), "patients": c} for k, c in sorted(endpoints.items(), key=lambda x: (-x[1], x[0]))],
        },
        "needs_facts": {
            "patients": status["needs_facts"],
            "facts": [{"fact": f, "patients": c, "share": share(c, status["needs_facts"])} for f, c in sorted(needs.items(), key=lambda x: (-x[1], x[0]))],
            "blocked_at": [{"node": k, "title": title(k), "patients": c} for k, c in sorted(blocked_at.items(), key=lambda x: (-x[1], x[0]))],
        },
        "invalid_rows": {
            "count": sum(totals.invalid_count.values()),
            "by_status": dict(sorted(totals.invalid_count.items())),
            "listed": len(totals.invalid),
            "note": f"every invalid row is in the per-patient output; at most {LIST_CAP} are listed here",
            "rows": sorted(totals.invalid, key=lambda x: (x["row"], x["status"])),
        },
    }
    if cfg.actual is not None:
        nodes = [nid for nid in g.nodes if node_pass[nid]]
        out["concordance"] = {
            "definition": DEFINITION,
            "actual_column": cfg.actual,
            "assessable": assessable,
            "concordant": concordant,
            "rate": share(concordant, assessable),
            "excluded": {"walk_not_complete": not_complete, "no_actual": no_actual, "invalid_actual": invalid_actual},
            "by_node": [
                {
                    "node": nid,
                    "kind": g.nodes[nid].kind,
                    "flowchart": g.nodes[nid].flowchart,
                    "title": title(nid),
                    "patients": node_pass[nid],
                    "assessable": node_assess[nid],
                    "concordant": node_conc[nid],
                    "rate": share(node_conc[nid], node_assess[nid]),
                }
                for nid in nodes
            ],
            "actual_codes": [{"code": a, "patients": c} for a, c in sorted(actual_codes.items(), key=lambda x: (-x[1], x[0]))],
            "deviations": [
                {"recommended": list(r), "actual": list(a), "patients": c} for (r, a), c in sorted(deviations.items(), key=lambda x: (-x[1], x[0]))[:50]
            ],
        }
        out["concordance"].update(decision_concordance(g, cfg, totals.cells, totals.reasoned))
    return out


def rows_accounting(read: int, status: Mapping[str, int], blank: int) -> dict[str, Any]:
    """Rows in = rows out: every record read is one line of the per-patient output, and was
    either walked or not (invalid); the two add up to the rows read."""
    walked = sum(status.get(k, 0) for k in WALKED)
    invalid = sum(status.get(k, 0) for k in NOT_WALKED)
    if walked + invalid != read:  # pragma: no cover - a broken invariant must not pass silently
        raise AssertionError(f"row accounting: {walked} walked + {invalid} invalid != {read} read")
    return {
        "read": read,
        "walked": walked,
        "invalid": invalid,
        "blank_lines_skipped": blank,
        "note": "every row read is one line of the per-patient output; read = walked + invalid "
        "(invalid: invalid_facts and invalid_row, which are not walked); blank lines are not rows",
    }


def _last(g: Guideline, path: tuple[str, ...]) -> list[str]:
    for nid in reversed(path):
        node = g.nodes.get(nid)
        if node is not None and node.actions:
            return list(node.actions)
    return []
