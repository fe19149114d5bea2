"""Golden cases: one YAML file per case under tests/cases/<guideline>/ (facts in; status,
path, actions, derived values, alerts out). The same files feed the docs and the steppers."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CASES, guideline

from guidewalk.engine.walk import run

CASE_KEYS = {"description", "source", "flowchart", "facts", "expect", "note", "overlay"}
EXPECT_KEYS = {"status", "path", "actions", "derived", "alerts", "needs", "errors"}

FILES = sorted(CASES.glob("*/*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), f"{path}: a golden case is a mapping"
    unknown = set(data) - CASE_KEYS
    assert not unknown, f"{path}: unknown keys {sorted(unknown)}"
    assert set(data.get("expect") or {}) <= EXPECT_KEYS, f"{path}: unknown expect keys"
    assert "status" in data["expect"], f"{path}: expect.status is required"
    return data


def _run(path: Path) -> tuple[dict[str, Any], Any]:
    case = _load(path)
    g = guideline(path.parent.name)
    if case.get("overlay"):
        from guidewalk.engine.load import load_guideline

        g = load_guideline(path.parent.name, overlays=[str(Path(__file__).resolve().parent.parent / case["overlay"])])
    return case, run(g, case.get("facts") or {}, flowchart=case.get("flowchart"))


def test_golden_cases_exist() -> None:
    assert FILES, "no golden cases found under tests/cases/"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_golden(path: Path) -> None:
    case, result = _run(path)
    exp = case["expect"]
    got = result.to_json()
    assert result.status == exp["status"], f"status {result.status}; needs={result.needs}; errors={[str(e) for e in result.errors]}"
    if "path" in exp:
        assert result.path == exp["path"]
    if "actions" in exp:
        assert result.actions == exp["actions"]
    if "needs" in exp:
        assert sorted(result.needs) == sorted(exp["needs"])
    if "errors" in exp:
        assert sorted(e.fact for e in result.errors) == sorted(exp["errors"])
    for name, value in (exp.get("derived") or {}).items():
        assert name in got["derived"], f"derived fact {name} missing (have {sorted(got['derived'])})"
        if isinstance(value, float) or isinstance(got["derived"][name], float):
            assert got["derived"][name] == pytest.approx(value), name
        else:
            assert got["derived"][name] == value, name
    if "alerts" in exp:
        assert sorted(a.rule for a in result.alerts) == sorted(exp["alerts"] or [])
    if result.status == "needs_facts":
        assert result.recommendations == [] or result.needs, "needs_facts must name the facts"


def _coverage() -> dict[str, tuple[set[str], set[str]]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for path in FILES:
        _, result = _run(path)
        seen[path.parent.name].update(result.path)
    out = {}
    for gid, nodes in seen.items():
        out[gid] = (set(guideline(gid).nodes), nodes)
    return out


GIDS = sorted({p.parent.name for p in FILES})


@pytest.mark.parametrize("gid", GIDS)
def test_every_node_reached_by_a_golden_case(gid: str, capsys: pytest.CaptureFixture[str]) -> None:
    all_nodes, seen = _coverage()[gid]
    missing = sorted(all_nodes - seen)
    with capsys.disabled():
        print(f"\nnode coverage {gid}: {len(all_nodes & seen)}/{len(all_nodes)}")
    assert not missing, f"nodes on no golden case's path: {missing}"
