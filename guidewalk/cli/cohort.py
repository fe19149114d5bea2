"""Cohort commands: `audit` (a registry extract walked patient by patient) and `cohort`
(a seeded synthetic cohort)."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from typing import Any

from guidewalk.engine.audit import BytesSink, audit

__all__ = ["cmd_audit", "cmd_cohort"]


def _text_summary(s: dict[str, Any]) -> str:
    st = s["status"]
    rows = s["rows"]
    lines = [
        f"{s['guideline']['id']} {s['guideline']['version']} — flowchart '{s['flowchart']}' — {s['patients']:,} patients "
        f"(rules backend: {s['engine']['rules_backend']})",
        f"rows: {rows['read']:,} read = {rows['walked']:,} walked + {rows['invalid']:,} invalid (not walked)"
        + (f"; {rows['blank_lines_skipped']:,} blank lines skipped" if rows["blank_lines_skipped"] else ""),
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
    """Outputs are whole or absent: the per-patient lines, the summary and the HTML page are
    written to temporary files and renamed at the end; the previous ones are removed when the
    audit starts, so an interrupted run never leaves a partial or stale result that looks
    complete."""
    from guidewalk.engine.atomic import AtomicFile

    jobs = args.jobs if args.jobs and args.jobs > 0 else (os.cpu_count() or 1)
    executor = None
    if args.dask is not None:
        from guidewalk.engine.audit.dask import dask_executor

        executor = dask_executor(None if args.dask == "local" else args.dask, n_workers=jobs)
    to_file = bool(args.output and args.output != "-")
    targets = [p for p in (args.output if to_file else None, args.summary, args.html) if p]
    for p in targets:
        if os.path.isdir(p):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", p)
    out = AtomicFile(args.output, "wb", buffering=1 << 20) if to_file else None
    summary_file = AtomicFile(args.summary, "w", encoding="utf-8") if args.summary else None
    html_file = AtomicFile(args.html, "w", encoding="utf-8") if args.html else None
    files = [f for f in (out, summary_file, html_file) if f is not None]
    sink: BytesSink = _Deferred(out) if out is not None else sys.stdout.buffer

    def start() -> None:  # the inputs are accepted: the previous results are stale from here on
        for f in files:  # each can be written (else the audit stops before reading a row)
            f.open()
        for p in targets:
            if os.path.isfile(p):
                os.unlink(p)
        sys.stdout.flush()

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
            out=sink,
            jobs=jobs,
            engine=args.engine,
            rules=args.rules,
            id_column=args.id,
            fmt=args.format,
            overlays=tuple(args.overlay or ()),
            executor=executor,
            progress=progress,
            locale=args.locale,
            delimiter="\t" if args.delimiter == "tab" else args.delimiter,
            encoding=args.encoding,
            on_start=start,
        )
        secs = time.perf_counter() - started
        if out is None:
            sys.stdout.buffer.flush()
        if summary_file is not None and summary_file.fh is not None:
            summary_file.fh.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        if html_file is not None and html_file.fh is not None:
            from guidewalk.render.audit_html import render_html

            html_file.fh.write(render_html(summary))
        for f in files:
            f.commit()
    except BaseException:
        for f in files:
            f.discard()
        raise
    if not args.quiet:
        text = (
            _text_summary(summary)
            + f"{summary['patients']:,} patients in {secs:.2f} s ({summary['patients'] / secs if secs else 0:,.0f}/s, {jobs} job(s){', dask' if executor else ''})\n"
        )
        (sys.stdout if to_file else sys.stderr).write(text)
    return 0


class _Deferred:
    """The output file, opened when the audit starts (so a refused input leaves the previous
    results in place)."""

    def __init__(self, target: Any):
        self.target = target

    def write(self, data: bytes) -> int:
        fh = self.target.fh
        assert fh is not None, "the audit writes only after it has started"
        return int(fh.write(data))


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
