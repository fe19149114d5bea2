"""A loaded guideline as plain data and back: what the cache keeps (:mod:`engine.cache`).

The model's structs (guideline, flowcharts, nodes, branches, conditions with their checked
trees, rules, fact specs, sources, locations) become nested tuples of strings, numbers and
booleans that :mod:`marshal` writes; nothing in them is code. Reading them back builds the
same objects field for field; each condition's closure is compiled again from its tree
(:func:`engine.expressions.compile_expr`). File names in locations are kept absolute and
made relative to the current folder on reading, as a fresh load writes them.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any

from ..errors import Location
from ..expressions import Arith, BoolOp, Call, Cmp, Const, Fact, In, ListLit, Neg, Not, Word, compile_expr
from ..model import Branch, Case, Condition, FactSpec, Flowchart, Guideline, Module, Node, Rule, Source
from ..structs import field_names

__all__ = ["dump", "load", "SCHEMA"]

_CLASSES: tuple[type, ...] = (Location, Source, FactSpec, Condition, Branch, Node, Flowchart, Case, Rule, Guideline, Module)
_CLASSES += (Const, Word, Fact, Not, BoolOp, Cmp, In, ListLit, Arith, Neg, Call)
_FIELDS = [field_names(c) for c in _CLASSES]
_INDEX = {c: i for i, c in enumerate(_CLASSES)}
#: The classes and fields this format writes, in order: part of the cache entry's name, so an
#: entry written by a model with other fields is never read back.
SCHEMA = tuple((c.__name__, names) for c, names in zip(_CLASSES, _FIELDS))
_LIST, _TUPLE, _DICT, _DATE, _FROZEN = "\0L", "\0T", "\0D", "\0d", "\0F"
_LOC = _INDEX[Location]
_COND = _INDEX[Condition]


def dump(g: Guideline) -> Any:
    """`g` as plain data (locations with absolute file names)."""
    files: dict[str, int] = {}

    def enc(x: Any) -> Any:
        if x is None or x.__class__ in (str, int, float, bool):
            return x
        if x.__class__ is Location:
            i = files.setdefault(x.file, len(files))
            return (_LOC, i, x.line, x.col, x.path)
        k = _INDEX.get(x.__class__)
        if k is not None:
            if k == _COND:
                return (k,) + tuple(None if name == "test" else enc(getattr(x, name)) for name in _FIELDS[k])
            return (k,) + tuple(enc(getattr(x, name)) for name in _FIELDS[k])
        if isinstance(x, list):
            return (_LIST,) + tuple(enc(v) for v in x)
        if isinstance(x, tuple):
            return (_TUPLE,) + tuple(enc(v) for v in x)
        if isinstance(x, dict):
            return (_DICT,) + tuple((k, enc(v)) for k, v in x.items())
        if isinstance(x, frozenset):
            return (_FROZEN,) + tuple(enc(v) for v in x)
        if isinstance(x, _dt.date) and not isinstance(x, _dt.datetime):
            return (_DATE, x.isoformat())
        raise TypeError(f"cannot keep a {type(x).__name__} in the cache")

    body = enc(g)
    return (tuple(os.path.abspath(f) for f in files), body, tuple(os.path.abspath(f) for f in g.files))


def load(data: Any) -> Guideline:
    """The guideline `data` (from :func:`dump`) describes."""
    abs_files, body, gfiles = data
    rel = tuple(_rel(f) for f in abs_files)
    new = object.__new__
    classes, names = _CLASSES, _FIELDS

    def dec(x: Any) -> Any:
        if x.__class__ is not tuple:
            return x
        h = x[0]
        if h.__class__ is int:
            obj: Any = new(classes[h])
            if h == _LOC:
                obj.__dict__.update(file=rel[x[1]], line=x[2], col=x[3], path=x[4])
                return obj
            obj.__dict__.update(zip(names[h], [v if v.__class__ is not tuple else dec(v) for v in x[1:]]))
            if h == _COND:
                obj.test = compile_expr(obj.expr)
            return obj
        if h == _LIST:
            return [v if v.__class__ is not tuple else dec(v) for v in x[1:]]
        if h == _TUPLE:
            return tuple([v if v.__class__ is not tuple else dec(v) for v in x[1:]])
        if h == _DICT:
            return {k: v if v.__class__ is not tuple else dec(v) for k, v in x[1:]}
        if h == _FROZEN:
            return frozenset(dec(v) for v in x[1:])
        if h == _DATE:
            return _dt.date.fromisoformat(x[1])
        raise ValueError(f"unknown tag {h!r} in a cached guideline")

    g = dec(body)
    if not isinstance(g, Guideline):
        raise ValueError("not a cached guideline")
    g.files = tuple(_rel(f) for f in gfiles)
    return g


def _rel(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
