"""A plain CSV chunk audited by column: the same lines and counts as the row reader, faster.

The row reader (:mod:`.csvfile` through :meth:`.chunk._Context._run_lists`) splits every line
in Python, looks every cell up and walks every patient. Most chunks of a real export are
plain: no ``"`` anywhere, no carriage return, no blank line, every line with the header's
number of fields, valid UTF-8. For such a chunk the row reader's grammar is simply "a record
is a line, fields split at the delimiter", and this module reads it that way with Arrow's CSV
reader (quoting off, every column as text, no null markers: a cell is exactly its text), then

* codes each fact column's distinct cells once (the context's own per-column caches: the same
  coercion, recoding and value classes as the row reader), so each cell becomes the id of its
  value class;
* walks the patients together, decision by decision (:func:`walk_together`): the patients at
  a state of the fast walker are partitioned by the class ids of the facts the decision reads
  (for a decision memoised per branch: of each branch's facts), and each part takes one
  transition, found by the walker's own memos from one representative patient. A grouping
  by all the facts would not do: with 45 facts nearly every patient is a combination of its own.

The lines and counts are the context's (:meth:`.chunk._Context._run_columnar`), in row order.
Anything else — a quote, a CR, a blank line, a record with another number of fields, bytes that
are not UTF-8, another encoding, a header that names a column twice, Arrow or numpy not
installed — returns None and the chunk goes through the row reader, which reports each bad
record as it always has. ``tests/test_audit_columnar.py`` checks that both give the same bytes
and counts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from .fast import FULL, FastWalker
from .io import chunk_data

if TYPE_CHECKING:
    from .chunk import _Context
    from .io import Chunk

__all__ = ["ENABLED", "Columns", "read_columns", "walk_together"]

#: off: every chunk through the row reader (the tests compare the two)
ENABLED = True
#: a state reached by at most this many patients walks them one by one (numpy costs more)
ONE_BY_ONE = 24


@dataclass
class Columns:
    """A plain chunk read by column."""

    rows: int
    ids: Any  # numpy int64 (facts x rows): each patient's class id per fact column
    values: list[list[Any]]  # per fact column: class id -> the value
    cards: list[int]  # per fact column: the number of classes
    bad: Any  # numpy bool (rows): a fact value failed its check
    actual: list[Any]  # per patient: the actual-treatment cell (None: no such column)
    id_cells: list[Any]
    reasons: list[Any]

    def vector(self, row: int, facts: list[int] | None = None) -> list[Any]:
        """One patient's values as the walker reads them: of every fact column, or only of
        `facts` (the others None: a decision and the rules it depends on read only its facts)."""
        if facts is None:
            return [vals[c] for vals, c in zip(self.values, self.ids[:, row].tolist())]
        out: list[Any] = [None] * len(self.values)
        for j in facts:
            out[j] = self.values[j][self.ids[j, row]]
        return out


def _plain(data: bytes) -> bool:
    return bool(data) and b'"' not in data and b"\r" not in data and b"\n\n" not in data and not data.startswith(b"\n")


def read_columns(ctx: _Context, chunk: Chunk, bad: Any) -> Columns | None:
    """The chunk by column, or None when it is not a plain chunk (see the module docstring).
    `bad` is the class of a cell value that failed its check (its message makes its class)."""
    if not ENABLED or chunk.fmt != "csv" or chunk.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return None
    columns = list(ctx.cfg.columns)
    if len(set(columns)) != len(columns):
        return None
    try:
        import numpy as np
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:
        return None
    data = chunk_data(chunk)
    if not _plain(data):
        return None
    if not data.endswith(b"\n"):
        data += b"\n"  # the last line of the file, as the row reader reads it
    plan = ctx.plan
    want = sorted({i for i, _ in plan.facts} | {i for i in (plan.actual, plan.id_column, plan.reason) if i is not None})
    names = [f"c{i}" for i in range(len(columns))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=max(len(data) + 1, 1 << 16)),
            parse_options=pacsv.ParseOptions(
                delimiter=chunk.delimiter, quote_char=False, double_quote=False, escape_char=False, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={names[i]: pa.string() for i in want},
                include_columns=[names[i] for i in want],
                null_values=[],
                true_values=[],
                false_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    n = table.num_rows
    if n != data.count(b"\n"):
        return None
    ids = np.zeros((len(plan.facts), n), dtype=np.int64)
    values: list[list[Any]] = []
    is_bad = np.zeros(n, dtype=bool)
    for j, (ci, _) in enumerate(plan.facts):
        enc = table.column(names[ci]).combine_chunks().dictionary_encode()
        cell_ids, vals, bad_ids = _classes(ctx, j, enc.dictionary.to_pylist(), bad)
        ids[j] = np.asarray(cell_ids, dtype=np.int64)[enc.indices.to_numpy(zero_copy_only=False)]
        values.append(vals)
        if bad_ids:
            is_bad |= np.isin(ids[j], bad_ids)

    def text(i: int | None) -> list[Any]:
        return table.column(names[i]).to_pylist() if i is not None else [None] * n

    return Columns(n, ids, values, [max(len(v), 1) for v in values], is_bad, text(plan.actual), text(plan.id_column), text(plan.reason))


def _classes(ctx: _Context, j: int, cells: list[str], bad: Any) -> tuple[list[int], list[Any], list[int]]:
    """Each distinct cell of fact column `j` -> the id of its value's class, the value of each
    class, and the ids of the classes that failed their check; looked up and coerced as the
    row reader does (its caches, filled the same way)."""
    cache = ctx.caches[j]
    ids: list[int] = []
    values: list[Any] = []
    bad_ids: list[int] = []
    seen: dict[Any, int] = {}
    for cell in cells:
        v: Any = cache.get(cell)
        if v is None:
            v = cache[cell] = ctx._coerce(j, cell)
        k: Any = ("bad", v.message) if v.__class__ is bad else (v.__class__, v) if _hashable(v) else ("id", id(v))
        cid = seen.get(k)
        if cid is None:
            cid = seen[k] = len(values)
            values.append(v)
            if v.__class__ is bad:
                bad_ids.append(cid)
        ids.append(cid)
    return ids, values, bad_ids


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return bool(v == v)  # NaN is not its own class


def walk_together(walker: FastWalker, cols: Columns, rows: Any) -> list[tuple[Any, Any]]:
    """(outcome, rows) for the patients `rows` (numpy indices), walked state by state: the
    same outcome :meth:`FastWalker.walk` gives each of them (its own memos decide, from one
    representative patient per part)."""
    import numpy as np

    done: dict[int, tuple[Any, list[Any]]] = {}  # outcome -> the patients' rows (arrays or lists)
    todo = [(walker.root, rows)]
    while todo:
        st, at = todo.pop()
        if st.final is not None:
            _add(done, st.final, at)
            continue
        if len(at) <= ONE_BY_ONE:  # too few to partition: each walks on by itself
            for r in at.tolist():
                here = st
                while here.final is None:
                    here = walker.step(here, cols.vector(r, walker.columns_of(here.facts)))
                _add(done, here.final, [r])
            continue
        nexts: dict[int, tuple[Any, list[Any]]] = {}  # the parts that go to one state, merged
        goes = partial(_add, nexts)

        if st.branches is not None:  # each branch's value by the parts of its own facts
            codes = np.zeros(len(at), dtype=np.int64)
            for b in st.branches:
                code = np.empty(len(at), dtype=np.int64)
                facts = walker.columns_of(b[2])
                for rep, pos in _parts(cols, at, facts):
                    code[pos] = _code(walker.branch(st, b, cols.vector(rep, facts)))
                codes = codes * 4 + code
            full = []
            every = walker.columns_of(st.facts)
            for rep, pos in _parts_by(codes, at):
                vec = cols.vector(rep, every)
                bv = tuple(walker.branch(st, b, vec) for b in st.branches)  # memoised now
                nxt = FULL if any(v is FULL for v in bv) else walker.after_branches(st, bv)
                if nxt is FULL:
                    full.append(at[pos])
                else:
                    goes(nxt, at[pos])
            at = np.concatenate(full) if full else at[:0]
        if len(at):
            every = walker.columns_of(st.facts)
            for rep, pos in _parts(cols, at, every):
                goes(walker.full_step(st, cols.vector(rep, every)), at[pos])
        for nxt, parts in nexts.values():
            todo.append((nxt, parts[0] if len(parts) == 1 else np.concatenate(parts)))
    return [(out, np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])) for out, parts in done.values()]


def _add(into: dict[int, tuple[Any, list[Any]]], state: Any, rows: Any) -> None:
    entry = into.get(id(state))
    if entry is None:
        into[id(state)] = (state, [rows])
    else:
        entry[1].append(rows)


def _code(v: Any) -> int:
    """A branch value as a small number: True, False, UNKNOWN, FULL."""
    return 3 if v is FULL else 0 if v is True else 1 if v is False else 2


def _parts(cols: Columns, at: Any, facts: list[int]) -> list[tuple[int, Any]]:
    """`at` partitioned by the class ids of the fact columns `facts`: (a patient, positions in `at`)."""
    import numpy as np

    key = np.zeros(len(at), dtype=np.int64)
    space = 1
    for j in facts:
        card = cols.cards[j]
        if space * card >= 1 << 62:  # keep the mixed-radix key in 64 bits: renumber it first
            key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
            space = int(key.max()) + 1
        key = key * card + cols.ids[j, at]
        space *= card
    return _parts_by(key, at)


def _parts_by(key: Any, at: Any) -> list[tuple[int, Any]]:
    import numpy as np

    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if len(uniq) == 1:
        return [(int(at[0]), slice(None))]
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse))[:-1]
    return [(int(at[f]), pos) for f, pos in zip(first.tolist(), np.split(order, bounds))]
