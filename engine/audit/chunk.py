"""One chunk of rows -> the per-patient lines and a compact table of counts.

A chunk goes in (a byte range or a Parquet row group, read by the worker itself); out come
the per-patient JSON lines as one text and a compact table of counts keyed by outcome
(status, path, actions, needs) and actual treatment, plus the invalid rows. Workers load
the guideline once (the context is cached per process), coerce each distinct cell value
once per column, and walk with :class:`engine.audit.fast.FastWalker` (or, with
``engine="walk"``, with :func:`engine.walk.run` and the chosen rules backend).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import call, itemgetter
from typing import Any

from ..errors import GuidewalkError, suggest
from ..expressions import UNKNOWN
from ..facts import BadValue, coerce
from ..model import Guideline
from .columns import classify, resolve_columns
from .config import AuditConfig
from .fast import FastWalker, Outcome, ValueClasses, threshold_facts
from .io import BadRow, Chunk, read_rows

__all__ = ["ChunkResult", "context", "process_chunk"]


_MISSING: Any = object()


def _utf8(lines: list[str]) -> bytes:
    """The lines as UTF-8; a lone surrogate (JSON allows '\\ud800') stays a JSON escape."""
    text = "".join(lines)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


class _Bad:
    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _said(v: Any) -> bool:
    """Whether a reason cell holds text (empty, blank and null do not)."""
    return v is not None and str(v).strip() not in ("", "null", "None")


def _hkey(v: Any) -> Any:
    """A cache key that keeps 1, 1.0, True and '1' apart; None when `v` cannot be a key."""
    if v.__class__ is str:
        return v
    if isinstance(v, list):
        try:
            t = tuple(v)
            hash(t)  # a list holding a JSON object cannot be a key
            return (list, t)
        except TypeError:
            return None
    try:
        hash(v)
    except TypeError:
        return None
    return (v.__class__, v)


def _unkey(k: Any) -> Any:
    if k.__class__ is str:
        return k
    return list(k[1]) if k[0] is list else k[1]


@dataclass
class ChunkResult:
    index: int
    rows: int
    data: bytes  # the per-patient JSON lines, UTF-8
    cells: list[tuple[tuple[Any, ...], Any, int]]  # (outcome key, actual key, patients)
    invalid: list[dict[str, Any]]
    ignored_keys: dict[str, int]
    # of the patients in `cells`, those whose reason cell holds text (audit.concordance)
    reasoned: list[tuple[tuple[Any, ...], Any, int]] = field(default_factory=list)
    blank: int = 0  # blank lines skipped (not records)


class _Lines:
    """A chunk's per-patient lines and counts, in row order: the one place a CSV or Parquet
    patient's line is written, whichever reader (rows or columns) read the patient."""

    __slots__ = ("ctx", "with_id", "lines", "cells", "reasoned", "invalid")

    def __init__(self, ctx: _Context, with_id: bool):
        self.ctx, self.with_id = ctx, with_id
        self.lines: list[str] = []
        self.cells: dict[tuple[Outcome, Any], int] = {}
        self.reasoned: dict[tuple[Outcome, Any], int] = {}
        self.invalid: list[dict[str, Any]] = []

    def add(self, row: int, out: Outcome, errs: list[dict[str, Any]] | None, araw: Any, id_value: Any, said: bool) -> None:
        """One patient: its outcome, errors (None: none), actual-treatment cell, id cell and
        whether its reason cell holds text."""
        ctx = self.ctx
        key = (out, araw)
        self.cells[key] = self.cells.get(key, 0) + 1
        if said:
            self.reasoned[key] = self.reasoned.get(key, 0) + 1
        t = ctx.tails2.get(key) or ctx._line_tail(out, araw)
        if t[1] is not None:
            self.invalid.append({"row": row, "status": "invalid_actual", "reasons": [t[1]]})
        head = f'{{"row": {row}, '
        if self.with_id:
            head += f'"id": {json.dumps(id_value if id_value is None else str(id_value), ensure_ascii=False)}, '
        if errs is None:
            self.lines.append(head + t[0])
        else:
            self.invalid.append({"row": row, "status": out.status, "reasons": [f"{e['fact']}: {e['message']}" if e["fact"] else e["message"] for e in errs]})
            self.lines.append(f'{head}{ctx._frag(out)}, "errors": {json.dumps(errs, ensure_ascii=False)}{ctx._tail(out, araw)}}}\n')

    def add_bad_row(self, row: int, reason: str) -> None:
        """A record that could not be read as a row."""
        out = self.ctx.invalid_row
        self.invalid.append({"row": row, "status": "invalid_row", "reasons": [reason]})
        self.cells[(out, None)] = self.cells.get((out, None), 0) + 1
        errs = json.dumps([{"fact": None, "message": reason}], ensure_ascii=False)
        self.lines.append(f'{{"row": {row}, {self.ctx._frag(out)}, "errors": {errs}{self.ctx._tail(out, None)}}}\n')

    def result(self, chunk: Chunk, rows: int, blank: int) -> ChunkResult:
        ctx = self.ctx
        return ChunkResult(chunk.index, rows, _utf8(self.lines), ctx._cells(self.cells), self.invalid, {}, ctx._cells(self.reasoned), blank)


_CONTEXTS: dict[str, _Context] = {}


def context(cfg: AuditConfig, g: Guideline | None = None) -> _Context:
    """The per-process audit context (guideline loaded once)."""
    key = cfg.key()
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = _CONTEXTS[key] = _Context(cfg, g)
    return ctx


def process_chunk(cfg: AuditConfig, chunk: Chunk) -> ChunkResult:
    """Audit one chunk (the function a pool or a Dask worker runs)."""
    return context(cfg).run(chunk)


class _Context:
    def __init__(self, cfg: AuditConfig, g: Guideline | None = None):
        if g is None:
            from ..load import load_guideline

            g = load_guideline(cfg.guideline, overlays=cfg.overlays)
        self.g = g
        self.cfg = cfg
        self.mapping = {src: (t, dict(v)) for src, t, v in cfg.mapping}
        self.codes = frozenset(g.actions)
        self.actual_recode = self.mapping[cfg.actual][1] if cfg.actual in self.mapping else {}
        self.nbad = 0
        self.acache: dict[Any, Any] = {None: None, "": None}
        self.tails: dict[tuple[Any, Any], str] = {}
        self.tails2: dict[tuple[Any, Any], tuple[str, str | None]] = {}
        self.interned: dict[tuple[Any, ...], Outcome] = {}
        self.invalid_facts = Outcome("invalid_facts", (), ())
        self.invalid_row = Outcome("invalid_row", (), ())
        if cfg.fmt == "jsonl":
            self.fact_names: list[str] = list(g.dictionary)
            self.keymap: dict[str, tuple[str, int, dict[Any, Any], str | None, dict[str, Any]]] = {}
            self.kcaches: dict[str, dict[Any, Any]] = {}
        else:
            self.plan = resolve_columns(g, cfg)
            self.fact_names = [f for _, f in self.plan.facts]
        self.specs = [g.dictionary[f] for f in self.fact_names]
        self.recodes = [self.mapping.get(self._source(f), (f, {}))[1] for f in self.fact_names]
        self.caches: list[dict[Any, Any]] = [{} for _ in self.fact_names]
        self.walker = FastWalker(g, self.fact_names, cfg.flowchart) if cfg.engine == "fast" else None
        # fast path: values that no condition can tell apart share one representative
        th = threshold_facts(g) if self.walker is not None else {}
        self.classes = [ValueClasses(th[f], g.dictionary[f].type == "enum") if f in th else None for f in self.fact_names]
        if self.walker is None:
            from ..rules import backend

            self.rules = backend(cfg.rules)

    def _source(self, fact: str) -> str:
        for src, (t, _) in self.mapping.items():
            if t == fact:
                return src
        return fact

    # ---------------------------------------------------------------- values

    def _coerce(self, j: int, key: Any) -> Any:
        raw = _unkey(key) if key is not None else None
        recode = self.recodes[j]
        if recode and raw is not None:
            raw = recode.get(str(raw), raw)
        return self._coerce_raw(j, raw)

    def _fill(self, vals: list[Any], keys: tuple[Any, ...], rec: Any, ix: list[int]) -> None:
        """Coerce the values not in the caches yet (keys from :func:`_hkey`; None: not a key)."""
        caches = self.caches
        for j, v in enumerate(vals):
            if v is None:
                k = keys[j]
                if k is None:  # unhashable (a JSON object in a cell): checked, not cached
                    vals[j] = self._coerce_raw(j, rec[ix[j]])
                    continue
                v = vals[j] = self._coerce(j, k)
                if k == k:  # NaN is never found again: not cached
                    caches[j][k] = v
                    if k.__class__ is tuple and k[0] is not list:
                        caches[j][k[1]] = v  # also under the plain value (a column keeps its type)

    def _actual(self, raw: Any) -> Any:
        """None (no actual), a tuple of codes, or _Bad."""
        if raw is None or raw == "":
            return None
        text = str(raw).strip()
        if self.actual_recode:
            text = str(self.actual_recode.get(text, text))
        parts = [p.strip() for p in text.replace("+", ";").replace(",", ";").split(";") if p.strip()]
        if not parts:
            return None
        parts = [str(self.actual_recode.get(p, p)) for p in parts] if self.actual_recode else parts
        bad = [p for p in parts if p not in self.codes]
        if bad:
            hint = suggest(bad[0], self.codes)
            return _Bad(f"actual: '{bad[0]}' is not an action code" + (f" (did you mean '{hint}'?)" if hint else ""))
        return tuple(parts)

    def _tail(self, out: Outcome, araw: Any) -> str:
        """The actual/concordant part of a line, cached per (outcome, actual value)."""
        key = (out, araw)
        t = self.tails.get(key)
        if t is None:
            if self.cfg.actual is None:
                t = ""
            else:
                ac = self._actual_cached(araw)
                if ac is None or ac.__class__ is _Bad or out.status != "complete":
                    conc = "null"
                else:
                    have = set(out.actions)
                    conc = "true" if all(c in have for c in ac) else "false"
                # the actual treatment as codes after recoding (as written when it is not valid)
                shown = None if araw is None or araw == "" else (";".join(ac) if isinstance(ac, tuple) else str(araw))
                t = f', "actual": {json.dumps(shown, ensure_ascii=False)}, "concordant": {conc}'
            self.tails[key] = t
        return t

    def _actual_cached(self, araw: Any) -> Any:
        ac = self.acache.get(araw, _MISSING)
        if ac is _MISSING:
            ac = self.acache[araw] = self._actual(araw)
        return ac

    def _akey(self, araw: Any) -> Any:
        if self.cfg.actual is None:
            return None
        ac = self._actual_cached(araw)
        return ("!invalid",) if ac.__class__ is _Bad else ac

    @staticmethod
    def _frag(out: Outcome) -> str:
        if out.json is None:

            def d(x: Any) -> str:
                return json.dumps(list(x), ensure_ascii=False)

            out.json = f'"status": "{out.status}", "actions": {d(out.actions)}, "path": {d(out.path)}, "needs": {d(out.needs)}'
        return out.json

    def _walk_full(self, facts: dict[str, Any]) -> tuple[Outcome, list[dict[str, Any]]]:
        """engine.walk.run for one row (engine='walk')."""
        from ..walk import run

        try:
            r = run(self.g, facts, flowchart=self.cfg.flowchart, rules=self.rules)
        except GuidewalkError as exc:
            return self._intern(Outcome("error", (), (), error=str(exc))), [{"fact": None, "message": str(exc)}]
        if r.status == "invalid_facts":
            return self.invalid_facts, [dict(e.to_json()) for e in r.errors]
        return self._intern(Outcome(r.status, tuple(r.path), tuple(r.actions), tuple(r.needs))), []

    def _intern(self, out: Outcome) -> Outcome:
        return self.interned.setdefault(out.key, out)

    # ---------------------------------------------------------------- a chunk

    def run(self, chunk: Chunk) -> ChunkResult:
        if self.cfg.fmt == "jsonl":
            return self._run_dicts(chunk)
        return self._run_lists(chunk)

    def _line_tail(self, out: Outcome, araw: Any) -> tuple[str, str | None]:
        """What follows the row number on a patient's line, and the invalid-actual message;
        cached per (outcome, actual value)."""
        key = (out, araw)
        t = self.tails2.get(key)
        if t is None:
            ac = self._actual_cached(araw) if self.cfg.actual is not None else None
            bad = ac.message if ac.__class__ is _Bad else None
            t = self.tails2[key] = (f'{self._frag(out)}, "errors": []{self._tail(out, araw)}}}\n', bad)
        return t

    def _run_lists(self, chunk: Chunk) -> ChunkResult:
        if self.walker is not None:
            done = self._run_columnar(chunk)
            if done is not None:
                return done
        plan = self.plan
        ix = [i for i, _ in plan.facts]
        pick: Callable[[Any], Any] = itemgetter(*ix) if len(ix) > 1 else ((lambda r: (r[ix[0]],)) if ix else (lambda r: ()))
        getters = [c.__getitem__ for c in self.caches]
        # CSV cells are text; a Parquet column has one type, so its values are keys as they
        # are (1 and True never meet in one column); lists (sets) become tuples on a miss
        walk = self.walker.walk if self.walker is not None else None
        aix, idx, rix = plan.actual, plan.id_column, plan.reason
        acc = _Lines(self, idx is not None)
        names = self.fact_names
        n = 0
        stats: dict[str, int] = {}
        for row, rec in read_rows(chunk, list(self.cfg.columns), stats):
            n += 1
            if rec.__class__ is BadRow:
                acc.add_bad_row(row, rec.reason)
                continue
            keys = pick(rec)
            errs: list[dict[str, Any]] | None = None
            if walk is not None:
                try:
                    vals = list(map(call, getters, keys))
                except (KeyError, TypeError):  # a value not seen before in its column, or unhashable
                    keys = tuple(k if k.__class__ is str else _hkey(k) for k in keys)
                    vals = [c.get(k) if k is not None else None for c, k in zip(self.caches, keys)]
                    self._fill(vals, keys, rec, ix)
                if self.nbad:
                    errs = self._bad_cells(vals) or None
                out = self.invalid_facts if errs else walk(vals)
            else:
                facts = {}
                for j, k in enumerate(keys):
                    raw = _unkey(k) if k is not None else None
                    if self.recodes[j] and raw is not None:
                        raw = self.recodes[j].get(str(raw), raw)
                    facts[names[j]] = raw
                out, errl = self._walk_full(facts)
                errs = errl or None
            if out.status == "error":
                errs = [{"fact": None, "message": out.error}]
            araw: Any = rec[aix] if aix is not None else None
            if araw is not None and araw.__class__ is not str:
                araw = str(araw)
            acc.add(row, out, errs, araw, rec[idx] if idx is not None else None, rix is not None and _said(rec[rix]))
        return acc.result(chunk, n, stats.get("blank", 0))

    def _bad_cells(self, vals: list[Any]) -> list[dict[str, Any]]:
        """The errors of the values of a patient's facts that failed their checks."""
        return [{"fact": self.fact_names[j], "message": v.message} for j, v in enumerate(vals) if v.__class__ is _Bad]

    def _run_columnar(self, chunk: Chunk) -> ChunkResult | None:
        """A plain CSV chunk read by column and its patients walked together (:mod:`.columnar`);
        the lines and counts exactly as :meth:`_run_lists` makes them, in row order. None: not
        a plain chunk (the row reader takes it)."""
        import numpy as np

        from .columnar import read_columns, walk_together

        cols = read_columns(self, chunk, _Bad)
        if cols is None:
            return None
        assert self.walker is not None
        n = cols.rows
        outs: Any = np.empty(n, dtype=object)
        errors: Any = np.empty(n, dtype=object)  # None: no errors
        for r in np.flatnonzero(cols.bad).tolist():
            outs[r] = self.invalid_facts
            errors[r] = self._bad_cells(cols.vector(r))
        good = np.flatnonzero(~cols.bad)
        if len(good):
            for out, rows in walk_together(self.walker, cols, good):
                outs[rows] = out
                if out.status == "error":
                    errors[rows] = [[{"fact": None, "message": out.error}]] * len(rows)
        acc = _Lines(self, self.plan.id_column is not None)
        with_reason = self.plan.reason is not None
        for row, (out, errs, araw, idv, why) in enumerate(zip(outs.tolist(), errors.tolist(), cols.actual, cols.id_cells, cols.reasons), chunk.first_row):
            acc.add(row, out, errs, araw, idv, with_reason and _said(why))
        return acc.result(chunk, n, 0)

    def _cells(self, cells: dict[tuple[Outcome, Any], int]) -> list[tuple[tuple[Any, ...], Any, int]]:
        merged: Counter[tuple[tuple[Any, ...], Any]] = Counter()
        for (out, araw), c in cells.items():
            merged[(out.key, self._akey(araw))] += c
        return [(k, a, c) for (k, a), c in merged.items()]

    def _run_dicts(self, chunk: Chunk) -> ChunkResult:
        g, cfg = self.g, self.cfg
        nf = len(self.fact_names)
        pos = {f: i for i, f in enumerate(self.fact_names)}
        walker = self.walker
        lines: list[str] = []
        cells: dict[tuple[Outcome, Any], int] = {}
        invalid: list[dict[str, Any]] = []
        ignored: Counter[str] = Counter()
        reasoned: dict[tuple[Outcome, Any], int] = {}
        n = 0
        stats: dict[str, int] = {}
        for row, obj in read_rows(chunk, [], stats):
            n += 1
            head = f'{{"row": {row}, '
            araw: Any = None
            said = False
            if obj.__class__ is BadRow:
                out, errs = self.invalid_row, [{"fact": None, "message": obj.reason}]
                invalid.append({"row": row, "status": "invalid_row", "reasons": [obj.reason]})
            else:
                vals: list[Any] = [UNKNOWN] * nf
                entered: dict[str, Any] = {}
                errs = []
                for k, v in obj.items():
                    kind = self.keymap.get(k)
                    if kind is None:
                        ck, fact, reason = classify(g, k, cfg, self.mapping)
                        j = pos[fact] if fact is not None else -1
                        kind = self.keymap[k] = (ck, j, self.caches[j] if j >= 0 else {}, fact, self.recodes[j] if j >= 0 else {})
                    ck = kind[0]
                    if ck == "fact":
                        j = kind[1]
                        if walker is None:
                            entered[kind[3] or k] = kind[4].get(str(v), v) if kind[4] and v is not None else v
                            continue
                        hk = _hkey(v)
                        c = kind[2].get(hk) if hk is not None else None
                        if c is None:
                            c = self._coerce(j, hk if hk is not None else None) if hk is not None else self._coerce_raw(j, v)
                            if hk is not None:
                                kind[2][hk] = c
                        if c.__class__ is _Bad:
                            errs.append({"fact": kind[3], "message": c.message})
                        elif c is not UNKNOWN:
                            vals[j] = c
                    elif ck == "actual":
                        araw = v
                    elif ck == "reason":
                        said = _said(v)
                    elif ck == "id":
                        head += f'"id": {json.dumps(v if v is None else str(v), ensure_ascii=False)}, '
                    else:
                        ignored[k] += 1
                if walker is None:
                    out, errs = self._walk_full(entered)
                elif errs:
                    out = self.invalid_facts
                else:
                    out = walker.walk(vals)
                if errs:
                    invalid.append({"row": row, "status": "invalid_facts", "reasons": [f"{e['fact']}: {e['message']}" for e in errs]})
            if out.status == "error":
                errs = [{"fact": None, "message": out.error}]
                invalid.append({"row": row, "status": "error", "reasons": [out.error]})
            if araw is not None and araw.__class__ is not str:
                araw = json.dumps(araw) if isinstance(araw, (list, dict)) else str(araw)
            if cfg.actual is not None and araw and self._actual_cached(araw).__class__ is _Bad:
                invalid.append({"row": row, "status": "invalid_actual", "reasons": [self._actual_cached(araw).message]})
            tail = self._tail(out, araw)
            key = (out, araw)
            cells[key] = cells.get(key, 0) + 1
            if said:
                reasoned[key] = reasoned.get(key, 0) + 1
            e = json.dumps(errs, ensure_ascii=False) if errs else "[]"
            lines.append(f'{head}{self._frag(out)}, "errors": {e}{tail}}}\n')
        return ChunkResult(chunk.index, n, _utf8(lines), self._cells(cells), invalid, dict(ignored), self._cells(reasoned), stats.get("blank", 0))

    def _coerce_raw(self, j: int, raw: Any) -> Any:
        try:
            v = coerce(self.specs[j], raw, locale=self.cfg.locale)
        except BadValue as exc:
            self.nbad += 1
            return _Bad(str(exc))
        vc = self.classes[j]
        return v if vc is None else vc(v)
