"""One guideline file -> :class:`~engine.model.Guideline`: metadata, score modules, rules,
flowcharts and overlays, loaded completely or not at all."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import Location, suggest
from ..format import NODE_KINDS, default
from ..model import Branch, FactSpec, Flowchart, Guideline, Node, Rule
from ._context import (
    Ctx,
    check_keys,
    check_url,
    expect_list,
    expect_map,
    get_text,
    is_name,
    read_source,
    read_summary,
    source_hash,
)
from .dictionary import read_actions, read_dictionary
from .find import resolve, root_for
from .modules import read_modules
from .rules import (
    RawRule,
    asked_facts,
    collect_rules,
    compile_rule,
    condition,
    order_rules,
)
from .scores import finish_score, read_score


def load_guideline(name: str | os.PathLike[str], *, root: Path | None = None, overlays: Iterable[str] = ()) -> Guideline:
    """Load and check a guideline by id or path. Raises LoadError with every problem found."""
    file = resolve(str(name), root)
    root = root or root_for(file)
    ctx = Ctx()
    dictionary = read_dictionary(ctx, root)
    actions = read_actions(ctx, root)
    doc = ctx.load(file)
    if doc is None:
        ctx.sink.raise_if_errors()
        raise AssertionError("unreachable")  # pragma: no cover
    data = expect_map(ctx, doc, (), doc.data, "a guideline file")
    check_keys(ctx, doc, (), data, "guideline file")
    meta = expect_map(ctx, doc, ("guideline",), data.get("guideline"), "guideline:")
    check_keys(ctx, doc, ("guideline",), meta, "guideline metadata")
    gid = get_text(ctx, doc, ("guideline", "id"), meta.get("id"), "guideline id", required=True) or file.parent.name
    if file.name == "guideline.yaml" and gid != file.parent.name:
        ctx.err(doc, ("guideline", "id"), f"guideline id '{gid}' must equal its folder name '{file.parent.name}'")
    for k in ("title", "version", "publisher", "source"):
        get_text(ctx, doc, ("guideline", k), meta.get(k), k, required=True)
    if isinstance(meta.get("source"), str):
        check_url(ctx, doc, ("guideline", "source"), meta["source"])

    # pass 1: declare derived facts from score modules, the guideline's rules and overlays
    derived: dict[str, FactSpec] = {}
    seen: dict[str, tuple[_yaml.Doc, dict[str, Any], list[RawRule]]] = {}
    for j, sid in enumerate(expect_list(ctx, doc, ("scores",), data.get("scores"), "scores")):
        read_score(ctx, root, str(sid), derived, dictionary, seen, (doc, ("scores", j)))
    raw_rules = collect_rules(ctx, doc, ("rules",), data.get("rules"), "guideline", derived, dictionary)
    overlay_docs: list[tuple[_yaml.Doc, dict[str, Any]]] = []
    for ov in overlays:
        odoc = ctx.load(Path(ov))
        if odoc is None:
            continue
        odata = expect_map(ctx, odoc, (), odoc.data, "an overlay")
        check_keys(ctx, odoc, (), odata, "overlay")
        head = expect_map(ctx, odoc, ("overlay",), odata.get("overlay"), "overlay:")
        check_keys(ctx, odoc, ("overlay",), head, "overlay header")
        if head.get("applies_to") is None:
            ctx.err(odoc, ("overlay",), f"overlay needs applies_to: the id of the guideline it belongs to (here '{gid}')")
        elif head.get("applies_to") != gid:
            ctx.err(odoc, ("overlay", "applies_to"), f"overlay applies to '{head.get('applies_to')}', not to '{gid}'")
        oid = str(head.get("id") or Path(ov).stem)
        raw_rules += collect_rules(ctx, odoc, ("rules",), odata.get("rules"), f"overlay:{oid}", derived, dictionary)
        overlay_docs.append((odoc, odata))
    scope: dict[str, FactSpec] = {**dictionary, **derived}

    # pass 2: compile rules and score modules
    rules: list[Rule] = []
    score_modules: list[str] = []
    for sid, (sdoc, head, raws) in seen.items():
        srules = [r for r in (compile_rule(ctx, rr, scope, actions) for rr in raws) if r is not None]
        finish_score(ctx, sid, sdoc, head, srules, scope)
        rules += srules
        score_modules.append(sid)
    rules += [r for r in (compile_rule(ctx, rr, scope, actions) for rr in raw_rules) if r is not None]
    ids: dict[str, Location] = {}
    for r in rules:
        if r.id in ids:
            ctx.sink.add(r.location, f"duplicate rule id '{r.id}' (first at {ids[r.id]})")
        ids.setdefault(r.id, r.location)
    rules = order_rules(ctx, rules)

    # flowcharts
    flowcharts, nodes = _flowcharts(ctx, doc, data.get("flowcharts"), scope, actions)
    entry = meta.get("entry") or (next(iter(flowcharts)) if flowcharts else "")
    if entry and entry not in flowcharts:
        ctx.err(doc, ("guideline", "entry"), f"entry flowchart '{entry}' does not exist", suggest(str(entry), flowcharts))
    for odoc, odata in overlay_docs:
        _overlay_nodes(ctx, odoc, odata.get("nodes"), nodes)
    modules, modules_file = read_modules(ctx, file)

    declared = [str(f) for f in expect_list(ctx, doc, ("facts",), data.get("facts"), "facts")]
    for j, f in enumerate(declared):
        if f not in dictionary:
            ctx.err(doc, ("facts", j), f"unknown fact '{f}'" + (" (it is derived, not asked)" if f in derived else ""), suggest(f, dictionary))
    asks = asked_facts(rules, list(nodes.values()), dictionary, declared)

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
        description=get_text(ctx, doc, ("guideline", "description"), meta.get("description"), "description"),
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
        sha256=source_hash(ctx.docs),
        location=doc.where(()),
        overlays=tuple(str(o) for o in overlays),
        modules=modules,
        modules_file=modules_file,
    )


def _flowcharts(ctx: Ctx, doc: _yaml.Doc, raw: Any, scope: Mapping[str, FactSpec], actions: Mapping[str, str]) -> tuple[dict[str, Flowchart], dict[str, Node]]:
    flowcharts: dict[str, Flowchart] = {}
    nodes: dict[str, Node] = {}
    fl = expect_list(ctx, doc, ("flowcharts",), raw, "flowcharts")
    if not fl:
        ctx.err(doc, ("flowcharts",) if raw is not None else (), "a guideline needs at least one flowchart")
    for i, fc in enumerate(fl):
        p: tuple[Any, ...] = ("flowcharts", i)
        fc = expect_map(ctx, doc, p, fc, "a flowchart")
        check_keys(ctx, doc, p, fc, "flowchart")
        fid = fc.get("id")
        if not is_name(fid):
            ctx.err(doc, p, "flowchart needs an id (a snake_case word)")
            continue
        if fid in flowcharts:
            ctx.err(doc, p + ("id",), f"duplicate flowchart id '{fid}'")
            continue
        raw_nodes = expect_map(ctx, doc, p + ("nodes",), fc.get("nodes"), "nodes")
        ids: list[str] = []
        for nid, nraw in raw_nodes.items():
            np = p + ("nodes", nid)
            if not is_name(nid):
                ctx.err(doc, np, f"node id '{nid}' must be a snake_case word", key=True)
                continue
            if nid in nodes:
                ctx.err(doc, np, f"duplicate node id '{nid}' (first at {nodes[nid].location})", key=True)
                continue
            node = _node(ctx, doc, np, str(nid), str(fid), expect_map(ctx, doc, np, nraw, f"node '{nid}'"), scope, actions)
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


def _node(
    ctx: Ctx,
    doc: _yaml.Doc,
    p: tuple[Any, ...],
    nid: str,
    fid: str,
    raw: dict[str, Any],
    scope: Mapping[str, FactSpec],
    actions: Mapping[str, str],
    origin: str = "guideline",
) -> Node | None:
    kind = raw.get("kind")
    if kind not in NODE_KINDS:
        ctx.err(
            doc,
            p + ("kind",) if "kind" in raw else p,
            f"node '{nid}' needs kind: one of {', '.join(NODE_KINDS)}",
            suggest(str(kind), NODE_KINDS) if kind else None,
        )
        return None
    check_keys(ctx, doc, p, raw, f"{kind} node", f"{kind} node '{nid}'")
    source = read_source(ctx, doc, p + ("source",), raw.get("source"))
    if source is None:
        ctx.err(doc, p, f"node '{nid}' has no source")
    node = Node(
        id=nid,
        kind=kind,
        flowchart=fid,
        location=doc.key_where(p),
        source=source,
        title=get_text(ctx, doc, p + ("title",), raw.get("title"), "title"),
        note=get_text(ctx, doc, p + ("note",), raw.get("note"), "note"),
        origin=origin,
    )
    if kind == "decision":
        node.question = get_text(ctx, doc, p + ("question",), raw.get("question"), "question")
        exclusive = raw.get("exclusive", default("decision node", "exclusive"))
        if not isinstance(exclusive, bool):
            ctx.err(doc, p + ("exclusive",), "exclusive must be true or false")
        node.exclusive = bool(exclusive)
        branches = expect_list(ctx, doc, p + ("branches",), raw.get("branches"), "branches")
        if not branches:
            ctx.err(doc, p, f"decision '{nid}' needs branches")
        for j, b in enumerate(branches):
            bp = p + ("branches", j)
            if not isinstance(b, dict) or "when" not in b or "to" not in b:
                ctx.err(doc, bp, "each branch needs when: and to:")
                continue
            check_keys(ctx, doc, bp, b, "branch")
            ctx.targets.append((doc, bp + ("to",), str(b["to"]), nid))
            cond = condition(ctx, doc, bp + ("when",), b["when"], scope)
            if cond is not None:
                node.branches.append(
                    Branch(
                        when=cond,
                        to=str(b["to"]),
                        note=get_text(ctx, doc, bp + ("note",), b.get("note"), "note"),
                        location=doc.where(bp + ("to",)),
                        label=get_text(ctx, doc, bp + ("label",), b.get("label"), "label"),
                    )
                )
        node.otherwise = None if raw.get("otherwise") is None else str(raw["otherwise"])
        if node.otherwise:
            ctx.targets.append((doc, p + ("otherwise",), node.otherwise, nid))
    else:
        codes = expect_list(ctx, doc, p + ("actions",), raw.get("actions"), "actions")
        for j, code in enumerate(codes):
            if code not in actions:
                ctx.err(doc, p + ("actions", j), f"unknown action code '{code}' (add it to guidelines/actions.yaml)", suggest(str(code), actions))
        node.actions = tuple(str(c) for c in codes)
        node.text = get_text(ctx, doc, p + ("text",), raw.get("text"), "text", required=(kind == "action"))
        node.summary = read_summary(ctx, doc, p, raw)
        if kind == "action":
            if not codes:
                ctx.err(doc, p, f"action node '{nid}' needs actions: (codes from the action list)")
            node.next = None if raw.get("next") is None else str(raw["next"])
            if node.next:
                ctx.targets.append((doc, p + ("next",), node.next, nid))
    return node


def _overlay_nodes(ctx: Ctx, doc: _yaml.Doc, raw: Any, nodes: dict[str, Node]) -> None:
    """Overlays may add a note to an existing node (local protocol remark); they never
    change the national flow."""
    for nid, nraw in expect_map(ctx, doc, ("nodes",), raw, "nodes").items():
        if nid not in nodes:
            ctx.err(doc, ("nodes", nid), f"overlay names unknown node '{nid}'", suggest(str(nid), nodes), key=True)
            continue
        spec = expect_map(ctx, doc, ("nodes", nid), nraw, f"node '{nid}'")
        check_keys(ctx, doc, ("nodes", nid), spec, "overlay node")
        note = get_text(ctx, doc, ("nodes", nid, "note"), spec.get("note"), "note")
        if note:
            n = nodes[nid]
            n.note = f"{n.note}\n[local protocol] {note}" if n.note else f"[local protocol] {note}"
