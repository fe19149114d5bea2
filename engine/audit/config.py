"""The audit's configuration: everything a worker needs to audit its chunks (picklable)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["AuditConfig"]


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
    reason: str | None = None  # column with the reason recorded for a deviation (audit.concordance)
    engine: str = "fast"  # fast | walk
    rules: str = "builtin"  # rules backend for engine="walk"
    locale: str | None = None  # how numbers written as text are read (engine.fact_types.parse_number)
    delimiter: str = ","  # csv
    encoding: str = "utf-8"  # csv, jsonl

    def key(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()
