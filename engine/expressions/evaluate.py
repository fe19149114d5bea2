"""A checked, finalised tree compiled into a closure ``env -> value | UNKNOWN``, with
Kleene's three-valued logic; and :func:`relevant_unknowns`, which unknown facts could still
change an unknown result.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .check import compile_condition
from .tree import UNKNOWN, Arith, BoolOp, Call, Cmp, Const, Expr, Fact, FactLike, In, ListLit, Neg, Not, Word, facts_read

__all__ = ["Env", "Compiled", "compile_expr", "relevant_unknowns", "evaluate"]

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]

_CMP_FUN: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH_FUN: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


def compile_expr(expr: Expr) -> Compiled:
    """Compile a checked, finalised tree into a closure `env -> value | UNKNOWN`."""
    U = UNKNOWN

    if isinstance(expr, Const):
        v = expr.value
        return lambda env: v
    if isinstance(expr, Fact):
        name = expr.name
        return lambda env: env.get(name, U)
    if isinstance(expr, Not):
        f = compile_expr(expr.operand)

        def not_(env: Env) -> Any:
            v = f(env)
            return U if v is U else not v

        return not_
    if isinstance(expr, BoolOp):
        fs = tuple(compile_expr(o) for o in expr.operands)
        if expr.op == "and":

            def and_(env: Env) -> Any:
                unk = False
                for g in fs:
                    v = g(env)
                    if v is False:
                        return False
                    if v is U:
                        unk = True
                return U if unk else True

            return and_

        def or_(env: Env) -> Any:
            unk = False
            for g in fs:
                v = g(env)
                if v is True:
                    return True
                if v is U:
                    unk = True
            return U if unk else False

        return or_
    if isinstance(expr, Cmp):
        op = _CMP_FUN[expr.op]
        lf, rf = compile_expr(expr.left), compile_expr(expr.right)
        if isinstance(expr.right, Const):
            c = expr.right.value
            if isinstance(expr.left, Fact):
                name = expr.left.name

                def cmp_fact_const(env: Env) -> Any:
                    a = env.get(name, U)
                    return U if a is U else op(a, c)

                return cmp_fact_const

        def cmp_(env: Env) -> Any:
            a = lf(env)
            if a is U:
                return U
            b = rf(env)
            if b is U:
                return U
            return op(a, b)

        return cmp_
    if isinstance(expr, In):
        itemf = compile_expr(expr.item)
        neg = expr.negated
        if isinstance(expr.container, ListLit):
            values = frozenset(i.value for i in expr.container.items if isinstance(i, Const))

            def in_list(env: Env) -> Any:
                v = itemf(env)
                if v is U:
                    return U
                return (v in values) != neg

            return in_list
        contf = compile_expr(expr.container)

        def in_set(env: Env) -> Any:
            v = itemf(env)
            s = contf(env)
            if v is U or s is U:
                return U
            return (v in s) != neg

        return in_set
    if isinstance(expr, ListLit):
        vals = frozenset(i.value for i in expr.items if isinstance(i, Const))
        return lambda env: vals
    if isinstance(expr, Arith):
        aop = _ARITH_FUN[expr.op]
        lf, rf = compile_expr(expr.left), compile_expr(expr.right)

        def arith(env: Env) -> Any:
            a = lf(env)
            b = rf(env)
            if a is U or b is U:
                return U
            r = aop(a, b)
            if r.__class__ is float and r - r != 0.0:  # inf or NaN: never a fact's value, never emitted
                raise ArithmeticError(f"{expr.op} gives a number out of range")
            return r

        return arith
    if isinstance(expr, Neg):
        f = compile_expr(expr.operand)
        return lambda env: U if (v := f(env)) is U else -v
    if isinstance(expr, Call):
        return _compile_call(expr)
    raise TypeError(f"cannot compile {type(expr).__name__}")  # pragma: no cover


def _compile_call(expr: Call) -> Compiled:
    U = UNKNOWN
    f = expr.func
    if f in ("known", "unknown"):
        arg = expr.args[0]
        name = arg.name if isinstance(arg, (Fact, Word)) else ""
        want_known = f == "known"
        return lambda env: (env.get(name, U) is not U) == want_known
    fs = tuple(compile_expr(a) for a in expr.args)
    if f in ("min", "max"):
        agg = min if f == "min" else max

        def minmax(env: Env) -> Any:
            vals = [g(env) for g in fs]
            return U if any(v is U for v in vals) else agg(vals)

        return minmax
    if f == "abs":
        g = fs[0]
        return lambda env: U if (v := g(env)) is U else abs(v)
    if f == "count":
        g = fs[0]
        return lambda env: U if (v := g(env)) is U else len(v)
    if f == "days_between":
        g1, g2 = fs

        def days(env: Env) -> Any:
            a, b = g1(env), g2(env)
            return U if a is U or b is U else (b - a).days

        return days
    raise TypeError(f"unknown function {f}")  # pragma: no cover


def evaluate(text_or_expr: str | Expr, env: Env, scope: Mapping[str, FactLike]) -> Any:
    """Convenience for tests and the REPL: parse, check, compile and evaluate once."""
    expr = compile_condition(text_or_expr, scope, want=None) if isinstance(text_or_expr, str) else text_or_expr
    return compile_expr(expr)(env)


def relevant_unknowns(expr: Expr, env: Mapping[str, Any]) -> list[str]:
    """The unknown facts whose values could still change an unknown expression, Kleene-wise:
    an operand that already decides its `and`/`or` hides the others, and operands that are
    known contribute nothing. Empty when the expression is not unknown."""

    def val(e: Expr) -> Any:
        return compile_expr(e)(env)

    def rel(e: Expr) -> list[str]:
        if isinstance(e, BoolOp):
            vals = [(o, val(o)) for o in e.operands]
            decider = False if e.op == "and" else True
            if any(v is decider for _, v in vals):
                return []
            return [f for o, v in vals if v is UNKNOWN for f in rel(o)]
        if isinstance(e, Not):
            return rel(e.operand)
        return [n for n in facts_read(e) if env.get(n, UNKNOWN) is UNKNOWN]

    if val(expr) is not UNKNOWN:
        return []
    return list(dict.fromkeys(rel(expr)))
