"""The durable_rules backend and the built-in one must give identical RulesOutcomes.

Cases are generated (seeded) for every shipped guideline and score module that loads, and
for the fixture in tests/fixtures/rules/: every fact unknown now and then, every numeric
threshold met at, just under and just over its boundary, every enum value.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from guidewalk.engine import load
from guidewalk.engine.errors import LoadError, RuleError
from guidewalk.engine.expressions import UNKNOWN, Cmp, Const, Fact, In, ListLit, iter_nodes
from guidewalk.engine.facts import check_facts
from guidewalk.engine.model import FactSpec, Guideline
from guidewalk.engine.rules import BuiltinRules, RulesOutcome

rules_durable = pytest.importorskip("guidewalk.engine.rules.durable", reason="durable_rules cannot load on this Python")
DurableRules = rules_durable.DurableRules

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
BUILTIN = BuiltinRules()
DURABLE = DurableRules()
N_CASES = 2000


# --------------------------------------------------------------------------- case generation


def _conditions(g: Guideline) -> Iterator[Any]:
    for r in g.rules:
        for c in [x for case in r.cases for x in (case.when, case.value)] + [r.otherwise, r.value, r.when]:
            if c is not None:
                yield c.expr
    for n in g.nodes.values():
        for b in n.branches:
            yield b.when.expr


def thresholds(g: Guideline) -> dict[str, set[float]]:
    """Every number a fact is compared with, anywhere in the guideline."""
    out: dict[str, set[float]] = {}
    for expr in _conditions(g):
        for e in iter_nodes(expr):
            pairs: list[tuple[Any, Any]] = []
            if isinstance(e, Cmp):
                pairs = [(e.left, e.right), (e.right, e.left)]
            elif isinstance(e, In) and isinstance(e.container, ListLit):
                pairs = [(e.item, i) for i in e.container.items]
            for f, c in pairs:
                if isinstance(f, Fact) and isinstance(c, Const) and isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    out.setdefault(f.name, set()).add(c.value)
    return out


def _numbers(spec: FactSpec, thr: set[float]) -> list[float]:
    step = spec.step or (1 if spec.type == "integer" else 0.5)
    lo = spec.min if spec.min is not None else min(list(thr) + [0]) - 10
    hi = spec.max if spec.max is not None else max(list(thr) + [100]) + 10
    vals = {lo, hi}
    for t in thr:
        vals.update({t - step, t, t + step})
    return sorted(v for v in vals if lo <= v <= hi)


def _value(rng: random.Random, spec: FactSpec, boundaries: list[float]) -> Any:
    t = spec.type
    if t == "boolean":
        return rng.random() < 0.5
    if t == "enum":
        return rng.choice(spec.values)
    if t == "set":
        return [v for v in spec.values if rng.random() < 0.4]
    if t == "date":
        return (dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(0, 800))).isoformat()
    if t == "string":
        return rng.choice(["special", "other"])
    if rng.random() < 0.7 and boundaries:
        return rng.choice(boundaries)
    step = spec.step or (1 if t == "integer" else 0.5)
    lo = spec.min if spec.min is not None else 0
    hi = spec.max if spec.max is not None else 100
    return lo + step * rng.randrange(0, int((hi - lo) / step) + 1)


def generate(g: Guideline, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """n checked fact sets (what walk.run hands to a rules backend)."""
    rng = random.Random(seed)
    thr = thresholds(g)
    specs = [g.dictionary[f] for f in g.asks]
    bounds = {s.name: _numbers(s, thr.get(s.name, set())) for s in specs if s.type in ("integer", "number")}
    out = []
    while len(out) < n:
        p_unknown = rng.choice([0.0, 0.1, 0.3])
        raw = {s.name: _value(rng, s, bounds.get(s.name, [])) for s in specs if rng.random() >= p_unknown}
        facts = check_facts(raw, g.dictionary, g.derived)
        assert not facts.errors, facts.errors  # the generator makes valid facts only
        out.append(facts.values)
    return out


def outcome(backend: Any, g: Guideline, facts: dict[str, Any]) -> RulesOutcome | tuple[str, str]:
    try:
        return backend.run(g, facts)  # type: ignore[no-any-return]
    except RuleError as exc:
        return ("RuleError", exc.rule)


def _modules() -> list[tuple[str, Callable[[], Guideline]]]:
    out: list[tuple[str, Callable[[], Guideline]]] = [(f"guideline:{i}", lambda i=i: load.load_guideline(i)) for i in load.guideline_ids()]
    out += [(f"score:{s}", lambda s=s: load.load_score(s)[1]) for s in load.score_ids()]
    out += [("fixture:tricky", lambda: load.load_guideline(FIXTURES / "tricky"))]
    out += [("fixture:raising", lambda: load.load_guideline(FIXTURES / "raising"))]
    return out


# --------------------------------------------------------------------------- (a) agreement


@pytest.mark.parametrize("name,loader", _modules(), ids=[m[0] for m in _modules()])
def test_backends_agree(name: str, loader: Callable[[], Guideline]) -> None:
    try:
        g = loader()
    except LoadError as exc:  # a guideline another author is editing right now
        pytest.skip(f"{name} does not load: {str(exc).splitlines()[0]}")
    cases = generate(g, N_CASES if not name.startswith("fixture") else 3000, seed=zlib.crc32(name.encode()))
    known = unknown = 0
    for facts in cases:
        want, got = outcome(BUILTIN, g, facts), outcome(DURABLE, g, facts)
        assert got == want, f"{name}: backends differ for facts {facts}"
        if isinstance(want, RulesOutcome):
            known += sum(d.value is not UNKNOWN for d in want.derivations)
            unknown += sum(d.value is UNKNOWN for d in want.derivations)
    if any(r.kind == "derive" for r in g.rules):
        assert known and unknown, f"{name}: generated cases should give both known and unknown derived values"


def test_fixture_cases_all_reached() -> None:
    """The generator reaches every case, every otherwise and the unknown of every fixture rule,
    and every alert both fires and does not."""
    g = load.load_guideline(FIXTURES / "tricky")
    seen: dict[str, set[Any]] = {r.id: set() for r in g.rules}
    for facts in generate(g, 3000, seed=7):
        out = DURABLE.run(g, facts)
        for d in out.derivations:
            seen[d.rule].add("unknown" if d.value is UNKNOWN else d.case)
        for r in g.rules:
            if r.kind == "alert":
                seen[r.id].add(any(a.rule == r.id for a in out.alerts))
    for r in g.rules:
        if r.kind == "alert":
            want: set[Any] = {True, False} if r.when is not None else {True}
        elif r.value is not None:
            want = {None, "unknown"} if r.id != "knownness" else {None}
        else:
            want = set(range(len(r.cases))) | ({None} if r.otherwise else set())
            if r.id != "knownness":  # known()/unknown() are never unknown
                want.add("unknown")
        assert want <= seen[r.id], f"{r.id}: saw {seen[r.id]}, want {want}"


def test_fixture_uses_markers_and_atoms() -> None:
    """The fixture exercises what the Rete DSL cannot say directly."""
    comp = rules_durable._compile(load.load_guideline(FIXTURES / "tricky"))
    kinds = {src.kind for rnd in comp.rounds for _, src in rnd.attrs}
    assert {"fact", "set", "atom", "marker"} <= kinds
    assert len(comp.rounds) >= 4  # band -> band_points -> total -> total_class -> alert


# --------------------------------------------------------------------------- (b) many cases


def test_ten_thousand_cases_one_process() -> None:
    g = load.load_score("sins")[1] if "sins" in load.score_ids() else load.load_guideline(FIXTURES / "tricky")
    cases = generate(g, 500, seed=11)
    expected = [BUILTIN.run(g, f) for f in cases]
    for i in range(10_000):
        assert DURABLE.run(g, cases[i % 500]) == expected[i % 500]
    assert rules_durable.CASES == {}  # every session was closed


# --------------------------------------------------------------------------- (c) threads


def test_four_threads_concurrently() -> None:
    g = load.load_guideline(FIXTURES / "tricky")
    cases = generate(g, 2000, seed=23)
    expected = [BUILTIN.run(g, f) for f in cases]
    backend = DurableRules()  # fresh: the threads race to compile the ruleset
    barrier = threading.Barrier(4)
    results: dict[int, list[RulesOutcome]] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            order = list(range(len(cases)))
            random.Random(t).shuffle(order)
            got = {i: backend.run(g, cases[i]) for i in order}
            results[t] = [got[i] for i in range(len(cases))]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert len(results) == 4
    for t in range(4):
        assert results[t] == expected, f"thread {t} differs from the built-in backend"


# --------------------------------------------------------------------------- (d) errors


@pytest.mark.parametrize("backend", [BUILTIN, DURABLE], ids=["builtin", "durable_rules"])
def test_exception_in_rule_is_rule_error(backend: Any) -> None:
    g = load.load_guideline(FIXTURES / "raising")
    with pytest.raises(RuleError) as info:
        backend.run(g, {"a": 3, "b": 1, "flag": True})
    assert info.value.rule == "ratio"
    assert info.value.inputs == {"a": 3}
    assert isinstance(info.value.cause, ZeroDivisionError)
    assert "ratio" in str(info.value) and "a=3" in str(info.value)
    with pytest.raises(RuleError) as info:  # inside a condition
        backend.run(g, {"a": 5, "b": 1, "flag": True})
    assert info.value.rule == "in_condition"
    assert info.value.inputs == {"flag": True, "b": 1, "a": 5}
    # short-circuit: `a == 0 or 10 / a > 2` and `flag and b / (a - 5)` never divide by zero here
    out = backend.run(g, {"a": 0, "b": 1, "flag": True})
    assert out.derived == {"guarded": True, "ratio": round(10 / -3, 10)}
    out = backend.run(g, {"a": 5, "b": 1, "flag": False})
    assert out.derived["guarded"] is False and out.alerts == []


def test_sessions_deleted_after_errors() -> None:
    """Well past durable's 1,024 live sessions, every one of them raising."""
    g = load.load_guideline(FIXTURES / "raising")
    for _ in range(1500):
        with pytest.raises(RuleError):
            DURABLE.run(g, {"a": 3})
    assert rules_durable.CASES == {}
    assert DURABLE.run(g, {"a": 4}).derived["ratio"] == 10.0


def test_import_error_falls_back_to_builtin() -> None:
    code = (
        "import sys; sys.modules['durable'] = None\n"
        "try:\n    import guidewalk.engine.rules.durable\nexcept ImportError:\n    print('ImportError')\n"
        "from guidewalk.engine.rules import backend\nprint(backend().name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent, check=True)
    assert out.stdout.split() == ["ImportError", "builtin"]
