"""Python source generated from checked condition trees: the fast path of every decision and
the fact checker of a guideline.

Nothing of the author's text becomes code. The generator walks the whitelisted tree of
:mod:`engine.expressions` and emits only its own identifiers, operators and parentheses;
every fact name and every constant (numbers, words, dates, lists) is a slot of a constant
table, read by the generated code as a global ``_kN``. The source is compiled with
:func:`compile` (never :func:`eval` of a condition), and its code objects can be kept with
:mod:`marshal` (see :mod:`.cache`).

*The fast path of a condition.* When every fact a condition reads has a value, Kleene's
three-valued logic is ordinary two-valued logic: ``and``/``or``/``not`` over true/false,
comparisons, membership, arithmetic. So each condition is emitted as a plain Python
expression that reads its facts as ``env[name]``; an unknown fact is absent from ``env``,
so reading it raises :class:`KeyError` and the decision evaluates that condition with its
Kleene closure (:attr:`engine.model.Condition.test`) instead. Python's ``and``/``or`` stop
at the first operand that decides, as the closures do, so the fast path never evaluates an
operand the closure would not (an exception such as a division by zero is the same in
both). ``known(x)`` reads as ``x in env``.

*Risky conditions.* A condition with arithmetic (``+ - * /``: a division by zero, a number
too large for a float) may raise; everything else cannot (the checker admits only
comparisons of like kinds). :func:`risky` tells the walk which conditions and rules must be
evaluated eagerly so that an error surfaces exactly where the step-by-step walk raised it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..expressions import Arith, BoolOp, Call, Cmp, Const, Expr, Fact, In, ListLit, Neg, Not, Word, iter_nodes

__all__ = ["Consts", "Decision", "risky", "expression", "decision_lines", "decision_source", "region_source", "checker_source", "CHECKABLE", "REGION_DEPTH"]

_PY_CMP = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PY_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}


class Consts:
    """The constant table of one generated module: values in order, each read as ``_kN``."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[tuple[type, Any], int] = {}

    def ref(self, value: Any) -> str:
        key = (value.__class__, value)
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.values)
            self.values.append(value)
        return f"_k{i}"


def risky(expr: Expr) -> bool:
    """Whether evaluating `expr` may raise for some values of its facts (arithmetic)."""
    return any(isinstance(e, Arith) for e in iter_nodes(expr))


def _name(e: Expr) -> str:
    assert isinstance(e, (Fact, Word))
    return e.name


def expression(e: Expr, k: Consts, read: Callable[[str], str]) -> str:
    """The two-valued Python form of a checked tree; `read(name)` is the code reading a fact."""
    if isinstance(e, Const):
        return k.ref(e.value)
    if isinstance(e, (Fact, Word)):
        return read(e.name)
    if isinstance(e, Not):
        return f"(not {expression(e.operand, k, read)})"
    if isinstance(e, BoolOp):
        return "(" + f" {e.op} ".join(expression(o, k, read) for o in e.operands) + ")"
    if isinstance(e, Cmp):
        return f"({expression(e.left, k, read)} {_PY_CMP[e.op]} {expression(e.right, k, read)})"
    if isinstance(e, In):
        word = "not in" if e.negated else "in"
        if isinstance(e.container, ListLit):
            values = frozenset(i.value for i in e.container.items if isinstance(i, Const))
            return f"({expression(e.item, k, read)} {word} {k.ref(values)})"
        return f"({expression(e.item, k, read)} {word} {expression(e.container, k, read)})"
    if isinstance(e, ListLit):
        return k.ref(frozenset(i.value for i in e.items if isinstance(i, Const)))
    if isinstance(e, Arith):
        # (_fin: an inf or NaN result raises, as the closures of engine.expressions do)
        return f"_fin({expression(e.left, k, read)} {_PY_ARITH[e.op]} {expression(e.right, k, read)})"
    if isinstance(e, Neg):
        return f"(-{expression(e.operand, k, read)})"
    if isinstance(e, Call):
        if e.func in ("known", "unknown"):
            test = "in" if e.func == "known" else "not in"
            return f"({k.ref(_name(e.args[0]))} {test} env)"
        args = [expression(a, k, read) for a in e.args]
        if e.func in ("min", "max", "abs"):
            return f"_{e.func}({', '.join(args)})"
        if e.func == "count":
            return f"_len({args[0]})"
        if e.func == "days_between":
            return f"({args[1]} - {args[0]}).days"
    raise TypeError(f"cannot generate {type(e).__name__}")  # pragma: no cover


# --------------------------------------------------------------------------- decisions


class Decision:
    """What the generator needs of one decision: its branches' trees, the derived facts they
    read, the names of their Kleene closures, the transition of each branch and of
    ``otherwise`` (None: no otherwise), and whether the branches are exclusive."""

    def __init__(
        self, exprs: Sequence[Expr], derived_reads: Sequence[str], closures: Sequence[str], targets: Sequence[int], otherwise: int | None, exclusive: bool
    ):
        self.exprs, self.derived_reads, self.closures = list(exprs), list(derived_reads), list(closures)
        self.targets, self.otherwise, self.exclusive = list(targets), otherwise, exclusive


def decision_lines(dec: Decision, k: Consts, indent: str, go: Callable[[int, str], list[str]], stop: Callable[[int], str]) -> list[str]:
    """The code of one decision at `indent`: derive what it reads, evaluate its branches (the
    fast path, else the closure), then ``go(transition, indent)`` for the branch or otherwise
    taken, or ``return stop(code)`` — code 1: an unknown branch blocks the walk, 2: several
    branches of an exclusive decision hold, 3: none holds and there is no otherwise."""
    read = lambda name: f"env[{k.ref(name)}]"
    lines: list[str] = []
    for name in dec.derived_reads:
        ref = k.ref(name)
        lines.append(f"{indent}if {ref} not in dn: _D(env, dn, {ref})")
    n = len(dec.exprs)

    def branch(i: int) -> list[str]:
        return [
            f"{indent}try:",
            f"{indent}    b{i} = {expression(dec.exprs[i], k, read)}",
            f"{indent}except _KeyError:",
            f"{indent}    b{i} = {dec.closures[i]}(env)",
        ]

    def fallthrough() -> list[str]:
        return go(dec.otherwise, indent) if dec.otherwise is not None else [f"{indent}return {stop(3)}"]

    inner = indent + "    "
    if dec.exclusive or any(risky(e) for e in dec.exprs):
        for i in range(n):
            lines += branch(i)
        if dec.exclusive:
            for i in range(n):
                later = " or ".join(f"b{j} is True" for j in range(i + 1, n))
                lines.append(f"{indent}if b{i} is True:")
                if later:
                    lines.append(f"{inner}if {later}: return {stop(2)}")
                lines += go(dec.targets[i], inner)
            lines.append(f"{indent}if " + " or ".join(f"b{i} is _U" for i in range(n)) + f": return {stop(1)}")
        else:
            for i in range(n):
                lines.append(f"{indent}if b{i} is True:")
                lines += go(dec.targets[i], inner)
                lines.append(f"{indent}if b{i} is _U: return {stop(1)}")
        return lines + fallthrough()
    for i in range(n):  # first match, nothing can raise: stop at the first branch that decides
        lines += branch(i)
        lines.append(f"{indent}if b{i} is True:")
        lines += go(dec.targets[i], inner)
        lines.append(f"{indent}if b{i} is _U: return {stop(1)}")
    return lines + fallthrough()


def decision_source(fn: str, dec: Decision, k: Consts) -> str:
    """One decision as a function ``fn(env, dn) -> transition``: the transition taken, or
    -1 (an unknown branch blocks the walk), -2 (several exclusive branches hold), -3 (no
    branch holds and there is no otherwise)."""
    lines = [f"def {fn}(env, dn):"] + decision_lines(dec, k, "    ", lambda t, ind: [f"{ind}return {t}"], lambda code: str(-code))
    return "\n".join(lines) + "\n"


#: how deep decisions nest inside one region function before the next one starts its own
REGION_DEPTH = 24


def region_source(
    fn: str, entry: int, decisions: Sequence[Decision], next_of: Sequence[int], inline: Callable[[int], bool], k: Consts, capped: set[int]
) -> str:
    """A region of the flow as one function ``fn(env, dn) -> code``: decision `entry` and,
    nested in its branches, every decision that only it leads to (``inline(d)``), so a walk
    through the region is one call. Returns the transition that leaves the region (to the
    end of the walk or to the entry of another region), or ``-(4*d + code)`` when decision d
    stops the walk (code as in :func:`decision_lines`). Decisions left out because the
    nesting reached :data:`REGION_DEPTH` are added to `capped` (they start regions of their own)."""

    def emit(d: int, indent: str, depth: int) -> list[str]:
        def go(t: int, ind: str) -> list[str]:
            nd = next_of[t]
            if nd >= 0 and inline(nd):
                if depth < REGION_DEPTH:
                    return emit(nd, ind, depth + 1)
                capped.add(nd)
            return [f"{ind}return {t}"]

        return decision_lines(decisions[d], k, indent, go, lambda code: str(-(4 * d + code)))

    return "\n".join([f"def {fn}(env, dn):"] + emit(entry, "    ", 0)) + "\n"


# --------------------------------------------------------------------------- the fact checker

#: the fact types whose values the generated checker accepts as they are (anything else, and
#: any value it does not accept, goes through :func:`engine.facts.check_facts`)
CHECKABLE = ("boolean", "integer", "number", "enum", "date", "string")


def _accepts(spec: Any, k: Consts) -> str | None:
    """The test that a value of `spec` is already its own checked value (None: never)."""
    t = spec.type
    if t == "boolean":
        return "(v is True or v is False)"
    if t in ("integer", "number"):
        lo, hi, step = spec.min, spec.max, spec.step
        if any(isinstance(x, float) and not math.isfinite(x) for x in (lo, hi, step) if x is not None):
            return None
        parts = ["v.__class__ is _int" if t == "integer" else "v.__class__ is _float"]
        if lo is not None and hi is not None:
            parts.append(f"{k.ref(lo)} <= v <= {k.ref(hi)}")
        elif lo is not None:
            parts.append(f"{k.ref(lo)} <= v")
        elif hi is not None:
            parts.append(f"v <= {k.ref(hi)}")
        if t == "number" and (lo is None or hi is None):
            parts.append("v - v == 0.0")  # finite
        if t == "integer" and (lo is None or hi is None):
            parts.append("v.bit_length() <= 1000")  # larger ones are refused (engine.fact_types)
        if step and lo is not None:
            off = "v" if lo == 0 and lo.__class__ is int else f"(v - {k.ref(lo)})"
            parts.append(f"{off} % {k.ref(step)} == 0")
        return "(" + " and ".join(parts) + ")"
    if t == "enum":
        values = frozenset(v for v in spec.values if v == v.strip() and v.lower() not in ("unknown", ""))
        return f"(v.__class__ is _str and v in {k.ref(values)})"
    if t == "date":
        return "v.__class__ is _date"
    if t == "string":
        return "(v.__class__ is _str and v.strip().lower() not in ('unknown', ''))"
    return None


def checker_source(fn: str, specs: Sequence[Any], k: Consts) -> str:
    """``fn(raw) -> bool``: True when every entry of the dict `raw` is a fact of `specs` whose
    value is already its checked value (so the checked facts are a copy of `raw`). A None
    value (asked, not known) is not accepted: the full check keeps it apart."""
    tests = [(spec, _accepts(spec, k)) for spec in specs]
    lines = [f"def {fn}(raw):"]
    if all(test is not None for _, test in tests) and tests:  # every fact entered: read, no counting
        lines += [f"    if _len(raw) == {len(tests)}:", "        try:"]
        for spec, test in tests:
            lines += [f"            v = raw[{k.ref(spec.name)}]", f"            if not {test}: return False"]
        lines += ["            return True", "        except _KeyError:", "            pass"]
    lines += ["    get = raw.get", "    n = 0"]
    for spec, test in tests:
        if test is None:
            lines.append(f"    if {k.ref(spec.name)} in raw: return False")
            continue
        lines += [
            f"    v = get({k.ref(spec.name)})",
            "    if v is not None:",
            f"        if not {test}: return False",
            "        n += 1",
        ]
    lines.append("    return n == _len(raw)")
    return "\n".join(lines) + "\n"
