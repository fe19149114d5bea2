"""YAML sources -> :class:`~engine.model.Guideline`, with every problem located.

A guideline loads completely or not at all: every problem found (unknown facts, type errors,
dangling targets, missing sources, ...) is collected with `file:line:col` and raised together
as one :class:`~engine.errors.LoadError`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import _yaml
from ..errors import ExpressionError, LoadError, Location, Problem, ProblemSink, suggest
from ..expressions import FactLike, compile_condition, compile_expr, facts_read, readable
from ..resources import guidelines_root
from ..model import (
    FACT_TYPES,
    NODE_KINDS,
    Branch,
    Case,
    Condition,
    FactSpec,
    Flowchart,
    Guideline,
    Node,
    Rule,
    ScoreModule,
    Source,
)

__all__ = ["default_root", "guideline_ids", "resolve", "load_guideline", "load_dictionary", "load_score", "score_ids"]

def default_root() -> Path:
    """The guidelines folder: $GUIDEWALK_GUIDELINES, else the shipped one (see
    :mod:`engine.resources`)."""
    return guidelines_root()


def guideline_ids(root: Path | None = None) -> list[str]:
    root = root or default_root()
    return sorted(p.parent.name for p in root.glob("*/guideline.yaml"))


def score_ids(root: Path | None = None) -> list[str]:
    root = root or default_root()
    return sorted(p.stem for p in (root / "scores").glob("*.yaml"))


def resolve(name: str, root: Path | None = None) -> Path:
    """A guideline id or a path (file or folder) -> the guideline file."""
    p = Path(name)
    if p.is_dir() and (p / "guideline.yaml").exists():
        return p / "guideline.yaml"
    if p.is_file():
        return p
    root = root or default_root()
    cand = root / name / "guideline.yaml"
    if cand.exists():
        return cand
    known = guideline_ids(root)
    hint = suggest(name, known)
    raise LoadError([
        Problem(
            Location(name),
            f"no guideline '{name}' (known: {', '.join(known) or 'none'})",
            suggestion=hint,
        )
    ])


def _root_for(file: Path) -> Path:
    """The guidelines root a guideline file belongs to: the nearest ancestor with facts.yaml."""
    for parent in list(file.resolve().parents)[:3]:
        if (parent / "facts.yaml").exists():
            return parent
    return default_root()


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


# --------------------------------------------------------------------------- helpers


class _Ctx:
    """Shared state while loading one guideline: the sink and the loaded documents."""

    def __init__(self) -> None:
        self.sink = ProblemSink()
        self.docs: list[_yaml.Doc] = []
        self.targets: list[tuple[_yaml.Doc, tuple[Any, ...], str, str]] = []  # (doc, path, target, from)

    def load(self, path: Path) -> _yaml.Doc | None:
        try:
            doc = _yaml.load_file(_rel(path))
        except LoadError as exc:
            self.sink.problems.extend(exc.problems)
            return None
        self.sink.lines[doc.file] = doc.lines
        self.docs.append(doc)
        return doc

    def err(self, doc: _yaml.Doc, path: tuple[Any, ...], message: str, suggestion: str | None = None, *, key: bool = False, severity: str = "error") -> None:
        loc = doc.key_where(path) if key else doc.where(path)
        self.sink.add(loc, message, suggestion=suggestion, severity=severity)


def _expect_map(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.err(doc, path, f"{what} must be a mapping, got {_typename(value)}")
        return {}
    return value


def _expect_list(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.err(doc, path, f"{what} must be a list, got {_typename(value)}")
        return []
    return value


def _typename(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number", type(None): "nothing"}.get(type(v), type(v).__name__)


def _check_keys(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    allowed = list(allowed)
    for k in raw:
        if k not in allowed:
            ctx.err(doc, path + (k,), f"unknown key '{k}' in {what}", suggest(str(k), allowed), key=True)


def _text(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], value: Any, what: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            ctx.err(doc, path, f"missing {what}")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        ctx.err(doc, path, f"{what} must be text, got {_typename(value)}")
        return None
    return str(value)


def _source(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Any) -> Source | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return Source(url=raw)
    if not isinstance(raw, dict):
        ctx.err(doc, path, f"source must be a URL or a mapping with url, got {_typename(raw)}")
        return None
    _check_keys(ctx, doc, path, raw, ("url", "module", "strength", "evidence", "tag"), "source")
    url = _text(ctx, doc, path + ("url",), raw.get("url"), "source url", required=True)
    strength = raw.get("strength")
    if strength is not None and strength not in ("directive", "conditional"):
        ctx.err(doc, path + ("strength",), f"strength must be directive or conditional, got '{strength}'")
    return Source(
        url=url or "",
        module=_text(ctx, doc, path + ("module",), raw.get("module"), "module"),
        strength=strength,
        evidence=_text(ctx, doc, path + ("evidence",), raw.get("evidence"), "evidence"),
        tag=_text(ctx, doc, path + ("tag",), raw.get("tag"), "tag"),
    )


FACT_KEYS = ("type", "unit", "min", "max", "step", "values", "question", "help", "source", "note")


def _fact_spec(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], name: str, raw: Mapping[str, Any], *, derived_by: str | None = None) -> FactSpec | None:
    ftype = raw.get("type")
    if ftype not in FACT_TYPES:
        ctx.err(doc, path + ("type",), f"fact '{name}' needs a type: one of {', '.join(FACT_TYPES)}" + (f" (got '{ftype}')" if ftype else ""), suggest(str(ftype), FACT_TYPES) if ftype else None)
        return None
    nums: dict[str, float | None] = {}
    for k in ("min", "max", "step"):
        v = raw.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            ctx.err(doc, path + (k,), f"{k} of '{name}' must be a number")
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
                if isinstance(v, bool) or not isinstance(v, (str, int)):
                    ctx.err(doc, path + ("values", i), f"values of '{name}' must be words")
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
        unit=_text(ctx, doc, path + ("unit",), raw.get("unit"), "unit"),
        min=nums["min"],
        max=nums["max"],
        step=nums["step"],
        values=values,
        question=_text(ctx, doc, path + ("question",), raw.get("question"), "question"),
        help=_text(ctx, doc, path + ("help",), raw.get("help"), "help"),
        source=_source(ctx, doc, path + ("source",), raw.get("source")),
        location=doc.key_where(path) if path else doc.where(path),
        derived_by=derived_by,
    )


def _is_name(s: Any) -> bool:
    return isinstance(s, str) and s.isidentifier() and not s.startswith("_")


def _topic_files(root: Path, name: str) -> list[Path]:
    files = [root / f"{name}.yaml"] if (root / f"{name}.yaml").exists() else []
    return files + sorted((root / name).glob("*.yaml"))


def _load_dictionary(ctx: _Ctx, root: Path) -> dict[str, FactSpec]:
    facts: dict[str, FactSpec] = {}
    files = _topic_files(root, "facts")
    if not files:
        ctx.sink.add(Location(_rel(root / "facts.yaml")), "the shared fact dictionary is missing")
    for path in files:
        doc = ctx.load(path)
        if doc is None:
            continue
        data = _expect_map(ctx, doc, (), doc.data, "the fact dictionary")
        for name, raw in data.items():
            if not _is_name(name) or name != name.lower():
                ctx.err(doc, (name,), f"fact name '{name}' must be lower snake_case", key=True)
                continue
            if name in facts:
                first = facts[name].location
                ctx.err(doc, (name,), f"fact '{name}' is already defined at {first}", key=True)
                continue
            spec_raw = _expect_map(ctx, doc, (name,), raw, f"fact '{name}'")
            _check_keys(ctx, doc, (name,), spec_raw, FACT_KEYS, f"fact '{name}'")
            spec = _fact_spec(ctx, doc, (name,), name, spec_raw)
            if spec is not None:
                facts[name] = spec
    for name, spec in facts.items():
        for v in spec.values:
            if v in facts and _is_name(v):
                ctx.sink.add(spec.location or Location(""), f"value '{v}' of '{name}' is also a fact name; rename one of them")
    return facts


def _load_actions(ctx: _Ctx, root: Path) -> dict[str, str]:
    actions: dict[str, str] = {}
    where: dict[str, Location] = {}
    for path in _topic_files(root, "actions"):
        doc = ctx.load(path)
        if doc is None:
            continue
        for code, raw in _expect_map(ctx, doc, (), doc.data, "the action list").items():
            if not _is_name(code) or code != code.lower():
                ctx.err(doc, (code,), f"action code '{code}' must be lower snake_case", key=True)
                continue
            if code in actions:
                ctx.err(doc, (code,), f"action code '{code}' is already defined at {where[code]}", key=True)
                continue
            spec = _expect_map(ctx, doc, (code,), raw, f"action '{code}'")
            _check_keys(ctx, doc, (code,), spec, ("text", "source", "note"), f"action '{code}'")
            actions[code] = _text(ctx, doc, (code, "text"), spec.get("text"), f"text of action '{code}'", required=True) or code
            where[code] = doc.key_where((code,))
    return actions


def load_dictionary(root: Path | None = None) -> tuple[dict[str, FactSpec], dict[str, str]]:
    """The shared fact dictionary and action list (raises LoadError on any problem)."""
    ctx = _Ctx()
    root = root or default_root()
    facts = _load_dictionary(ctx, root)
    actions = _load_actions(ctx, root)
    ctx.sink.raise_if_errors()
    return facts, actions


# --------------------------------------------------------------------------- conditions


def _condition(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Any, scope: Mapping[str, FactLike], *, want: str | None = "boolean", target: FactLike | None = None) -> Condition | None:
    loc = doc.where(path)
    if raw is None:
        ctx.err(doc, path, "missing condition")
        return None
    if isinstance(raw, bool) or isinstance(raw, (int, float)):
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        ctx.err(doc, path, f"expected an expression, got {_typename(raw)}")
        return None
    if target is not None and target.type in ("enum",) and isinstance(raw, str) and raw in target.values:
        text = repr(raw)  # a value such as "1a" that is not a bare word
    try:
        expr = compile_condition(text, scope, want=want, target=target)
    except ExpressionError as exc:
        shift = _quote_shift(doc, loc)
        ctx.sink.add(loc.shifted(exc.col + shift), exc.message, suggestion=exc.suggestion)
        return None
    return Condition(text=text, expr=expr, test=compile_expr(expr), facts=facts_read(expr), location=loc, readable=readable(expr))


def _quote_shift(doc: _yaml.Doc, loc: Location) -> int:
    if 0 < loc.line <= len(doc.lines):
        line = doc.lines[loc.line - 1]
        if 0 < loc.col <= len(line) and line[loc.col - 1] in "'\"":
            return 1
        if 0 < loc.col <= len(line) and line[loc.col - 1] in "|>":
            return 0
    return 0


# --------------------------------------------------------------------------- rules

RULE_KEYS = ("id", "derive", "alert", "when", "cases", "otherwise", "value", "severity", "if_recommended", "source", "note") + tuple(k for k in FACT_KEYS if k not in ("source", "note"))


class _RawRule:
    def __init__(self, doc: _yaml.Doc, path: tuple[Any, ...], raw: dict[str, Any], origin: str):
        self.doc, self.path, self.raw, self.origin = doc, path, raw, origin


def _collect_rules(ctx: _Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Any, origin: str, derived: dict[str, FactSpec], dictionary: Mapping[str, FactSpec]) -> list[_RawRule]:
    """First pass: declare derived facts (so conditions anywhere may read them)."""
    out: list[_RawRule] = []
    for i, r in enumerate(_expect_list(ctx, doc, path, raw, "rules")):
        p = path + (i,)
        if not isinstance(r, dict):
            ctx.err(doc, p, f"a rule must be a mapping, got {_typename(r)}")
            continue
        _check_keys(ctx, doc, p, r, RULE_KEYS, "rule")
        rid = r.get("id")
        if not _is_name(rid):
            ctx.err(doc, p, "rule needs an id (a snake_case word)")
            continue
        if ("derive" in r) == ("alert" in r):
            ctx.err(doc, p, f"rule '{rid}' needs exactly one of derive: or alert:")
            continue
        if "derive" in r:
            name = r["derive"]
            if not _is_name(name):
                ctx.err(doc, p + ("derive",), f"derive needs a fact name, got {name!r}")
                continue
            if name in dictionary:
                ctx.err(doc, p + ("derive",), f"'{name}' is a dictionary fact (entered, not derived); derive another name")
                continue
            if name in derived:
                ctx.err(doc, p + ("derive",), f"'{name}' is already derived by rule '{derived[name].derived_by}' at {derived[name].location}")
                continue
            spec = _fact_spec(ctx, doc, p, name, r, derived_by=rid)
            if spec is None:
                continue
            spec.location = doc.where(p + ("derive",))
            derived[name] = spec
        out.append(_RawRule(doc, p, r, origin))
    return out


def _compile_rule(ctx: _Ctx, rr: _RawRule, scope: Mapping[str, FactSpec], actions: Mapping[str, str]) -> Rule | None:
    doc, p, r = rr.doc, rr.path, rr.raw
    rid = r["id"]
    source = _source(ctx, doc, p + ("source",), r.get("source"))
    if source is None:
        ctx.err(doc, p, f"rule '{rid}' has no source")
    note = _text(ctx, doc, p + ("note",), r.get("note"), "note")
    loc = doc.where(p)
    if "derive" in r:
        spec = scope[r["derive"]]
        rule = Rule(id=rid, kind="derive", location=loc, source=source, note=note, fact=spec.name, spec=spec, origin=rr.origin)
        has_cases = "cases" in r
        if has_cases == ("value" in r):
            ctx.err(doc, p, f"rule '{rid}' needs either cases: or value:")
            return None
        if "value" in r:
            if "otherwise" in r:
                ctx.err(doc, p + ("otherwise",), "otherwise goes with cases:, not value:")
            rule.value = _condition(ctx, doc, p + ("value",), r["value"], scope, want=None, target=spec)
            return rule
        for j, c in enumerate(_expect_list(ctx, doc, p + ("cases",), r["cases"], "cases")):
            cp = p + ("cases", j)
            if not isinstance(c, dict) or "when" not in c or "value" not in c:
                ctx.err(doc, cp, "each case needs when: and value:")
                continue
            _check_keys(ctx, doc, cp, c, ("when", "value", "note"), "case")
            w = _condition(ctx, doc, cp + ("when",), c["when"], scope)
            v = _condition(ctx, doc, cp + ("value",), c["value"], scope, want=None, target=spec)
            if w and v:
                rule.cases.append(Case(w, v))
        if "otherwise" in r:
            rule.otherwise = _condition(ctx, doc, p + ("otherwise",), r["otherwise"], scope, want=None, target=spec)
        return rule
    text = _text(ctx, doc, p + ("alert",), r.get("alert"), "alert text", required=True)
    severity = r.get("severity", "warning")
    if severity not in ("info", "warning", "critical"):
        ctx.err(doc, p + ("severity",), f"severity must be info, warning or critical, got {severity!r}")
    when = _condition(ctx, doc, p + ("when",), r["when"], scope) if "when" in r else None
    recs = tuple(str(x) for x in _expect_list(ctx, doc, p + ("if_recommended",), r.get("if_recommended"), "if_recommended"))
    for j, code in enumerate(recs):
        if code not in actions:
            ctx.err(doc, p + ("if_recommended", j), f"unknown action code '{code}'", suggest(code, actions))
    if when is None and not recs and "when" not in r:
        ctx.err(doc, p, f"alert '{rid}' needs when: and/or if_recommended:")
    return Rule(id=rid, kind="alert", location=loc, source=source, note=note, when=when, text=text, severity=severity, if_recommended=recs, origin=rr.origin)


def _order_rules(ctx: _Ctx, rules: list[Rule]) -> list[Rule]:
    """Topological order: a derive rule runs after the rules deriving its inputs."""
    by_fact = {r.fact: r for r in rules if r.kind == "derive"}
    order: list[Rule] = []
    state: dict[str, int] = {}

    def visit(r: Rule, stack: list[str]) -> None:
        s = state.get(r.id, 0)
        if s == 2:
            return
        if s == 1:
            cycle = " -> ".join(stack[stack.index(r.id):] + [r.id])
            ctx.sink.add(r.location, f"rules depend on each other in a cycle: {cycle}")
            return
        state[r.id] = 1
        for f in r.inputs:
            dep = by_fact.get(f)
            if dep is not None:
                visit(dep, stack + [r.id])
        state[r.id] = 2
        order.append(r)

    for r in rules:
        visit(r, [])
    return order


# --------------------------------------------------------------------------- scores

SCORE_KEYS = ("id", "title", "source", "verification", "inputs", "components", "total", "result", "outputs", "requires", "note", "description")


def _load_score_raw(ctx: _Ctx, root: Path, sid: str, derived: dict[str, FactSpec], dictionary: Mapping[str, FactSpec], seen: dict[str, tuple[_yaml.Doc, dict[str, Any], list[_RawRule]]], where: tuple[_yaml.Doc, tuple[Any, ...]] | None) -> None:
    if sid in seen:
        return
    path = root / "scores" / f"{sid}.yaml"
    if not path.exists():
        known = score_ids(root)
        if where:
            ctx.err(where[0], where[1], f"unknown score module '{sid}'", suggest(sid, known))
        else:
            ctx.sink.add(Location(_rel(path)), f"unknown score module '{sid}'", suggestion=suggest(sid, known))
        return
    doc = ctx.load(path)
    if doc is None:
        return
    data = _expect_map(ctx, doc, (), doc.data, "a score module")
    _check_keys(ctx, doc, (), data, ("score", "rules"), "score module")
    head = _expect_map(ctx, doc, ("score",), data.get("score"), "score:")
    _check_keys(ctx, doc, ("score",), head, SCORE_KEYS, "score header")
    if head.get("id") != sid:
        ctx.err(doc, ("score", "id"), f"score id must equal the file name '{sid}'")
    seen[sid] = (doc, head, [])
    for j, req in enumerate(_expect_list(ctx, doc, ("score", "requires"), head.get("requires"), "requires")):
        _load_score_raw(ctx, root, str(req), derived, dictionary, seen, (doc, ("score", "requires", j)))
    seen[sid] = (doc, head, _collect_rules(ctx, doc, ("rules",), data.get("rules"), f"score:{sid}", derived, dictionary))


def _finish_score(ctx: _Ctx, sid: str, doc: _yaml.Doc, head: dict[str, Any], rules: list[Rule], scope: Mapping[str, FactSpec]) -> ScoreModule:
    def names(key: str) -> tuple[str, ...]:
        out = []
        for j, n in enumerate(_expect_list(ctx, doc, ("score", key), head.get(key), key)):
            if n not in scope:
                ctx.err(doc, ("score", key, j), f"unknown fact '{n}'", suggest(str(n), scope))
            out.append(str(n))
        return tuple(out)

    def one(key: str) -> str | None:
        v = head.get(key)
        if v is not None and v not in scope:
            ctx.err(doc, ("score", key), f"unknown fact '{v}'", suggest(str(v), scope))
        return None if v is None else str(v)

    verification = head.get("verification", "unverified")
    if verification not in ("verified", "partial", "unverified"):
        ctx.err(doc, ("score", "verification"), "verification must be verified, partial or unverified")
    src = _source(ctx, doc, ("score", "source"), head.get("source"))
    if src is None:
        ctx.err(doc, ("score",), f"score '{sid}' has no source")
    return ScoreModule(
        id=sid,
        title=str(head.get("title") or sid),
        source=src,
        verification=str(verification),
        inputs=names("inputs"),
        components=names("components"),
        total=one("total"),
        result=one("result"),
        outputs=names("outputs"),
        requires=tuple(str(x) for x in (head.get("requires") or [])),
        rules=rules,
        file=doc.file,
        note=_text(ctx, doc, ("score", "note"), head.get("note"), "note"),
        description=_text(ctx, doc, ("score", "description"), head.get("description"), "description"),
    )


def load_score(sid: str, root: Path | None = None) -> tuple[ScoreModule, Guideline]:
    """A score module alone, wrapped as a rules-only guideline for the calculator."""
    root = root or default_root()
    ctx = _Ctx()
    dictionary = _load_dictionary(ctx, root)
    actions = _load_actions(ctx, root)
    derived: dict[str, FactSpec] = {}
    seen: dict[str, tuple[_yaml.Doc, dict[str, Any], list[_RawRule]]] = {}
    _load_score_raw(ctx, root, sid, derived, dictionary, seen, None)
    ctx.sink.raise_if_errors()
    scope = {**dictionary, **derived}
    modules: dict[str, ScoreModule] = {}
    all_rules: list[Rule] = []
    for s, (doc, head, raws) in seen.items():
        rules = [r for r in (_compile_rule(ctx, rr, scope, actions) for rr in raws) if r is not None]
        all_rules += rules
        modules[s] = _finish_score(ctx, s, doc, head, rules, scope)
    ordered = _order_rules(ctx, all_rules)
    ctx.sink.raise_if_errors()
    module = modules[sid]
    asks = _asks(ordered, [], dictionary)
    g = Guideline(
        id=f"score:{sid}", title=module.title, version="", publisher="", source=module.source.url if module.source else "",
        language="", description=module.description, entry="", flowcharts={}, nodes={}, rules=ordered,
        dictionary=dictionary, derived=derived, asks=asks, actions=actions, scores=tuple(seen), files=tuple(d.file for d in ctx.docs),
        sha256=_hash(ctx.docs), location=Location(module.file),
    )
    return module, g


# --------------------------------------------------------------------------- guideline

META_KEYS = ("id", "title", "version", "publisher", "source", "language", "entry", "description")
NODE_KEYS = {
    "decision": ("kind", "title", "question", "branches", "otherwise", "exclusive", "source", "note"),
    "action": ("kind", "title", "actions", "text", "next", "source", "note"),
    "end": ("kind", "title", "actions", "text", "source", "note"),
}


def load_guideline(name: str | os.PathLike[str], *, root: Path | None = None, overlays: Iterable[str] = ()) -> Guideline:
    """Load and check a guideline by id or path. Raises LoadError with every problem found."""
    file = resolve(str(name), root)
    root = root or _root_for(file)
    ctx = _Ctx()
    dictionary = _load_dictionary(ctx, root)
    actions = _load_actions(ctx, root)
    doc = ctx.load(file)
    if doc is None:
        ctx.sink.raise_if_errors()
        raise AssertionError("unreachable")  # pragma: no cover
    data = _expect_map(ctx, doc, (), doc.data, "a guideline file")
    _check_keys(ctx, doc, (), data, ("guideline", "scores", "facts", "rules", "flowcharts"), "guideline file")
    meta = _expect_map(ctx, doc, ("guideline",), data.get("guideline"), "guideline:")
    _check_keys(ctx, doc, ("guideline",), meta, META_KEYS, "guideline metadata")
    gid = _text(ctx, doc, ("guideline", "id"), meta.get("id"), "guideline id", required=True) or file.parent.name
    if file.name == "guideline.yaml" and gid != file.parent.name:
        ctx.err(doc, ("guideline", "id"), f"guideline id '{gid}' must equal its folder name '{file.parent.name}'")
    for k in ("title", "version", "publisher", "source"):
        _text(ctx, doc, ("guideline", k), meta.get(k), k, required=True)

    # pass 1: declare derived facts from score modules, the guideline's rules and overlays
    derived: dict[str, FactSpec] = {}
    seen: dict[str, tuple[_yaml.Doc, dict[str, Any], list[_RawRule]]] = {}
    for j, sid in enumerate(_expect_list(ctx, doc, ("scores",), data.get("scores"), "scores")):
        _load_score_raw(ctx, root, str(sid), derived, dictionary, seen, (doc, ("scores", j)))
    raw_rules = _collect_rules(ctx, doc, ("rules",), data.get("rules"), "guideline", derived, dictionary)
    overlay_docs: list[tuple[_yaml.Doc, dict[str, Any]]] = []
    for ov in overlays:
        odoc = ctx.load(Path(ov))
        if odoc is None:
            continue
        odata = _expect_map(ctx, odoc, (), odoc.data, "an overlay")
        _check_keys(ctx, odoc, (), odata, ("overlay", "rules", "nodes"), "overlay")
        head = _expect_map(ctx, odoc, ("overlay",), odata.get("overlay"), "overlay:")
        _check_keys(ctx, odoc, ("overlay",), head, ("id", "title", "applies_to", "version", "publisher", "source", "note"), "overlay header")
        if head.get("applies_to") not in (None, gid):
            ctx.err(odoc, ("overlay", "applies_to"), f"overlay applies to '{head.get('applies_to')}', not to '{gid}'")
        oid = str(head.get("id") or Path(ov).stem)
        raw_rules += _collect_rules(ctx, odoc, ("rules",), odata.get("rules"), f"overlay:{oid}", derived, dictionary)
        overlay_docs.append((odoc, odata))
    scope: dict[str, FactSpec] = {**dictionary, **derived}

    # pass 2: compile rules and score modules
    rules: list[Rule] = []
    score_modules: list[str] = []
    for sid, (sdoc, head, raws) in seen.items():
        srules = [r for r in (_compile_rule(ctx, rr, scope, actions) for rr in raws) if r is not None]
        _finish_score(ctx, sid, sdoc, head, srules, scope)
        rules += srules
        score_modules.append(sid)
    rules += [r for r in (_compile_rule(ctx, rr, scope, actions) for rr in raw_rules) if r is not None]
    ids: dict[str, Location] = {}
    for r in rules:
        if r.id in ids:
            ctx.sink.add(r.location, f"duplicate rule id '{r.id}' (first at {ids[r.id]})")
        ids.setdefault(r.id, r.location)
    rules = _order_rules(ctx, rules)

    # flowcharts
    flowcharts, nodes = _flowcharts(ctx, doc, data.get("flowcharts"), scope, actions)
    entry = meta.get("entry") or (next(iter(flowcharts)) if flowcharts else "")
    if entry and entry not in flowcharts:
        ctx.err(doc, ("guideline", "entry"), f"entry flowchart '{entry}' does not exist", suggest(str(entry), flowcharts))
    for odoc, odata in overlay_docs:
        _overlay_nodes(ctx, odoc, odata.get("nodes"), nodes)

    declared = [str(f) for f in _expect_list(ctx, doc, ("facts",), data.get("facts"), "facts")]
    for j, f in enumerate(declared):
        if f not in dictionary:
            ctx.err(doc, ("facts", j), f"unknown fact '{f}'" + (" (it is derived, not asked)" if f in derived else ""), suggest(f, dictionary))
    asks = _asks(rules, list(nodes.values()), dictionary, declared)

    for tdoc, tpath, target, src in ctx.targets:
        if target not in nodes:
            ctx.err(tdoc, tpath, f"'{src}' goes to unknown node '{target}'", suggest(target, nodes))
    from ..checks import check_graph  # graph checks need networkx; loaded only here

    if flowcharts and not ctx.sink.errors:
        for problem in check_graph(flowcharts, nodes, scope):
            ctx.sink.problems.append(problem)
    ctx.sink.raise_if_errors()
    return Guideline(
        id=gid,
        title=str(meta.get("title")),
        version=str(meta.get("version")),
        publisher=str(meta.get("publisher")),
        source=str(meta.get("source")),
        language=str(meta.get("language") or ""),
        description=_text(ctx, doc, ("guideline", "description"), meta.get("description"), "description"),
        entry=str(entry),
        flowcharts=flowcharts,
        nodes=nodes,
        rules=rules,
        dictionary=dictionary,
        derived=derived,
        asks=asks,
        actions=actions,
        scores=tuple(score_modules),
        files=tuple(d.file for d in ctx.docs),
        sha256=_hash(ctx.docs),
        location=doc.where(()),
        overlays=tuple(str(o) for o in overlays),
    )


def _asks(rules: list[Rule], nodes: list[Node], dictionary: Mapping[str, FactSpec], declared: Iterable[str] = ()) -> tuple[str, ...]:
    out: dict[str, None] = {f: None for f in declared if f in dictionary}
    for n in nodes:
        for b in n.branches:
            for f in b.when.facts:
                if f in dictionary:
                    out.setdefault(f, None)
    for r in rules:
        for f in r.inputs:
            if f in dictionary:
                out.setdefault(f, None)
    return tuple(out)


def _flowcharts(ctx: _Ctx, doc: _yaml.Doc, raw: Any, scope: Mapping[str, FactSpec], actions: Mapping[str, str]) -> tuple[dict[str, Flowchart], dict[str, Node]]:
    flowcharts: dict[str, Flowchart] = {}
    nodes: dict[str, Node] = {}
    fl = _expect_list(ctx, doc, ("flowcharts",), raw, "flowcharts")
    if not fl:
        ctx.err(doc, ("flowcharts",) if raw is not None else (), "a guideline needs at least one flowchart")
    for i, fc in enumerate(fl):
        p: tuple[Any, ...] = ("flowcharts", i)
        fc = _expect_map(ctx, doc, p, fc, "a flowchart")
        _check_keys(ctx, doc, p, fc, ("id", "title", "start", "nodes", "note"), "flowchart")
        fid = fc.get("id")
        if not _is_name(fid):
            ctx.err(doc, p, "flowchart needs an id (a snake_case word)")
            continue
        if fid in flowcharts:
            ctx.err(doc, p + ("id",), f"duplicate flowchart id '{fid}'")
            continue
        raw_nodes = _expect_map(ctx, doc, p + ("nodes",), fc.get("nodes"), "nodes")
        ids: list[str] = []
        for nid, nraw in raw_nodes.items():
            np = p + ("nodes", nid)
            if not _is_name(nid):
                ctx.err(doc, np, f"node id '{nid}' must be a snake_case word", key=True)
                continue
            if nid in nodes:
                ctx.err(doc, np, f"duplicate node id '{nid}' (first at {nodes[nid].location})", key=True)
                continue
            node = _node(ctx, doc, np, str(nid), str(fid), _expect_map(ctx, doc, np, nraw, f"node '{nid}'"), scope, actions)
            if node is not None:
                nodes[nid] = node
                ids.append(nid)
        start = fc.get("start")
        if start is None and ids:
            start = ids[0]
        if start not in raw_nodes:
            ctx.err(doc, p + ("start",), f"start node '{start}' is not a node of flowchart '{fid}'", suggest(str(start), ids))
        flowcharts[str(fid)] = Flowchart(id=str(fid), title=str(fc.get("title") or fid), start=str(start), nodes=ids, location=doc.where(p))
    return flowcharts, nodes


def _node(ctx: _Ctx, doc: _yaml.Doc, p: tuple[Any, ...], nid: str, fid: str, raw: dict[str, Any], scope: Mapping[str, FactSpec], actions: Mapping[str, str], origin: str = "guideline") -> Node | None:
    kind = raw.get("kind")
    if kind not in NODE_KINDS:
        ctx.err(doc, p + ("kind",) if "kind" in raw else p, f"node '{nid}' needs kind: one of {', '.join(NODE_KINDS)}", suggest(str(kind), NODE_KINDS) if kind else None)
        return None
    _check_keys(ctx, doc, p, raw, NODE_KEYS[kind], f"{kind} node '{nid}'")
    source = _source(ctx, doc, p + ("source",), raw.get("source"))
    if source is None:
        ctx.err(doc, p, f"node '{nid}' has no source")
    node = Node(
        id=nid, kind=kind, flowchart=fid, location=doc.key_where(p), source=source,
        title=_text(ctx, doc, p + ("title",), raw.get("title"), "title"),
        note=_text(ctx, doc, p + ("note",), raw.get("note"), "note"),
        origin=origin,
    )
    if kind == "decision":
        node.question = _text(ctx, doc, p + ("question",), raw.get("question"), "question")
        exclusive = raw.get("exclusive", True)
        if not isinstance(exclusive, bool):
            ctx.err(doc, p + ("exclusive",), "exclusive must be true or false")
        node.exclusive = bool(exclusive)
        branches = _expect_list(ctx, doc, p + ("branches",), raw.get("branches"), "branches")
        if not branches:
            ctx.err(doc, p, f"decision '{nid}' needs branches")
        for j, b in enumerate(branches):
            bp = p + ("branches", j)
            if not isinstance(b, dict) or "when" not in b or "to" not in b:
                ctx.err(doc, bp, "each branch needs when: and to:")
                continue
            _check_keys(ctx, doc, bp, b, ("when", "to", "note"), "branch")
            ctx.targets.append((doc, bp + ("to",), str(b["to"]), nid))
            cond = _condition(ctx, doc, bp + ("when",), b["when"], scope)
            if cond is not None:
                node.branches.append(Branch(when=cond, to=str(b["to"]), note=_text(ctx, doc, bp + ("note",), b.get("note"), "note"), location=doc.where(bp + ("to",))))
        node.otherwise = None if raw.get("otherwise") is None else str(raw["otherwise"])
        if node.otherwise:
            ctx.targets.append((doc, p + ("otherwise",), node.otherwise, nid))
    else:
        codes = _expect_list(ctx, doc, p + ("actions",), raw.get("actions"), "actions")
        for j, code in enumerate(codes):
            if code not in actions:
                ctx.err(doc, p + ("actions", j), f"unknown action code '{code}' (add it to guidelines/actions.yaml)", suggest(str(code), actions))
        node.actions = tuple(str(c) for c in codes)
        node.text = _text(ctx, doc, p + ("text",), raw.get("text"), "text", required=(kind == "action"))
        if kind == "action":
            if not codes:
                ctx.err(doc, p, f"action node '{nid}' needs actions: (codes from the action list)")
            node.next = None if raw.get("next") is None else str(raw["next"])
            if node.next:
                ctx.targets.append((doc, p + ("next",), node.next, nid))
    return node


def _overlay_nodes(ctx: _Ctx, doc: _yaml.Doc, raw: Any, nodes: dict[str, Node]) -> None:
    """Overlays may add a note to an existing node (local protocol remark); they never
    change the national flow."""
    for nid, nraw in _expect_map(ctx, doc, ("nodes",), raw, "nodes").items():
        if nid not in nodes:
            ctx.err(doc, ("nodes", nid), f"overlay names unknown node '{nid}'", suggest(str(nid), nodes), key=True)
            continue
        spec = _expect_map(ctx, doc, ("nodes", nid), nraw, f"node '{nid}'")
        _check_keys(ctx, doc, ("nodes", nid), spec, ("note",), "overlay node")
        note = _text(ctx, doc, ("nodes", nid, "note"), spec.get("note"), "note")
        if note:
            n = nodes[nid]
            n.note = f"{n.note}\n[local protocol] {note}" if n.note else f"[local protocol] {note}"


def _hash(docs: list[_yaml.Doc]) -> str:
    h = hashlib.sha256()
    for d in sorted(docs, key=lambda d: d.file):
        h.update(os.path.basename(os.path.dirname(d.file)).encode() + b"/" + os.path.basename(d.file).encode() + b"\0")
        h.update(d.text)
        h.update(b"\0")
    return h.hexdigest()
