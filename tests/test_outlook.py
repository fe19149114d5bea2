"""What is still possible, in words: the recommendations Session.reachable() allows, grouped by
the open decisions between them; never bare node ids; the same reachable set; a time budget
that falls back to the graph and the answers."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from test_session import BUILTIN, fixture_guideline

from guidewalk.engine.session import Session
from guidewalk.render import outlook as outlook_module
from guidewalk.render.outlook import Choice, Rec, Rest, build_outlook, outlook_html, outlook_text


def _recs(steps: list[Any]) -> set[str]:
    out: set[str] = set()
    for s in steps:
        if isinstance(s, Rec):
            out.add(s.node)
        elif isinstance(s, Rest):
            out |= {r.node for r in s.recs}
        else:
            for o in s.options:
                out |= _recs(o.steps)
    return out


def test_grouped_by_what_decides_in_words() -> None:
    s = Session(fixture_guideline(), flowchart="treatment", rules=BUILTIN)
    for fact, value in [("symptomatic", False), ("kps", 80), ("age_years", 28)]:
        s.answer(fact, value)
    o = build_outlook(s)
    assert o is not None and o.exact
    assert _recs(o.steps) == set(s.reachable()) == {r.node for r in o.reachable}
    top = o.steps[0]
    assert isinstance(top, Choice) and top.question == "Few and small lesions?"
    assert [opt.label for opt in top.options] == ["bm count ≤ 4 and not large volume", "bm count > 4 or large volume"]
    text = "\n".join(outlook_text(o))
    assert "    if bm count ≤ 4 and not large volume:\n      → The guideline recommends stereotactic radiosurgery.  [srs]" in text
    assert "otherwise:\n          → The guideline recommends considering WBRT.  [wbrt]" in text
    html = outlook_html(o)
    assert "<code>" not in html and ">srs<" not in html  # words, not node ids
    assert "&lt;b&gt;" not in html or "<b>" not in html


def test_answers_settle_decisions_and_narrow_the_options() -> None:
    s = Session(fixture_guideline(), flowchart="treatment", rules=BUILTIN)
    before = build_outlook(s)
    assert before is not None and isinstance(before.steps[0], Choice) and before.steps[0].question == "Neurological symptoms?"
    s.answer("symptomatic", True)
    after = build_outlook(s)
    assert after is not None
    # the symptoms question is settled (dexamethasone is recommended already): the next open decision
    assert isinstance(after.steps[0], Choice) and after.steps[0].question == "Is the patient fit enough?"
    assert "steroids" not in _recs(after.steps)
    for fact, value in [("kps", 80), ("age_years", 28), ("bm_count", 3), ("volume_cm3", 5)]:
        s.answer(fact, value)
    assert build_outlook(s) is None  # complete: nothing open


def test_a_stuck_walk_still_shows_what_unknown_answers_leave_open() -> None:
    s = Session(fixture_guideline(), flowchart="treatment", rules=BUILTIN)
    s.answer("symptomatic", False)
    s.answer("kps", None)
    o = build_outlook(s)
    assert o is not None and isinstance(o.steps[0], Choice) and o.steps[0].question == "Is the patient fit enough?"
    assert _recs(o.steps) == set(s.reachable())


def test_large_outline_is_cut_into_one_of(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outlook_module, "MAX_DEPTH", 1)
    s = Session(fixture_guideline(), flowchart="treatment", rules=BUILTIN)
    o = build_outlook(s)
    assert o is not None
    text = "\n".join(outlook_text(o))
    assert "then one of" in text
    assert _recs(o.steps) == set(s.reachable())


def test_a_slow_exact_search_falls_back_to_the_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Session(fixture_guideline(), flowchart="treatment", rules=BUILTIN)
    s.answer("symptomatic", False)
    slow_calls: list[int] = []

    def slow(self: Session) -> list[str]:
        slow_calls.append(1)
        time.sleep(1.0)
        return ["srs"]

    monkeypatch.setattr(Session, "reachable", slow)
    t0 = time.monotonic()
    o = build_outlook(s, wait=0.1, group="case-1")
    assert time.monotonic() - t0 < 0.8
    assert o is not None and not o.exact and o.pending
    assert "exact narrowing" in outlook_html(o)
    assert {"srs", "wbrt", "bsc", "systemic"} <= _recs(o.steps)  # every way the answers leave open
    o2 = build_outlook(s, wait=0.1, group="case-1")  # one search per case: no second one started
    assert o2 is not None and not o2.exact and len(slow_calls) == 1
    time.sleep(1.2)
    o3 = build_outlook(s, wait=0.1, group="case-1")  # the search finished: its result is used
    assert o3 is not None and o3.exact and [r.node for r in o3.reachable] == ["srs"]
    assert re.search(r"then one of|→", "\n".join(outlook_text(o3)))
