"""Score modules (guidelines/scores/<id>.yaml): read with the modules they require, and one
module alone as a rules-only guideline for the calculator."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import Location, suggest
from ..format import VERIFICATIONS, default, one_of
from ..model import FactSpec, Guideline, Rule, ScoreModule
from ._context import (
    Ctx,
    check_keys,
    expect_list,
    expect_map,
    get_text,
    read_source,
    rel,
    source_hash,
)
from .dictionary import read_actions, read_dictionary
from .find import default_root, score_ids
from .rules import RawRule, asked_facts, collect_rules, compile_rule, order_rules


def read_score(
    ctx: Ctx,
    root: Path,
    sid: str,
    derived: dict[str, FactSpec],
    dictionary: Mapping[str, FactSpec],
    seen: dict[str, tuple[_yaml.Doc, dict[str, Any], list[RawRule]]],
    where: tuple[_yaml.Doc, tuple[Any, ...]] | None,
) -> None:
    if sid in seen:
        return
    path = root / "scores" / f"{sid}.yaml"
    if not path.exists():
        known = score_ids(root)
        if where:
            ctx.err(where[0], where[1], f"unknown score module '{sid}'", suggest(sid, known))
        else:
            ctx.sink.add(Location(rel(path)), f"unknown score module '{sid}'", suggestion=suggest(sid, known))
        return
    doc = ctx.load(path)
    if doc is None:
        return
    data = expect_map(ctx, doc, (), doc.data, "a score module")
    check_keys(ctx, doc, (), data, "score module")
    head = expect_map(ctx, doc, ("score",), data.get("score"), "score:")
    check_keys(ctx, doc, ("score",), head, "score header")
    if head.get("id") != sid:
        ctx.err(doc, ("score", "id"), f"score id must equal the file name '{sid}'")
    seen[sid] = (doc, head, [])
    for j, req in enumerate(expect_list(ctx, doc, ("score", "requires"), head.get("requires"), "requires")):
        read_score(ctx, root, str(req), derived, dictionary, seen, (doc, ("score", "requires", j)))
    seen[sid] = (doc, head, collect_rules(ctx, doc, ("rules",), data.get("rules"), f"score:{sid}", derived, dictionary))


def finish_score(ctx: Ctx, sid: str, doc: _yaml.Doc, head: dict[str, Any], rules: list[Rule], scope: Mapping[str, FactSpec]) -> ScoreModule:
    def names(key: str) -> tuple[str, ...]:
        out = []
        for j, n in enumerate(expect_list(ctx, doc, ("score", key), head.get(key), key)):
            if n not in scope:
                ctx.err(doc, ("score", key, j), f"unknown fact '{n}'", suggest(str(n), scope))
            out.append(str(n))
        return tuple(out)

    def one(key: str) -> str | None:
        v = head.get(key)
        if v is not None and v not in scope:
            ctx.err(doc, ("score", key), f"unknown fact '{v}'", suggest(str(v), scope))
        return None if v is None else str(v)

    verification = head.get("verification", default("score header", "verification"))
    if verification not in VERIFICATIONS:
        ctx.err(doc, ("score", "verification"), f"verification must be {one_of(VERIFICATIONS)}")
    src = read_source(ctx, doc, ("score", "source"), head.get("source"))
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
        note=get_text(ctx, doc, ("score", "note"), head.get("note"), "note"),
        description=get_text(ctx, doc, ("score", "description"), head.get("description"), "description"),
    )


def load_score(sid: str, root: Path | None = None) -> tuple[ScoreModule, Guideline]:
    """A score module alone, wrapped as a rules-only guideline for the calculator."""
    root = root or default_root()
    ctx = Ctx()
    dictionary = read_dictionary(ctx, root)
    actions = read_actions(ctx, root)
    derived: dict[str, FactSpec] = {}
    seen: dict[str, tuple[_yaml.Doc, dict[str, Any], list[RawRule]]] = {}
    read_score(ctx, root, sid, derived, dictionary, seen, None)
    ctx.sink.raise_if_errors()
    scope = {**dictionary, **derived}
    modules: dict[str, ScoreModule] = {}
    all_rules: list[Rule] = []
    for s, (doc, head, raws) in seen.items():
        rules = [r for r in (compile_rule(ctx, rr, scope, actions) for rr in raws) if r is not None]
        all_rules += rules
        modules[s] = finish_score(ctx, s, doc, head, rules, scope)
    ordered = order_rules(ctx, all_rules)
    ctx.sink.raise_if_errors()
    module = modules[sid]
    module.required_modules = tuple(m for s, m in modules.items() if s != sid)
    asks = asked_facts(ordered, [], dictionary)
    g = Guideline(
        id=f"score:{sid}",
        title=module.title,
        version="",
        publisher="",
        source=module.source.url if module.source else "",
        language="",
        description=module.description,
        entry="",
        flowcharts={},
        nodes={},
        rules=ordered,
        dictionary=dictionary,
        derived=derived,
        asks=asks,
        actions=actions,
        scores=tuple(seen),
        files=tuple(d.file for d in ctx.docs),
        sha256=source_hash(ctx.docs),
        location=Location(module.file),
    )
    return module, g
