"""Running the audit: every chunk through :func:`~engine.audit.chunk.process_chunk`, results in file order.

An executor takes the configuration, the chunks and a sink, and hands the sink one
:class:`~engine.audit.chunk.ChunkResult` per chunk in file order. :func:`run_local` is the
executor over a local process pool (or this process); :func:`engine.audit.dask.dask_executor`
runs the same chunks on a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .chunk import ChunkResult, context, process_chunk
from .config import AuditConfig
from .io import Chunk

__all__ = ["Executor", "run_local"]


Executor = Callable[[AuditConfig, Iterable[Chunk], Callable[[ChunkResult], None]], None]


def _init_worker(cfg: AuditConfig) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle (no traceback per worker)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    context(cfg)


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT blocked, not lost) while the workers are forked: they are born with it
    blocked and ignore it (:func:`_init_worker`), so none dies holding the queue's lock; the
    coordinator gets it as soon as it is released, and stops the pool."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def run_local(jobs: int) -> Executor:
    """An executor over `jobs` processes (1: in this process). Chunks are submitted with a
    bounded window, so memory stays bounded however long the file is; results come back in
    file order."""

    def execute(cfg: AuditConfig, chunks: Iterable[Chunk], sink: Callable[[ChunkResult], None]) -> None:
        if jobs <= 1:
            for ch in chunks:
                sink(process_chunk(cfg, ch))
            return
        import multiprocessing
        from collections import deque

        mp = multiprocessing.get_context("fork")
        pool = None
        try:
            with _ctrl_c_held():
                pool = mp.Pool(jobs, initializer=_init_worker, initargs=(cfg,))
        except BaseException:
            if pool is not None:
                pool.terminate()
            raise
        with pool:
            window: deque[Any] = deque()
            for ch in chunks:
                window.append(pool.apply_async(process_chunk, (cfg, ch)))
                if len(window) >= 2 * jobs + 1:
                    sink(window.popleft().get())
            while window:
                sink(window.popleft().get())

    return execute
