"""Seeded synthetic cohorts for audits, tests and benchmarks. No real patient data.

One column per base fact the chosen flowchart can read (directly or through its derived
facts), drawn from plausible distributions (KPS, age, tumour types, lesion counts and sizes;
everything else from the fact dictionary's type and range), with values missing at a given
rate. An ``actual`` column holds the action code that was "done": for a patient whose walk is
complete it is a code the guideline recommends (from the last recommendation), except in
planted deviations (Bernoulli at ``deviation_rate``), where it is a code of the same
flowchart that the guideline does not recommend for that patient. The returned
:class:`Truth` lists exactly which rows deviate, so a test can check measured concordance
against the planted one. Row numbers follow the audit's convention (CSV: line number with
the header on line 1; JSON Lines: line number; Parquet: 1-based record index).

numpy and pyarrow are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..expressions import UNKNOWN
from ..model import FactSpec, Guideline

__all__ = ["Truth", "flow_facts", "flow_actions", "generate", "write_cohort", "FORMATS"]

FORMATS = ("csv", "jsonl", "parquet")

# Plausible marginal distributions for facts a registry extract usually has.
_ENUM_WEIGHTS: dict[str, dict[str, float]] = {
    "primary_tumour_type": {
        "nsclc": 0.44,
        "breast": 0.16,
        "melanoma": 0.10,
        "sclc": 0.08,
        "renal": 0.05,
        "colorectal": 0.05,
        "other_gastrointestinal": 0.03,
        "unknown_primary": 0.03,
        "prostate": 0.01,
        "thyroid": 0.01,
        "other_carcinoma": 0.02,
    },
    "extracranial_disease_status": {"none": 0.3, "controlled_limited": 0.35, "progressive": 0.35},
}
_INT_CHOICES: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "kps": ((30, 40, 50, 60, 70, 80, 90, 100), (0.03, 0.06, 0.09, 0.14, 0.2, 0.24, 0.17, 0.07)),
    "who_ps": ((0, 1, 2, 3, 4), (0.2, 0.38, 0.24, 0.14, 0.04)),
    "bm_count": ((1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20), (0.4, 0.14, 0.1, 0.07, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03, 0.02)),
}


@dataclass
class Truth:
    """What was planted: counts and the rows whose actual treatment deviates."""

    guideline: str
    flowchart: str
    rows: int
    seed: int
    deviation_rate: float
    missing_rate: float
    columns: list[str]
    complete_with_actual: int = 0  # patients in the concordance denominator
    deviating_rows: list[int] = field(default_factory=list)
    invalid_rows: list[int] = field(default_factory=list)
    no_actual_rows: int = 0

    @property
    def concordance(self) -> float | None:
        n = self.complete_with_actual
        return None if n == 0 else (n - len(self.deviating_rows)) / n

    def to_json(self) -> dict[str, Any]:
        return {
            "guideline": self.guideline,
            "flowchart": self.flowchart,
            "rows": self.rows,
            "seed": self.seed,
            "deviation_rate": self.deviation_rate,
            "missing_rate": self.missing_rate,
            "columns": self.columns,
            "complete_with_actual": self.complete_with_actual,
            "concordance": self.concordance,
            "deviating_rows": self.deviating_rows,
            "invalid_rows": self.invalid_rows,
            "no_actual_rows": self.no_actual_rows,
        }


def _reachable(g: Guideline, flowchart: str) -> list[str]:
    start = g.flowcharts[flowchart].start
    seen: dict[str, None] = {}
    todo = [start]
    while todo:
        nid = todo.pop()
        if nid in seen:
            continue
        seen[nid] = None
        todo.extend(reversed(g.nodes[nid].targets()))
    return list(seen)


def flow_facts(g: Guideline, flowchart: str) -> list[str]:
    """The base facts a flowchart can read (through derived facts too), in a stable order."""
    out: dict[str, None] = {}
    for nid in _reachable(g, flowchart):
        for b in g.nodes[nid].branches:
            for f in b.when.facts:
                for base in g.base_inputs(f):
                    if base in g.dictionary:
                        out.setdefault(base, None)
    return list(out)


def flow_actions(g: Guideline, flowchart: str) -> list[str]:
    """Every action code a flowchart can recommend."""
    out: dict[str, None] = {}
    for nid in _reachable(g, flowchart):
        for a in g.nodes[nid].actions:
            out.setdefault(a, None)
    return list(out)


def _column(spec: FactSpec, n: int, rng: Any) -> list[Any]:
    """n typed values for one fact (the values engine.facts.coerce would give)."""
    import numpy as np

    name, t = spec.name, spec.type
    if t == "boolean":
        return list((rng.random(n) < 0.5).tolist())
    if t == "enum" or t == "string":
        values = list(spec.values) or ["x"]
        w = _ENUM_WEIGHTS.get(name)
        if w:
            vals = [v for v in values if v in w]
            p = np.array([w[v] for v in vals])
            return [vals[i] for i in rng.choice(len(vals), size=n, p=p / p.sum())]
        return [values[i] for i in rng.integers(0, len(values), size=n)]
    if t == "set":
        values = list(spec.values)
        picks = rng.random((n, len(values))) < 0.2
        # an empty set cannot be written to a CSV cell (an empty cell means unknown): None
        return [frozenset(v for v, on in zip(values, row) if on) or None for row in picks.tolist()]
    if t == "date":
        import datetime as dt

        base = dt.date(2015, 1, 1)
        return [base + dt.timedelta(days=int(d)) for d in rng.integers(0, 3650, size=n)]
    lo = 0.0 if spec.min is None else float(spec.min)
    hi = lo + 100.0 if spec.max is None else float(spec.max)
    if t == "integer":
        if name in _INT_CHOICES:
            vals_i, p_i = _INT_CHOICES[name]
            ok = [(v, p) for v, p in zip(vals_i, p_i) if lo <= v <= hi]
            p = np.array([q for _, q in ok])
            return [ok[i][0] for i in rng.choice(len(ok), size=n, p=p / p.sum())]
        if name == "age_years":
            return list(np.clip(np.rint(rng.normal(64, 11, n)), max(lo, 18), min(hi, 95)).astype(int).tolist())
        step = int(spec.step or 1)
        top = min(hi, lo + 60 * step)  # counts and days: mostly small
        k = rng.integers(0, int((top - lo) // step) + 1, size=n)
        return list((int(lo) + k * step).tolist())
    # number
    if spec.step:
        k = rng.integers(0, int((hi - lo) // spec.step) + 1, size=n)
        return [float(lo + i * spec.step) for i in k.tolist()]
    if name.endswith("_diameter_cm"):
        v = np.clip(rng.lognormal(math.log(1.6), 0.6, n), max(lo, 0.1), hi)
    elif name.endswith("_cm3"):
        v = np.clip(rng.lognormal(math.log(4.0), 1.0, n), lo, hi)
    else:
        v = rng.uniform(lo, min(hi, lo + 100.0), n)
    return [float(x) for x in np.round(v, 1).tolist()]


def _text(v: Any) -> Any:
    """The written form of a typed value (sets as 'a;b', dates ISO); None stays None."""
    if v is None:
        return None
    if isinstance(v, frozenset):
        return ";".join(sorted(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def generate(
    g: Guideline,
    n: int,
    *,
    flowchart: str | None = None,
    seed: int = 1,
    deviation_rate: float = 0.1,
    missing_rate: float = 0.02,
    no_actual_rate: float = 0.01,
    invalid_rate: float = 0.0,
    chunk: int = 50_000,
    row_base: int = 1,
    truth: Truth | None = None,
) -> Iterator[tuple[list[str], list[list[Any]]]]:
    """Chunks of (column names, rows) with typed values (None = missing) and an `actual`
    column. Updates `truth` as it goes (row numbers start at `row_base`)."""
    import numpy as np

    from .fast import FastWalker

    fc = flowchart or g.entry
    facts = flow_facts(g, fc)
    codes = flow_actions(g, fc) or sorted(g.actions)
    walker = FastWalker(g, facts, fc)
    specs = [g.dictionary[f] for f in facts]
    columns = facts + ["actual"]
    done = 0
    ci = 0
    while done < n:
        m = min(chunk, n - done)
        rng = np.random.default_rng([seed, ci])
        cols = [_column(s, m, rng) for s in specs]
        miss = rng.random((m, len(facts))) < missing_rate
        dev = (rng.random(m) < deviation_rate).tolist()
        no_act = (rng.random(m) < no_actual_rate).tolist()
        bad = (rng.random(m) < invalid_rate).tolist() if invalid_rate else [False] * m
        pick = rng.random(m).tolist()
        bad_col = rng.integers(0, max(len(facts), 1), size=m).tolist()
        miss_l = miss.tolist()
        rows: list[list[Any]] = []
        for i in range(m):
            mrow = miss_l[i]
            vals = [UNKNOWN if mrow[j] or cols[j][i] is None else cols[j][i] for j in range(len(facts))]
            row: list[Any] = [None if mrow[j] else _text(cols[j][i]) for j in range(len(facts))]
            rownum = row_base + done + i
            if bad[i] and facts:
                row[bad_col[i]] = "not-a-value"  # never a valid value of any fact type
                if truth is not None:
                    truth.invalid_rows.append(rownum)
                actual: str | None = codes[int(pick[i] * len(codes))]
            else:
                out = walker.walk(vals)
                rec = list(dict.fromkeys(out.actions))
                if no_act[i]:
                    actual = None
                    if truth is not None and out.status == "complete":
                        truth.no_actual_rows += 1
                elif out.status == "complete":
                    last = _last_actions(g, out.path) or rec
                    others = [c for c in codes if c not in rec]
                    if truth is not None:
                        truth.complete_with_actual += 1
                    if (dev[i] or not last) and others:
                        actual = others[int(pick[i] * len(others))]
                        if truth is not None:
                            truth.deviating_rows.append(rownum)
                    elif last:
                        actual = last[int(pick[i] * len(last))]
                    else:  # nothing recommended and no other code: counts as a deviation
                        actual = codes[0]
                        if truth is not None:
                            truth.deviating_rows.append(rownum)
                else:
                    actual = codes[int(pick[i] * len(codes))]
            row.append(actual)
            rows.append(row)
        yield columns, rows
        done += m
        ci += 1


def _last_actions(g: Guideline, path: tuple[str, ...]) -> list[str]:
    for nid in reversed(path):
        if g.nodes[nid].actions:
            return list(g.nodes[nid].actions)
    return []


def write_cohort(
    g: Guideline,
    n: int,
    path: str | Path,
    *,
    fmt: str | None = None,
    flowchart: str | None = None,
    seed: int = 1,
    deviation_rate: float = 0.1,
    missing_rate: float = 0.02,
    no_actual_rate: float = 0.01,
    invalid_rate: float = 0.0,
    chunk: int = 50_000,
) -> Truth:
    """Write a synthetic cohort as CSV, JSON Lines or Parquet (by `fmt` or the suffix)."""
    path = Path(path)
    fmt = fmt or _format_of(path)
    fc = flowchart or g.entry
    truth = Truth(g.id, fc, n, seed, deviation_rate, missing_rate, flow_facts(g, fc) + ["actual"])
    row_base = {"csv": 2, "jsonl": 1, "parquet": 1}[fmt]
    chunks = generate(
        g,
        n,
        flowchart=fc,
        seed=seed,
        deviation_rate=deviation_rate,
        missing_rate=missing_rate,
        no_actual_rate=no_actual_rate,
        invalid_rate=invalid_rate,
        chunk=chunk,
        row_base=row_base,
        truth=truth,
    )
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for columns, rows in chunks:
                fh.write("".join(json.dumps({c: v for c, v in zip(columns, r) if v is not None}, ensure_ascii=False) + "\n" for r in rows))
        return truth
    import pyarrow as pa

    as_text = fmt == "csv" or invalid_rate > 0
    types = {"boolean": pa.bool_(), "integer": pa.int64(), "number": pa.float64()}
    schema = pa.schema([(c, pa.string() if as_text or c == "actual" else types.get(g.dictionary[c].type, pa.string())) for c in truth.columns])
    writer: Any = None
    try:
        for columns, rows in chunks:
            table = pa.table(
                {c: pa.array([_csv_cell(r[j]) if as_text else r[j] for r in rows], type=schema.field(c).type) for j, c in enumerate(columns)}, schema=schema
            )
            if writer is None:
                if fmt == "csv":
                    import pyarrow.csv as pcsv

                    writer = pcsv.CSVWriter(str(path), schema, write_options=pcsv.WriteOptions(quoting_style="none"))
                else:
                    import pyarrow.parquet as pq

                    writer = pq.ParquetWriter(str(path), schema)
            if fmt == "parquet":
                writer.write_table(table)
            else:
                writer.write(table)
    finally:
        if writer is not None:
            writer.close()
    return truth


def _csv_cell(v: Any) -> Any:
    """CSV cells as text, so every column has one type whatever the chunk holds."""
    if v is None:
        return None
    if v is True:
        return "yes"
    if v is False:
        return "no"
    return str(v)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"unknown cohort format '{suffix}' (csv, jsonl, parquet)")
