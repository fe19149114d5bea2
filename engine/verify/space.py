"""The patient space for the z3 analyses: every base fact as a z3 variable over its declared
domain, plus a *known* flag, and the terms conditions are built from.

Integer with min/max/step, number range, enum as a finite choice, boolean, a set as one
boolean per value, a date as a day number. A condition is a :class:`B` pair (T, F):
"definitely true" and "definitely false"; neither means unknown (Kleene's three-valued
logic). Enum values and text are global integer ids (:meth:`Space.sid`), so two guidelines
encoded in one space talk about the same patient. :mod:`.smt` encodes a guideline over it.

This module imports z3; only the analysis commands import it (never `guidewalk run`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from ..fact_types import fact_type
from ..model import FactSpec, Guideline

__all__ = ["B", "N", "E", "S", "Term", "Space", "num", "py_number", "known", "space_for"]


@dataclass
class B:
    """A three-valued condition: t = definitely true, f = definitely false."""

    t: Any
    f: Any


@dataclass
class N:
    """A number (z3 Real) and whether it is known."""

    v: Any
    k: Any


@dataclass
class E:
    """An enum value or text, as a global integer id, and whether it is known."""

    v: Any
    k: Any


@dataclass
class S:
    """A set: one boolean per value, and whether the set is known."""

    m: dict[str, Any]
    k: Any


Term = B | N | E | S


def num(value: Any) -> Any:
    """An exact z3 rational for a Python number (0.1 stays 1/10)."""
    if isinstance(value, _dt.date):
        return z3.RealVal(fact_type("date").to_number(value))
    fr = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    return z3.RealVal(f"{fr.numerator}/{fr.denominator}") if fr.denominator != 1 else z3.RealVal(fr.numerator)


def py_number(ref: Any) -> Fraction:
    """A z3 rational value as a Fraction."""
    if z3.is_rational_value(ref):
        return Fraction(ref.numerator_as_long(), ref.denominator_as_long())
    if z3.is_int_value(ref):
        return Fraction(ref.as_long())
    if z3.is_algebraic_value(ref):  # pragma: no cover - only with non-linear arithmetic
        return Fraction(ref.approx(12).as_fraction())
    raise ValueError(f"not a number: {ref}")


def known(t: Term) -> Any:
    """The z3 condition that term `t` has a value."""
    if isinstance(t, B):
        return z3.Or(t.t, t.f)
    return t.k


class Space:
    """The base facts as z3 variables, shared by every guideline encoded in it (so the
    diff of two versions talks about the same patient)."""

    def __init__(self, specs: Mapping[str, FactSpec]):
        self.specs: dict[str, FactSpec] = dict(specs)
        self.axioms: list[Any] = []
        self.vars: dict[str, Term] = {}
        self.raw: dict[str, Any] = {}  # the value variable of each base fact
        self.known: dict[str, Any] = {}
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        for name in self.specs:  # every variable up front, so the axioms are complete
            self.var(name)

    def sid(self, text: str) -> int:
        if text not in self._ids:
            self._ids[text] = len(self._ids) + 1
            self._names[self._ids[text]] = text
        return self._ids[text]

    def name_of(self, ident: int) -> str | None:
        return self._names.get(ident)

    def var(self, name: str) -> Term:
        if name in self.vars:
            return self.vars[name]
        spec = self.specs[name]
        k = z3.Bool(f"known!{name}")
        self.known[name] = k
        t = spec.type
        term: Term
        if t == "boolean":
            b = z3.Bool(name)
            self.raw[name] = b
            term = B(z3.And(k, b), z3.And(k, z3.Not(b)))
        elif fact_type(t).ordered:
            x = z3.Real(name)
            self.raw[name] = x
            term = N(x, k)
            self._numeric_domain(spec, x)
        elif t in ("enum", "string"):
            x = z3.Int(name)
            self.raw[name] = x
            if t == "enum":
                self.axioms.append(z3.Or([x == self.sid(v) for v in spec.values]))
            term = E(x, k)
        elif t == "set":
            members = {v: z3.Bool(f"{name}!{v}") for v in spec.values}
            self.raw[name] = members
            term = S(members, k)
        else:  # pragma: no cover - the loader validates types
            raise ValueError(f"unsupported fact type {t}")
        self.vars[name] = term
        return term

    def _numeric_domain(self, spec: FactSpec, x: Any) -> None:
        if spec.min is not None:
            self.axioms.append(x >= num(spec.min))
        if spec.max is not None:
            self.axioms.append(x <= num(spec.max))
        if spec.type not in ("integer", "number"):  # an ordered type mapped to numbers (a date: its day number)
            if fact_type(spec.type).whole:
                self.axioms.append(z3.IsInt(x))
        elif spec.step:
            j = z3.Int(f"step!{spec.name}")
            base = num(spec.min) if spec.min is not None else z3.RealVal(0)
            self.axioms.append(x == base + num(spec.step) * z3.ToReal(j))
            if spec.type == "integer":
                self.axioms.append(z3.IsInt(x))
        elif spec.type == "integer":
            self.axioms.append(z3.IsInt(x))

    def all_known(self, names: Iterable[str]) -> list[Any]:
        out = []
        for n in names:
            self.var(n)
            out.append(self.known[n])
        return out

    def value(self, model: Any, name: str) -> Any:
        """The Python value of base fact `name` in a z3 model (None when unknown)."""
        spec = self.specs[name]
        self.var(name)
        if not z3.is_true(model.eval(self.known[name], model_completion=True)):
            return None
        raw = self.raw[name]
        t = spec.type
        if t == "boolean":
            return z3.is_true(model.eval(raw, model_completion=True))
        if t == "set":
            return [v for v, b in raw.items() if z3.is_true(model.eval(b, model_completion=True))]
        val = model.eval(raw, model_completion=True)
        if t in ("enum", "string"):
            return self.name_of(val.as_long()) or (spec.values[0] if spec.values else f"other_{val.as_long()}")
        fr = py_number(val)
        if t not in ("integer", "number"):
            return fact_type(t).from_number(fr)
        if t == "integer" or fr.denominator == 1:
            return int(fr) if t == "integer" or fr.denominator == 1 else float(fr)
        return float(fr)

    def equals(self, name: str, value: Any) -> Any:
        """A z3 constraint: base fact `name` is known and has `value`."""
        spec = self.specs[name]
        self.var(name)
        raw, k = self.raw[name], self.known[name]
        if value is None:
            return z3.Not(k)
        t = spec.type
        if t == "boolean":
            return z3.And(k, raw == bool(value))
        if t == "set":
            vals = set(value)
            return z3.And(k, *[b if v in vals else z3.Not(b) for v, b in raw.items()])
        if t in ("enum", "string"):
            return z3.And(k, raw == self.sid(str(value)))
        return z3.And(k, raw == num(fact_type(t).to_number(value)))


def space_for(*guidelines: Guideline) -> Space:
    """A space with the base facts the guidelines read (not the whole shared dictionary):
    fewer variables, smaller queries."""
    specs: dict[str, FactSpec] = {}
    for g in guidelines:
        names = list(g.asks) + [f for r in g.rules for f in r.inputs]
        for n in names:
            for b in g.base_inputs(n):
                if b in g.dictionary:
                    specs[b] = g.dictionary[b]
    return Space(specs)
