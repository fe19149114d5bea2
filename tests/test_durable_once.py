"""The durable_rules backend's economy: a rule's disjunctions become mutually exclusive Rete
paths (engine/rules/durable_ir.py), so a rule matches once however many disjuncts hold; and
a backend keeps a bounded number of rulesets, freeing the least recently used."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from test_rules_backends import BUILTIN, FIXTURES, generate

from guidewalk.engine import load
from guidewalk.engine.rules.durable_ir import NEGATE, complement, exclusive

rules_durable = pytest.importorskip("guidewalk.engine.rules.durable", reason="durable_rules cannot load on this Python")

ATTRS = ("x", "y", "z")
VALUES = (1, 2, 3)


def _leaf(rng: random.Random) -> Any:
    attr = rng.choice(ATTRS)
    kind = rng.random()
    if kind < 0.1:
        return ("ex", attr)
    if kind < 0.2:
        return ("nex", attr)
    op = rng.choice(sorted(NEGATE))
    return ("ncmp" if kind < 0.35 else "cmp", attr, op, rng.choice(VALUES))


def _tree(rng: random.Random, depth: int) -> Any:
    if depth == 0 or rng.random() < 0.3:
        return _leaf(rng)
    return (rng.choice(("and", "or")), [_tree(rng, depth - 1) for _ in range(rng.randint(2, 3))])


def _paths(ir: Any) -> list[list[Any]]:
    """The DNF terms durable expands an IR into (an ``ncmp`` is two terms)."""
    if ir is True:
        return [[]]
    if ir is False:
        return []
    kind = ir[0]
    if kind in ("or", "xor"):
        return [t for p in ir[1] for t in _paths(p)]
    if kind == "and":
        out: list[list[Any]] = [[]]
        for p in ir[1]:
            out = [a + b for a in out for b in _paths(p)]
        return out
    if kind == "ncmp":
        return [[leaf] for leaf in complement(*ir[1:])]
    return [[ir]]


def _holds(leaf: Any, env: dict[str, Any]) -> bool:
    kind, attr = leaf[0], leaf[1]
    if kind == "ex":
        return attr in env
    if kind == "nex":
        return attr not in env
    if attr not in env:
        return False
    v, op, c = env[attr], leaf[2], leaf[3]
    return bool({"==": v == c, "!=": v != c, "<": v < c, "<=": v <= c, ">": v > c, ">=": v >= c}[op])


def test_exclusive_paths_match_once_and_as_often_as_the_condition_holds() -> None:
    rng = random.Random(7)
    envs = [{a: v for a, v in zip(ATTRS, combo) if v is not None} for combo in itertools.product((None, *VALUES), repeat=len(ATTRS))]
    for _ in range(300):
        ir = _tree(rng, 3)
        before, after = _paths(ir), _paths(exclusive(ir))
        for env in envs:
            matches = sum(all(_holds(leaf, env) for leaf in term) for term in after)
            holds = any(all(_holds(leaf, env) for leaf in term) for term in before)
            assert matches == (1 if holds else 0), (ir, env)


def test_least_recently_used_rulesets_are_freed() -> None:
    tricky = load.load_guideline(FIXTURES / "tricky")
    raising = load.load_guideline(FIXTURES / "raising")
    backend = rules_durable.DurableRules(max_rulesets=1)
    cases = generate(tricky, 50, seed=3)
    assert [backend.run(tricky, f) for f in cases] == [BUILTIN.run(tricky, f) for f in cases]
    (first,) = backend._compiled.values()
    assert first.ruleset is not None
    assert backend.run(raising, {"a": 4}) == BUILTIN.run(raising, {"a": 4})
    assert len(backend._compiled) == 1 and first.ruleset is None  # evicted and freed
    assert [backend.run(tricky, f) for f in cases] == [BUILTIN.run(tricky, f) for f in cases]  # compiled anew
    assert len(backend._compiled) == 1 and rules_durable.CASES == {}
