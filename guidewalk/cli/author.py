"""Authoring commands: `test`, `lint`, `why-not`, `diff`, `schema`.

z3 (and the modules that use it) are
imported only inside the handlers, so `guidewalk run` never pays for them.

Exit codes: `test` 1 when any golden case fails (or cannot run); `lint` 1 when any gap or overlap (or a guideline that does not load) is found;
`diff` 0; `why-not` 0 when a change was found or the target is already reached, 1 when the
solver proved that no patient within the domains reaches the target; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["cmd_test", "cmd_lint", "cmd_why_not", "cmd_diff", "cmd_schema"]

from ._term import err, out


def _targets(paths: list[str]) -> list[str]:
    from guidewalk.engine.errors import GuidewalkError
    from guidewalk.engine.load import require_guidelines

    if not paths:
        return require_guidelines()
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir() and not (path / "guideline.yaml").exists():
            out += [str(f) for f in sorted(path.glob("*/guideline.yaml"))]
        else:
            out.append(p)
    if not out:
        raise GuidewalkError(f"no guideline found in {', '.join(paths)}")
    return out


# --------------------------------------------------------------------------- test


def cmd_test(args: argparse.Namespace) -> int:
    from guidewalk.engine.errors import GuidewalkError
    from guidewalk.engine.golden import diff_text, discover, run_golden
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.model import Guideline
    from guidewalk.engine.rules import backend

    paths = args.paths or (["tests/cases"] if Path("tests/cases").is_dir() else [])
    if not paths:
        raise GuidewalkError("give golden case files or folders (no tests/cases here)")
    files = discover(paths)
    if not files:
        raise GuidewalkError(f"no golden cases (*.yaml, *.yml, *.json) in {', '.join(paths)}")
    loaded: dict[tuple[str, tuple[str, ...]], Guideline] = {}

    def load(ref: str, overlays: tuple[str, ...]) -> Guideline:
        if (ref, overlays) not in loaded:
            loaded[(ref, overlays)] = load_guideline(ref, overlays=overlays)
        return loaded[(ref, overlays)]

    rules = backend(args.rules)
    outcomes = []
    for f in files:
        o = run_golden(f, guideline=args.guideline, rules=rules, load=load)
        outcomes.append(o)
        if args.format == "text" and not (args.quiet and o.ok):
            r = o.result
            what = f"{r.status}, {len(r.path)} steps" if r is not None else "did not run"
            out(f"{'ok  ' if o.ok else 'FAIL'}  {o.name}  ({what})\n")
            if not o.ok:
                out(f"      {o.file}\n" + "".join(f"      {line}" for line in diff_text(o).splitlines(keepends=True)))
    failed = [o for o in outcomes if not o.ok]
    if args.format == "json":
        out(
            json.dumps(
                {"passed": len(outcomes) - len(failed), "failed": len(failed), "cases": [o.to_json() for o in outcomes]},
                indent=2,
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        )
    else:
        out(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed\n")
    return 1 if failed else 0


# --------------------------------------------------------------------------- lint


def cmd_lint(args: argparse.Namespace) -> int:
    from guidewalk.engine.errors import LoadError
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.verify.lint import SEVERITY_ORDER, lint

    threshold = SEVERITY_ORDER[args.min_severity]
    report: list[dict[str, Any]] = []
    failed = False
    for t in _targets(args.guidelines):
        try:
            g = load_guideline(t)
        except LoadError as exc:
            failed = True
            report.append({"guideline": t, "loads": False, "problems": [p.to_json() for p in exc.problems], "findings": []})
            if args.format == "text":
                for p in exc.problems:
                    err(str(p))
                err(f"{t}: does not load ({len(exc.problems)} problems); not linted")
            continue
        findings = [f for f in lint(g, unknowns=not args.no_unknowns) if SEVERITY_ORDER[f.severity] <= threshold]
        errors = [f for f in findings if f.severity == "error"]
        failed = failed or bool(errors)
        report.append({"guideline": g.id, "version": g.version, "loads": True, "findings": [f.to_json() for f in findings]})
        if args.format == "text":
            for f in findings:
                out(f.text() + "\n")
            counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
            out(f"{g.id} {g.version}: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)\n")
    if args.format == "json":
        out(json.dumps({"ok": not failed, "guidelines": report}, indent=2, ensure_ascii=False, default=str) + "\n")
    return 1 if failed else 0


# --------------------------------------------------------------------------- why-not


def cmd_why_not(args: argparse.Namespace) -> int:
    from guidewalk.engine.facts import read_case
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.verify.whynot import why_not

    g = load_guideline(args.guideline)
    raw = read_case(args.facts).values if args.facts else {}
    res = why_not(g, raw, args.target, flowchart=args.flowchart)
    if args.format == "json":
        out(json.dumps(res.to_json(), indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        out(res.text())
    if res.status == "invalid_facts":
        return 2
    return 1 if res.status in ("impossible", "mismatch") else 0


# --------------------------------------------------------------------------- diff


def cmd_diff(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.verify.diff import affected, describe_change, effect, structural

    pairs: list[tuple[str, str]] = []
    old, new = Path(args.old), Path(args.new)
    if old.is_dir() and new.is_dir() and not (old / "guideline.yaml").exists() and not (new / "guideline.yaml").exists():
        ids_old = {p.parent.name: str(p) for p in old.glob("*/guideline.yaml")}
        ids_new = {p.parent.name: str(p) for p in new.glob("*/guideline.yaml")}
        for gid in sorted(ids_old.keys() | ids_new.keys()):
            if gid in ids_old and gid in ids_new:
                pairs.append((ids_old[gid], ids_new[gid]))
            elif args.format == "text":
                out(f"guideline {gid}: only in {'OLD' if gid in ids_old else 'NEW'}\n")
    else:
        pairs.append((args.old, args.new))
    report = []
    for a, b in pairs:
        go, gn = load_guideline(a), load_guideline(b)
        changes = structural(go, gn)
        regions = effect(go, gn, flowchart=args.flowchart, max_regions=args.max_regions)
        scope = affected(go, gn, flowchart=args.flowchart) if regions else {}
        report.append(
            {
                "old": {"id": go.id, "version": go.version},
                "new": {"id": gn.id, "version": gn.version},
                "changes": changes,
                "affected": scope,
                "effect": [r.to_json() for r in regions],
            }
        )
        if args.format == "text":
            out(f"--- {go.id} {go.version}\n+++ {gn.id} {gn.version}\n")
            out(f"Structural changes ({len(changes)}):\n")
            for c in changes:
                out(f"  {describe_change(c)}\n")
            out(
                f"Clinical effect: {len(regions)} region(s) of patients whose recommendation changes"
                + (" (limit reached; there may be more)" if len(regions) >= args.max_regions else "")
                + ":\n"
            )
            if scope:
                out("  Every patient whose recommendation changes has " + "; ".join(scope.values()) + "\n")
            for r in regions:
                out("  " + r.text().replace("\n", "\n  ") + "\n")
            if not regions:
                out("  none: every patient within the declared domains gets the same recommendation\n")
    if args.format == "json":
        out(json.dumps(report[0] if len(report) == 1 else report, indent=2, ensure_ascii=False, default=str) + "\n")
    return 0


# --------------------------------------------------------------------------- schema


def cmd_schema(args: argparse.Namespace) -> int:
    from guidewalk.engine.verify.schema import KINDS, schema_text, shipped_path

    if args.write:
        for kind in KINDS:
            shipped_path(kind).write_text(schema_text(kind), encoding="utf-8")
            err(f"wrote {shipped_path(kind)}")
        return 0
    if args.path:
        out(str(shipped_path(args.kind)) + "\n")
        return 0
    if args.markdown:
        from guidewalk.engine.format import markdown

        out(markdown())
        return 0
    out(schema_text(args.kind))
    return 0
