"""The first stepper page of every shipped guideline and flowchart, each in a fresh process.

    .venv/bin/python benchmarks/bench_stepper.py [--repeat 3]

A stepper's first page shows the result so far, the questions that matter (`pending()`) and
the recommendations still reachable (`reachable()`). Each page is timed in a new process,
after the guideline is loaded, twice: with an empty cache folder (`$GUIDEWALK_CACHE`: the
compiled guideline and the first page computed) and again with the folder that run filled
(both read back). Printed: the median wall time of each, in ms, and the guideline load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from guidewalk.engine.load import load_guideline
from guidewalk.engine.session import Session
g = load_guideline(sys.argv[1])
t1 = time.perf_counter()
s = Session(g, {}, sys.argv[2])
s.result(); s.pending(); reach = s.reachable()
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "page": t2 - t1, "complete": s.reachable_complete(), "n": len(reach)}))
"""


def _once(gid: str, fc: str, cache: str) -> dict[str, float]:
    env = {**os.environ, "GUIDEWALK_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", CHILD, gid, fc], env=env, check=True, capture_output=True, text=True).stdout
    data: dict[str, float] = json.loads(out)
    return data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("guidelines", nargs="*", default=["brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"])
    a = ap.parse_args()
    from guidewalk.engine.load import load_guideline

    print(f"{'guideline':32} {'flowchart':16} {'load':>8} {'cold page':>10} {'warm page':>10}  reachable")
    for gid in a.guidelines:
        for fc in load_guideline(gid).flowcharts:
            cold, warm, load = [], [], []
            for _ in range(a.repeat):
                with tempfile.TemporaryDirectory() as cache:
                    c = _once(gid, fc, cache)
                    w = _once(gid, fc, cache)
                cold.append(c["page"])
                warm.append(w["page"])
                load.append(w["load"])
                assert c["complete"] and w["complete"] and c["n"] == w["n"]
            ms = [1e3 * statistics.median(x) for x in (load, cold, warm)]
            print(f"{gid:32} {fc:16} {ms[0]:8.0f} {ms[1]:10.0f} {ms[2]:10.0f}  {int(w['n'])} nodes")


if __name__ == "__main__":
    main()
