"""Where guidelines and score modules are: ids in the guidelines folder, and a name (id or
path) resolved to a guideline file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import LoadError, Location, Problem, suggest
from ..resources import ENV_ROOT, NoGuidelines, guidelines_root


def default_root() -> Path:
    """The guidelines folder: $GUIDEWALK_GUIDELINES, else the shipped one (see
    :mod:`engine.resources`)."""
    return guidelines_root()


def guideline_ids(root: Path | None = None) -> list[str]:
    root = root or default_root()
    return sorted(p.parent.name for p in root.glob("*/guideline.yaml"))


def require_guidelines(root: Path | None = None) -> list[str]:
    """The guideline ids in the guidelines folder; NoGuidelines when there are none, so a
    command never reports success having checked nothing."""
    root = root or default_root()
    ids = guideline_ids(root)
    if not ids:
        raise NoGuidelines(f"no guidelines in {root} (each guideline is a folder with a guideline.yaml); set ${ENV_ROOT} to a guidelines folder")
    return ids


def score_ids(root: Path | None = None) -> list[str]:
    root = root or default_root()
    return sorted(p.stem for p in (root / "scores").glob("*.yaml"))


def resolve(name: str, root: Path | None = None) -> Path:
    """A guideline id or a path (file or folder) -> the guideline file."""
    p = Path(name)
    if p.is_dir() and (p / "guideline.yaml").exists():
        return p / "guideline.yaml"
    if p.is_file():
        return p
    root = root or default_root()
    cand = root / name / "guideline.yaml"
    if cand.exists():
        return cand
    known = guideline_ids(root)
    hint = suggest(name, known)
    raise LoadError(
        [
            Problem(
                Location(name),
                f"no guideline '{name}' (known: {', '.join(known) or 'none'})",
                suggestion=hint,
            )
        ]
    )


def root_for(file: Path) -> Path:
    """The guidelines root a guideline file belongs to: the nearest ancestor with facts.yaml."""
    for parent in list(file.resolve().parents)[:3]:
        if (parent / "facts.yaml").exists():
            return parent
    return default_root()


def sources_sha256(sources: Iterable[tuple[str, bytes]]) -> str:
    """A guideline's sha256 over its source files, (path, bytes) each: every file's folder and
    file name and its bytes, in the order of the files' real paths. Real paths, not relative
    ones, so that the same files give the same sha256 from any current folder."""
    h = hashlib.sha256()
    for path, data in sorted(sources, key=lambda s: os.path.realpath(s[0])):
        real = os.path.realpath(path)
        h.update(os.path.basename(os.path.dirname(real)).encode() + b"/" + os.path.basename(real).encode() + b"\0")
        h.update(data)
        h.update(b"\0")
    return h.hexdigest()
