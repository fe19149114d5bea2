"""The common case file read without the YAML library: one ``fact: value`` per line.

A case file is usually a flat mapping of fact names to plain values. Importing PyYAML costs
a one-case ``guidewalk run`` more than reading such a file takes, so :func:`read` takes the
file on when every line is blank, a comment, or ``name: value`` at the start of the line with
a value that YAML 1.1 reads in exactly one way:

* an integer without sign or leading zero (``-3`` too), or a decimal ``1.5`` / ``1.000``, of at
  most 64 characters;
* ``true``, ``false``, ``null`` written in lower case;
* a word (letters, digits, ``_ . -``, single spaces inside) that YAML reads as text, a date
  ``2024-05-01`` (kept as text, as :mod:`engine._yaml` keeps timestamps);
* a quoted string without escapes (``"..."`` without a backslash, ``'...'`` without a quote).

Anything else (``yes``, ``1_000``, ``0x1f``, ``12:30``, ``.5``, an empty value, a tab, a
duplicate name, nesting, a flow mapping, JSON, non-ASCII text) returns None and the file goes
through PyYAML as before. What is read is the same data, positions and number spellings as
PyYAML's path gives (``tests/test_yaml_flat.py`` compares them on generated files).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["read"]

_LINE = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*): +"
    r"(?P<value>-?[0-9]+(?:\.[0-9]+)?"
    r"|[A-Za-z_][A-Za-z0-9_.\-]*(?: [A-Za-z0-9_.\-]+)*"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r'|"[^"\\]*"'
    r"|'[^']*')"
    r"(?: +#.*)? *"
)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: words YAML 1.1 reads as booleans or null in some spelling; only these lower-case ones are taken here
_WORDS = {"true": True, "false": False, "null": None}
_SPECIAL = {"yes", "no", "on", "off", "true", "false", "null", "y", "n"}


def read(text: str, marks: dict[tuple[Any, ...], tuple[int, int]], numbers: dict[tuple[Any, ...], str]) -> dict[str, Any] | None:
    """The mapping `text` holds, with `marks` and `numbers` filled, or None when `text` is not
    a flat case file of the kind described in the module docstring (then nothing is filled)."""
    if not text.isascii() or "\t" in text or "\r" in text:
        return None
    data: dict[str, Any] = {}
    found: dict[tuple[Any, ...], tuple[int, int]] = {}
    spelt: dict[tuple[Any, ...], str] = {}
    fullmatch = _LINE.fullmatch
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        m = fullmatch(line)
        if m is None:
            return None
        key, raw = m.group("key"), m.group("value")
        if key in data:
            return None
        first = raw[0]
        value: Any
        if first in "\"'":
            value = raw[1:-1]
        elif _NUMBER.fullmatch(raw):
            if raw.lstrip("-")[0] == "0" and raw.lstrip("-")[1:2].isdigit():
                return None  # 007, 00.5: octal or sexagesimal questions for YAML
            if len(raw) > 64:
                return None  # past Python's digit limit the YAML path keeps the text
            value = float(raw) if "." in raw else int(raw)
            spelt[(key,)] = raw
        elif raw.lower() in _SPECIAL:
            if raw not in _WORDS:
                return None
            value = _WORDS[raw]
        else:
            value = raw
        if not data:
            found[()] = (n, 1)
        data[key] = value
        found[(key, "<key>")] = (n, 1)
        found[(key,)] = (n, m.start("value") + 1)
    if not data:
        return None
    marks.update(found)
    numbers.update(spelt)
    return data
