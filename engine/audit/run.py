"""The audit itself: columns -> facts, one chunk of rows -> per-patient lines and counts,
counts of all chunks -> the summary, and the local run over a process pool.

A chunk goes in (a byte range or a Parquet row group, read by the worker itself); out come
the per-patient JSON lines as one text and a compact table of counts keyed by outcome
(status, path, actions, needs) and actual treatment, plus the invalid rows. Workers load
the guideline once (the context is cached per process), coerce each distinct cell value
once per column, and walk with :class:`engine.audit_fast.FastWalker` (or, with
``engine="walk"``, with :func:`engine.walk.run` and the chosen rules backend).

Concordance (the definition the summary states): a patient is *assessable* when the walk
is complete and the actual column holds one or more valid action codes (several codes are
separated by ``;``, ``,`` or ``+``); an assessable patient is *concordant* when every
actual code is among the action codes the guideline recommends on the patient's path (any
recommendation along the path, not only the last). Per node: of the assessable patients
whose path passes the node, the share that is concordant.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from operator import call, itemgetter
from typing import Any, Callable, Iterable, Iterator, Mapping

from .fast import FastWalker, Outcome, ValueClasses, threshold_facts
from .io import BadRow, Chunk, read_rows
from ..errors import GuidewalkError, suggest
from ..expressions import UNKNOWN
from ..facts import BadValue, coerce
from ..model import Guideline

__all__ = ["AuditConfig", "ChunkResult", "Totals", "resolve_columns", "read_mapping", "process_chunk", "run_local", "summarize", "DEFINITION", "LIST_CAP"]

LIST_CAP = 10_000  # invalid rows listed in the summary; every one is in the per-patient output

DEFINITION = (
    "A patient is assessable when the walk is complete and the actual column holds one or more valid action codes "
    "(separated by ';', ',' or '+'). An assessable patient is concordant when every actual code is among the action "
    "codes the guideline recommends on the patient's path. Per node: of the assessable patients whose path passes "
    "the node, the share that is concordant."
)


@dataclass(frozen=True)
class AuditConfig:
    """Everything a worker needs (picklable; the same on every worker)."""

    guideline: str  # absolute path of guideline.yaml
    overlays: tuple[str, ...]
    flowchart: str
    fmt: str
    columns: tuple[str, ...]  # the file's columns (CSV header, Parquet schema; JSON Lines: informative)
    mapping: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...] = ()  # (source column, target, recode)
    actual: str | None = None
    id_column: str | None = None
    engine: str = "fast"  # fast | walk
    rules: str = "builtin"  # rules backend for engine="walk"

    def key(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()


# --------------------------------------------------------------------------- columns


def read_mapping(path: str) -> tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...]:
    """A mapping file (YAML or JSON): `source_column: fact` or
    `source_column: {fact: name, values: {code: value}}` (`column:` is accepted for `fact:`).
    For the actual column, `values:` recodes treatment codes."""
    from .. import _yaml

    doc = _yaml.load_file(path)
    data = doc.data or {}
    if not isinstance(data, dict):
        raise GuidewalkError(f"{path}: a mapping file is a mapping of source column to fact")
    out: list[tuple[str, str, tuple[tuple[str, Any], ...]]] = []
    for src, spec in data.items():
        if isinstance(spec, str):
            out.append((str(src), spec, ()))
            continue
        if not isinstance(spec, dict):
            raise GuidewalkError(f"{path}: '{src}': expected a fact name or {{fact: ..., values: {{...}}}}")
        unknown = set(spec) - {"fact", "column", "values"}
        if unknown:
            raise GuidewalkError(f"{path}: '{src}': unknown keys {', '.join(sorted(map(str, unknown)))} (fact, column, values)")
        target = spec.get("fact") or spec.get("column") or str(src)
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            raise GuidewalkError(f"{path}: '{src}': values must be a mapping of code to value")
        out.append((str(src), str(target), tuple((str(k), v) for k, v in values.items())))
    return tuple(out)


@dataclass
class ColumnPlan:
    facts: list[tuple[int, str]] = field(default_factory=list)  # (column index, fact)
    actual: int | None = None
    id_column: int | None = None
    ignored: list[dict[str, Any]] = field(default_factory=list)


def classify(g: Guideline, name: str, cfg: AuditConfig, mapping: Mapping[str, tuple[str, dict[str, Any]]]) -> tuple[str, str | None, str | None]:
    """(kind, fact, reason) of a column: fact | actual | id | ignored."""
    if cfg.actual is not None and name == cfg.actual:
        return "actual", None, None
    if cfg.id_column is not None and name == cfg.id_column:
        return "id", None, None
    target = mapping[name][0] if name in mapping else name
    if target in g.dictionary:
        return "fact", target, None
    if target in g.derived:
        return "ignored", None, f"'{target}' is derived by rule '{g.derived[target].derived_by}' and cannot be entered; the audit derives it from its inputs"
    hint = suggest(target, g.dictionary)
    return "ignored", None, f"'{target}' is not a fact in the dictionary" + (f" (did you mean '{hint}'?)" if hint else "")


def resolve_columns(g: Guideline, cfg: AuditConfig) -> ColumnPlan:
    mapping = {src: (t, dict(v)) for src, t, v in cfg.mapping}
    plan = ColumnPlan()
    seen: dict[str, str] = {}
    for i, name in enumerate(cfg.columns):
        kind, fact, reason = classify(g, name, cfg, mapping)
        if kind == "fact":
            assert fact is not None
            if fact in seen:
                raise GuidewalkError(f"columns '{seen[fact]}' and '{name}' both give fact '{fact}'")
            seen[fact] = name
            plan.facts.append((i, fact))
        elif kind == "actual":
            plan.actual = i
        elif kind == "id":
            plan.id_column = i
        else:
            plan.ignored.append({"column": name, "reason": reason})
    if cfg.fmt != "jsonl":
        if cfg.actual is not None and plan.actual is None:
            raise GuidewalkError(f"no column '{cfg.actual}' for the actual treatment (columns: {', '.join(cfg.columns)})")
        if cfg.id_column is not None and plan.id_column is None:
            raise GuidewalkError(f"no column '{cfg.id_column}' for the patient id")
    return plan


# --------------------------------------------------------------------------- one chunk


_MISSING: Any = object()


class _Bad:
    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _hkey(v: Any) -> Any:
    """A cache key that keeps 1, 1.0, True and '1' apart; None when `v` cannot be a key."""
    if v.__class__ is str:
        return v
    if isinstance(v, list):
        try:
            return (list, tuple(v))
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


_CONTEXTS: dict[str, "_Context"] = {}


def context(cfg: AuditConfig, g: Guideline | None = None) -> "_Context":
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
            d = lambda x: json.dumps(list(x), ensure_ascii=False)  # noqa: E731
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
            return self.invalid_facts, [e.to_json() for e in r.errors]
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
        plan = self.plan
        ix = [i for i, _ in plan.facts]
        pick: Callable[[Any], Any] = itemgetter(*ix) if len(ix) > 1 else ((lambda r: (r[ix[0]],)) if ix else (lambda r: ()))
        getters = [c.__getitem__ for c in self.caches]
        # CSV cells are text; a Parquet column has one type, so its values are keys as they
        # are (1 and True never meet in one column); lists (sets) become tuples on a miss
        walk = self.walker.walk if self.walker is not None else None
        aix, idx = plan.actual, plan.id_column
        lines: list[str] = []
        append = lines.append
        cells: dict[tuple[Outcome, Any], int] = {}
        invalid: list[dict[str, Any]] = []
        names = self.fact_names
        tails = self.tails2
        n = 0
        for row, rec in read_rows(chunk, list(self.cfg.columns)):
            n += 1
            if rec.__class__ is BadRow:
                out = self.invalid_row
                bad_row = [{"fact": None, "message": rec.reason}]
                invalid.append({"row": row, "status": "invalid_row", "reasons": [rec.reason]})
                cells[(out, None)] = cells.get((out, None), 0) + 1
                append(f'{{"row": {row}, {self._frag(out)}, "errors": {json.dumps(bad_row, ensure_ascii=False)}{self._tail(out, None)}}}\n')
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
                    errs = [{"fact": names[j], "message": v.message} for j, v in enumerate(vals) if v.__class__ is _Bad] or None
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
            key: tuple[Outcome, Any] = (out, araw)
            cells[key] = cells.get(key, 0) + 1
            t = tails.get(key) or self._line_tail(out, araw)
            if t[1] is not None:
                invalid.append({"row": row, "status": "invalid_actual", "reasons": [t[1]]})
            head = f'{{"row": {row}, '
            if idx is not None:
                v = rec[idx]
                head += f'"id": {json.dumps(v if v is None else str(v), ensure_ascii=False)}, '
            if errs is None:
                append(head + t[0])
            else:
                invalid.append({"row": row, "status": out.status, "reasons": [f"{e['fact']}: {e['message']}" if e["fact"] else e["message"] for e in errs]})
                append(f'{head}{self._frag(out)}, "errors": {json.dumps(errs, ensure_ascii=False)}{self._tail(out, araw)}}}\n')
        return ChunkResult(chunk.index, n, "".join(lines).encode("utf-8"), self._cells(cells), invalid, {})

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
        n = 0
        for row, obj in read_rows(chunk, []):
            n += 1
            head = f'{{"row": {row}, '
            araw: Any = None
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
            e = json.dumps(errs, ensure_ascii=False) if errs else "[]"
            lines.append(f"{head}{self._frag(out)}, \"errors\": {e}{tail}}}\n")
        return ChunkResult(chunk.index, n, "".join(lines).encode("utf-8"), self._cells(cells), invalid, dict(ignored))

    def _coerce_raw(self, j: int, raw: Any) -> Any:
        try:
            v = coerce(self.specs[j], raw)
        except BadValue as exc:
            self.nbad += 1
            return _Bad(str(exc))
        vc = self.classes[j]
        return v if vc is None else vc(v)


# --------------------------------------------------------------------------- merge


@dataclass
class Totals:
    """The merged counts of every chunk (what the summary is computed from)."""

    rows: int = 0
    cells: Counter[tuple[tuple[Any, ...], Any]] = field(default_factory=Counter)
    invalid: list[dict[str, Any]] = field(default_factory=list)
    invalid_count: Counter[str] = field(default_factory=Counter)
    ignored_keys: Counter[str] = field(default_factory=Counter)

    def add(self, r: ChunkResult) -> None:
        self.rows += r.rows
        for k, a, c in r.cells:
            self.cells[(k, a)] += c
        for item in r.invalid:
            self.invalid_count[item["status"]] += 1
            if len(self.invalid) < LIST_CAP:
                self.invalid.append(item)
        self.ignored_keys.update(r.ignored_keys)


# --------------------------------------------------------------------------- running


Executor = Callable[[AuditConfig, Iterable[Chunk], Callable[[ChunkResult], None]], None]


def _init_worker(cfg: AuditConfig) -> None:
    context(cfg)


def run_local(jobs: int) -> Executor:
    """An executor over `jobs` processes (1: in this process). Chunks are submitted with a
    bounded window, so memory stays bounded however long the file is; results come back in
    file order."""

    def execute(cfg: AuditConfig, chunks: Iterable[Chunk], sink: Callable[[ChunkResult], None]) -> None:
        if jobs <= 1:
            for ch in chunks:
                sink(process_chunk(cfg, ch))
            return
        import multiprocessing
        from collections import deque

        mp = multiprocessing.get_context("fork")
        with mp.Pool(jobs, initializer=_init_worker, initargs=(cfg,)) as pool:
            window: deque[Any] = deque()
            for ch in chunks:
                window.append(pool.apply_async(process_chunk, (cfg, ch)))
                if len(window) >= 2 * jobs + 1:
                    sink(window.popleft().get())
            while window:
                sink(window.popleft().get())

    return execute


def iter_outcomes(totals: Totals) -> Iterator[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], Any, int]]:
    for ((status, path, actions, needs, _err), akey), c in totals.cells.items():
        yield status, path, actions, needs, akey, c


# --------------------------------------------------------------------------- summary


def summarize(g: Guideline, cfg: AuditConfig, totals: Totals, *, source: str, ignored_columns: list[dict[str, Any]], backend: dict[str, str]) -> dict[str, Any]:
    """The summary as a JSON-able dict (deterministic: no timings, sorted lists)."""
    status: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    endpoints: Counter[str] = Counter()
    needs: Counter[str] = Counter()
    blocked_at: Counter[str] = Counter()
    actual_codes: Counter[str] = Counter()
    deviations: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    node_pass: Counter[str] = Counter()
    node_assess: Counter[str] = Counter()
    node_conc: Counter[str] = Counter()
    assessable = concordant = no_actual = invalid_actual = not_complete = 0
    for st, path, acts, nds, akey, c in iter_outcomes(totals):
        status[st] += c
        for nid in path:
            node_pass[nid] += c
        if st == "complete":
            for a in dict.fromkeys(acts):
                actions[a] += c
            if path:
                endpoints[path[-1]] += c
        elif st == "needs_facts":
            for f in nds:
                needs[f] += c
            if path:
                blocked_at[path[-1]] += c
        if cfg.actual is None:
            continue
        if akey is not None and akey != ("!invalid",):
            for a in akey:
                actual_codes[a] += c
        if st != "complete":
            not_complete += c
            continue
        if akey is None:
            no_actual += c
            continue
        if akey == ("!invalid",):
            invalid_actual += c
            continue
        ok = all(a in acts for a in akey)
        assessable += c
        concordant += c if ok else 0
        for nid in path:
            node_assess[nid] += c
            node_conc[nid] += c if ok else 0
        if not ok:
            deviations[(tuple(_last(g, path) or dict.fromkeys(acts)), akey)] += c
    n = totals.rows
    mapping = {src: (t, dict(v)) for src, t, v in cfg.mapping}

    def share(k: int, d: int) -> float | None:
        return None if d == 0 else round(k / d, 6)

    def title(nid: str) -> str:
        node = g.nodes.get(nid)
        return (node.title or node.question or node.text or "") if node else ""

    out: dict[str, Any] = {
        "guideline": {"id": g.id, "title": g.title, "version": g.version, "sha256": g.sha256, **({"overlays": list(g.overlays)} if g.overlays else {})},
        "flowchart": cfg.flowchart,
        "engine": backend,
        "input": {"file": source, "format": cfg.fmt, "columns": list(cfg.columns) if cfg.fmt != "jsonl" else None,
                  "actual_column": cfg.actual, "id_column": cfg.id_column,
                  "mapping": [{"column": s, "fact": t, "values": dict(v)} for s, t, v in cfg.mapping],
                  "ignored_columns": ignored_columns + [{"column": k, "reason": classify(g, k, cfg, mapping)[2] or "", "rows": c} for k, c in sorted(totals.ignored_keys.items())]},
        "patients": n,
        "status": {k: status.get(k, 0) for k in ("complete", "needs_facts", "invalid_facts", "invalid_row", "error")},
        "recommendations": {
            "note": "patients with a complete walk for whom the guideline recommends each action code (anywhere on the path)",
            "actions": [{"code": a, "text": g.actions.get(a, ""), "patients": c, "share": share(c, status["complete"])} for a, c in sorted(actions.items(), key=lambda x: (-x[1], x[0]))],
            "endpoints": [{"node": k, "title": title(k), "patients": c} for k, c in sorted(endpoints.items(), key=lambda x: (-x[1], x[0]))],
        },
        "needs_facts": {
            "patients": status["needs_facts"],
            "facts": [{"fact": f, "patients": c, "share": share(c, status["needs_facts"])} for f, c in sorted(needs.items(), key=lambda x: (-x[1], x[0]))],
            "blocked_at": [{"node": k, "title": title(k), "patients": c} for k, c in sorted(blocked_at.items(), key=lambda x: (-x[1], x[0]))],
        },
        "invalid_rows": {
            "count": sum(totals.invalid_count.values()),
            "by_status": dict(sorted(totals.invalid_count.items())),
            "listed": len(totals.invalid),
            "note": f"every invalid row is in the per-patient output; at most {LIST_CAP} are listed here",
            "rows": sorted(totals.invalid, key=lambda x: (x["row"], x["status"])),
        },
    }
    if cfg.actual is not None:
        nodes = [nid for nid in g.nodes if node_pass[nid]]
        out["concordance"] = {
            "definition": DEFINITION,
            "actual_column": cfg.actual,
            "assessable": assessable,
            "concordant": concordant,
            "rate": share(concordant, assessable),
            "excluded": {"walk_not_complete": not_complete, "no_actual": no_actual, "invalid_actual": invalid_actual},
            "by_node": [
                {"node": nid, "kind": g.nodes[nid].kind, "flowchart": g.nodes[nid].flowchart, "title": title(nid), "patients": node_pass[nid],
                 "assessable": node_assess[nid], "concordant": node_conc[nid], "rate": share(node_conc[nid], node_assess[nid])}
                for nid in nodes
            ],
            "actual_codes": [{"code": a, "patients": c} for a, c in sorted(actual_codes.items(), key=lambda x: (-x[1], x[0]))],
            "deviations": [{"recommended": list(r), "actual": list(a), "patients": c} for (r, a), c in sorted(deviations.items(), key=lambda x: (-x[1], x[0]))[:50]],
        }
    return out


def _last(g: Guideline, path: tuple[str, ...]) -> list[str]:
    for nid in reversed(path):
        node = g.nodes.get(nid)
        if node is not None and node.actions:
            return list(node.actions)
    return []
