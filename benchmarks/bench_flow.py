"""The shared benchmark flow, every way of walking it side by side in one process.

    .venv/bin/python benchmarks/bench_flow.py [--cases 5000] [--passes 5]

The flow (benchmarks/flow/flow.py: 8 decisions, 2 derived facts, the decision trace) is
written as hand-written Python (benchmarks/flow/handwritten.py) and in guidewalk's YAML
(benchmarks/flow/guideline-root/bench-flow). First every implementation's result is checked
against the hand-written one on every case (rpa_class, recommendation, mdo_required and the
decisions taken); then each is timed over the same cases, the implementations interleaved
within each pass. Printed: the median per-case time and the ratio to hand-written Python
measured in the same run, and the machine's load average.

(a) hand-written Python if/else with a trace list
(b) a minimal data-driven walker, conditions compile()d once (the flow's own Python text)
(c) guidewalk run, built-in rules, the full trace (built when read: not read here)
(d) the same, and the result's JSON read (trace, derived facts, alerts as JSON)
(e) guidewalk run, durable_rules
(f) the same flow written by hand as a durable_rules ruleset
(g) the audit's walker: the compiled program with the trace off, memoised (path only)
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "flow"))
import flow  # type: ignore[import-not-found]  # noqa: E402
import handwritten  # type: ignore[import-not-found]  # noqa: E402

from guidewalk.engine.load import load_guideline  # noqa: E402
from guidewalk.engine.rules import backend, durable_available  # noqa: E402
from guidewalk.engine.walk import run  # noqa: E402

ROOT = HERE / "flow" / "guideline-root"


def as_result(j: dict[str, Any]) -> dict[str, Any]:
    """The hand-written result shape, read from guidewalk's JSON result."""
    trace = []
    for s in j["trace"]:
        if s["kind"] == "decision":
            first = s["branches"][0]["to"]
            trace.append((s["node"], s["taken"] == first and s.get("how") != "otherwise"))
    rec = j["recommendations"][-1]["actions"][0].upper()
    return {"rpa_class": j["derived"]["rpa_class"], "recommendation": rec, "mdo_required": rec in flow.MDO_RECOMMENDATIONS, "trace": trace}


# --------------------------------------------------------------------------- (b) minimal walker


def minimal_walker() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Conditions compile()d once from the flow's own text (benchmark data, not guideline text)."""
    graph = {n: (compile(c, n, "eval"), t, f) for n, (c, t, f) in flow.GRAPH.items()}
    rpa1, rpa3 = compile(flow.RPA_1, "rpa1", "eval"), compile(flow.RPA_3, "rpa3", "eval")

    def walk(f: dict[str, Any]) -> dict[str, Any]:
        rpa = 1 if eval(rpa1, None, f) else 3 if eval(rpa3, None, f) else 2
        trace = []
        node: Any = flow.START
        while not isinstance(node, tuple):
            cond, t, e = graph[node]
            ok = bool(eval(cond, None, f))
            trace.append((node, ok))
            node = t if ok else e
        rec = node[1]
        return {"rpa_class": rpa, "recommendation": rec, "mdo_required": rec in flow.MDO_RECOMMENDATIONS, "trace": trace}

    return walk


# --------------------------------------------------------------------------- (f) durable by hand


class HandDurable:
    """The flow as a durable_rules ruleset written by hand: the case posted as one fact per
    step; one rule per decision outcome records the decision and asserts the next step; the
    RPA class by three mutually exclusive rules."""

    def __init__(self) -> None:
        from durable import engine
        from durable.lang import m, when_all

        class Host(engine.Host):  # type: ignore[misc]
            def _run(self) -> None:  # no background dispatcher threads
                return None

        self.host = Host()
        self.out: dict[str, dict[str, Any]] = {}
        rules: dict[str, Any] = {}

        def rule(name: str, cond: Any, node: str | None, ok: bool, nxt: Any) -> None:
            def action(c: Any) -> None:
                rec = self.out[c.s.sid]
                if node is None:  # the RPA class
                    rec["rpa_class"] = nxt
                    return
                if node in rec["seen"]:  # a second matching disjunct of the same rule
                    return
                rec["seen"].add(node)
                rec["trace"].append((node, ok))
                if isinstance(nxt, tuple):
                    rec["recommendation"] = nxt[1]
                else:
                    c.assert_fact({"step": nxt, "f": c.m.f._d})

            r = when_all(cond)
            r.func = [action]
            rules[name] = r.define()

        at = lambda s: m.step == s  # noqa: E731
        f = m.f
        start = at(flow.D1)
        rule("rpa1", start & (f.kps >= 70) & (f.age < 65) & (f.systemic_disease == "none"), None, True, 1)
        rule("rpa3", start & (f.kps < 70), None, True, 3)
        rule("rpa2a", start & (f.kps >= 70) & (f.age >= 65), None, True, 2)
        rule("rpa2b", start & (f.kps >= 70) & (f.age < 65) & (f.systemic_disease != "none"), None, True, 2)
        d1 = (f.symptomatic == True) & ((f.mass_effect == True) | (f.hydrocephalus == True) | (f.posterior_fossa == True))  # noqa: E712
        d1 = d1 & (f.max_diameter_cm > 3.5) & (f.systemic_disease != "progressive")
        not_d1 = (f.symptomatic == False) | ((f.mass_effect == False) & (f.hydrocephalus == False) & (f.posterior_fossa == False))  # noqa: E712
        not_d1 = not_d1 | (f.max_diameter_cm <= 3.5) | (f.systemic_disease == "progressive")
        rule("d1_t", at(flow.D1) & d1, flow.D1, True, ("rec", flow.RESECTION))
        rule("d1_f", at(flow.D1) & not_d1, flow.D1, False, flow.D2)
        d2 = (f.kps < 70) & (f.egfr_or_alk == False) & (f.her2 == False)  # noqa: E712
        rule("d2_t", at(flow.D2) & d2, flow.D2, True, ("rec", flow.BSC))
        rule("d2_f", at(flow.D2) & ((f.kps >= 70) | (f.egfr_or_alk == True) | (f.her2 == True)), flow.D2, False, flow.D3)  # noqa: E712
        d3 = (f.primary == "nsclc") & (f.egfr_or_alk == True) & (f.symptomatic == False)  # noqa: E712
        rule("d3_t", at(flow.D3) & d3, flow.D3, True, ("rec", flow.TARGETED))
        rule("d3_f", at(flow.D3) & ((f.primary != "nsclc") | (f.egfr_or_alk == False) | (f.symptomatic == True)), flow.D3, False, flow.D4)  # noqa: E712
        d4 = (f.n_mets <= 10) & (f.total_volume_cc <= 30) & (f.max_diameter_cm <= 3.5)
        rule("d4_t", at(flow.D4) & d4, flow.D4, True, flow.D4B)
        rule("d4_f", at(flow.D4) & ((f.n_mets > 10) | (f.total_volume_cc > 30) | (f.max_diameter_cm > 3.5)), flow.D4, False, flow.D5)
        rule("d4b_t", at(flow.D4B) & (f.n_mets <= 4), flow.D4B, True, ("rec", flow.SRS))
        rule("d4b_f", at(flow.D4B) & (f.n_mets > 4), flow.D4B, False, ("rec", flow.SRS_SHARED))
        rule("d5_t", at(flow.D5) & (f.primary == "breast") & (f.her2 == True), flow.D5, True, ("rec", flow.HER2))  # noqa: E712
        rule("d5_f", at(flow.D5) & ((f.primary != "breast") | (f.her2 == False)), flow.D5, False, flow.D6)  # noqa: E712
        rule("d6_t", at(flow.D6) & (f.systemic_disease == "progressive"), flow.D6, True, flow.D6B)
        rule("d6_f", at(flow.D6) & (f.systemic_disease != "progressive"), flow.D6, False, ("rec", flow.WBRT))
        rule("d6b_t", at(flow.D6B) & (f.kps >= 70), flow.D6B, True, ("rec", flow.WBRT))
        rule("d6b_f", at(flow.D6B) & (f.kps < 70), flow.D6B, False, ("rec", flow.BSC))
        self.name = "bench_flow_by_hand"
        self.host.register_rulesets({self.name: rules})
        self.sids = iter(range(1, 1 << 62))

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        sid = str(next(self.sids))
        rec: dict[str, Any] = {"trace": [], "seen": set()}
        self.out[sid] = rec
        try:
            self.host.assert_fact(self.name, {"sid": sid, "step": flow.D1, "f": case})
        finally:
            self.host.delete_state(self.name, sid)
            del self.out[sid]
        del rec["seen"]
        rec["mdo_required"] = rec["recommendation"] in flow.MDO_RECOMMENDATIONS
        return rec


# --------------------------------------------------------------------------- timing


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args(argv)
    g = load_guideline(ROOT / "bench-flow", root=ROOT)
    cases = flow.make_cases(args.cases, flow.SEED_LATENCY)
    builtin = backend("builtin")
    impls: dict[str, Callable[[dict[str, Any]], Any]] = {
        "(a) hand-written Python": handwritten.evaluate,
        "(b) minimal walker, compile()d conditions": minimal_walker(),
        "(c) guidewalk run, built-in rules": lambda c: run(g, c, rules=builtin),
        "(d) guidewalk run, built-in, JSON read": lambda c: run(g, c, rules=builtin).to_json(),
    }
    as_flow: dict[str, Callable[[Any], dict[str, Any]]] = {
        "(c) guidewalk run, built-in rules": lambda r: as_result(r.to_json()),
        "(d) guidewalk run, built-in, JSON read": as_result,
    }
    if durable_available()[0]:
        durable = backend("durable_rules")
        impls["(e) guidewalk run, durable_rules"] = lambda c: run(g, c, rules=durable)
        as_flow["(e) guidewalk run, durable_rules"] = lambda r: as_result(r.to_json())
        impls["(f) durable_rules ruleset by hand"] = HandDurable()
    from guidewalk.engine.audit.fast import FastWalker

    walker = FastWalker(g, flow.FACT_NAMES, "main")
    pick = itemgetter(*flow.FACT_NAMES)
    impls["(g) audit walker, trace off, memoised"] = lambda c: walker.walk(pick(c))

    want = [flow.normalize(handwritten.evaluate(c)) for c in cases]
    for name, fn in impls.items():
        if name.startswith("(g)"):
            got = [o.actions[-1].upper() for o in map(fn, cases)]
            bad = sum(1 for w, a in zip(want, got) if w[1] != a)
        else:
            conv = as_flow.get(name, lambda r: r)
            bad = sum(1 for w, c in zip(want, cases) if flow.normalize(conv(fn(c))) != w)
        if bad:
            print(f"{name}: {bad} of {len(cases)} cases differ from the hand-written flow: no timing")
            return 1
    gc.freeze()
    times: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(args.passes):
        for name, fn in impls.items():
            t = time.perf_counter()
            for c in cases:
                fn(c)
            times[name].append((time.perf_counter() - t) / len(cases) * 1e6)
    hand = statistics.median(times["(a) hand-written Python"])
    load = os.getloadavg()
    print(f"identical results on {len(cases)} cases; {args.passes} interleaved passes; load average {load[0]:.2f}")
    print(f"{'':45} {'us/case':>9} {'x hand-written':>15}")
    for name, ts in times.items():
        us = statistics.median(ts)
        print(f"  {name:43} {us:9.2f} {us / hand:14.1f}x")
    if "(f) durable_rules ruleset by hand" in times:
        e, f = statistics.median(times["(e) guidewalk run, durable_rules"]), statistics.median(times["(f) durable_rules ruleset by hand"])
        print(f"  guidewalk durable_rules / durable_rules by hand: {e / f:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
