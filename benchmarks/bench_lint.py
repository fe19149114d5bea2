"""Benchmark: `guidewalk lint` of the shipped guidelines (target: all three under 5 s).

Run: .venv/bin/python benchmarks/bench_lint.py [--repeat N] [--no-unknowns]
Prints load and lint time per guideline, solver queries, and the total (wall and CPU).
This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guidewalk.engine.errors import LoadError  # noqa: E402
from guidewalk.engine.load import default_root, guideline_ids, load_guideline  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-unknowns", action="store_true")
    args = ap.parse_args()
    t_import = time.perf_counter()
    from guidewalk.engine.verify.lint import lint  # imports z3: paid once per CLI call

    print(f"import engine.lint_checks (z3): {time.perf_counter() - t_import:.2f} s")
    best_wall, best_cpu = float("inf"), float("inf")
    for rep in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        for gid in guideline_ids(default_root()):
            t0 = time.perf_counter()
            try:
                g = load_guideline(gid)
            except LoadError as exc:
                print(f"  {gid}: does not load ({len(exc.problems)} problems)")
                continue
            t1 = time.perf_counter()
            findings = lint(g, unknowns=not args.no_unknowns)
            t2 = time.perf_counter()
            if rep == 0:
                errors = sum(f.severity == "error" for f in findings)
                print(
                    f"  {gid}: {len(g.nodes)} nodes, {len(g.rules)} rules; load {t1 - t0:.2f} s, lint {t2 - t1:.2f} s; {errors} error(s), {len(findings)} finding(s)"
                )
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        print(f"run {rep + 1}: load + lint of all guidelines: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"best: {best_wall:.2f} s wall, {best_cpu:.2f} s CPU (target < 5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
