"""Reading a cohort in bounded memory: plan the file into chunks, then read one chunk's rows.

Formats: CSV (header row; cells as text; delimiter and encoding found or given, see
:mod:`.csvfile`), JSON Lines (one object a line) and Parquet (pyarrow). The planner runs in
the coordinating process and only scans: for CSV and JSON Lines it cuts the file into byte
ranges of about `chunk_bytes` at record boundaries (for CSV by the grammar of
:mod:`.csvfile`, so a cut never falls inside a quoted field, in time linear in the file); for
Parquet a chunk is a row group. Workers read their own chunk from the file, so no row travels
between processes and a chunk can run on another machine that sees the same path.

Every record becomes exactly one row: a record that cannot be read (wrong number of fields, a
broken quote, bytes not in the encoding, broken or non-standard JSON, a key given twice) is a
:class:`BadRow` with the reason, never dropped and never merged into its neighbours.

Row numbers ("row") are what an auditor can find again in the file: for CSV and JSON Lines
the line on which the record starts (the CSV header is line 1, so the first patient is row
2); for Parquet the 1-based record index. Blank lines are not records and are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GuidewalkError
from .csvfile import MAX_RECORD, BadRow, Dialect, check_encoding, cut, first_line_end, records, sniff

__all__ = ["Chunk", "Plan", "plan_file", "read_rows", "chunk_data", "format_of", "BadRow", "FORMATS"]

FORMATS = ("csv", "jsonl", "parquet")
CHUNK_BYTES = 8 << 20  # large enough for the columnar reader's partitions to pay (engine/audit/columnar.py)


@dataclass(frozen=True)
class Chunk:
    index: int
    path: str
    fmt: str
    start: int  # byte offset (csv, jsonl) or row group (parquet)
    end: int  # byte offset, exclusive (csv, jsonl); unused for parquet
    first_row: int  # row number of the chunk's first line / record
    size: int  # bytes (for progress)
    delimiter: str = ","  # csv
    encoding: str = "utf-8"  # csv, jsonl


@dataclass
class Plan:
    path: str
    fmt: str
    columns: list[str]  # header (csv), keys of the first record (jsonl), schema names (parquet)
    total_bytes: int
    chunks: Iterator[Chunk]
    delimiter: str = ","
    encoding: str = "utf-8"


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


def plan_file(path: str | Path, fmt: str | None = None, chunk_bytes: int = CHUNK_BYTES, *, delimiter: str | None = None, encoding: str | None = None) -> Plan:
    """Read the header and return a lazy sequence of chunks. CSV: the delimiter (`,` `;` tab)
    and the encoding are found from the file or given; what cannot be told is refused."""
    path = str(Path(path).resolve())
    fmt = format_of(path, fmt)
    total = os.path.getsize(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        meta = pf.metadata
        return Plan(path, fmt, list(pf.schema_arrow.names), total, _parquet_chunks(path, meta))
    if fmt == "csv":
        dialect, columns, start = sniff(path, delimiter, encoding)
        chunks = _text_chunks(path, fmt, start, 2, chunk_bytes, dialect)
        return Plan(path, fmt, columns, total, chunks, dialect.delimiter, dialect.encoding)
    if delimiter is not None:
        raise GuidewalkError("--delimiter applies to CSV files only")
    enc = check_encoding(encoding or "utf-8")
    with open(path, "rb") as fh:
        first = fh.readline()
    columns = []
    if first.strip():
        try:
            obj = json.loads(first.decode(enc, errors="replace"))
            if isinstance(obj, dict):
                columns = [str(k) for k in obj]
        except ValueError:
            pass
    return Plan(path, fmt, columns, total, _text_chunks(path, fmt, 0, 1, chunk_bytes, Dialect(",", enc)), encoding=enc)


def _parquet_chunks(path: str, meta: Any) -> Iterator[Chunk]:
    row = 1
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        yield Chunk(i, path, "parquet", i, i + 1, row, rg.total_byte_size)
        row += rg.num_rows


def _text_chunks(path: str, fmt: str, start: int, first_line: int, chunk_bytes: int, dialect: Dialect) -> Iterator[Chunk]:
    """Chunks of about `chunk_bytes` that end at record boundaries. Each block is scanned once
    (a CSV record still open at a block's end is scanned again with the next block, and one
    open for MAX_RECORD bytes is ended at its first line): linear in the file."""
    csv_ = fmt == "csv"
    index, line, pos = 0, first_line, start
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = b""
        while True:
            block = fh.read(chunk_bytes)
            if not block:
                if buf:
                    yield Chunk(index, path, fmt, pos, pos + len(buf), line, len(buf), dialect.delimiter, dialect.encoding)
                return
            buf += block
            end = cut(buf, dialect.delimiter) if csv_ else buf.rfind(b"\n") + 1
            if end <= 0 and csv_ and len(buf) >= MAX_RECORD:
                end = first_line_end(buf)  # a quote open for MAX_RECORD bytes: a bad record of one line
            if end <= 0:  # no complete record yet: read more
                continue
            if end < len(buf) and end < chunk_bytes // 2 and len(buf) < 2 * chunk_bytes:
                continue  # a short piece before an open record: wait for the record to be decided
            yield Chunk(index, path, fmt, pos, pos + end, line, end, dialect.delimiter, dialect.encoding)
            index += 1
            line += buf.count(b"\n", 0, end)
            pos += end
            buf = buf[end:]


def read_rows(chunk: Chunk, columns: list[str], stats: dict[str, int] | None = None) -> Iterator[tuple[int, Any]]:
    """(row number, record) for every record of a chunk: a list aligned with `columns` (CSV,
    Parquet), a dict (JSON Lines: records need not share keys), or a :class:`BadRow` for a
    record that cannot be read. Blank lines are not records; ``stats["blank"]`` counts them."""
    if chunk.fmt == "parquet":
        yield from _parquet_rows(chunk, columns)
        return
    data = chunk_data(chunk)
    if chunk.fmt == "csv":
        yield from records(data, chunk.first_row, len(columns), Dialect(chunk.delimiter, chunk.encoding), stats)
    else:
        yield from _jsonl_rows(data, chunk.first_row, chunk.encoding, stats)


def chunk_data(chunk: Chunk) -> bytes:
    """The bytes of a CSV or JSON Lines chunk, read from its file by the worker."""
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        return fh.read(chunk.end - chunk.start)


class _Refused(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not standard JSON (a number must be finite)")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Refused(f"the key {json.dumps(k[:60], ensure_ascii=True)} is given twice")
            seen.add(k)
    return d


_FAST = json.JSONDecoder(parse_constant=_no_constant)
_PAIRS = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)


def _decode(text: str) -> Any:
    """One JSON value; NaN/Infinity and a key given twice are refused. A key needs a colon, so
    an object with as many keys as the line has colons cannot repeat one; only other lines
    (nested objects, colons in text) are read again, pair by pair."""
    obj = _FAST.decode(text)
    if obj.__class__ is dict and text.count(":") != len(obj):
        obj = _PAIRS.decode(text)
    return obj


def _jsonl_rows(data: bytes, first: int, encoding: str, stats: dict[str, int] | None) -> Iterator[tuple[int, Any]]:
    decode = _decode
    blank = 0
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # what follows the last newline
    for i, raw in enumerate(lines):
        if not raw.strip():
            blank += 1
            continue
        try:
            obj = decode(raw.decode(encoding))
        except UnicodeDecodeError as exc:
            yield first + i, BadRow(f"not valid {encoding}: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}")
            continue
        except _Refused as exc:
            yield first + i, BadRow(str(exc))
            continue
        except (ValueError, RecursionError) as exc:
            yield first + i, BadRow(f"not valid JSON: {str(exc)[:200]}")
            continue
        if not isinstance(obj, dict):
            yield first + i, BadRow(f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield first + i, obj
    if stats is not None:
        stats["blank"] = stats.get("blank", 0) + blank


def _parquet_rows(chunk: Chunk, columns: list[str]) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(chunk.path)
    row = chunk.first_row
    for batch in pf.iter_batches(batch_size=16384, row_groups=[chunk.start], columns=columns):
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for rec in zip(*cols):
            yield row, list(rec)
            row += 1
