"""Condition text -> tree: Python's own parser, then a node-by-node whitelist.

The text is parsed with :func:`ast.parse` and converted into the nodes of :mod:`.tree`;
anything outside the whitelist (attribute access, subscripts, lambdas, comprehensions, calls
other than the fixed functions) is an :class:`~engine.errors.ExpressionError` with a 0-based
column. Nothing is ever evaluated as code.
"""

from __future__ import annotations

import ast
import warnings

from ..errors import ExpressionError, suggest
from .tree import FUNCTIONS, Arith, BoolOp, Call, Cmp, Const, Expr, In, ListLit, Neg, Not, Word

__all__ = ["MAX_LENGTH", "MAX_DEPTH", "MAX_NUMBER", "parse", "check_literal"]

MAX_LENGTH = 4000
#: how deeply an expression may nest (the shipped guidelines need 9); deeper trees are refused
#: before anything recursive walks them
MAX_DEPTH = 100
#: the largest number a condition may write (clinical thresholds are far smaller; 1e309 is inf)
MAX_NUMBER = 1e15

_CMP_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def parse(text: str) -> Expr:
    """Parse a condition or value expression. Raises ExpressionError with a 0-based column."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError("empty expression")
    if "\n" in text.strip():
        text = " ".join(text.split("\n"))  # folded YAML scalars: columns stay approximate
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # e.g. "1and": our own error is enough
            tree = ast.parse(text.strip() if text != text.lstrip() else text, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1
        raise ExpressionError(f"syntax error: {exc.msg}", col) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression too deeply nested") from None
    shift = len(text) - len(text.lstrip()) if text != text.lstrip() else 0
    _check_depth(tree.body, shift)
    try:
        return _convert(tree.body, shift)
    except RecursionError:  # pragma: no cover - _check_depth bounds the recursion
        raise ExpressionError("expression too deeply nested") from None


_SKIP = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _check_depth(root: ast.AST, shift: int) -> None:
    """Refuse a tree deeper than MAX_DEPTH, found without recursion (a 500-term sum or 900
    nested `not`s fit in MAX_LENGTH and would exhaust the stack of every later step)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            col = getattr(node, "col_offset", 0) + shift
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels; split it into derived facts", col)
        stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node) if not isinstance(c, _SKIP))


def check_literal(value: object, col: int = 0) -> None:
    """A number literal must be finite and at most MAX_NUMBER in size (1e309 is infinity, and
    a 400-digit integer cannot be compared with a float range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    big = value != value or abs(value) > MAX_NUMBER
    if big:
        shown = (
            f"{str(value)[:20]}…" if isinstance(value, int) and value.bit_length() < 10_000 else ("a huge number" if isinstance(value, int) else repr(value))
        )
        raise ExpressionError(f"number {shown} is out of range (at most 1e15 in size)", col)


def _convert(node: ast.AST, shift: int) -> Expr:
    col = getattr(node, "col_offset", 0) + shift
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return BoolOp(col, op, [_convert(v, shift) for v in node.values])
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return Not(col, _convert(node.operand, shift))
        if isinstance(node.op, ast.USub):
            inner = _convert(node.operand, shift)
            if isinstance(inner, Const) and isinstance(inner.value, (int, float)) and not isinstance(inner.value, bool):
                return Const(col, -inner.value)
            return Neg(col, inner)
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, shift)
        raise ExpressionError("operator '~' is not allowed", col)
    if isinstance(node, ast.Compare):
        parts: list[Expr] = []
        left = _convert(node.left, shift)
        for cop, comp in zip(node.ops, node.comparators):
            if isinstance(cop, (ast.Is, ast.IsNot)):
                raise ExpressionError("'is' comparisons are not allowed; use == or known(x)", getattr(comp, "col_offset", 0) + shift)
            right = _convert(comp, shift)
            if isinstance(cop, (ast.In, ast.NotIn)):
                parts.append(In(left.col, left, right, isinstance(cop, ast.NotIn)))
            elif type(cop) in _CMP_OPS:
                parts.append(Cmp(left.col, _CMP_OPS[type(cop)], left, right))
            else:
                raise ExpressionError("'is' comparisons are not allowed; use == or known(x)", right.col)
            left = right
        return parts[0] if len(parts) == 1 else BoolOp(col, "and", parts)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH_OPS:
            raise ExpressionError("only + - * / are allowed", col)
        return Arith(col, _ARITH_OPS[type(node.op)], _convert(node.left, shift), _convert(node.right, shift))
    if isinstance(node, ast.Name):
        if node.id in ("true", "True"):
            return Const(col, True)
        if node.id in ("false", "False"):
            return Const(col, False)
        if node.id.startswith("_"):
            raise ExpressionError(f"name '{node.id}' is not allowed (names starting with '_' are reserved)", col)
        return Word(col, node.id)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bool, int, float, str)):
            check_literal(node.value, col)
            return Const(col, node.value)
        raise ExpressionError(f"literal {node.value!r} is not allowed", col)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return ListLit(col, [_convert(e, shift) for e in node.elts])
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError("only the built-in functions may be called: " + ", ".join(sorted(FUNCTIONS)), col)
        if node.func.id not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function '{node.func.id}'; allowed: " + ", ".join(sorted(FUNCTIONS)),
                col,
                suggest(node.func.id, FUNCTIONS),
            )
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed", col)
        return Call(col, node.func.id, [_convert(a, shift) for a in node.args])
    if isinstance(node, ast.Attribute):
        raise ExpressionError("attribute access ('.') is not allowed", col)
    if isinstance(node, ast.Subscript):
        raise ExpressionError("subscripts ('[...]' after a value) are not allowed", col)
    raise ExpressionError(f"'{type(node).__name__}' is not allowed in a condition", col)
