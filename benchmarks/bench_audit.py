"""Audit throughput end to end: a synthetic cohort of N patients read, walked and written.

    .venv/bin/python benchmarks/bench_audit.py [--rows 1000000] [--jobs 1 2] [--formats csv parquet]
                                               [--dir /tmp/guidewalk-bench] [--repeat 1] [--profile]

For each format and job count it runs the real command as a whole process,

    guidewalk audit brain-metastases-2020 COHORT --flowchart treatment --actual actual \
        -o OUT.jsonl --summary SUMMARY.json --jobs J --quiet

and reports wall time, patients per second, and peak memory: the largest single process
(getrusage of the waited children) and the whole process tree (sampled with psutil every
20 ms). The cohort is generated once (`guidewalk cohort`, seeded) and reused. It also
measures, on a 20,000-patient slice, the per-patient cost of the audit's fast walker against
the full traced `engine.walk.run` (`--engine walk`), and the cost of only reading the file,
to show what limits the run. A benchmark, not a test: the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUIDELINE = "brain-metastases-2020"
FLOWCHART = "treatment"
GW = [str(ROOT / ".venv" / "bin" / "guidewalk")] if (ROOT / ".venv" / "bin" / "guidewalk").exists() else [sys.executable, "-m", "guidewalk"]


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p] + p.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def timed(cmd: list[str]) -> dict[str, Any]:
    """Run `cmd`; wall and CPU time, peak RSS of its largest process (wait4: the process and
    its waited-for children) and of the whole process tree (sampled)."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                stop.wait(0.02)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        th.join()
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.read().decode()}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024, "tree_rss_mb": peak / 2**20}


def ensure_cohort(path: Path, rows: int) -> None:
    if path.exists() and path.with_suffix(".rows").exists() and path.with_suffix(".rows").read_text().strip() == str(rows):
        return
    t0 = time.perf_counter()
    subprocess.run(GW + ["cohort", GUIDELINE, str(path), "--rows", str(rows), "--flowchart", FLOWCHART, "--seed", "7"], check=True, stdout=subprocess.DEVNULL)
    path.with_suffix(".rows").write_text(str(rows))
    print(f"generated {path} ({rows:,} patients, {path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s", flush=True)


def per_patient(path: Path, n: int) -> dict[str, float]:
    """µs per patient in-process on the first n patients: read only, fast walker, full walk."""
    import io

    from guidewalk.engine.audit import audit
    from guidewalk.engine.audit.io import plan_file, read_rows

    sample = path.with_name(f"sample_{n}{path.suffix}")
    if not sample.exists():
        with open(path, "rb") as src, open(sample, "wb") as dst:
            for i, line in enumerate(src):
                if i > n:
                    break
                dst.write(line)
    plan = plan_file(sample)
    t0 = time.process_time()
    k = sum(1 for ch in plan.chunks for _ in read_rows(ch, plan.columns))
    read = (time.process_time() - t0) / k * 1e6
    out: dict[str, float] = {"read": read}
    for engine in ("fast", "walk"):
        audit(GUIDELINE, str(sample), flowchart=FLOWCHART, actual="actual", out=io.BytesIO(), jobs=1, engine=engine)  # warm caches/imports
        t0 = time.process_time()
        audit(GUIDELINE, str(sample), flowchart=FLOWCHART, actual="actual", out=io.BytesIO(), jobs=1, engine=engine)
        out[engine] = (time.process_time() - t0) / k * 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--formats", nargs="+", default=["csv"], choices=["csv", "jsonl", "parquet"])
    ap.add_argument("--dir", default="/tmp/guidewalk-bench")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="profile an in-process single-core audit of 200,000 patients")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    results = []
    for fmt in args.formats:
        path = d / f"cohort_{args.rows}.{fmt}"
        ensure_cohort(path, args.rows)
        for jobs in args.jobs:
            runs = []
            for _ in range(args.repeat):
                cmd = GW + [
                    "audit",
                    GUIDELINE,
                    str(path),
                    "--flowchart",
                    FLOWCHART,
                    "--actual",
                    "actual",
                    "-o",
                    str(d / "out.jsonl"),
                    "--summary",
                    str(d / "summary.json"),
                    "--jobs",
                    str(jobs),
                    "--quiet",
                ]
                runs.append(timed(cmd))
            best = min(runs, key=lambda r: r["wall"])
            best.update(fmt=fmt, jobs=jobs, rows=args.rows, out_mb=(d / "out.jsonl").stat().st_size / 2**20, load=os.getloadavg()[0])
            results.append(best)
            print(
                f"{fmt:8} jobs={jobs}: {best['wall']:6.2f} s wall, {best['cpu']:6.2f} s CPU, {args.rows / best['wall']:,.0f} patients/s, "
                f"peak RSS {best['max_rss_mb']:.0f} MiB (largest process) / {best['tree_rss_mb']:.0f} MiB (process tree), "
                f"output {best['out_mb']:.0f} MiB, load {best['load']:.2f}",
                flush=True,
            )
    pp = per_patient(d / f"cohort_{args.rows}.{args.formats[0]}", 20_000)
    print(
        f"per patient, in process (20,000 patients, CPU): read only {pp['read']:.1f} µs; audit with the fast walker {pp['fast']:.1f} µs; "
        f"audit with engine.walk.run {pp['walk']:.1f} µs ({pp['walk'] / pp['fast']:.0f}x)",
        flush=True,
    )
    if args.profile:
        import io

        from guidewalk.engine.audit import audit

        sample = d / "profile_200k.csv"
        with open(d / f"cohort_{args.rows}.csv", "rb") as src, open(sample, "wb") as dst:
            for i, line in enumerate(src):
                if i > 200_000:
                    break
                dst.write(line)
        prof = cProfile.Profile()
        prof.enable()
        audit(GUIDELINE, str(sample), flowchart=FLOWCHART, actual="actual", out=io.BytesIO(), jobs=1)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
