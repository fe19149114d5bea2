"""A condition tree rendered for people (``KPS ≥ 70 and bm_count ≤ 10``): labels and traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .tree import Arith, BoolOp, Call, Cmp, Const, Expr, Fact, In, ListLit, Neg, Not, Word

__all__ = ["readable"]

_PRETTY = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥", "<": "<", ">": ">"}
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "atom": 8}


def readable(expr: Expr, names: Mapping[str, str] | None = None) -> str:
    """A human-readable rendering (`KPS ≥ 70 and bm_count ≤ 10`) for labels and traces."""
    names = names or {}

    def lit(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def r(e: Expr, parent: int = 0) -> str:
        if isinstance(e, Const):
            s, p = lit(e.value), _PREC["atom"]
        elif isinstance(e, (Fact, Word)):
            s, p = names.get(e.name, e.name), _PREC["atom"]
        elif isinstance(e, Not):
            s, p = "not " + r(e.operand, _PREC["not"]), _PREC["not"]
        elif isinstance(e, BoolOp):
            p = _PREC[e.op]
            s = f" {e.op} ".join(r(o, p + 1) for o in e.operands)
        elif isinstance(e, Cmp):
            p = _PREC["cmp"]
            if isinstance(e.right, Const) and isinstance(e.right.value, bool) and e.op in ("==", "!="):
                yes = e.right.value == (e.op == "==")
                s = r(e.left, p + 1) if yes else "not " + r(e.left, p + 1)
            else:
                s = f"{r(e.left, p + 1)} {_PRETTY[e.op]} {r(e.right, p + 1)}"
        elif isinstance(e, In):
            p = _PREC["cmp"]
            word = "not in" if e.negated else "in"
            if isinstance(e.container, ListLit):
                inner = ", ".join(r(i) for i in e.container.items)
                s = f"{r(e.item, p + 1)} {word} {{{inner}}}"
            else:
                s = f"{r(e.item, p + 1)} {word} {r(e.container, p + 1)}"
        elif isinstance(e, ListLit):
            s, p = "{" + ", ".join(r(i) for i in e.items) + "}", _PREC["atom"]
        elif isinstance(e, Arith):
            p = _PREC[e.op]
            s = f"{r(e.left, p)} {e.op} {r(e.right, p + 1)}"
        elif isinstance(e, Neg):
            s, p = "-" + r(e.operand, _PREC["neg"]), _PREC["neg"]
        elif isinstance(e, Call):
            s, p = f"{e.func}(" + ", ".join(r(a) for a in e.args) + ")", _PREC["atom"]
        else:  # pragma: no cover
            s, p = "?", _PREC["atom"]
        return f"({s})" if p < parent else s

    return r(expr)


def sequence_text(items: Sequence[str]) -> str:
    return ", ".join(items)
