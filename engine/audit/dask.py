"""The same audit on a Dask cluster, for cohorts that outgrow one machine.

    guidewalk audit GUIDELINE COHORT --actual COLUMN -o OUT.jsonl --dask tcp://SCHEDULER:8786
    guidewalk audit GUIDELINE COHORT --actual COLUMN -o OUT.jsonl --dask          # a LocalCluster

Why Dask: the audit is already a map over independent chunks followed by an ordered
merge, which is exactly Dask's futures API (`client.submit` / `result`); dask.distributed
is pure Python wheels from PyPI, its LocalCluster runs inside a test with no network and no
extra services, and its workers run our own function unchanged (Ray would also do, but
adds a large binary runtime; Spark needs a JVM and would make us re-express the walk as
UDFs). Each task is one chunk described by path and byte range (or Parquet row group):
workers read the file themselves (it must be on storage they all see), load the guideline
once per worker process (the context cache in :mod:`engine.audit.chunk`), and return the
same :class:`~engine.audit.chunk.ChunkResult` as the local pool. The coordinator keeps a
bounded window of tasks in flight and consumes results in file order, so the output file is
byte-identical to a local run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .chunk import ChunkResult, process_chunk
from .config import AuditConfig
from .io import Chunk
from .run import Executor

__all__ = ["dask_executor"]


def dask_executor(address: str | None = None, *, n_workers: int = 2, client: Any = None, window: int | None = None) -> Executor:
    """An executor that runs chunks on Dask: an existing `client`, a scheduler `address`,
    or (neither) a LocalCluster of `n_workers` single-threaded worker processes bound to
    127.0.0.1 without a dashboard."""

    def execute(cfg: AuditConfig, chunks: Iterable[Chunk], sink: Callable[[ChunkResult], None]) -> None:
        from dask.distributed import Client, LocalCluster

        own: list[Any] = []
        c = client
        if c is None:
            if address:
                c = Client(address)  # type: ignore[no-untyped-call]
            else:
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)  # type: ignore[no-untyped-call]
                own.append(cluster)
                c = Client(cluster)  # type: ignore[no-untyped-call]
            own.insert(0, c)
        try:
            limit = window or 4 * max(1, len(c.scheduler_info().get("workers", {})) or n_workers)
            cfg_future = c.scatter(cfg, broadcast=True)
            pending: deque[Any] = deque()
            for ch in chunks:
                pending.append(c.submit(process_chunk, cfg_future, ch, pure=False))
                if len(pending) >= limit:
                    sink(pending.popleft().result())
            while pending:
                sink(pending.popleft().result())
        finally:
            for obj in own:
                obj.close()

    return execute
