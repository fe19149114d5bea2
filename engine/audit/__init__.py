"""Cohort audits: a registry extract walked patient by patient, in bounded memory, on one or
more cores (or a Dask cluster), with per-patient lines and a summary.

The pieces: :mod:`.io` (plan the file into chunks and read them), :mod:`.fast` (the
trace-free walker), :mod:`.columnar` (plain CSV chunks read by column, walked together), :mod:`.run` (chunks, counts, summary, the local pool), :mod:`.dask` (the
same chunks on a Dask cluster), :mod:`.cohort` (synthetic cohorts). The `guidewalk audit` and
`guidewalk cohort` commands are in :mod:`guidewalk.cli.cohort`; the HTML summary is drawn by
:mod:`guidewalk.render.audit_html`. Everything heavy is imported where it is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

__all__ = ["audit", "BytesSink"]


class BytesSink(Protocol):
    """Where the per-patient lines go (a binary file, or anything with ``write(bytes)``)."""

    def write(self, data: bytes, /) -> Any: ...


def audit(
    guideline: str,
    cohort: str,
    *,
    actual: str | None = None,
    reason: str | None = None,
    mapping: str | None = None,
    flowchart: str | None = None,
    out: BytesSink | None = None,
    jobs: int = 1,
    engine: str = "fast",
    rules: str = "builtin",
    id_column: str | None = None,
    fmt: str | None = None,
    overlays: tuple[str, ...] = (),
    chunk_bytes: int | None = None,
    executor: Any = None,
    progress: IO[str] | None = None,
    locale: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    on_start: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Audit a cohort file; write per-patient JSON lines (UTF-8) to the binary `out`, one per
    record read; return the summary. `reason`: the column with the reason recorded for a
    deviation (counted per decision, :mod:`.concordance`). `locale` ("nl", "en") reads numbers
    written with separators (see :func:`engine.fact_types.parse_number`); CSV `delimiter` and
    `encoding` are found from the file when not given. `on_start` is called once the
    guideline, the file's header and the columns are accepted, before the first row is read."""
    from ..errors import GuidewalkError
    from ..fact_types import NUMBER_LOCALES
    from ..load import load_guideline, resolve
    from .chunk import context
    from .columns import read_mapping, resolve_columns
    from .config import AuditConfig
    from .io import CHUNK_BYTES, plan_file
    from .run import run_local
    from .summary import Totals, summarize

    if reason is not None and actual is None:
        raise GuidewalkError("--reason needs --actual: a reason explains a deviation of the actual treatment")
    g = load_guideline(guideline, overlays=overlays)
    fc = flowchart or g.entry
    if fc not in g.flowcharts:
        raise GuidewalkError(f"no flowchart '{fc}' (has: {', '.join(g.flowcharts)})")
    if locale not in NUMBER_LOCALES:
        raise GuidewalkError(f"unknown number locale '{locale}' (nl: 1.000,5; en: 1,000.5)")
    plan = plan_file(cohort, fmt, chunk_bytes or CHUNK_BYTES, delimiter=delimiter, encoding=encoding)
    cfg = AuditConfig(
        guideline=str(resolve(guideline).resolve()),
        overlays=tuple(os.path.abspath(o) for o in overlays),
        flowchart=fc,
        fmt=plan.fmt,
        columns=tuple(plan.columns),
        mapping=read_mapping(mapping) if mapping else (),
        actual=actual,
        id_column=id_column,
        reason=reason,
        engine=engine,
        rules=rules,
        locale=locale,
        delimiter=plan.delimiter,
        encoding=plan.encoding,
    )
    ignored = resolve_columns(g, cfg).ignored if plan.fmt != "jsonl" else []
    context(cfg, g)  # built once here; forked workers inherit it
    if on_start is not None:
        on_start()
    if engine == "fast":
        backend = {
            "rules_backend": "builtin",
            "walker": "guidewalk.engine.audit.fast (trace-free, memoised; same recommendations, path and needs as guidewalk.engine.walk.run)",
        }
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
