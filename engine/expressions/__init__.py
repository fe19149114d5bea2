"""The condition language: text -> whitelisted syntax tree -> type check -> compiled closure.

Conditions use Python's expression syntax, parsed with :func:`ast.parse` and then converted
node by node into this module's own small tree; anything outside the whitelist (attribute
access, subscripts, lambdas, comprehensions, calls other than the fixed functions) is an
error at load time. Nothing is ever evaluated as code.

Unknown values follow Kleene's three-valued logic (:data:`UNKNOWN`).
"""

from __future__ import annotations

import ast
import datetime as _dt
import operator
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

from ..errors import ExpressionError, suggest

__all__ = [
    "UNKNOWN",
    "Expr",
    "FactLike",
    "parse",
    "check",
    "compile_expr",
    "facts_read",
    "readable",
    "MAX_LENGTH",
]

MAX_LENGTH = 4000


class _Unknown:
    """The value of a fact nobody knows. Distinct from None, False and 0."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use Kleene connectives")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class FactLike(Protocol):
    """What the checker needs to know about a fact (dictionary or derived)."""

    name: str
    type: str
    values: tuple[str, ...]
    min: float | None
    max: float | None
    step: float | None


# --------------------------------------------------------------------------- the tree


@dataclass
class Expr:
    col: int  # 0-based offset of this node in the condition text

    def children(self) -> list["Expr"]:
        """The direct sub-expressions, left to right (the one traversal every pass uses)."""
        return []


@dataclass
class Const(Expr):
    value: Any


@dataclass
class Word(Expr):
    """A bare name not yet resolved: a fact, or an enum value given by context."""

    name: str


@dataclass
class Fact(Expr):
    name: str


@dataclass
class Not(Expr):
    operand: Expr

    def children(self) -> list[Expr]:
        return [self.operand]


@dataclass
class BoolOp(Expr):
    op: str  # "and" | "or"
    operands: list[Expr]

    def children(self) -> list[Expr]:
        return list(self.operands)


@dataclass
class Cmp(Expr):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr

    def children(self) -> list[Expr]:
        return [self.left, self.right]


@dataclass
class In(Expr):
    item: Expr
    container: Expr
    negated: bool

    def children(self) -> list[Expr]:
        return [self.item, self.container]


@dataclass
class ListLit(Expr):
    items: list[Expr]

    def children(self) -> list[Expr]:
        return list(self.items)


@dataclass
class Arith(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr

    def children(self) -> list[Expr]:
        return [self.left, self.right]


@dataclass
class Neg(Expr):
    operand: Expr

    def children(self) -> list[Expr]:
        return [self.operand]


@dataclass
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

_CMP_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}

# --------------------------------------------------------------------------- parse


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
    try:
        return _convert(tree.body, shift)
    except RecursionError:
        raise ExpressionError("expression too deeply nested") from None


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


# --------------------------------------------------------------------------- check

# Types: "boolean", "number", "enum", "string", "set", "date", "list"
NUMERIC = ("integer", "number")


@dataclass(frozen=True)
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
    ok = (
        (t in NUMERIC and ty.kind == "number")
        or (t == "boolean" and ty.kind == "boolean")
        or (t == "enum" and ty.kind in ("enum", "string"))
        or (t == "string" and ty.kind in ("string", "enum"))
        or (t == "date" and ty.kind == "date")
        or (t == "set" and ty.kind in ("set", "list"))
    )
    if not ok:
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
        t = spec.type
        if t in NUMERIC:
            return _Ty("number", spec)
        if t in ("enum", "set", "boolean", "date", "string"):
            return _Ty(t, spec)
        return _Ty(t, spec)  # pragma: no cover - the loader validates types

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
    tree = parse(text) if isinstance(text, str) else Const(0, text)
    if target is not None:
        tree = check_value(tree, scope, target)
    else:
        check(tree, scope, want=want)
    return finalize(tree, scope)


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


# --------------------------------------------------------------------------- evaluate

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
            return aop(a, b)

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


def sequence_text(items: Sequence[str]) -> str:
    return ", ".join(items)
