"""`guidewalk audit` and `guidewalk cohort`: a registry extract walked patient by patient.

    guidewalk audit GUIDELINE COHORT [--actual COLUMN] [--mapping MAP.yaml] [--flowchart F]
                    [-o OUT.jsonl] [--summary SUMMARY.json] [--html SUMMARY.html] [--jobs N]
                    [--dask [ADDRESS|local]] [--engine fast|walk] [--rules ...] [--id COLUMN]
    guidewalk cohort GUIDELINE OUT.{csv,jsonl,parquet} [--rows N] [--seed S] [--flowchart F]
                    [--deviation-rate R] [--missing-rate R] [--invalid-rate R] [--truth T.json]

The pieces: :mod:`engine.audit_io` (plan and read), :mod:`engine.audit_fast` (the walker),
:mod:`engine.audit_run` (chunks, counts, summary, local pool), :mod:`engine.audit_dask`
(the same chunks on a Dask cluster), :mod:`engine.cohort` (synthetic cohorts),
:mod:`guidewalk.render.audit_html` (the HTML summary). Everything heavy is imported in the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import IO, Any

__all__ = ["register", "audit"]


def audit(guideline: str, cohort: str, *, actual: str | None = None, mapping: str | None = None, flowchart: str | None = None,
          out: IO[bytes] | None = None, jobs: int = 1, engine: str = "fast", rules: str = "builtin", id_column: str | None = None,
          fmt: str | None = None, overlays: tuple[str, ...] = (), chunk_bytes: int | None = None, executor: Any = None,
          progress: IO[str] | None = None) -> dict[str, Any]:
    """Audit a cohort file; write per-patient JSON lines (UTF-8) to the binary `out`; return
    the summary."""
    from .io import CHUNK_BYTES, plan_file
    from .run import AuditConfig, Totals, read_mapping, resolve_columns, run_local, summarize, context
    from ..load import load_guideline, resolve

    g = load_guideline(guideline, overlays=overlays)
    fc = flowchart or g.entry
    if fc not in g.flowcharts:
        from ..errors import GuidewalkError

        raise GuidewalkError(f"no flowchart '{fc}' (has: {', '.join(g.flowcharts)})")
    plan = plan_file(cohort, fmt, chunk_bytes or CHUNK_BYTES)
    cfg = AuditConfig(
        guideline=str(resolve(guideline).resolve()), overlays=tuple(os.path.abspath(o) for o in overlays), flowchart=fc, fmt=plan.fmt,
        columns=tuple(plan.columns), mapping=read_mapping(mapping) if mapping else (), actual=actual, id_column=id_column,
        engine=engine, rules=rules,
    )
    ignored = resolve_columns(g, cfg).ignored if plan.fmt != "jsonl" else []
    context(cfg, g)  # built once here; forked workers inherit it
    if engine == "fast":
        backend = {"rules_backend": "builtin", "walker": "guidewalk.engine.audit.fast (trace-free, memoised; same recommendations, path and needs as guidewalk.engine.walk.run)"}
    else:
        from ..rules import backend as _backend

        backend = {"rules_backend": _backend(rules).name, "walker": "guidewalk.engine.walk.run (full traced walk per patient)"}
    from .. import __version__

    backend["version"] = __version__
    totals = Totals()
    started = time.perf_counter()
    done_bytes = 0

    def sink(r: Any) -> None:
        nonlocal done_bytes
        if out is not None:
            out.write(r.data)
        totals.add(r)
        if progress is not None:
            done_bytes += chunk_sizes.pop(r.index, 0)
            _bar(progress, done_bytes, plan.total_bytes, totals.rows, time.perf_counter() - started)

    chunk_sizes: dict[int, int] = {}

    def chunks() -> Any:
        for ch in plan.chunks:
            chunk_sizes[ch.index] = ch.size
            yield ch

    (executor or run_local(jobs))(cfg, chunks(), sink)
    if progress is not None:
        progress.write("\n")
    return summarize(g, cfg, totals, source=os.path.basename(cohort), ignored_columns=ignored, backend=backend)


def _bar(fh: IO[str], done: int, total: int, rows: int, secs: float) -> None:
    frac = 1.0 if total <= 0 else min(done / total, 1.0)
    width = 30
    fill = int(frac * width)
    rate = rows / secs if secs > 0 else 0.0
    fh.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {frac * 100:5.1f}%  {rows:,} patients  {secs:6.1f} s  {rate:,.0f}/s")
    fh.flush()


def _text_summary(s: dict[str, Any]) -> str:
    st = s["status"]
    lines = [
        f"{s['guideline']['id']} {s['guideline']['version']} — flowchart '{s['flowchart']}' — {s['patients']:,} patients "
        f"(rules backend: {s['engine']['rules_backend']})",
        "status: " + ", ".join(f"{k} {v:,}" for k, v in st.items()),
    ]
    if s["recommendations"]["actions"]:
        lines.append("the guideline recommends (complete walks): " + ", ".join(f"{a['code']} {a['patients']:,}" for a in s["recommendations"]["actions"][:8]))
    if s["needs_facts"]["facts"]:
        lines.append("facts missing most often: " + ", ".join(f"{f['fact']} {f['patients']:,}" for f in s["needs_facts"]["facts"][:6]))
    c = s.get("concordance")
    if c:
        rate = "n/a" if c["rate"] is None else f"{c['rate'] * 100:.2f}%"
        lines.append(f"concordance: {c['concordant']:,} of {c['assessable']:,} assessable patients ({rate})")
    inv = s["invalid_rows"]
    if inv["count"]:
        lines.append(f"invalid rows: {inv['count']:,} (" + ", ".join(f"{k} {v:,}" for k, v in inv["by_status"].items()) + ") — listed in the summary and the per-patient output")
    return "\n".join(lines) + "\n"


def cmd_audit(args: argparse.Namespace) -> int:
    jobs = args.jobs if args.jobs and args.jobs > 0 else (os.cpu_count() or 1)
    executor = None
    if args.dask is not None:
        from .dask import dask_executor

        executor = dask_executor(None if args.dask == "local" else args.dask, n_workers=jobs)
    out_fh: IO[bytes]
    close = False
    if args.output and args.output != "-":
        out_fh = open(args.output, "wb", buffering=1 << 20)
        close = True
    else:
        sys.stdout.flush()
        out_fh = sys.stdout.buffer
    progress = sys.stderr if sys.stderr.isatty() and not args.quiet else None
    started = time.perf_counter()
    try:
        summary = audit(args.guideline, args.cohort, actual=args.actual, mapping=args.mapping, flowchart=args.flowchart, out=out_fh,
                        jobs=jobs, engine=args.engine, rules=args.rules, id_column=args.id, fmt=args.format,
                        overlays=tuple(args.overlay or ()), executor=executor, progress=progress)
    finally:
        if close:
            out_fh.close()
        else:
            out_fh.flush()
    secs = time.perf_counter() - started
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if args.html:
        from guidewalk.render.audit_html import render_html

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(render_html(summary))
    if not args.quiet:
        text = _text_summary(summary) + f"{summary['patients']:,} patients in {secs:.2f} s ({summary['patients'] / secs if secs else 0:,.0f}/s, {jobs} job(s){', dask' if executor else ''})\n"
        (sys.stdout if close else sys.stderr).write(text)
    return 0


def cmd_cohort(args: argparse.Namespace) -> int:
    from .cohort import write_cohort
    from ..load import load_guideline

    g = load_guideline(args.guideline)
    t0 = time.perf_counter()
    truth = write_cohort(g, args.rows, args.output, flowchart=args.flowchart, seed=args.seed, deviation_rate=args.deviation_rate,
                         missing_rate=args.missing_rate, no_actual_rate=args.no_actual_rate, invalid_rate=args.invalid_rate)
    if args.truth:
        with open(args.truth, "w", encoding="utf-8") as fh:
            json.dump(truth.to_json(), fh)
            fh.write("\n")
    conc = truth.concordance
    sys.stdout.write(
        f"wrote {args.rows:,} synthetic patients to {args.output} in {time.perf_counter() - t0:.1f} s "
        f"({len(truth.columns) - 1} fact columns + actual); planted deviations: {len(truth.deviating_rows):,} of "
        f"{truth.complete_with_actual:,} assessable (concordance {'n/a' if conc is None else f'{conc:.4f}'})\n"
    )
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("audit", help="audit a cohort (CSV, JSON Lines, Parquet) against a guideline: per patient and concordance")
    s.add_argument("guideline", help="guideline id or path")
    s.add_argument("cohort", help="cohort file: .csv, .jsonl or .parquet; columns are fact names (see --mapping)")
    s.add_argument("--actual", metavar="COLUMN", help="column with the action code(s) actually done, for concordance")
    s.add_argument("--mapping", metavar="MAP.yaml", help="rename columns and recode values: `column: fact` or `column: {fact: name, values: {code: value}}`")
    s.add_argument("--flowchart", help="flowchart to walk (default: the guideline's entry flowchart)")
    s.add_argument("-o", "--output", metavar="OUT.jsonl", help="per-patient results as JSON Lines (default: stdout)")
    s.add_argument("--summary", metavar="SUMMARY.json", help="write the summary as JSON")
    s.add_argument("--html", metavar="SUMMARY.html", help="write the summary as a self-contained HTML page with charts")
    s.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: all cores; 1: in this process)")
    s.add_argument("--dask", nargs="?", const="local", metavar="ADDRESS", help="run the chunks on a Dask cluster (scheduler address, or a local cluster)")
    s.add_argument("--engine", choices=("fast", "walk"), default="fast", help="fast: memoised trace-free walker (builtin rules); walk: engine.walk.run per patient")
    s.add_argument("--rules", choices=("builtin", "durable_rules", "auto"), default="builtin", help="rules backend with --engine walk")
    s.add_argument("--id", metavar="COLUMN", help="column with a patient identifier to copy into the per-patient output")
    s.add_argument("--format", choices=("csv", "jsonl", "parquet"), help="input format (default: from the suffix)")
    s.add_argument("--overlay", action="append", metavar="FILE", help="local protocol overlay (repeatable)")
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no text summary")
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("cohort", help="write a seeded synthetic cohort (no real patient data) with planted deviations")
    s.add_argument("guideline", help="guideline id or path")
    s.add_argument("output", help="output file: .csv, .jsonl or .parquet")
    s.add_argument("--rows", type=int, default=10_000)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--flowchart", help="flowchart whose facts to generate (default: the entry flowchart)")
    s.add_argument("--deviation-rate", type=float, default=0.1, help="share of assessable patients whose actual treatment deviates")
    s.add_argument("--missing-rate", type=float, default=0.02, help="share of missing cells")
    s.add_argument("--no-actual-rate", type=float, default=0.01, help="share of patients without an actual treatment")
    s.add_argument("--invalid-rate", type=float, default=0.0, help="share of rows with a planted invalid value")
    s.add_argument("--truth", metavar="TRUTH.json", help="write what was planted (deviating rows, counts)")
    s.set_defaults(func=cmd_cohort)
