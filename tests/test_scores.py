"""Every score as a calculator: worked examples and boundaries from tests/scores/*.yaml."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import TESTS

from guidewalk.engine.load import load_score, score_ids
from guidewalk.engine.scores import calculate, describe

FILES = sorted((TESTS / "scores").glob("*.yaml"))
EXAMPLES = []
for f in FILES:
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    for i, ex in enumerate(data.get("examples") or []):
        EXAMPLES.append(pytest.param(data["score"], ex, id=f"{f.stem}-{i}-{ex.get('description', '')[:40]}"))


def test_every_score_has_examples() -> None:
    with_examples = {yaml.safe_load(f.read_text(encoding="utf-8"))["score"] for f in FILES}
    missing = sorted(set(score_ids()) - with_examples)
    assert not missing, f"score modules without worked examples: {missing}"


@pytest.mark.parametrize("score,example", EXAMPLES)
def test_score_example(score: str, example: dict[str, Any]) -> None:
    module, g = load_score(score)
    out = calculate(module, g, example["facts"])
    assert out["status"] == example.get("status", "complete"), out
    for name, want in example["expect"].items():
        got = out["derived"].get(name)
        if isinstance(want, float) or isinstance(got, float):
            assert got == pytest.approx(want), f"{name}: {got} != {want}"
        else:
            assert got == want, f"{name}: {got} != {want}"


@pytest.mark.parametrize("score", score_ids())
def test_describe_lists_inputs_and_source(score: str) -> None:
    module, g = load_score(score)
    d = describe(module, g)
    assert d["source"] and d["source"]["url"].startswith("http")
    assert d["verification"] in ("verified", "partial", "unverified")
    assert all("type" in i for i in d["inputs"]), d["inputs"]
