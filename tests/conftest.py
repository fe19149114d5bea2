"""Shared test helpers: the fixture guideline root, golden-case discovery."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings

from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline

# The compiled-guideline cache of this test session: its own folder, so tests neither read
# nor leave entries in the user's cache (tests/test_cache.py covers the cache itself)
os.environ.setdefault("GUIDEWALK_CACHE", tempfile.mkdtemp(prefix="guidewalk-test-cache-"))

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
