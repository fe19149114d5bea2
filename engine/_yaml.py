"""Safe YAML loading that remembers where every element came from.

Only plain data is built (mappings, lists, strings, numbers, booleans, null, dates as
strings). Anchors/aliases are refused (no alias bombs), nesting is limited, duplicate keys
are refused. The result is plain Python data plus a table of positions keyed by the path
of each element, so later stages can report `file:line:col` without keeping YAML objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Location, LoadError, Problem, caret_context

MAX_DEPTH = 64
_PLAIN_TAGS = {"!", "?"} | {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}
MAX_BYTES = 5_000_000

Path = tuple[Any, ...]

try:  # the C parser is much faster when libyaml is present; marks are the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the libyaml build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass
class Doc:
    """A loaded YAML document: data, positions of every element, and the source lines."""

    file: str
    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    text: bytes = b""

    def where(self, path: Path) -> Location:
        """Location of the element at `path`, or of its nearest located ancestor."""
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        line, col = self.marks.get(p, (0, 0))
        return Location(self.file, line, col, "/".join(str(x) for x in path))

    def key_where(self, path: Path) -> Location:
        """Location of the key of the mapping entry at `path` (for 'unknown key' messages)."""
        kp = tuple(path) + ("<key>",)
        if kp in self.marks:
            line, col = self.marks[kp]
            return Location(self.file, line, col, "/".join(str(x) for x in path))
        return self.where(path)


def _problem(file: str, lines: list[str], line: int, col: int, message: str) -> LoadError:
    ctx = caret_context(lines[line - 1], col) if 0 < line <= len(lines) else None
    return LoadError([Problem(Location(file, line, col), message, context=ctx)])


def _scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a plain scalar to bool/int/float/None/str the way YAML 1.1 safe loading does,
    but keep timestamps as strings (dates are validated by the fact layer)."""
    tag = node.tag
    v = node.value
    if tag == "tag:yaml.org,2002:str":
        return v
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return v.lower() in ("true", "yes", "on", "y")
    if tag == "tag:yaml.org,2002:int":
        t = v.replace("_", "")
        for base in (10, 0):
            try:
                return int(t, base)
            except ValueError:
                pass
        return v
    if tag == "tag:yaml.org,2002:float":
        t = v.replace("_", "").lower()
        if t in (".inf", "+.inf"):
            return float("inf")
        if t == "-.inf":
            return float("-inf")
        if t == ".nan":
            return float("nan")
        try:
            return float(t)
        except ValueError:
            return v
    return v  # timestamps and anything else stay text


def _precheck(file: str, text: str, lines: list[str]) -> None:
    """Refuse aliases, custom tags and deep nesting by scanning events (iteratively, so a
    deeply nested bomb cannot blow the recursion limit)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            mark: Any = event.start_mark
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise _problem(file, lines, mark.line + 1, mark.column + 1, "YAML anchors and aliases are not allowed in guidewalk files")
            tag = getattr(event, "tag", None)
            if tag and tag not in _PLAIN_TAGS:
                raise _problem(file, lines, mark.line + 1, mark.column + 1, f"YAML tag '{tag}' is not allowed (only plain data)")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _problem(file, lines, mark.line + 1, mark.column + 1, f"nesting deeper than {MAX_DEPTH} levels")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        raise _problem(file, lines, line, col, msg) from None
    except yaml.YAMLError as exc:
        raise _problem(file, lines, 0, 0, f"YAML error: {exc}") from None


def _build(file: str, lines: list[str], node: yaml.Node, path: Path, marks: dict[Path, tuple[int, int]]) -> Any:
    """Iterative conversion of a composed node tree to plain data with positions."""
    root: list[Any] = [None]
    stack: list[tuple[yaml.Node, Path, Any, Any]] = [(node, path, root, 0)]
    while stack:
        n, p, parent, key = stack.pop()
        marks[p] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.ScalarNode):
            parent[key] = _scalar(n)
        elif isinstance(n, yaml.SequenceNode):
            seq: list[Any] = [None] * len(n.value)
            parent[key] = seq
            for i, child in enumerate(n.value):
                stack.append((child, p + (i,), seq, i))
        elif isinstance(n, yaml.MappingNode):
            mapping: dict[Any, Any] = {}
            parent[key] = mapping
            for knode, vnode in n.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise _problem(file, lines, knode.start_mark.line + 1, knode.start_mark.column + 1, "mapping keys must be plain words")
                k = _scalar(knode)
                if isinstance(k, bool) or k is None:
                    k = knode.value  # `yes:`/`no:`/`null:` as keys mean the words
                if k in mapping:
                    raise _problem(file, lines, knode.start_mark.line + 1, knode.start_mark.column + 1, f"duplicate key '{k}'")
                mapping[k] = None
                marks[p + (k, "<key>")] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
                stack.append((vnode, p + (k,), mapping, k))
    return root[0]


def load_text(text: str | bytes, file: str) -> Doc:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_BYTES:
        raise LoadError([Problem(Location(file), f"file larger than {MAX_BYTES} bytes")])
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError([Problem(Location(file), f"not UTF-8 text: {exc}")]) from None
    lines = decoded.splitlines()
    _precheck(file, decoded, lines)
    try:
        node = yaml.compose(decoded, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:  # pragma: no cover - precheck parses the same text
        mark = exc.problem_mark
        raise _problem(file, lines, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0, f"YAML error: {exc.problem}") from None
    marks: dict[Path, tuple[int, int]] = {}
    data = None if node is None else _build(file, lines, node, (), marks)
    return Doc(file=file, data=data, marks=marks, lines=lines, text=raw)


def load_file(path: str) -> Doc:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise LoadError([Problem(Location(path), f"cannot read: {exc.strerror}")]) from None
    return load_text(raw, path)
