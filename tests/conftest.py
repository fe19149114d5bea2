"""Shared test helpers: the fixture guideline root, golden-case discovery."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings

from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline

# CI runs the property tests on a fixed sequence of examples, so a run is reproducible;
# locally each run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MINI = TESTS / "fixtures" / "mini"
CASES = TESTS / "cases"


@cache
def guideline(gid: str) -> Guideline:
    """A shipped guideline, loaded once per test session."""
    return load_guideline(gid)


@pytest.fixture
def mini() -> Guideline:
    return load_guideline(MINI / "mini", root=MINI)
