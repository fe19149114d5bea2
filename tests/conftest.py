"""Shared test helpers: the fixture guideline root, golden-case discovery."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from engine.load import load_guideline
from engine.model import Guideline

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MINI = TESTS / "fixtures" / "mini"
CASES = TESTS / "cases"


@lru_cache(maxsize=None)
def guideline(gid: str) -> Guideline:
    """A shipped guideline, loaded once per test session."""
    return load_guideline(gid)


@pytest.fixture
def mini() -> Guideline:
    return load_guideline(MINI / "mini", root=MINI)
