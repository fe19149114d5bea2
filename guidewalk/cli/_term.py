"""Terminal output for the CLI: results to stdout, messages to stderr, errors as text or as a
JSON object, and colour only where it helps and is wanted (a terminal; not with NO_COLOR,
TERM=dumb or --color never; FORCE_COLOR or --color always force it)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["out", "err", "emit_error", "color_enabled", "paint_lines", "set_color"]

_MODE = "auto"  # --color: auto | always | never


def set_color(mode: str) -> None:
    global _MODE
    _MODE = mode


_CODES = {"red": "31", "yellow": "33", "green": "32", "bold": "1", "dim": "2"}
#: (line pattern, style) for the readable outputs of run, validate and lint
_LINE_STYLES = (
    (re.compile(r"^Status: complete"), "green"),
    (re.compile(r"^Status: needs facts"), "yellow"),
    (re.compile(r"^Status: invalid facts"), "red"),
    (re.compile(r"^\s*! \[critical\]"), "red"),
    (re.compile(r"^\s*! \[warning\]"), "yellow"),
    (re.compile(r"^\S+:\d+:\d+: error:"), "red"),
    (re.compile(r"^\S+:\d+:\d+: warning:"), "yellow"),
    (re.compile(r"^The guideline recommends:"), "bold"),
)


def color_enabled(stream: TextIO) -> bool:
    mode = _MODE
    if mode == "never":
        return False
    if mode == "always" or os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint_lines(text: str, stream: TextIO) -> str:
    """Colour the lines of a readable output that carry a status or severity."""
    if not color_enabled(stream):
        return text
    lines = []
    for line in text.split("\n"):
        for pattern, style in _LINE_STYLES:
            if pattern.search(line):
                line = f"\033[{_CODES[style]}m{line}\033[0m"
                break
        lines.append(line)
    return "\n".join(lines)


def out(text: str) -> None:
    sys.stdout.write(paint_lines(text, sys.stdout))


def err(text: str) -> None:
    text = text if text.endswith("\n") else text + "\n"
    sys.stderr.write(paint_lines(text, sys.stderr))


def emit_error(kind: str, message: str, *, json_out: bool = False, problems: Iterable[Any] = ()) -> None:
    """An error as text on stderr, or (with --format json) as one JSON object on stdout:
    ``{"error": {"kind", "message", "problems": [...]}}``."""
    problems = list(problems)
    if json_out:
        body: dict[str, Any] = {"kind": kind, "message": message}
        if problems:
            body["problems"] = [p.to_json() for p in problems]
        sys.stdout.write(json.dumps({"error": body}, indent=2, ensure_ascii=False) + "\n")
        return
    for p in problems:
        err(str(p))
    if not problems:
        err(f"error: {message}")
