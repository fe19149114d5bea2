"""A z3 solver over a :class:`~engine.verify.space.Space`, and readable witness patients.

A witness is made small in two steps: first as many facts as possible are left unknown
(Kleene's logic is monotone, so what is definitely true of a partial patient holds for every
completion); then each remaining number is moved to a threshold of the guideline, or next to
one, where that keeps the witness valid (`kps = 70`, not `kps = 40`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import z3

from .space import Space

__all__ = ["Checker", "format_patient"]


class Checker:
    """A solver holding the domain axioms; queries run inside push/pop."""

    def __init__(self, space: Space):
        self.space = space
        self.solver = z3.Solver()
        self._added = 0
        self.queries = 0
        self._lits: dict[str, Any] = {}

    def _flush(self) -> None:
        """Definitions made since the last query go in at the base level (they only define
        fresh variables, so they never change what is satisfiable)."""
        ax = self.space.axioms
        if self._added < len(ax):
            self.solver.add(*ax[self._added :])
            self._added = len(ax)

    def everyone_known(self, except_: str | None = None) -> list[Any]:
        """One assumption literal meaning: every base fact is known (except `except_`,
        which is then unknown). Cached; passing 300 literals per query costs more than
        the solving."""
        key = except_ or ""
        if key not in self._lits:
            lit = z3.Bool(f"everyone_known!{key}")
            ks = [k for n, k in self.space.known.items() if n != except_]
            if except_:
                ks.append(z3.Not(self.space.known[except_]))
            self.space.axioms.append(z3.Implies(lit, z3.And(ks)))
            self._lits[key] = lit
        return [self._lits[key]]

    def sat(self, *conds: Any, assume: Iterable[Any] = (), model: bool = False) -> Any:
        """Satisfiable? None if not; else the model when `model` is asked, or True."""
        self._flush()
        s = self.solver
        # no push/pop: each query is guarded by a fresh literal, so what the solver learns
        # stays valid for the next query (much faster than re-internalising every time)
        self.queries += 1
        q = z3.Bool(f"query!{self.queries}")
        s.add(z3.Implies(q, z3.And(*conds)) if conds else z3.BoolVal(True))
        res = s.check(q, *assume)
        if res == z3.sat:
            return s.model() if model else True
        if res == z3.unknown:  # pragma: no cover - only with non-linear rules
            from ..errors import RunError

            raise RunError(f"the SMT solver could not decide a query ({s.reason_unknown()}); a rule multiplies or divides two facts?")
        return None

    def all_known(self) -> Any:
        """A condition: every base fact is known."""
        return self.everyone_known()[0]

    def witness(
        self, cond: Any, facts: Iterable[str], prefer: Mapping[str, list[float]], *, definite: bool = True, everything: bool = False
    ) -> dict[str, Any] | None:
        """The smallest readable patient satisfying `cond`, naming only facts in `facts`.

        With `definite`, facts may be left unknown (the condition must then hold whatever
        they are); otherwise every fact is known and only `facts` are shown (all of them
        with `everything`, numbers in `facts` still moved to the thresholds)."""
        sp = self.space
        facts = [f for f in facts if f in sp.specs]
        chosen: list[Any] = []
        if definite:
            others = [sp.known[n] for n in sp.specs if n not in set(facts)]
            chosen.append(z3.Not(z3.Or(others)) if others else z3.BoolVal(True))
            if self.sat(cond, *chosen) is None:
                chosen = []
                definite = False
        if not definite:
            chosen = [self.all_known()]
        model = self.sat(cond, *chosen, model=True)
        if model is None:
            return None
        if definite:
            for f in facts:
                trial = chosen + [z3.Not(sp.known[f])]
                m = self.sat(cond, *trial, model=True)
                if m is not None:
                    chosen, model = trial, m
        shown = [f for f in facts if sp.value(model, f) is not None]
        for f in shown:
            spec = sp.specs[f]
            if spec.type not in ("integer", "number"):
                continue
            current = sp.value(model, f)
            for c in _candidates(spec, prefer.get(f, []), current):
                trial = chosen + [sp.equals(f, c)]
                m = self.sat(cond, *trial, model=True)
                if m is not None:
                    chosen, model = trial, m
                    break
            else:
                chosen = chosen + [sp.equals(f, sp.value(model, f))]
        if everything:  # the whole patient (every base fact), e.g. to walk it
            return {f: sp.value(model, f) for f in sp.specs}
        return {f: sp.value(model, f) for f in shown}


def _candidates(spec: Any, thresholds: list[float], current: Any) -> list[Any]:
    """Nice values to try for a number: the thresholds, then their neighbours (one step
    for integers, one tenth for numbers), nearest to the current value first."""
    step = spec.step or (1 if spec.type == "integer" else None)
    out: list[float] = []
    for c in sorted(set(thresholds), key=lambda c: abs(c - float(current))):
        out.append(c)
        deltas = [step] if step else [0.1, 0.01]
        for d in deltas:
            out += [c + d, c - d]
    for edge in (spec.min, spec.max):
        if edge is not None:
            out.append(edge)
    res: list[Any] = []
    for v in out:
        if spec.min is not None and v < spec.min or spec.max is not None and v > spec.max:
            continue
        v = round(v, 6)
        v = int(v) if spec.type == "integer" or float(v).is_integer() else v
        if spec.type == "integer" and not float(v).is_integer():
            continue
        if v not in res:
            res.append(v)
    return res


def format_patient(p: Mapping[str, Any]) -> str:
    if not p:
        return "any patient"

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, list):
            return "{" + ", ".join(v) + "}"
        return str(v)

    return ", ".join(f"{k} = {fmt(v)}" for k, v in p.items())
