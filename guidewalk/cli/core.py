"""`guidewalk list`, `validate`, `run`, `facts`, `score` and `completion`: the commands everyone uses."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guidewalk.engine.errors import GuidewalkError, LoadError

from ._term import err, out

if TYPE_CHECKING:
    from guidewalk.engine.facts import CaseFacts


def cmd_list(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_guideline, require_guidelines

    if args.coverage is not None:
        return _coverage(args)
    rows: list[dict[str, Any]] = []
    status = 0
    for gid in require_guidelines():
        try:
            g = load_guideline(gid)
            rows.append({"id": g.id, "version": g.version, "title": g.title, "flowcharts": list(g.flowcharts)})
        except LoadError as exc:
            rows.append({"id": gid, "version": None, "title": f"(does not load: {len(exc.problems)} problems; run guidewalk validate)", "flowcharts": []})
            status = 2
    if args.format == "json":
        out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        for r in rows:
            out(f"{r['id']:<34} {r['version'] or '-':<10} {r['title']}\n")
    return status


def _coverage(args: argparse.Namespace) -> int:
    """`list --coverage [GUIDELINE]`: per module its title, coverage and reason, with totals."""
    from guidewalk.engine.load import load_guideline, require_guidelines
    from guidewalk.render.text import coverage_text

    guidelines = [load_guideline(gid) for gid in ([args.coverage] if args.coverage else require_guidelines())]
    if args.format == "json":
        rows = [
            {
                "id": g.id,
                "title": g.title,
                "version": g.version,
                "modules_file": g.modules_file,
                "modules": [m.to_json() for m in g.modules],
                "totals": {"modules": len(g.modules), **g.coverage_counts()},
            }
            for g in guidelines
        ]
        out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        out("\n".join(coverage_text(g) for g in guidelines))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from guidewalk.engine.errors import Problem
    from guidewalk.engine.load import default_root, load_guideline, load_score, require_guidelines, score_ids

    targets: list[tuple[str, str]] = []
    if args.paths:
        for p in args.paths:
            path = Path(p)
            if path.is_dir() and not (path / "guideline.yaml").exists():
                targets += [("guideline", str(f)) for f in sorted(path.glob("*/guideline.yaml"))]
                targets += [("score", f.stem) for f in sorted((path / "scores").glob("*.yaml"))] if (path / "scores").is_dir() else []
            elif path.is_file() and path.parent.name == "scores":
                targets.append(("score", str(path)))
            else:
                targets.append(("guideline", p))
        if not targets:
            raise GuidewalkError(f"nothing to validate in {', '.join(args.paths)} (no guideline.yaml or scores/*.yaml found)")
    else:
        root = default_root()
        targets = [("guideline", g) for g in require_guidelines(root)] + [("score", s) for s in score_ids(root)]
    problems: list[Problem] = []
    ok: list[str] = []
    seen: set[str] = set()
    for kind, t in targets:
        try:
            if kind == "score":
                sp = Path(t)
                module, _ = load_score(sp.stem, sp.parent.parent) if sp.suffix == ".yaml" else load_score(t)
                ok.append(f"score {module.id}: {len(module.rules)} rules, verification {module.verification}")
            else:
                g = load_guideline(t)
                from guidewalk.engine.checks import networkx_checks, readability_checks

                problems.extend(p for p in networkx_checks(g.nodes, g.flowcharts) if str(p) not in seen)
                problems.extend(readability_checks(g))
                ok.append(f"{g.id} {g.version}: {len(g.nodes)} nodes, {len(g.rules)} rules, {len(g.asks)} facts asked")
        except LoadError as exc:
            for p in exc.problems:
                key = str(p)
                if key not in seen:
                    seen.add(key)
                    problems.append(p)
    errors = [p for p in problems if p.severity == "error"]
    if args.format == "json":
        out(json.dumps({"ok": not errors, "problems": [p.to_json() for p in sorted(problems, key=Problem.sort_key)]}, indent=2) + "\n")
    else:
        for p in sorted(problems, key=Problem.sort_key):
            err(str(p))
        for line in ok:
            out(f"ok  {line}\n")
        if errors:
            err(f"{len(errors)} error(s)")
    return 1 if errors else 0


def _load_case(path: str | None, actions: Any = None) -> CaseFacts:
    """The case file (`actions`: the guideline's action list, to check a clinician_decision's codes)."""
    from guidewalk.engine.facts import CaseFacts, read_case

    return read_case(path, actions) if path else CaseFacts({})


def cmd_run(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.rules import backend
    from guidewalk.engine.trace import dumps
    from guidewalk.engine.walk import run
    from guidewalk.render.text import to_text

    g = load_guideline(args.guideline, overlays=args.overlay or ())
    case = _load_case(args.facts, g.actions)
    if args.fhir or args.format == "fhir":  # facts from a FHIR record under the case file's; FHIR output
        from .ehr import RunInput

        fhir = RunInput.prepare(args, g, case)
        return fhir.emit(run(g, fhir.case, flowchart=args.flowchart, rules=backend(args.rules)), out)
    result = run(g, case, flowchart=args.flowchart, rules=backend(args.rules))
    if args.format == "json":
        out(dumps(result.to_json()))
    else:
        out(to_text(result, g))
    return 2 if result.status == "invalid_facts" else 0


def cmd_facts(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_guideline

    g = load_guideline(args.guideline)
    specs = [g.dictionary[f] for f in g.asks]
    if args.format == "json":
        out(json.dumps([s.to_json() for s in specs], indent=2, ensure_ascii=False) + "\n")
        return 0
    for s in specs:
        unit = f" [{s.unit}]" if s.unit else ""
        out(f"{s.name:<44} {s.type:<8} {s.describe_domain()}{unit}\n")
        if s.question:
            out(f"    {s.question}\n")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_score, score_ids
    from guidewalk.engine.scores import calculate, describe, describe_text
    from guidewalk.render.score_text import result_text

    if args.list or not args.name:
        ids = score_ids()
        if args.format == "json":
            out(json.dumps(ids) + "\n")
        else:
            for sid in ids:
                module, _ = load_score(sid)
                out(f"{sid:<18} {module.verification:<11} {module.title}\n")
        return 0
    module, g = load_score(args.name)
    if args.describe:
        d = describe(module, g)
        out(json.dumps(d, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else describe_text(d))
        return 0
    res = calculate(module, g, _load_case(args.facts))
    out(json.dumps(res, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else result_text(res, g))
    return 2 if res["status"] == "invalid_facts" else 0


def cmd_completion(args: argparse.Namespace) -> int:
    """A static completion script for the shell (shtab: no cost at run time)."""
    import shtab

    from .parser import build_parser

    out(shtab.complete(build_parser(), shell=args.shell))
    return 0
