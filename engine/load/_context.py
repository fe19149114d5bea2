"""Shared state and small readers while loading: the problem sink, typed getters with
located errors, key checks against the format table, sources."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import LoadError, ProblemSink, suggest
from ..fact_types import quoted
from ..format import STRENGTHS, SUMMARY_LIMIT, keys, one_of
from ..model import Source
from .find import sources_sha256


def rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


class Ctx:
    """Shared state while loading one guideline: the sink and the loaded documents."""

    def __init__(self) -> None:
        self.sink = ProblemSink()
        self.docs: list[_yaml.Doc] = []
        self.targets: list[tuple[_yaml.Doc, tuple[Any, ...], str, str]] = []  # (doc, path, target, from)

    def load(self, path: Path) -> _yaml.Doc | None:
        try:
            doc = _yaml.load_file(rel(path))
        except LoadError as exc:
            self.sink.problems.extend(exc.problems)
            return None
        self.sink.lines[doc.file] = doc.lines
        self.docs.append(doc)
        return doc

    def err(self, doc: _yaml.Doc, path: tuple[Any, ...], message: str, suggestion: str | None = None, *, key: bool = False, severity: str = "error") -> None:
        loc = doc.key_where(path) if key else doc.where(path)
        self.sink.add(loc, message, suggestion=suggestion, severity=severity)


def expect_map(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.err(doc, path, f"{what} must be a mapping, got {typename(value)}")
        return {}
    return value


def expect_list(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.err(doc, path, f"{what} must be a list, got {typename(value)}")
        return []
    return value


def typename(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number", type(None): "nothing"}.get(
        type(v), type(v).__name__
    )


def check_keys(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Mapping[str, Any], element: str, what: str | None = None) -> None:
    """Every key of `raw` must be one the format allows for `element` (engine.format)."""
    allowed = list(keys(element))
    what = what or element
    for k in raw:
        if k not in allowed:
            ctx.err(doc, path + (k,), f"unknown key '{k}' in {what}", suggest(str(k), allowed), key=True)


def get_text(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], value: Any, what: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            ctx.err(doc, path, f"missing {what}")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        ctx.err(doc, path, f"{what} must be text, got {typename(value)}")
        return None
    return str(value)


#: what a source may be: a web page (http, https) or a name that is not a link (urn:...);
#: javascript:, data:, file: and the like never reach a page or a report
_URL = re.compile(r"(?i)https?://[^\s\x00-\x1f\x7f]+|urn:[a-z0-9][a-z0-9-]{0,31}:[^\s\x00-\x1f\x7f]+")


def check_url(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], url: str | None) -> str | None:
    """`url` if it is an http(s) address or a urn: name; otherwise a located error and None."""
    if url is None or _URL.fullmatch(url):
        return url
    ctx.err(doc, path, f"a source must be an http(s) address or a urn: name, got {quoted(url)}")
    return None


def read_source(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Any) -> Source | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return Source(url=check_url(ctx, doc, path, raw) or "")
    if not isinstance(raw, dict):
        ctx.err(doc, path, f"source must be a URL or a mapping with url, got {typename(raw)}")
        return None
    check_keys(ctx, doc, path, raw, "source")
    url = check_url(ctx, doc, path + ("url",), get_text(ctx, doc, path + ("url",), raw.get("url"), "source url", required=True))
    strength = raw.get("strength")
    if strength is not None and strength not in STRENGTHS:
        ctx.err(doc, path + ("strength",), f"strength must be {one_of(STRENGTHS)}, got '{strength}'")
    return Source(
        url=url or "",
        module=get_text(ctx, doc, path + ("module",), raw.get("module"), "module"),
        strength=strength,
        evidence=get_text(ctx, doc, path + ("evidence",), raw.get("evidence"), "evidence"),
        tag=get_text(ctx, doc, path + ("tag",), raw.get("tag"), "tag"),
    )


def is_name(s: Any) -> bool:
    return isinstance(s, str) and s.isidentifier() and not s.startswith("_")


def topic_files(root: Path, name: str) -> list[Path]:
    files = [root / f"{name}.yaml"] if (root / f"{name}.yaml").exists() else []
    return files + sorted((root / name).glob("*.yaml"))


def source_hash(docs: list[_yaml.Doc]) -> str:
    """The guideline's sha256 over the loaded documents (:func:`.find.sources_sha256`)."""
    return sources_sha256((d.file, d.text) for d in docs)


def read_summary(ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Mapping[str, Any]) -> str | None:
    """An action's or alert's `summary`: one sentence under SUMMARY_LIMIT characters."""
    summary = get_text(ctx, doc, path + ("summary",), raw.get("summary"), "summary")
    if summary is not None:
        summary = " ".join(summary.split())
        if len(summary) >= SUMMARY_LIMIT:
            ctx.err(doc, path + ("summary",), f"summary must be under {SUMMARY_LIMIT} characters (it has {len(summary)}); the text keeps the full statement")
    return summary
