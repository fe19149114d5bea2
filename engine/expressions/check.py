"""Type check of a parsed condition: names resolved against the facts in scope, enum words
turned into constants, numbers checked against declared ranges; then :func:`finalize` and the
loader's one-step :func:`compile_condition` (parse, check, finalise).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from ..errors import ExpressionError, suggest
from ..fact_types import fact_type
from ..structs import struct
from .parse import check_literal, parse
from .tree import Arith, BoolOp, Call, Cmp, Const, Expr, Fact, FactLike, In, ListLit, Neg, Not, Word

__all__ = ["check", "check_value", "finalize", "compile_condition"]

# Kinds: "boolean", "number", "enum", "string", "set", "date", "list" (a fact's kind comes from its type)


@struct(frozen=True)
class _Ty:
    kind: str
    fact: Any = None  # the FactLike for enum/set/numeric facts
    items: tuple[Any, ...] = ()  # element kinds of a list literal


def check(expr: Expr, scope: Mapping[str, FactLike], *, want: str | None = "boolean", target: FactLike | None = None) -> str:
    """Resolve names and type-check `expr` in `scope`. Rewrites enum words into constants.

    `want` is the required result kind ("boolean" for conditions, None for any). `target`
    is the fact a value expression is assigned to (so bare words resolve to its enum values).
    Returns the result kind. Raises ExpressionError with the column of the offending node.
    """
    checker = _Checker(scope)
    if target is not None and isinstance(expr, Word) and target.type in ("enum", "set") and expr.name not in scope:
        return _resolve_word_as_value(expr, target, scope)
    ty = checker.ty(expr, hint=target)
    kind = ty.kind
    if want == "boolean" and kind != "boolean":
        raise ExpressionError(f"a condition must be true/false, this is a {kind}", expr.col)
    if target is not None:
        _assignable(ty, target, expr)
    return kind


def _resolve_word_as_value(expr: Word, target: FactLike, scope: Mapping[str, FactLike]) -> str:
    if expr.name in target.values:
        raise _Rewrite(Const(expr.col, expr.name))
    raise ExpressionError(
        f"'{expr.name}' is neither a fact nor a value of {target.name} ({', '.join(target.values)})",
        expr.col,
        suggest(expr.name, list(target.values) + list(scope)),
    )


class _Rewrite(Exception):
    """Internal: a top-level Word resolved to a constant (callers use check_value)."""

    def __init__(self, node: Expr):
        self.node = node


def check_value(expr: Expr, scope: Mapping[str, FactLike], target: FactLike) -> Expr:
    """Type-check a value expression for `target`; returns the (possibly rewritten) tree."""
    try:
        check(expr, scope, want=None, target=target)
    except _Rewrite as rw:
        return rw.node
    return expr


def _assignable(ty: _Ty, target: FactLike, expr: Expr) -> None:
    t = target.type
    if ty.kind not in fact_type(t).accepts:
        raise ExpressionError(f"{target.name} is {t}, but this value is {ty.kind}", expr.col)
    if t == "enum" and isinstance(expr, Const) and expr.value not in target.values:
        raise ExpressionError(
            f"'{expr.value}' is not a value of {target.name} ({', '.join(target.values)})",
            expr.col,
            suggest(str(expr.value), target.values),
        )
    if t == "integer" and isinstance(expr, Const) and isinstance(expr.value, float) and not expr.value.is_integer():
        raise ExpressionError(f"{target.name} is an integer, got {expr.value}", expr.col)


class _Checker:
    def __init__(self, scope: Mapping[str, FactLike]):
        self.scope = scope

    def fact_ty(self, spec: FactLike) -> _Ty:
        return _Ty(fact_type(spec.type).kind, spec)

    def ty(self, e: Expr, hint: FactLike | None = None) -> _Ty:
        if isinstance(e, Const):
            v = e.value
            if isinstance(v, bool):
                return _Ty("boolean")
            if isinstance(v, (int, float)):
                return _Ty("number")
            return _Ty("string")
        if isinstance(e, Word):
            spec = self.scope.get(e.name)
            if spec is None:
                if hint is not None and hint.type in ("enum", "set"):
                    if e.name in hint.values:
                        return _Ty("string")
                    raise ExpressionError(
                        f"'{e.name}' is neither a fact nor a value of {hint.name} ({', '.join(hint.values)})",
                        e.col,
                        suggest(e.name, list(hint.values) + list(self.scope)),
                    )
                raise ExpressionError(f"unknown fact '{e.name}'", e.col, suggest(e.name, self.scope))
            return self.fact_ty(spec)
        if isinstance(e, Fact):
            return self.fact_ty(self.scope[e.name])
        if isinstance(e, Not):
            self.need(e.operand, "boolean", "'not' needs a true/false operand")
            return _Ty("boolean")
        if isinstance(e, BoolOp):
            for o in e.operands:
                self.need(o, "boolean", f"'{e.op}' needs true/false operands")
            return _Ty("boolean")
        if isinstance(e, Cmp):
            return self.cmp(e)
        if isinstance(e, In):
            return self.in_(e)
        if isinstance(e, ListLit):
            return _Ty("list", None, tuple(self.ty(i, hint) for i in e.items))
        if isinstance(e, Arith):
            for side in (e.left, e.right):
                self.need(side, "number", f"'{e.op}' needs numbers")
            return _Ty("number")
        if isinstance(e, Neg):
            self.need(e.operand, "number", "'-' needs a number")
            return _Ty("number")
        if isinstance(e, Call):
            return self.call(e)
        raise ExpressionError(f"cannot check {type(e).__name__}", e.col)  # pragma: no cover

    def need(self, e: Expr, kind: str, message: str) -> _Ty:
        t = self.ty(e)
        if t.kind != kind:
            raise ExpressionError(f"{message}, got {t.kind}", e.col)
        return t

    def _free(self, e: Expr) -> bool:
        return isinstance(e, Word) and e.name not in self.scope

    def lit(self, e: Expr) -> Expr:
        """A bare word that is not a fact, once checked, is an enum value."""
        return Const(e.col, e.name) if isinstance(e, Word) and e.name not in self.scope else e

    def _resolve_pair(self, a: Expr, b: Expr) -> tuple[_Ty, _Ty]:
        """Type both sides; a bare word on one side takes its meaning from the other side."""
        if self._free(a) and self._free(b):
            assert isinstance(a, Word)
            raise ExpressionError(f"unknown fact '{a.name}'", a.col, suggest(a.name, self.scope))
        if self._free(a):
            tb = self.ty(b)
            return self.ty(a, hint=tb.fact if tb.kind in ("enum", "set") else None), tb
        ta = self.ty(a)
        return ta, self.ty(b, hint=ta.fact if ta.kind in ("enum", "set") else None)

    def cmp(self, e: Cmp) -> _Ty:
        ta, tb = self._resolve_pair(e.left, e.right)
        e.left = self.lit(e.left)
        e.right = self.lit(e.right)
        kinds = {ta.kind, tb.kind}
        if kinds == {"number"}:
            self._range(e, ta, e.right)
            self._range(e, tb, e.left)
            return _Ty("boolean")
        if ta.kind == "date" or tb.kind == "date":
            for side in (e.left, e.right):
                if isinstance(side, Const) and isinstance(side.value, str):
                    side.value = _date_literal(side.value, side.col)
            if {ta.kind, tb.kind} <= {"date", "string"}:
                return _Ty("boolean")
        if kinds <= {"enum", "string"}:
            if e.op not in ("==", "!="):
                raise ExpressionError(f"'{e.op}' cannot order enum values; use == / != / in", e.col)
            for side_ty, other in ((ta, e.right), (tb, e.left)):
                if side_ty.kind == "enum" and isinstance(other, Const):
                    self._enum_value(side_ty.fact, other)
            return _Ty("boolean")
        if kinds == {"boolean"}:
            if e.op not in ("==", "!="):
                raise ExpressionError(f"'{e.op}' cannot order true/false", e.col)
            return _Ty("boolean")
        raise ExpressionError(f"cannot compare {ta.kind} with {tb.kind}" + _which(ta, tb), e.col)

    def _range(self, e: Cmp, t: _Ty, other: Expr) -> None:
        spec = t.fact
        if spec is None or not isinstance(other, Const) or isinstance(other.value, bool):
            return
        v = other.value
        lo, hi = spec.min, spec.max
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"{_num(lo) if lo is not None else '-inf'}..{_num(hi) if hi is not None else 'inf'}"
            raise ExpressionError(f"{_num(v)} is outside the declared range of {spec.name} ({rng})", other.col)
        if e.op in ("==", "!=") and spec.type == "integer" and isinstance(v, float) and not v.is_integer():
            raise ExpressionError(f"{spec.name} is an integer; {v} can never match", other.col)
        if e.op in ("==", "!=") and spec.step and lo is not None and ((v - lo) / spec.step) % 1:
            raise ExpressionError(f"{_num(v)} is not a valid value of {spec.name} (steps of {_num(spec.step)} from {_num(lo)})", other.col)

    def _enum_value(self, spec: FactLike, c: Const) -> None:
        if c.value not in spec.values:
            raise ExpressionError(
                f"'{c.value}' is not a value of {spec.name} ({', '.join(spec.values)})",
                c.col,
                suggest(str(c.value), spec.values),
            )

    def in_(self, e: In) -> _Ty:
        container = e.container
        if isinstance(container, ListLit):
            ti = self.ty(e.item)
            hint = ti.fact if ti.kind in ("enum", "set") else None
            for i, item in enumerate(container.items):
                tt = self.ty(item, hint=hint)
                container.items[i] = item = self.lit(item)
                if not isinstance(item, Const):
                    raise ExpressionError("list elements must be values", item.col)
                if ti.kind == "enum":
                    self._enum_value(ti.fact, item)
                elif ti.kind == "number":
                    if tt.kind != "number":
                        raise ExpressionError(f"cannot compare number with {tt.kind}", item.col)
                elif ti.kind != tt.kind and not (ti.kind == "string" and tt.kind == "enum"):
                    raise ExpressionError(f"cannot compare {ti.kind} with {tt.kind}", item.col)
            return _Ty("boolean")
        tc = self.ty(container)
        if tc.kind != "set":
            raise ExpressionError("'in' needs a list [a, b, ...] or a set fact on the right", container.col)
        tv = self.ty(e.item, hint=tc.fact)
        e.item = self.lit(e.item)
        if isinstance(e.item, Const):
            self._enum_value(tc.fact, e.item)
        elif tv.kind not in ("enum", "string"):
            raise ExpressionError(f"cannot look for a {tv.kind} in a set", e.item.col)
        return _Ty("boolean")

    def call(self, e: Call) -> _Ty:
        f = e.func
        if f in ("known", "unknown"):
            if len(e.args) != 1 or not isinstance(e.args[0], Word):
                raise ExpressionError(f"{f}(x) takes one fact name", e.col)
            self.ty(e.args[0])
            return _Ty("boolean")
        if f in ("min", "max"):
            if len(e.args) < 2:
                raise ExpressionError(f"{f}() needs at least two numbers", e.col)
            for a in e.args:
                self.need(a, "number", f"{f}() needs numbers")
            return _Ty("number")
        if f == "abs":
            if len(e.args) != 1:
                raise ExpressionError("abs(x) takes one number", e.col)
            self.need(e.args[0], "number", "abs() needs a number")
            return _Ty("number")
        if f == "count":
            if len(e.args) != 1:
                raise ExpressionError("count(s) takes one set fact", e.col)
            self.need(e.args[0], "set", "count() needs a set fact")
            return _Ty("number")
        if f == "days_between":
            if len(e.args) != 2:
                raise ExpressionError("days_between(d1, d2) takes two dates", e.col)
            for a in e.args:
                t = self.ty(a)
                if isinstance(a, Const) and isinstance(a.value, str):
                    a.value = _date_literal(a.value, a.col)
                elif t.kind != "date":
                    raise ExpressionError("days_between() needs dates", a.col)
            return _Ty("number")
        raise ExpressionError(f"unknown function '{f}'", e.col)  # pragma: no cover


def _which(ta: _Ty, tb: _Ty) -> str:
    names = [t.fact.name for t in (ta, tb) if t.fact is not None]
    return f" ({', '.join(names)})" if names else ""


def _date_literal(text: str, col: int) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ExpressionError(f"'{text}' is not a date (YYYY-MM-DD)", col) from None


def _num(v: float | None) -> str:
    if v is None:
        return "?"
    return str(int(v)) if float(v).is_integer() else str(v)


# --------------------------------------------------------------------------- finalise


def finalize(expr: Expr, scope: Mapping[str, FactLike]) -> Expr:
    """Turn resolved Words into Fact nodes (facts) or Const nodes (enum values)."""

    def fix(e: Expr) -> Expr:
        if isinstance(e, Word):
            return Fact(e.col, e.name) if e.name in scope else Const(e.col, e.name)
        if isinstance(e, Not):
            e.operand = fix(e.operand)
        elif isinstance(e, Neg):
            e.operand = fix(e.operand)
        elif isinstance(e, BoolOp):
            e.operands = [fix(o) for o in e.operands]
        elif isinstance(e, (Cmp, Arith)):
            e.left, e.right = fix(e.left), fix(e.right)
        elif isinstance(e, In):
            e.item, e.container = fix(e.item), fix(e.container)
        elif isinstance(e, ListLit):
            e.items = [fix(i) for i in e.items]
        elif isinstance(e, Call):
            e.args = [fix(a) for a in e.args]
        return e

    return fix(expr)


def compile_condition(text: str, scope: Mapping[str, FactLike], *, want: str | None = "boolean", target: FactLike | None = None) -> Expr:
    """Parse, check and finalise in one step (the loader's entry point)."""
    if not isinstance(text, str):
        check_literal(text)
    tree = parse(text) if isinstance(text, str) else Const(0, text)
    if target is not None:
        tree = check_value(tree, scope, target)
    else:
        check(tree, scope, want=want)
    return finalize(tree, scope)
