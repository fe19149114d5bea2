"""The condition IR of the durable_rules backend: a condition in Kleene "definitely true" form,
before it becomes durable's DSL (:mod:`.durable_ruleset`). Pure Python: it needs no durable.

An IR is ``True`` / ``False``, ``("and", [ir...])``, ``("or", [ir...])``, ``("xor", [ir...])``
(an ``or`` whose parts exclude each other), ``("cmp", attr, op, const)`` (the attribute is
present and compares so), ``("ncmp", attr, op, const)`` (its exact complement: absent, or
compares the other way; two paths), ``("ex", attr)`` (present) or ``("nex", attr)`` (absent:
the fact is unknown). durable expands ``or`` into separate paths (DNF) and a rule fires once for every
path that matches; :func:`exclusive` rewrites every disjunction so that its paths exclude each
other (``a | (not-true(a) & b) | ...``), so a rule fires once.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

__all__ = [
    "IR",
    "DNF_LIMIT",
    "SIZE_LIMIT",
    "fits",
    "NEGATE",
    "FLIP",
    "conj",
    "disj",
    "paths",
    "leaves",
    "size",
    "not_true",
    "complement",
    "exclusive",
    "may_raise",
    "plain_number",
]

IR = Any
DNF_LIMIT = 16  # most durable paths one Rete rule may expand into before a marker is split off
SIZE_LIMIT = 24  # most conditions and operators in one Rete rule (durable allows 31, its round guard included)
NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _join(op: str, unit: bool, parts: Sequence[IR]) -> IR:
    """`parts` joined by `op` ("and": unit True; "or": unit False), flattened: the unit drops
    out, its opposite decides the whole."""
    out: list[IR] = []
    for p in parts:
        if p is (not unit):
            return not unit
        if p is unit:
            continue
        out.extend(p[1] if isinstance(p, tuple) and p[0] == op else [p])
    return unit if not out else out[0] if len(out) == 1 else (op, out)


def conj(parts: Sequence[IR]) -> IR:
    return _join("and", True, parts)


def disj(parts: Sequence[IR]) -> IR:
    return _join("or", False, parts)


def paths(ir: IR) -> int:
    """How many durable paths (DNF terms) the IR expands into."""
    if isinstance(ir, tuple) and ir[0] == "ncmp":
        return 2
    if isinstance(ir, tuple) and ir[0] == "and":
        n = 1
        for p in ir[1]:
            n *= paths(p)
        return n
    if isinstance(ir, tuple) and ir[0] in ("or", "xor"):
        return sum(paths(p) for p in ir[1])
    return 1


def size(ir: IR) -> int:
    """The expressions durable compiles the IR into: conditions and and/or operators."""
    if isinstance(ir, tuple) and ir[0] in ("and", "or", "xor"):
        return 1 + sum(size(p) for p in ir[1])
    if isinstance(ir, tuple) and ir[0] == "ncmp":
        return 3
    return 1 if isinstance(ir, tuple) else 0


def fits(ir: IR) -> bool:
    """Whether the IR compiles into one Rete rule without markers (no conjunction past
    DNF_LIMIT paths, no more than SIZE_LIMIT expressions)."""

    def ok(x: IR) -> int:
        """The paths of `x`, or 0 when a conjunction in it is past the limit (one pass)."""
        if not isinstance(x, tuple) or x[0] not in ("and", "or", "xor"):
            return paths(x)
        counts = [ok(p) for p in x[1]]
        if 0 in counts:
            return 0
        if x[0] != "and":
            return sum(counts)
        n = 1
        for c in counts:
            n *= c
        return n if n <= DNF_LIMIT else 0

    return size(ir) <= SIZE_LIMIT and ok(ir) > 0


def leaves(ir: IR) -> list[tuple[Any, ...]]:
    if isinstance(ir, tuple) and ir[0] in ("and", "or", "xor"):
        return [leaf for p in ir[1] for leaf in leaves(p)]
    return [ir] if isinstance(ir, tuple) else []


def not_true(ir: IR) -> IR:
    """The exact complement of `ir` as the Rete sees it: a comparison does not hold when its
    attribute is absent or compares the other way (De Morgan for ``and``/``or``)."""
    if ir is True or ir is False:
        return not ir
    kind = ir[0]
    if kind == "and":
        return disj([not_true(p) for p in ir[1]])
    if kind in ("or", "xor"):
        return conj([not_true(p) for p in ir[1]])
    if kind == "ex":
        return ("nex", ir[1])
    if kind == "nex":
        return ("ex", ir[1])
    return ("ncmp" if kind == "cmp" else "cmp",) + tuple(ir[1:])


def complement(attr: str, op: str, c: Any) -> list[tuple[Any, ...]]:
    """The two exclusive paths of ``("ncmp", attr, op, c)``: compares the other way, or absent."""
    if isinstance(c, bool):  # booleans (facts, atoms, markers, set members): == true / == false
        return [("cmp", attr, "==", (not c) if op == "==" else c), ("nex", attr)]
    return [("cmp", attr, NEGATE[op], c), ("nex", attr)]


def exclusive(ir: IR) -> IR:
    """`ir` with every disjunction's paths made mutually exclusive: ``a | b | c`` becomes
    ``a | (not-true(a) & b) | (not-true(a) & not-true(b) & c)`` — the same matches, each once."""
    if not isinstance(ir, tuple) or ir[0] not in ("and", "or", "xor"):
        return ir
    parts = [exclusive(p) for p in ir[1]]
    if ir[0] == "and":
        return conj(parts)
    if ir[0] == "xor":
        return ("xor", parts)
    out: list[IR] = []
    before: list[IR] = []
    for original, p in zip(ir[1], parts):
        term = conj(before + [p])
        if term is True:
            return ("xor", out + [True]) if out else True
        if term is not False:
            out.append(term)
        before.append(exclusive(not_true(original)))  # (of the smaller input tree: it ends)
    return False if not out else out[0] if len(out) == 1 else ("xor", out)


def may_raise(expr: Any) -> bool:
    """Whether evaluating `expr` may raise (arithmetic: a division by zero, an overflow)."""
    from ..expressions import Arith, iter_nodes

    return any(isinstance(e, Arith) for e in iter_nodes(expr))


def plain_number(v: Any, cuts: Sequence[Any]) -> Any:
    """A number durable's JSON reader takes (no exponent, within 2**53) that compares with
    every one of `cuts` as `v` does; `v` itself when it is one; None when there is none."""

    def plain(x: Any) -> bool:
        if isinstance(x, int):
            return abs(x) < 2**53
        return abs(x) < 1e15 and "e" not in repr(x)

    if plain(v):
        return v
    i = bisect.bisect_left(cuts, v)
    if i < len(cuts) and cuts[i] == v:
        return cuts[i] if plain(cuts[i]) else None
    lo: Any = cuts[i - 1] if i > 0 else None
    hi: Any = cuts[i] if i < len(cuts) else None
    if lo is None:
        cand: Any = 0 if hi is None else hi - 1
    else:
        cand = lo + 1 if hi is None else (lo + hi) / 2
    ok = plain(cand) and (lo is None or lo < cand) and (hi is None or cand < hi)
    return cand if ok else None
