"""Load test of the web stepper: N browsers (each its own owner cookie) walk cases against one
server on loopback for S seconds, each checking that its downloaded case holds exactly its
own answers (no cross-talk) and recording a decision now and then. Every request is timed;
the result has the number of complete cases, errors and the page times (p50, p95, max).

As a script (30 clients x 30 s, the issue's target)::

    .venv/bin/python tests/web_load.py --clients 30 --seconds 30

The test suite runs a shorter version (tests/test_web.py; GUIDEWALK_LOAD_SECONDS)."""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_client import Client, current_fact, summary  # noqa: E402

FIXTURE = str(Path(__file__).resolve().parent / "fixtures" / "session" / "demo-stepper" / "guideline.yaml")


def _walker(addr: tuple[str, int], seed: int, deadline: float, errors: list[str], walks: list[int], timings: list[float]) -> None:
    rng = random.Random(seed)
    c = Client(addr, name=f"Dr. Load {seed}")
    try:
        while time.monotonic() < deadline:
            path, csrf = c.start(FIXTURE, rng.choice(["treatment", "followup"]))
            mine: dict[str, Any] = {}
            page = c.get(path)[2]
            while current_fact(page) and time.monotonic() < deadline + 30:
                fact = current_fact(page) or ""
                value = {
                    "symptomatic": rng.choice(["yes", "no"]),
                    "kps": str(rng.choice(range(0, 101, 10))),
                    "age_years": str(rng.randint(18, 30)),
                    "primary_controlled": rng.choice(["yes", "no"]),
                    "extracranial_metastases": rng.choice(["yes", "no"]),
                    "bm_count": str(rng.randint(1, 12)),
                    "volume_cm3": str(rng.randint(0, 50)),
                    "primary": rng.choice(["nsclc", "breast", "melanoma", "other"]),
                }.get(fact)
                if fact == "prior_therapies":
                    status, headers, _ = c.post(f"{path}/answer", [("csrf", csrf), ("fact", fact), ("value", "__set__"), ("item", "taxane")])
                    mine[fact] = ["taxane"]
                else:
                    status, headers, _ = c.post(f"{path}/answer", [("csrf", csrf), ("fact", fact), ("value", value or ""), ("action", "answer")])
                    mine[fact] = yaml.safe_load(value or "null")
                if status != 303:
                    errors.append(f"{fact}={value}: HTTP {status}")
                    return
                page = c.get(path)[2]
            if rng.random() < 0.3:
                status, page = c.decide(path, csrf, ["wbrt"], reason="load test")
                if status != 303 or 'id="concordance"' not in page:
                    errors.append(f"decision: HTTP {status}")
                    return
            _, _, text = c.get(f"{path}/case.yaml")
            saved = yaml.safe_load(text) or {}
            saved.pop("clinician_decision", None)
            if saved != mine:
                errors.append(f"cross-talk or lost answer: {saved} != {mine}")
                return
            walks.append(1)
    except Exception as exc:  # any transport error counts
        errors.append(repr(exc))
    finally:
        timings.extend(c.timings)


def run_load(addr: tuple[str, int], clients: int, seconds: float) -> dict[str, Any]:
    errors: list[str] = []
    walks: list[int] = []
    timings: list[float] = []
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_walker, args=(addr, i, deadline, errors, walks, timings)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 180)
    out = summary(timings)
    out.update(
        {
            "clients": clients,
            "seconds": seconds,
            "wall": time.monotonic() - t0,
            "cases": len(walks),
            "errors": errors,
            "stuck": sum(1 for t in threads if t.is_alive()),
        }
    )
    return out


def report(r: dict[str, Any]) -> str:
    return (
        f"{r['clients']} clients x {r['seconds']:g} s: {r['cases']} complete cases, {r['requests']} requests, "
        f"{len(r['errors'])} errors; page time p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms\n"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    os.environ.setdefault("GUIDEWALK_RULES", "builtin")  # durable_rules crashes on the fixture (reported)
    from guidewalk.render.web import make_server

    srv, _ = make_server("127.0.0.1", 0, [FIXTURE], quiet=True)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        r = run_load(("127.0.0.1", int(srv.server_address[1])), args.clients, args.seconds)
    finally:
        srv.shutdown()
        srv.server_close()
    sys.stdout.write(report(r))
    for e in r["errors"][:10]:
        sys.stdout.write(f"  error: {e}\n")
    return 1 if r["errors"] or r["stuck"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
