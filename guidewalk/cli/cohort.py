"""Cohort commands: `audit` (a registry extract walked patient by patient) and `cohort`
(a seeded synthetic cohort)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import IO, Any

from guidewalk.engine.audit import audit

__all__ = ["cmd_audit", "cmd_cohort"]


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
        lines.append(
            f"deviations: {c['deviation_with_reason']:,} with a recorded reason, {c['deviation_without_reason']:,} without"
            + ("" if c["reason_column"] else " (no --reason column)")
        )
    inv = s["invalid_rows"]
    if inv["count"]:
        lines.append(
            f"invalid rows: {inv['count']:,} ("
            + ", ".join(f"{k} {v:,}" for k, v in inv["by_status"].items())
            + ") — listed in the summary and the per-patient output"
        )
    return "\n".join(lines) + "\n"


def cmd_audit(args: argparse.Namespace) -> int:
    jobs = args.jobs if args.jobs and args.jobs > 0 else (os.cpu_count() or 1)
    executor = None
    if args.dask is not None:
        from guidewalk.engine.audit.dask import dask_executor

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
        summary = audit(
            args.guideline,
            args.cohort,
            actual=args.actual,
            reason=args.reason,
            mapping=args.mapping,
            flowchart=args.flowchart,
            out=out_fh,
            jobs=jobs,
            engine=args.engine,
            rules=args.rules,
            id_column=args.id,
            fmt=args.format,
            overlays=tuple(args.overlay or ()),
            executor=executor,
            progress=progress,
        )
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
        text = (
            _text_summary(summary)
            + f"{summary['patients']:,} patients in {secs:.2f} s ({summary['patients'] / secs if secs else 0:,.0f}/s, {jobs} job(s){', dask' if executor else ''})\n"
        )
        (sys.stdout if close else sys.stderr).write(text)
    return 0


def cmd_cohort(args: argparse.Namespace) -> int:
    from guidewalk.engine.audit.cohort import write_cohort
    from guidewalk.engine.load import load_guideline

    g = load_guideline(args.guideline)
    t0 = time.perf_counter()
    truth = write_cohort(
        g,
        args.rows,
        args.output,
        flowchart=args.flowchart,
        seed=args.seed,
        deviation_rate=args.deviation_rate,
        missing_rate=args.missing_rate,
        no_actual_rate=args.no_actual_rate,
        invalid_rate=args.invalid_rate,
    )
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
