"""Loading a guideline through the cache: a guideline loaded before, whose source files have
not changed since, is read back from plain data instead of being parsed and checked again.

The cache entry (:mod:`engine.cache`) is named after the guideline file, its guidelines
folder and overlays (as given and as absolute paths), the engine and the Python version. It
holds the guideline as plain data (:mod:`.serial`) and the absolute paths of the files it
was read from. It is used only when the guideline's sha256 — over those files and the
dictionary and action files now in the folder, exactly as a fresh load computes it —
equals the cached guideline's; otherwise (a changed, added or removed file) the guideline
is loaded from its sources and the entry replaced. With the cache off (``GUIDEWALK_CACHE=0``)
every load reads the sources.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import cache
from ..model import Guideline
from .find import resolve, root_for, sources_sha256

__all__ = ["load_guideline"]


def load_guideline(name: str | os.PathLike[str], *, root: Path | None = None, overlays: Iterable[str] = ()) -> Guideline:
    """Load and check a guideline by id or path. Raises LoadError with every problem found.

    A guideline loaded before from unchanged files comes from the cache (:mod:`engine.cache`)."""
    overlays = tuple(overlays)
    file = resolve(str(name), root)
    root = root or root_for(file)
    from .serial import SCHEMA

    name_key = cache.key("guideline", SCHEMA, os.path.abspath(file), os.path.abspath(root), tuple((str(o), os.path.abspath(o)) for o in overlays))
    hit = cache.get(name_key)
    if hit is not None:
        g = _read(hit, root)
        if g is not None:
            return g
    from .guideline import load_guideline as load_sources

    g = load_sources(file, root=root, overlays=overlays)
    try:
        from .serial import dump

        cache.put(name_key, (_topics(root), dump(g)))
    except (TypeError, ValueError, OSError):  # not kept; the guideline itself is fine
        pass
    return g


def _read(hit: Any, root: Path) -> Guideline | None:
    """The cached guideline if its sources are unchanged, else None."""
    try:
        topics, data = hit
        if tuple(topics) != _topics(root):
            return None
        from .serial import load

        g = load(data)
        if _sha256(data[2]) != g.sha256:
            return None
        return g
    except Exception:  # a damaged or foreign entry: load from the sources
        return None


def _topics(root: Path) -> tuple[str, ...]:
    """The dictionary and action files a load of a guideline under `root` reads."""
    out: list[str] = []
    for name in ("facts", "actions"):
        top = root / f"{name}.yaml"
        files = ([top] if top.exists() else []) + sorted((root / name).glob("*.yaml"))
        out += [os.path.abspath(f) for f in files]
    return tuple(out)


def _sha256(files: Iterable[str]) -> str:
    """The guideline's sha256 over its source files as they are now (as a fresh load
    computes it from the loaded documents, :func:`.find.sources_sha256`)."""

    def read(path: str) -> bytes:
        with open(path, "rb") as fh:
            return fh.read()

    return sources_sha256((path, read(path)) for path in files)
