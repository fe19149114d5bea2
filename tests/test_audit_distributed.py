"""The audit on a Dask LocalCluster (real worker processes, 127.0.0.1, no dashboard) gives
byte-identical per-patient output and the same summary as the local run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from guidewalk.engine.audit import audit
from guidewalk.engine.audit.cohort import write_cohort
from guidewalk.engine.audit.dask import dask_executor
from guidewalk.engine.load import load_guideline

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "audit"
GUIDELINE = str(FIXTURE / "cohortx")


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_dask_run_equals_local_run(tmp_path: Path, client, fmt: str) -> None:  # type: ignore[no-untyped-def]
    g = load_guideline(GUIDELINE)
    path = tmp_path / f"c.{fmt}"
    write_cohort(g, 4000, path, flowchart="treatment", seed=21, invalid_rate=0.01, chunk=1000)
    local, dist = io.BytesIO(), io.BytesIO()
    kw = dict(flowchart="treatment", actual="actual", chunk_bytes=30_000)
    s_local = audit(GUIDELINE, str(path), out=local, jobs=1, **kw)
    s_dist = audit(GUIDELINE, str(path), out=dist, executor=dask_executor(client=client), **kw)
    assert local.getvalue() == dist.getvalue()
    assert s_local == s_dist
    assert s_dist["patients"] == 4000 and s_dist["invalid_rows"]["count"] > 0
    # the work really ran on the cluster's worker processes
    assert sum(client.run(lambda: __import__("guidewalk.engine.audit.chunk", fromlist=["_CONTEXTS"])._CONTEXTS.__len__()).values()) >= 1
