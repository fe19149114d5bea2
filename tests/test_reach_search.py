"""The stepper's search for the recommendations still reachable (engine/session/reachable.py)
against the search it replaced (tests/reference_reachable.py, kept verbatim): the same nodes
on generated partial cases of the shipped and fixture guidelines; a search past its deadline
says it is partial; the first page comes from the cache once computed, and for a shipped
guideline from the first pages shipped with it while they are current."""

from __future__ import annotations

import random
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
import reference_reachable
from conftest import ROOT, guideline

from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline
from guidewalk.engine.session import ReachabilityError, Session, fact_points, first_page, reachable_nodes, search

SESSION = ROOT / "tests" / "fixtures" / "session" / "demo-stepper"
FIXTURES = [
    SESSION,
    ROOT / "tests" / "fixtures" / "audit" / "cohortx",
    ROOT / "tests" / "fixtures" / "mini" / "mini",
    ROOT / "tests" / "fixtures" / "rules" / "tricky",
]
FIXTURES += [ROOT / "tests" / "fixtures" / "lint" / n for n in ("overlap", "gap_boundary", "derived_gap", "division")]


def _partial(g: Guideline, rng: random.Random, keep: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in g.asks:
        if rng.random() < keep:
            try:
                pts = fact_points(g, f)
            except ReachabilityError:
                continue
            if pts:
                out[f] = rng.choice(pts)
    return out


def _compare(g: Guideline, n: int, keeps: tuple[float, ...]) -> int:
    checked = 0
    for fc in g.flowcharts:
        rng = random.Random(zlib.crc32(f"{g.id}:{fc}".encode()))
        for i in range(n):
            known = _partial(g, rng, keeps[i % len(keeps)])
            try:
                want = reference_reachable.reachable_nodes(g, known, fc)
            except ReachabilityError:
                with pytest.raises(ReachabilityError):
                    reachable_nodes(g, known, fc)
                checked += 1
                continue
            assert reachable_nodes(g, known, fc) == want, f"{fc}: {known}"
            checked += 1
    return checked


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_search_finds_what_the_step_by_step_search_found_on_fixtures(path: Path) -> None:
    g = load_guideline(path)
    assert _compare(g, 40, (0.0, 0.2, 0.5, 0.8)) > 0


@pytest.mark.parametrize("gid", ["brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"])
def test_the_search_finds_what_the_step_by_step_search_found_on_shipped_guidelines(gid: str) -> None:
    # partial cases with a good share of the facts known: the reference search is slow
    assert _compare(guideline(gid), 6, (0.5, 0.7, 0.9)) > 0


def test_a_search_past_its_deadline_says_it_is_partial() -> None:
    g = guideline("spinal-metastases")
    r = search(g, {}, "diagnostics", deadline=time.perf_counter() - 1)
    assert not r.complete and set(r.nodes) <= set(reachable_nodes(g, {}, "diagnostics"))
    full = search(g, {}, "diagnostics")
    assert full.complete and full.nodes == reachable_nodes(g, {}, "diagnostics")


def test_the_first_page_is_kept_once_computed() -> None:
    g = guideline("leptomeningeal-metastases-2020")
    for fc in g.flowcharts:
        assert first_page(g, fc) == reference_reachable.reachable_nodes(g, {}, fc)
        assert Session(g, flowchart=fc).reachable() == first_page(g, fc)
        assert Session(g, flowchart=fc).reachable_complete()


@pytest.mark.parametrize("gid", ["brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"])
def test_the_shipped_first_pages_are_current(gid: str) -> None:
    """A changed guideline needs its first pages written again: .venv/bin/python scripts/first_pages.py"""
    import json

    from guidewalk.engine.session.first_pages import FILE, compute

    g = guideline(gid)
    path = Path(g.location.file).parent / FILE
    shipped = json.loads(path.read_text("utf-8"))
    assert shipped == compute(g), f"{path} is not current: run .venv/bin/python scripts/first_pages.py"
    for fc in g.flowcharts:
        assert shipped["pages"][fc] == reference_reachable.reachable_nodes(g, {}, fc)


def test_a_shipped_first_page_is_used_only_for_its_own_guideline_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from guidewalk.engine import structs
    from guidewalk.engine.session import first_pages, session

    monkeypatch.setenv("GUIDEWALK_CACHE", "0")
    g = guideline("spinal-metastases")

    def no_search(*_: Any) -> list[str]:
        raise AssertionError("searched although the page is shipped")

    monkeypatch.setattr(session, "reachable_nodes", no_search)
    assert first_page(g, "diagnostics") == first_pages.shipped(g, "diagnostics") and first_page(g, "diagnostics")
    assert first_pages.shipped(structs.replace(g, sha256="0" * 64), "diagnostics") is None  # an edited guideline
    assert first_pages.shipped(structs.replace(g, overlays=("local.yaml",)), "diagnostics") is None
    assert first_pages.shipped(g, "no-such-flowchart") is None


GOLDEN = sorted((ROOT / "tests" / "cases").glob("*/*.yaml"))


@pytest.mark.parametrize("gid", sorted({p.parent.name for p in GOLDEN}))
def test_the_search_finds_what_the_step_by_step_search_found_for_every_golden_case(gid: str) -> None:
    import yaml

    g = guideline(gid)
    for path in (p for p in GOLDEN if p.parent.name == gid):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        if case.get("overlay") or case["expect"]["status"] == "invalid_facts":
            continue
        s = Session(g, case.get("facts") or {}, case.get("flowchart"))
        known = s._typed()
        assert reachable_nodes(g, known, s.flowchart) == reference_reachable.reachable_nodes(g, known, s.flowchart), path.name
