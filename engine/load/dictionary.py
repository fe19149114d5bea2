"""The shared fact dictionary (facts.yaml + facts/*.yaml) and action list (actions.yaml +
actions/*.yaml), read with every problem located."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import Location, suggest
from ..expressions.parse import MAX_NUMBER
from ..fact_types import quoted
from ..format import FACT_TYPES
from ..model import FactSpec
from ._context import (
    Ctx,
    check_keys,
    expect_map,
    get_text,
    is_name,
    read_source,
    rel,
    topic_files,
    typename,
)
from .find import default_root

#: an enum or set value: a word a condition can name and a form can show
_WORD = re.compile(r"[A-Za-z0-9_]{1,64}")


def fact_spec(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], name: str, raw: Mapping[str, Any], *, derived_by: str | None = None) -> FactSpec | None:
    ftype = raw.get("type")
    if ftype not in FACT_TYPES:
        ctx.err(
            doc,
            path + ("type",),
            f"fact '{name}' needs a type: one of {', '.join(FACT_TYPES)}" + (f" (got '{ftype}')" if ftype else ""),
            suggest(str(ftype), FACT_TYPES) if ftype else None,
        )
        return None
    nums: dict[str, float | None] = {}
    for k in ("min", "max", "step"):
        v = raw.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            ctx.err(doc, path + (k,), f"{k} of '{name}' must be a number")
            v = None
        if v is not None and not abs(v) <= MAX_NUMBER:  # also NaN and infinity (.nan, .inf, 1e400)
            ctx.err(doc, path + (k,), f"{k} of '{name}' must be a finite number of at most 1e15 in size")
            v = None
        if v is not None and ftype not in ("integer", "number"):
            ctx.err(doc, path + (k,), f"{k} only applies to integer/number facts ('{name}' is {ftype})")
            v = None
        nums[k] = v
    if nums["min"] is not None and nums["max"] is not None and nums["min"] > nums["max"]:
        ctx.err(doc, path + ("min",), f"min > max for '{name}'")
    if nums["step"] is not None and nums["step"] <= 0:
        ctx.err(doc, path + ("step",), f"step of '{name}' must be positive")
    values: tuple[str, ...] = ()
    if ftype in ("enum", "set"):
        raw_values = raw.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            ctx.err(doc, path + ("values",), f"{ftype} fact '{name}' needs a non-empty list of values")
        else:
            vals: list[str] = []
            for i, v in enumerate(raw_values):
                if isinstance(v, bool) or not isinstance(v, (str, int)) or not _WORD.fullmatch(str(v)):
                    shown = quoted(v) if isinstance(v, (str, int)) and not isinstance(v, bool) else typename(v)
                    ctx.err(doc, path + ("values", i), f"values of '{name}' must be words (letters, digits, _), got {shown}")
                    continue
                if str(v) in vals:
                    ctx.err(doc, path + ("values", i), f"value '{v}' of '{name}' listed twice")
                vals.append(str(v))
            values = tuple(vals)
    elif raw.get("values") is not None:
        ctx.err(doc, path + ("values",), f"values only apply to enum/set facts ('{name}' is {ftype})")
    return FactSpec(
        name=name,
        type=ftype,
        unit=get_text(ctx, doc, path + ("unit",), raw.get("unit"), "unit"),
        min=nums["min"],
        max=nums["max"],
        step=nums["step"],
        values=values,
        question=get_text(ctx, doc, path + ("question",), raw.get("question"), "question"),
        help=get_text(ctx, doc, path + ("help",), raw.get("help"), "help"),
        source=read_source(ctx, doc, path + ("source",), raw.get("source")),
        location=doc.key_where(path) if path else doc.where(path),
        derived_by=derived_by,
    )


def read_dictionary(ctx: Ctx, root: Path) -> dict[str, FactSpec]:
    facts: dict[str, FactSpec] = {}
    files = topic_files(root, "facts")
    if not files:
        ctx.sink.add(Location(rel(root / "facts.yaml")), "the shared fact dictionary is missing")
    for path in files:
        doc = ctx.load(path)
        if doc is None:
            continue
        data = expect_map(ctx, doc, (), doc.data, "the fact dictionary")
        for name, raw in data.items():
            if not is_name(name) or name != name.lower():
                ctx.err(doc, (name,), f"fact name '{name}' must be lower snake_case", key=True)
                continue
            if name in facts:
                first = facts[name].location
                ctx.err(doc, (name,), f"fact '{name}' is already defined at {first}", key=True)
                continue
            spec_raw = expect_map(ctx, doc, (name,), raw, f"fact '{name}'")
            check_keys(ctx, doc, (name,), spec_raw, "fact", f"fact '{name}'")
            spec = fact_spec(ctx, doc, (name,), name, spec_raw)
            if spec is not None:
                facts[name] = spec
    for name, spec in facts.items():
        for v in spec.values:
            if v in facts and is_name(v):
                ctx.sink.add(spec.location or Location(""), f"value '{v}' of '{name}' is also a fact name; rename one of them")
    return facts


def read_actions(ctx: Ctx, root: Path) -> dict[str, str]:
    actions: dict[str, str] = {}
    where: dict[str, Location] = {}
    for path in topic_files(root, "actions"):
        doc = ctx.load(path)
        if doc is None:
            continue
        for code, raw in expect_map(ctx, doc, (), doc.data, "the action list").items():
            if not is_name(code) or code != code.lower():
                ctx.err(doc, (code,), f"action code '{code}' must be lower snake_case", key=True)
                continue
            if code in actions:
                ctx.err(doc, (code,), f"action code '{code}' is already defined at {where[code]}", key=True)
                continue
            spec = expect_map(ctx, doc, (code,), raw, f"action '{code}'")
            check_keys(ctx, doc, (code,), spec, "action", f"action '{code}'")
            actions[code] = get_text(ctx, doc, (code, "text"), spec.get("text"), f"text of action '{code}'", required=True) or code
            where[code] = doc.key_where((code,))
    return actions


def load_dictionary(root: Path | None = None) -> tuple[dict[str, FactSpec], dict[str, str]]:
    """The shared fact dictionary and action list (raises LoadError on any problem)."""
    ctx = Ctx()
    root = root or default_root()
    facts = read_dictionary(ctx, root)
    actions = read_actions(ctx, root)
    ctx.sink.raise_if_errors()
    return facts, actions
