"""One error root for guidewalk, with a load-time and a run-time branch.

Load-time problems carry a :class:`Location` (file, line, column, YAML path) and, where a
name was misspelt, a suggestion. They are collected, sorted by place and shown all at once.
Run-time errors carry the guideline id/version and the node or rule where they happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .structs import field, struct

__all__ = [
    "Location",
    "Problem",
    "GuidewalkError",
    "LoadError",
    "ExpressionError",
    "RunError",
    "RuleError",
    "UsageError",
    "suggest",
]


@struct(frozen=True, order=True)
class Location:
    """A place in a source file: 1-based line and column, plus the YAML path to the element."""

    file: str
    line: int = 0
    col: int = 0
    path: str = ""

    def shifted(self, cols: int) -> Location:
        return Location(self.file, self.line, self.col + cols, self.path)

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


@struct(frozen=True)
class Problem:
    """One thing wrong with a guideline or case file, at one place."""

    location: Location
    message: str
    severity: str = "error"  # error | warning
    suggestion: str | None = None
    context: str | None = None  # the source line with a caret under the column

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.location.file, self.location.line, self.location.col, self.message)

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        if self.context:
            text += "\n" + self.context
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "path": self.location.path,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
        }


class GuidewalkError(Exception):
    """Root of every error guidewalk raises on purpose."""


class LoadError(GuidewalkError, ValueError):
    """A guideline (or case file) could not be loaded; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


class ExpressionError(GuidewalkError, ValueError):
    """A condition could not be parsed or type-checked. `col` is 0-based within the text."""

    def __init__(self, message: str, col: int = 0, suggestion: str | None = None):
        self.message = message
        self.col = col
        self.suggestion = suggestion
        super().__init__(message)


class RunError(GuidewalkError):
    """A guideline failed while walking a case (a gap, an overlap, a bad graph)."""

    def __init__(self, message: str, *, guideline: str = "", node: str = "", location: Location | None = None):
        self.guideline = guideline
        self.node = node
        self.location = location
        where = f"{location}: " if location else ""
        ctx = f" [guideline {guideline}, node {node}]" if node else (f" [guideline {guideline}]" if guideline else "")
        super().__init__(f"{where}{message}{ctx}")


class RuleError(RunError):
    """An exception inside a rule, surfaced with the rule id and its inputs (never swallowed)."""

    def __init__(self, rule: str, inputs: dict[str, object], cause: BaseException, *, guideline: str = "", location: Location | None = None):
        self.rule = rule
        self.inputs = inputs
        self.cause = cause
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(inputs.items()))
        super().__init__(
            f"rule '{rule}' failed: {type(cause).__name__}: {cause} (inputs: {shown})",
            guideline=guideline,
            location=location,
        )


class UsageError(GuidewalkError, ValueError):
    """A request that cannot be served as asked: an unknown choice (say a rules backend
    name), or an option this installation cannot provide. The message says what to use."""


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest known name to a misspelt one, or None."""
    import difflib  # only when a name is misspelt

    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def caret_context(line_text: str, col: int) -> str:
    """The offending line and a caret under 1-based column `col` (a long line is cut to a
    window around the column, so a 100,000-character line does not flood the terminal)."""
    text, pos = line_text.rstrip(), max(col - 1, 0)
    if len(text) > 160:
        start = max(0, min(pos - 60, len(text) - 120))
        text, pos = ("…" if start else "") + text[start : start + 120] + ("…" if start + 120 < len(text) else ""), pos - start + (1 if start else 0)
    return f"    {text}\n    {' ' * pos}^"


@struct
class ProblemSink:
    """Collects problems while loading; `raise_if_errors` raises one LoadError with all of them."""

    problems: list[Problem] = field(default_factory=list)
    lines: dict[str, list[str]] = field(default_factory=dict)

    def add(self, location: Location, message: str, *, suggestion: str | None = None, severity: str = "error") -> None:
        context = None
        src = self.lines.get(location.file)
        if src is not None and 0 < location.line <= len(src):
            context = caret_context(src[location.line - 1], location.col)
        self.problems.append(Problem(location, message, severity, suggestion, context))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise LoadError(self.problems)
