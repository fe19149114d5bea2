"""Start-up cost: `guidewalk run` of one case as a whole process vs a bare `python -c pass`.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 20] [--guideline ID] [--flowchart F]

Runs, interleaved, N times each after one warm-up: a bare `python -c pass` (the same
interpreter, so the same site and .pth start-up), and `guidewalk run GUIDELINE --facts CASE
--flowchart F --format json` with the built-in rules and with the default backend
(durable_rules where it loads), each with the compiled-guideline cache warm, and with the
built-in rules and the cache off (GUIDEWALK_CACHE=0). Prints the minimum and the median
wall time and the minimum CPU time (user + system of the child) of each, and the extra over
bare Python. The minimum is the best estimate of the cost on a quiet machine; the load
average is printed with it. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASE = """primary_tumour_type: renal
bm_symptomatic: false
kps: 80
bm_count: 3
bm_max_diameter_cm: 1.5
extracranial_disease_status: controlled_limited
dominant_lesion_present: false
tissue_needed_for_diagnosis: false
hydrocephalus_status: none
posterior_fossa_lesion: false
mass_effect: false
chemosensitive_tumour_with_extracranial_progression: false
bm_total_volume_cm3: 12
bm_max_individual_volume_cm3: 6
srs_shared_decision_outcome: srs
"""


def once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `cmd`."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--guideline", default="brain-metastases-2020")
    ap.add_argument("--flowchart", default="treatment")
    args = ap.parse_args(argv)
    guidewalk = str(Path(sys.executable).parent / "guidewalk")
    cache = tempfile.mkdtemp(prefix="guidewalk-bench-cache-")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(CASE)
        case = f.name
    run = [guidewalk, "run", args.guideline, "--facts", case, "--flowchart", args.flowchart, "--format", "json"]
    # bytecode cached, as an installed guidewalk runs (PYTHONDONTWRITEBYTECODE would recompile every module)
    base = {k: v for k, v in os.environ.items() if k not in ("GUIDEWALK_RULES", "GUIDEWALK_CACHE", "PYTHONDONTWRITEBYTECODE")}
    variants = {
        "python -c pass": ([sys.executable, "-c", "pass"], base),
        "run, builtin rules, cache warm": (run, dict(base, GUIDEWALK_RULES="builtin", GUIDEWALK_CACHE=cache)),
        "run, default rules, cache warm": (run, dict(base, GUIDEWALK_CACHE=cache)),
        "run, builtin rules, cache off": (run, dict(base, GUIDEWALK_RULES="builtin", GUIDEWALK_CACHE="0")),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    try:
        for cmd, env in variants.values():
            once(cmd, env)  # warm-up: file cache, bytecode, the compiled-guideline cache
        for _ in range(args.repeat):
            for name, (cmd, env) in variants.items():
                times[name].append(once(cmd, env))
    finally:
        os.unlink(case)
    load = os.getloadavg()
    print(f"{args.repeat} runs each, interleaved; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs")
    print(f"{'':34} {'wall min':>9} {'median':>9} {'CPU min':>9}   extra over bare Python (wall min / CPU min)")
    bare_w = min(w for w, _ in times["python -c pass"])
    bare_c = min(c for _, c in times["python -c pass"])
    for name, ts in times.items():
        w, c = min(t[0] for t in ts), min(t[1] for t in ts)
        med = statistics.median(t[0] for t in ts)
        extra = "" if name.startswith("python") else f"   +{(w - bare_w) * 1e3:.0f} ms / +{(c - bare_c) * 1e3:.0f} ms"
        print(f"  {name:32} {w * 1e3:7.1f}ms {med * 1e3:7.1f}ms {c * 1e3:7.1f}ms{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
