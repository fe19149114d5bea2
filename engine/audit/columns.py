"""The cohort's columns -> facts: the mapping file, and which fact (or the actual treatment, or
the patient id) each column gives; other columns are ignored with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import GuidewalkError, suggest
from ..model import Guideline
from .config import AuditConfig

__all__ = ["read_mapping", "ColumnPlan", "classify", "resolve_columns"]


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
    reason: int | None = None
    ignored: list[dict[str, Any]] = field(default_factory=list)


def classify(g: Guideline, name: str, cfg: AuditConfig, mapping: Mapping[str, tuple[str, dict[str, Any]]]) -> tuple[str, str | None, str | None]:
    """(kind, fact, reason) of a column: fact | actual | id | reason | ignored."""
    if cfg.actual is not None and name == cfg.actual:
        return "actual", None, None
    if cfg.reason is not None and name == cfg.reason:
        return "reason", None, None
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
        elif kind == "reason":
            plan.reason = i
        else:
            plan.ignored.append({"column": name, "reason": reason})
    if cfg.fmt != "jsonl":
        if cfg.actual is not None and plan.actual is None:
            raise GuidewalkError(f"no column '{cfg.actual}' for the actual treatment (columns: {', '.join(cfg.columns)})")
        if cfg.id_column is not None and plan.id_column is None:
            raise GuidewalkError(f"no column '{cfg.id_column}' for the patient id")
        if cfg.reason is not None and plan.reason is None:
            raise GuidewalkError(f"no column '{cfg.reason}' for the reason of a deviation (columns: {', '.join(cfg.columns)})")
    return plan
