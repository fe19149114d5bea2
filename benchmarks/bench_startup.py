"""Start-up cost: `guidewalk run` of one case as a whole process vs a bare `python -c pass`.

    .venv/bin/python benchmarks/bench_startup.py [--repeat N] [--guideline ID] [--rules auto|builtin|durable_rules]

Both are run N times (after one warm-up each, so the file cache is warm); prints the
median wall time of each and their ratio. A benchmark, not a test.
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


def timed(cmd: list[str], repeat: int, env: dict[str, str]) -> list[float]:
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        out.append(time.perf_counter() - t)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--guideline", default="brain-metastases-2020")
    ap.add_argument("--flowchart", default="treatment")
    ap.add_argument("--rules", default="auto", choices=["auto", "builtin", "durable_rules"])
    args = ap.parse_args(argv)
    guidewalk = str(Path(sys.executable).parent / "guidewalk")
    env = dict(os.environ, GUIDEWALK_RULES=args.rules)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(CASE)
        case = f.name
    try:
        run_cmd = [guidewalk, "run", args.guideline, "--facts", case, "--flowchart", args.flowchart, "--format", "json"]
        first = subprocess.run(run_cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        if first.returncode != 0:
            print(first.stdout, first.stderr, sep="\n")
            return 1
        bare = timed([sys.executable, "-c", "pass"], args.repeat, env)
        full = timed(run_cmd, args.repeat, env)
    finally:
        os.unlink(case)
    mb, mf = statistics.median(bare), statistics.median(full)
    print(f"{args.repeat} runs each, median wall time (rules backend: {args.rules})")
    print(f"  python -c pass                        {mb * 1e3:8.1f} ms")
    print(f"  guidewalk run {args.guideline} (1 case) {mf * 1e3:8.1f} ms")
    print(f"  ratio                                 {mf / mb:8.1f}x  (extra {1e3 * (mf - mb):.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
