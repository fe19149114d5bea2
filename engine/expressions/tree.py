"""The condition tree: the node classes, the unknown value and the queries every pass shares.

A condition is parsed (:mod:`.parse`) into these nodes, type-checked and finalised
(:mod:`.check`), then compiled into a closure (:mod:`.evaluate`). ``children()`` is the one
traversal; :func:`iter_nodes` walks it for the queries below, and for lint, diff and the
rules backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from ..structs import field, struct
from ..unknown import UNKNOWN

__all__ = [
    "UNKNOWN",
    "FactLike",
    "Expr",
    "Const",
    "Word",
    "Fact",
    "Not",
    "BoolOp",
    "Cmp",
    "In",
    "ListLit",
    "Arith",
    "Neg",
    "Call",
    "FUNCTIONS",
    "iter_nodes",
    "facts_read",
    "constants",
]


class FactLike(Protocol):
    """What the checker needs to know about a fact (dictionary or derived)."""

    name: str
    type: str
    values: tuple[str, ...]
    min: float | None
    max: float | None
    step: float | None


# --------------------------------------------------------------------------- the tree


@struct
class Expr:
    col: int  # 0-based offset of this node in the condition text

    def children(self) -> list[Expr]:
        """The direct sub-expressions, left to right (the one traversal every pass uses)."""
        return []


@struct
class Const(Expr):
    value: Any


@struct
class Word(Expr):
    """A bare name not yet resolved: a fact, or an enum value given by context."""

    name: str


@struct
class Fact(Expr):
    name: str


@struct
class Not(Expr):
    operand: Expr

    def children(self) -> list[Expr]:
        return [self.operand]


@struct
class BoolOp(Expr):
    op: str  # "and" | "or"
    operands: list[Expr]

    def children(self) -> list[Expr]:
        return list(self.operands)


@struct
class Cmp(Expr):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr

    def children(self) -> list[Expr]:
        return [self.left, self.right]


@struct
class In(Expr):
    item: Expr
    container: Expr
    negated: bool

    def children(self) -> list[Expr]:
        return [self.item, self.container]


@struct
class ListLit(Expr):
    items: list[Expr]

    def children(self) -> list[Expr]:
        return list(self.items)


@struct
class Arith(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr

    def children(self) -> list[Expr]:
        return [self.left, self.right]


@struct
class Neg(Expr):
    operand: Expr

    def children(self) -> list[Expr]:
        return [self.operand]


@struct
class Call(Expr):
    func: str
    args: list[Expr] = field(default_factory=list)

    def children(self) -> list[Expr]:
        return list(self.args)


FUNCTIONS = {
    "known": "known(x): true when fact x has a value",
    "unknown": "unknown(x): true when fact x has no value",
    "min": "min(a, b, ...): the smallest number",
    "max": "max(a, b, ...): the largest number",
    "abs": "abs(x): absolute value",
    "count": "count(s): number of elements of a set fact",
    "days_between": "days_between(d1, d2): days from date d1 to date d2",
}

# --------------------------------------------------------------------------- queries


def iter_nodes(expr: Expr) -> Iterator[Expr]:
    """Every node of a tree, depth first, left to right."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        stack.extend(reversed(e.children()))


def facts_read(expr: Expr) -> tuple[str, ...]:
    """The fact names an expression reads, in order of first appearance."""
    return tuple(dict.fromkeys(e.name for e in iter_nodes(expr) if isinstance(e, Fact)))


def constants(expr: Expr) -> list[Any]:
    """Every literal value in an expression (thresholds, enum values)."""
    return [e.value for e in iter_nodes(expr) if isinstance(e, Const)]
