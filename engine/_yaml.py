"""Safe YAML loading that remembers where every element came from.

Only plain data is built (mappings, lists, strings, numbers, booleans, null, dates as
strings). Anchors/aliases are refused (no alias bombs), nesting is limited, duplicate keys
are refused. The result is plain Python data plus a table of positions keyed by the path
of each element, so later stages can report `file:line:col` without keeping YAML objects.
"""

from __future__ import annotations

from typing import Any

from . import _yaml_flat
from .errors import LoadError, Location, Problem, caret_context
from .structs import field, struct

MAX_DEPTH = 64
_PLAIN_TAGS = {"!", "?"} | {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}
MAX_BYTES = 5_000_000

Path = tuple[Any, ...]


@struct
class Doc:
    """A loaded YAML document: data, positions of every element, and the source lines."""

    file: str
    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    text: bytes = b""
    numbers: dict[Path, str] = field(default_factory=dict)  # how each number scalar was written

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


def _parser() -> tuple[Any, Any, Any]:
    """PyYAML, its loader and resolver: imported when a file is not a flat case file
    (:mod:`engine._yaml_flat`), so that a one-case run does not pay for the import."""
    import yaml

    try:  # the C parser is much faster when libyaml is present; marks are the same
        from yaml import CSafeLoader as loader
    except ImportError:  # pragma: no cover - depends on the libyaml build
        from yaml import SafeLoader as loader  # type: ignore[assignment]
    return yaml, loader, yaml.resolver.Resolver()


def _scalar(tag: str, v: str) -> Any:
    """Resolve a scalar to bool/int/float/None/str the way YAML 1.1 safe loading does, but
    keep timestamps as strings (dates are validated by the fact layer)."""
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


class _Frame:
    __slots__ = ("container", "path", "key", "is_map")

    def __init__(self, container: Any, path: Path, is_map: bool):
        self.container, self.path, self.is_map = container, path, is_map
        self.key: Any = _NO_KEY


_NO_KEY = object()


def _build(file: str, text: str, lines: list[str], marks: dict[Path, tuple[int, int]], numbers: dict[Path, str]) -> Any:
    """One pass over the parser's events (no recursion, no composed node tree): plain data
    with the position of every element. Refuses anchors/aliases, tags other than plain data,
    nesting deeper than MAX_DEPTH, non-scalar keys and duplicate keys."""
    yaml, loader, resolver = _parser()
    root: list[Any] = [None]
    stack: list[_Frame] = []
    documents = 0

    def fail(mark: Any, message: str) -> LoadError:
        return _problem(file, lines, mark.line + 1, mark.column + 1, message)

    def place(value: Any, mark: Any) -> Path:
        if not stack:
            root[0] = value
            marks[()] = (mark.line + 1, mark.column + 1)
            return ()
        top = stack[-1]
        if top.is_map:
            p = top.path + (top.key,)
            top.container[top.key] = value
            top.key = _NO_KEY
        else:
            p = top.path + (len(top.container),)
            top.container.append(value)
        marks[p] = (mark.line + 1, mark.column + 1)
        return p

    try:
        for event in yaml.parse(text, Loader=loader):
            mark: Any = event.start_mark
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise fail(mark, "YAML anchors and aliases are not allowed in guidewalk files")
            tag = getattr(event, "tag", None)
            if tag and tag not in _PLAIN_TAGS:
                raise fail(mark, f"YAML tag '{tag}' is not allowed (only plain data)")
            if isinstance(event, yaml.ScalarEvent):
                resolved = tag if tag and tag != "!" else resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
                value = _scalar(resolved, event.value)
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    top = stack[-1]
                    if isinstance(value, bool) or value is None:
                        value = event.value  # `yes:`/`no:`/`null:` as keys mean the words
                    if value in top.container:
                        raise fail(mark, f"duplicate key '{value}'")
                    top.key = value
                    marks[top.path + (value, "<key>")] = (mark.line + 1, mark.column + 1)
                else:
                    p = place(value, mark)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        numbers[p] = event.value
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    raise fail(mark, "mapping keys must be plain words")
                if len(stack) >= MAX_DEPTH:
                    raise fail(mark, f"nesting deeper than {MAX_DEPTH} levels")
                is_map = isinstance(event, yaml.MappingStartEvent)
                container: Any = {} if is_map else []
                stack.append(_Frame(container, place(container, mark), is_map))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(mark, "only one YAML document per file")
    except yaml.MarkedYAMLError as exc:
        em = exc.problem_mark or exc.context_mark
        line, col = (em.line + 1, em.column + 1) if em else (0, 0)
        raise _problem(file, lines, line, col, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _problem(file, lines, 0, 0, f"YAML error: {exc}") from None
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
    marks: dict[Path, tuple[int, int]] = {}
    numbers: dict[Path, str] = {}
    data = _yaml_flat.read(decoded, marks, numbers)
    if data is None:
        data = _build(file, decoded, lines, marks, numbers)
    return Doc(file=file, data=data, marks=marks, lines=lines, text=raw, numbers=numbers)


def load_file(path: str) -> Doc:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise LoadError([Problem(Location(path), f"cannot read: {exc.strerror}")]) from None
    return load_text(raw, path)
