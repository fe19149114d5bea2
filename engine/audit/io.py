"""Reading a cohort in bounded memory: plan the file into chunks, then read one chunk's rows.

Formats: CSV (header row; cells as text), JSON Lines (one object a line) and Parquet
(pyarrow). The planner runs in the coordinating process and only scans: for CSV and JSON
Lines it cuts the file into byte ranges of about `chunk_bytes` at record boundaries (a cut
never falls inside a quoted CSV field: the number of quote characters before it is even);
for Parquet a chunk is a row group. Workers read their own chunk from the file, so no row
travels between processes and a chunk can run on another machine that sees the same path.

Row numbers ("row") are what an auditor can find again in the file: for CSV and JSON Lines
the line on which the record starts (the CSV header is line 1, so the first patient is row
2); for Parquet the 1-based record index. Blank lines are not records and are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Chunk", "Plan", "plan_file", "read_rows", "format_of", "BadRow", "FORMATS"]

FORMATS = ("csv", "jsonl", "parquet")
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Chunk:
    index: int
    path: str
    fmt: str
    start: int  # byte offset (csv, jsonl) or row group (parquet)
    end: int  # byte offset, exclusive (csv, jsonl); unused for parquet
    first_row: int  # row number of the chunk's first line / record
    size: int  # bytes (for progress)


@dataclass
class Plan:
    path: str
    fmt: str
    columns: list[str]  # header (csv), keys of the first record (jsonl), schema names (parquet)
    total_bytes: int
    chunks: Iterator[Chunk]


class BadRow:
    """A record that could not be read as a row at all (wrong number of fields, bad JSON)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def format_of(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format '{fmt}' ({', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"cannot tell the format of '{path}' from its suffix; use --format ({', '.join(FORMATS)})")


def plan_file(path: str | Path, fmt: str | None = None, chunk_bytes: int = CHUNK_BYTES) -> Plan:
    """Read the header and return a lazy sequence of chunks."""
    path = str(Path(path).resolve())
    fmt = format_of(path, fmt)
    total = os.path.getsize(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        meta = pf.metadata
        return Plan(path, fmt, list(pf.schema_arrow.names), total, _parquet_chunks(path, meta))
    with open(path, "rb") as fh:
        first = fh.readline()
    if fmt == "csv":
        text = first.decode("utf-8-sig", errors="replace")
        header = next(csv.reader([text]), [])
        columns = [h.strip() for h in header]
        start = len(first)
        return Plan(path, fmt, columns, total, _text_chunks(path, fmt, start, 2, total, chunk_bytes))
    columns = []
    if first.strip():
        try:
            obj = json.loads(first)
            if isinstance(obj, dict):
                columns = [str(k) for k in obj]
        except ValueError:
            pass
    return Plan(path, fmt, columns, total, _text_chunks(path, fmt, 0, 1, total, chunk_bytes))


def _parquet_chunks(path: str, meta: Any) -> Iterator[Chunk]:
    row = 1
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        yield Chunk(i, path, "parquet", i, i + 1, row, rg.total_byte_size)
        row += rg.num_rows


def _text_chunks(path: str, fmt: str, start: int, first_line: int, total: int, chunk_bytes: int) -> Iterator[Chunk]:
    quote = fmt == "csv"
    index = 0
    line = first_line
    with open(path, "rb") as fh:
        fh.seek(start)
        pending = b""
        pos = start
        while True:
            block = fh.read(chunk_bytes)
            data = pending + block
            if not block:
                if data:
                    yield Chunk(index, path, fmt, pos, pos + len(data), line, len(data))
                return
            cut = _cut(data, quote)
            if cut <= 0:  # no usable record boundary yet: read more
                pending = data
                continue
            yield Chunk(index, path, fmt, pos, pos + cut, line, cut)
            index += 1
            line += data.count(b"\n", 0, cut)
            pos += cut
            pending = data[cut:]


def _cut(data: bytes, quote: bool) -> int:
    """The end (exclusive) of the last complete record in `data`, or 0."""
    nl = data.rfind(b"\n")
    if not quote:
        return nl + 1
    while nl >= 0:
        if data.count(b'"', 0, nl) % 2 == 0:
            return nl + 1
        nl = data.rfind(b"\n", 0, nl)
    return 0


def read_rows(chunk: Chunk, columns: list[str]) -> Iterator[tuple[int, Any]]:
    """(row number, record) for every record of a chunk: a list aligned with `columns` (CSV,
    Parquet), a dict (JSON Lines: records need not share keys), or a :class:`BadRow` for a
    record that cannot be read."""
    if chunk.fmt == "parquet":
        yield from _parquet_rows(chunk, columns)
        return
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        data = fh.read(chunk.end - chunk.start)
    text = data.decode("utf-8", errors="replace")
    if chunk.fmt == "csv":
        yield from _csv_rows(text, chunk.first_row, len(columns))
    else:
        yield from _jsonl_rows(text, chunk.first_row)


def _csv_rows(text: str, first: int, ncols: int) -> Iterator[tuple[int, Any]]:
    if '"' not in text:  # no quoting anywhere: a record is a line, fields split at commas
        for i, line in enumerate(text.split("\n")):
            if line.endswith("\r"):
                line = line[:-1]
            if not line:
                continue
            rec = line.split(",")
            if len(rec) == ncols:
                yield first + i, rec
            else:
                yield first + i, BadRow(f"has {len(rec)} fields, the header has {ncols}")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    prev = 0
    try:
        for rec in reader:
            row = first + prev
            prev = reader.line_num
            if len(rec) == ncols:
                yield row, rec
            elif not rec:
                continue
            else:
                yield row, BadRow(f"has {len(rec)} fields, the header has {ncols}")
    except csv.Error as exc:
        yield first + prev, BadRow(f"CSV error: {exc}; the rest of this block was not read")


def _jsonl_rows(text: str, first: int) -> Iterator[tuple[int, Any]]:
    loads = json.loads
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except ValueError as exc:
            yield first + i, BadRow(f"not valid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield first + i, BadRow(f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield first + i, obj


def _parquet_rows(chunk: Chunk, columns: list[str]) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(chunk.path)
    row = chunk.first_row
    for batch in pf.iter_batches(batch_size=16384, row_groups=[chunk.start], columns=columns):
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for rec in zip(*cols):
            yield row, list(rec)
            row += 1
