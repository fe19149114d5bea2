"""Rules (derived facts and alerts) and conditions: read, compiled against the fact scope,
and put in dependency order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import _yaml
from ..errors import ExpressionError, Location, suggest
from ..expressions import (
    FactLike,
    compile_condition,
    compile_expr,
    facts_read,
    readable,
)
from ..format import SEVERITIES, default, one_of
from ..model import Case, Condition, FactSpec, Node, Rule
from ._context import (
    Ctx,
    check_keys,
    expect_list,
    get_text,
    is_name,
    read_source,
    read_summary,
    typename,
)
from .dictionary import fact_spec


def condition(
    ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Any, scope: Mapping[str, FactLike], *, want: str | None = "boolean", target: FactLike | None = None
) -> Condition | None:
    loc = doc.where(path)
    if raw is None:
        ctx.err(doc, path, "missing condition")
        return None
    if isinstance(raw, bool) or isinstance(raw, (int, float)):
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        ctx.err(doc, path, f"expected an expression, got {typename(raw)}")
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


class RawRule:
    def __init__(self, doc: _yaml.Doc, path: tuple[Any, ...], raw: dict[str, Any], origin: str):
        self.doc, self.path, self.raw, self.origin = doc, path, raw, origin


def collect_rules(
    ctx: Ctx, doc: _yaml.Doc, path: tuple[Any, ...], raw: Any, origin: str, derived: dict[str, FactSpec], dictionary: Mapping[str, FactSpec]
) -> list[RawRule]:
    """First pass: declare derived facts (so conditions anywhere may read them)."""
    out: list[RawRule] = []
    for i, r in enumerate(expect_list(ctx, doc, path, raw, "rules")):
        p = path + (i,)
        if not isinstance(r, dict):
            ctx.err(doc, p, f"a rule must be a mapping, got {typename(r)}")
            continue
        check_keys(ctx, doc, p, r, "rule")
        rid = r.get("id")
        if not is_name(rid):
            ctx.err(doc, p, "rule needs an id (a snake_case word)")
            continue
        if ("derive" in r) == ("alert" in r):
            ctx.err(doc, p, f"rule '{rid}' needs exactly one of derive: or alert:")
            continue
        if "derive" in r:
            name = r["derive"]
            if not is_name(name):
                ctx.err(doc, p + ("derive",), f"derive needs a fact name, got {name!r}")
                continue
            if name in dictionary:
                ctx.err(doc, p + ("derive",), f"'{name}' is a dictionary fact (entered, not derived); derive another name")
                continue
            if name in derived:
                ctx.err(doc, p + ("derive",), f"'{name}' is already derived by rule '{derived[name].derived_by}' at {derived[name].location}")
                continue
            spec = fact_spec(ctx, doc, p, name, r, derived_by=rid)
            if spec is None:
                continue
            spec.location = doc.where(p + ("derive",))
            derived[name] = spec
        out.append(RawRule(doc, p, r, origin))
    return out


def compile_rule(ctx: Ctx, rr: RawRule, scope: Mapping[str, FactSpec], actions: Mapping[str, str]) -> Rule | None:
    doc, p, r = rr.doc, rr.path, rr.raw
    rid = r["id"]
    source = read_source(ctx, doc, p + ("source",), r.get("source"))
    if source is None:
        ctx.err(doc, p, f"rule '{rid}' has no source")
    note = get_text(ctx, doc, p + ("note",), r.get("note"), "note")
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
            rule.value = condition(ctx, doc, p + ("value",), r["value"], scope, want=None, target=spec)
            return rule
        for j, c in enumerate(expect_list(ctx, doc, p + ("cases",), r["cases"], "cases")):
            cp = p + ("cases", j)
            if not isinstance(c, dict) or "when" not in c or "value" not in c:
                ctx.err(doc, cp, "each case needs when: and value:")
                continue
            check_keys(ctx, doc, cp, c, "case")
            w = condition(ctx, doc, cp + ("when",), c["when"], scope)
            v = condition(ctx, doc, cp + ("value",), c["value"], scope, want=None, target=spec)
            if w and v:
                rule.cases.append(Case(w, v))
        if "otherwise" in r:
            rule.otherwise = condition(ctx, doc, p + ("otherwise",), r["otherwise"], scope, want=None, target=spec)
        return rule
    text = get_text(ctx, doc, p + ("alert",), r.get("alert"), "alert text", required=True)
    severity = r.get("severity", default("rule", "severity"))
    if severity not in SEVERITIES:
        ctx.err(doc, p + ("severity",), f"severity must be {one_of(SEVERITIES)}, got {severity!r}")
    when = condition(ctx, doc, p + ("when",), r["when"], scope) if "when" in r else None
    recs = tuple(str(x) for x in expect_list(ctx, doc, p + ("if_recommended",), r.get("if_recommended"), "if_recommended"))
    for j, code in enumerate(recs):
        if code not in actions:
            ctx.err(doc, p + ("if_recommended", j), f"unknown action code '{code}'", suggest(code, actions))
    if when is None and not recs and "when" not in r:
        ctx.err(doc, p, f"alert '{rid}' needs when: and/or if_recommended:")
    return Rule(
        id=rid,
        kind="alert",
        location=loc,
        source=source,
        note=note,
        when=when,
        text=text,
        severity=severity,
        if_recommended=recs,
        origin=rr.origin,
        summary=read_summary(ctx, doc, p, r),
    )


def order_rules(ctx: Ctx, rules: list[Rule]) -> list[Rule]:
    """Topological order: a derive rule runs after the rules deriving its inputs."""
    by_fact = {r.fact: r for r in rules if r.kind == "derive"}
    order: list[Rule] = []
    state: dict[str, int] = {}

    def visit(r: Rule, stack: list[str]) -> None:
        s = state.get(r.id, 0)
        if s == 2:
            return
        if s == 1:
            cycle = " -> ".join(stack[stack.index(r.id) :] + [r.id])
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


def asked_facts(rules: list[Rule], nodes: list[Node], dictionary: Mapping[str, FactSpec], declared: Iterable[str] = ()) -> tuple[str, ...]:
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
