"""CSV as the audit reads it: one grammar for the planner (where a chunk may end) and for the
worker (the records of a chunk), linear in the file, and every line accounted for.

The grammar is RFC 4180 with a fixed rule for broken quoting:

* A record is one line, or several when a quoted field holds a line break. Fields are split
  at the delimiter (``,``, ``;`` or tab). A field is *quoted* when it starts with ``"``; it
  ends at a ``"`` that is followed by the delimiter or the end of the line (``""`` inside is
  one quote). A ``"`` anywhere else is an ordinary character (``8"0`` is the text 8"0).
* A record whose quoted field is not closed that way (a stray ``"`` at the start of a cell, an
  unclosed quote) is a bad record: its first line is reported and reading goes on at the next
  line. A quoted field that has not closed within :data:`MAX_RECORD` bytes is such a record.
  So a stray quote costs one row, never the rest of the file, and a scan never runs past the
  next lone quote: the reading is linear in the file.
* A blank line is not a record (it is counted). A carriage return that does not end a line
  (CR without LF) makes its record bad.

Rows are numbered by the line on which they start. Bytes are decoded strictly: a line that is
not valid in the file's encoding is a bad row that says so (Dutch Excel writes cp1252:
``--encoding cp1252``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import GuidewalkError

__all__ = ["BadRow", "Dialect", "DELIMITERS", "MAX_RECORD", "sniff", "cut", "records", "check_encoding"]

#: the longest record whose quoted field may still be open before it is declared bad
MAX_RECORD = 16 << 20
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_SNIFF_BYTES = 1 << 16
_BARE_CR = re.compile("\r(?!\n)")
_BARE_CR_REASON = "has a carriage return inside the line (a line break from an old Mac file?); it is not read"
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD))  # a long cell is read (and judged), not an error


class BadRow:
    """A record that could not be read as a row at all (wrong number of fields, bad JSON)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    encoding: str = "utf-8"


class _Patterns:
    def __init__(self, delimiter: str):
        d = re.escape(delimiter.encode("ascii"))
        quoted = rb"(?:(?<=[" + d + rb'\n])|\A)"(?:[^"]++|"")*+"(?=' + d + rb"|\r?\n)"
        literal = rb"(?<=[^" + d + rb'\n])"'  # a quote that does not start a field
        alt = rb'[^"\n]++|' + quoted + rb"|" + literal
        self.fields = re.compile(rb"(?:" + alt + rb")*+")
        self.run = re.compile(rb"(?:(?:" + alt + rb")*+\n)*+")  # complete, well-formed records
        self.inside = re.compile(rb'(?:[^"]++|"")*+')  # the body of a quoted field


@cache
def _patterns(delimiter: str) -> _Patterns:
    return _Patterns(delimiter)


# ------------------------------------------------------------------------------- planning


def check_encoding(encoding: str) -> str:
    """The codec's name; refused unless ASCII-compatible (the grammar reads bytes)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise GuidewalkError(f"unknown encoding '{encoding}' (e.g. utf-8, cp1252, latin-1)") from None
    if info.name == "utf-8-sig":
        return "utf-8"  # a byte-order mark is skipped with the header anyway
    if info.name.startswith(("utf-16", "utf-32")) or 'a,;"\n'.encode(info.name) != b'a,;"\n':
        raise GuidewalkError(f"encoding '{encoding}' is not supported for cohorts; save the file as UTF-8")
    return info.name


def sniff(path: str, delimiter: str | None, encoding: str | None) -> tuple[Dialect, list[str], int]:
    """The dialect, the header's column names and the header's length in bytes. Refuses, with
    what to do, a file that is not in the encoding or whose delimiter cannot be told."""
    with open(path, "rb") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise GuidewalkError(f"{path}: UTF-16 text (Excel 'Unicode text'); save it as 'CSV UTF-8' (or CSV) and try again")
    enc = check_encoding(encoding or "utf-8")
    if encoding is None:
        _require_utf8(path, sample)
    nl = sample.find(b"\n")
    head = sample if nl < 0 else sample[: nl + 1]
    if nl < 0 and len(sample) == _SNIFF_BYTES:
        raise GuidewalkError(f"{path}: the header line is longer than {_SNIFF_BYTES:,} bytes")
    text = head.decode("utf-8-sig" if enc == "utf-8" else enc, errors="replace").rstrip("\r\n")
    counts = {d: len(next(csv.reader([text], delimiter=d), [])) for d in DELIMITERS}
    if delimiter is None:
        found = [d for d, n in counts.items() if n > 1]
        if len(found) > 1:
            names = " and ".join(f"{DELIMITERS[d]} ('{d}')" for d in found)
            raise GuidewalkError(f"{path}: the header has both {names}; give --delimiter")
        delimiter = found[0] if found else ","
    elif delimiter not in DELIMITERS:
        raise GuidewalkError(f"--delimiter must be one of , ; tab (got {delimiter!r})")
    elif counts[delimiter] == 1 and any(n > 1 for n in counts.values()):
        other = max(counts, key=lambda d: counts[d])
        raise GuidewalkError(
            f"{path}: with --delimiter {DELIMITERS[delimiter]} the header is one column, but it is separated by "
            f"{DELIMITERS[other]} ('{other}'); give --delimiter '{other}' (or leave it out)"
        )
    columns = [h.strip() for h in next(csv.reader([text], delimiter=delimiter), [])]
    return Dialect(delimiter, enc), columns, len(head)


def _require_utf8(path: str, sample: bytes) -> None:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        line = sample.count(b"\n", 0, exc.start) + 1
        byte = sample[exc.start]
        guess = bytes([byte]).decode("cp1252", errors="replace")
        raise GuidewalkError(
            f"{path}: not UTF-8 (line {line} has the byte 0x{byte:02x}, '{guess}' in cp1252). Dutch Excel writes cp1252: "
            "give --encoding cp1252, or save the file as 'CSV UTF-8'"
        ) from None


def cut(buf: bytes, delimiter: str) -> int:
    """The end of the last complete record in `buf` (which starts at a record boundary): every
    record before it is decided; 0 when the first record is not complete yet. A record whose
    quoted field runs to the end of `buf` is not complete (more bytes may close it)."""
    pat = _patterns(delimiter)
    n, p = len(buf), 0
    while True:
        q = buf.find(b'"', p)
        if q < 0:
            return max(p, buf.rfind(b"\n") + 1)
        p = max(p, buf.rfind(b"\n", p, q) + 1)
        p = pat.run.match(buf, p).end()  # type: ignore[union-attr]  # always matches
        if p >= n:
            return n
        end = _bad_end(buf, p, pat)
        if end < 0:
            return p
        p = end


def _bad_end(buf: bytes, p: int, pat: _Patterns) -> int:
    """The record at `p` is not well-formed up to here: the end of its first line when it is
    bad, or -1 when it may still be completed by the bytes that follow `buf`."""
    n = len(buf)
    e = pat.fields.match(buf, p).end()  # type: ignore[union-attr]
    if e >= n:
        return -1  # the line has not ended yet
    c = pat.inside.match(buf, e + 1).end()  # type: ignore[union-attr]  # buf[e] is an opening quote
    if c >= n - 1 or (c == n - 2 and buf[c + 1 : c + 2] == b"\r"):
        return -1  # the quoted field runs to the end: the next bytes decide
    nl = buf.find(b"\n", p)
    return -1 if nl < 0 else nl + 1


def first_line_end(buf: bytes) -> int:
    """Where the planner ends a chunk after a record that has been open for MAX_RECORD bytes
    (the worker then sees its quote run to the chunk's end: a bad record)."""
    nl = buf.find(b"\n")
    return nl + 1 if nl >= 0 else 0


# ------------------------------------------------------------------------------- reading


def records(data: bytes, first_line: int, ncols: int, dialect: Dialect, stats: dict[str, int] | None = None) -> Iterator[tuple[int, Any]]:
    """(row, fields) for every record of a chunk's bytes, or (row, BadRow) for a record that
    cannot be read; blank lines are counted in ``stats["blank"]``."""
    if data and not data.endswith(b"\n"):
        data += b"\n"  # the last line of the file
    pat = _patterns(dialect.delimiter)
    sep, enc = dialect.delimiter, dialect.encoding
    n, p, line, blank = len(data), 0, first_line, 0
    while p < n:
        q = data.find(b'"', p)
        stop = n if q < 0 else max(p, data.rfind(b"\n", p, q) + 1)
        if stop > p:  # lines without a quote: a record is a line, fields split at the delimiter
            for i, text in enumerate(_decode_lines(data[p:stop], enc)):
                if text.__class__ is BadRow:
                    yield line + i, text
                    continue
                if text.endswith("\r"):
                    text = text[:-1]
                if not text:
                    blank += 1
                    continue
                if "\r" in text:
                    yield line + i, BadRow(_BARE_CR_REASON)
                    continue
                rec = text.split(sep)
                yield line + i, (rec if len(rec) == ncols else BadRow(f"has {len(rec)} fields, the header has {ncols}"))
            line += data.count(b"\n", p, stop)
            p = stop
        if q < 0:
            break
        e = pat.run.match(data, p).end()  # type: ignore[union-attr]
        if e > p:
            for row, rec in _quoted_records(data, p, e, line, ncols, dialect, pat):
                if rec is None:
                    blank += 1
                else:
                    yield row, rec
            line += data.count(b"\n", p, e)
            p = e
            continue
        nl = data.find(b"\n", p)
        yield line, BadRow(f"a quoted field (a cell starting with '\"') does not close before the {DELIMITERS[sep]} or the end of the line")
        line += 1
        p = nl + 1
    if stats is not None:
        stats["blank"] = stats.get("blank", 0) + blank


def _decode_lines(raw: bytes, enc: str) -> list[Any]:
    """The lines of `raw` (which ends with a newline), decoded; a line that does not decode is a
    BadRow saying so."""
    try:
        return raw.decode(enc).split("\n")[:-1]
    except UnicodeDecodeError:
        return [_decode_line(x, enc) for x in raw.split(b"\n")[:-1]]


def _decode_line(raw: bytes, enc: str) -> Any:
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        hint = " (the file may be cp1252, as Dutch Excel writes it: give --encoding cp1252)" if enc == "utf-8" else ""
        return BadRow(f"not valid {enc}: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}{hint}")


def _quoted_records(data: bytes, p: int, e: int, line: int, ncols: int, dialect: Dialect, pat: _Patterns) -> Iterator[tuple[int, Any]]:
    """The well-formed records in data[p:e] (None for a blank line): read by the csv module in
    one go, or record by record when a record in it cannot be read."""
    try:
        text = data[p:e].decode(dialect.encoding)
        if "\r" in text and _BARE_CR.search(text):
            raise csv.Error("a bare carriage return")
        reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=dialect.delimiter, strict=False)
        out: list[tuple[int, Any]] = []
        prev = 0
        for rec in reader:
            row = line + prev
            prev = reader.line_num
            out.append((row, None if not rec else rec if len(rec) == ncols else BadRow(f"has {len(rec)} fields, the header has {ncols}")))
        yield from out
        return
    except (UnicodeDecodeError, csv.Error):
        pass
    while p < e:  # one record at a time: each failure is its own bad row
        end = pat.fields.match(data, p).end() + 1  # type: ignore[union-attr]  # well-formed: ends at a newline
        raw = data[p:end]
        text_or_bad = _decode_line(raw, dialect.encoding)
        if text_or_bad.__class__ is BadRow:
            yield line, text_or_bad
        elif _BARE_CR.search(text_or_bad):
            yield line, BadRow(_BARE_CR_REASON)
        else:
            try:
                rec = next(csv.reader(io.StringIO(text_or_bad, newline="\n"), delimiter=dialect.delimiter, strict=False), [])
                yield line, None if not rec else rec if len(rec) == ncols else BadRow(f"has {len(rec)} fields, the header has {ncols}")
            except csv.Error as exc:
                yield line, BadRow(f"CSV error: {exc}")
        line += raw.count(b"\n")
        p = end
