"""Shared test helpers: the fixture guideline root, golden-case discovery."""

from __future__ import annotations

import importlib.abc
import os
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings

from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline


class _OneImportName(importlib.abc.MetaPathFinder):
    """From the checkout, `import engine` would find the folder engine/ and load a second copy
    of every module (whose classes then fail isinstance against guidewalk.engine's). The
    package has one import name: refuse the folder names with the right import."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        top = fullname.split(".")[0]
        if top in ("engine", "render"):
            raise ImportError(f"import guidewalk.{fullname}, not {fullname}: the package has one import name")
        return None


sys.meta_path.insert(0, _OneImportName())

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
