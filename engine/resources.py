"""Where the shipped data lives: the guidelines folder (fact dictionary, action codes,
guidelines, scores, overlays, JSON Schemas) and the rendered flowcharts.

Installed from a wheel, both are package data of ``guidewalk`` (``guidewalk/guidelines``,
``guidewalk/flowcharts``), found in the package's folder (through :mod:`importlib.resources`
when the package is not a folder, say a zip). In a source checkout
(an editable install) they are the folders at the top of the repository. An author points
``$GUIDEWALK_GUIDELINES`` at a folder of their own.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .errors import GuidewalkError

__all__ = ["ENV_ROOT", "NoGuidelines", "guidelines_root", "flowcharts_dir", "schema_path"]

ENV_ROOT = "GUIDEWALK_GUIDELINES"


class NoGuidelines(GuidewalkError):
    """No guidelines folder where guidewalk looked."""


def _shipped(name: str) -> Path | None:
    try:  # the folder of the installed package (a wheel installs the data inside it)
        spec = importlib.util.find_spec("guidewalk")
    except ModuleNotFoundError:  # pragma: no cover - engine imported outside its package
        spec = None
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in places:
        if (Path(loc) / name).is_dir():
            return Path(loc) / name
    checkout = Path(__file__).resolve().parent.parent / name  # a source checkout (editable install)
    if checkout.is_dir():
        return checkout
    if places and not all(Path(loc).is_dir() for loc in places):  # pragma: no cover - a zip import
        from importlib import resources

        packaged = resources.files("guidewalk") / name
        if packaged.is_dir():
            return Path(str(packaged))
    return None


def guidelines_root() -> Path:
    """$GUIDEWALK_GUIDELINES, else the shipped guidelines. Raises NoGuidelines (with where it
    looked) when the folder does not exist."""
    env = os.environ.get(ENV_ROOT)
    if env:
        root = Path(env)
        if not root.is_dir():
            raise NoGuidelines(f"${ENV_ROOT} is '{env}', which is not a folder")
        return root
    shipped = _shipped("guidelines")
    if shipped is None:
        raise NoGuidelines(f"no shipped guidelines found next to {Path(__file__).resolve().parent} (a broken install?); set ${ENV_ROOT} to a guidelines folder")
    return shipped


def flowcharts_dir() -> Path:
    """The shipped, rendered flowcharts (may be absent in a broken install)."""
    return _shipped("flowcharts") or Path(__file__).resolve().parent.parent / "flowcharts"


def schema_path(kind: str) -> Path:
    """The shipped JSON Schema of one kind of guideline file."""
    root = _shipped("guidelines") or Path(__file__).resolve().parent.parent / "guidelines"
    return root / "schemas" / f"{kind}.schema.json"
