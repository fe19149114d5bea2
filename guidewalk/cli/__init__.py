"""The `guidewalk` command. Errors go to stderr, results to stdout.

Exit codes: 0 success (`run`: complete or needs_facts); 1 `validate`/`lint` found problems;
2 invalid facts, an unusable guideline or bad usage.

Sub-commands beyond the core live in their own modules (listed in COMMAND_MODULES); each
exposes `register(subparsers)` and imports what it needs only when it runs; only the module
of the command being run is imported.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from guidewalk.engine import __version__
from guidewalk.engine.errors import GuidewalkError, LoadError, RunError

COMMAND_MODULES = {
    # command -> the module that registers it; only the module of the command being run is
    # imported (all of them for --help), so `guidewalk run` does not pay for the web server
    "render": "guidewalk.cli.auditor",
    "report": "guidewalk.cli.auditor",
    "replay": "guidewalk.cli.auditor",
    "step": "guidewalk.render.stepper",
    "serve": "guidewalk.render.web",
    "lint": "guidewalk.cli.author",
    "why-not": "guidewalk.cli.author",
    "diff": "guidewalk.cli.author",
    "schema": "guidewalk.cli.author",
    "audit": "guidewalk.engine.audit",
    "cohort": "guidewalk.engine.audit",
}
CORE_COMMANDS = ("list", "validate", "run", "facts", "score")


def _out(text: str) -> None:
    sys.stdout.write(text)


def _err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _version_line() -> str:
    from guidewalk.engine.rules import backend, durable_available

    name = backend().name
    ok, why = durable_available()
    if name == "durable_rules":
        from importlib.metadata import version

        detail = f"durable_rules {version('durable_rules')}"
    else:
        detail = "builtin" + ("" if ok else f" (durable_rules unavailable: {why})")
    return f"guidewalk {__version__}; Python {sys.version.split()[0]}; rules backend: {detail}"


# --------------------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import default_root, guideline_ids, load_guideline

    rows: list[dict[str, Any]] = []
    status = 0
    for gid in guideline_ids(default_root()):
        try:
            g = load_guideline(gid)
            rows.append({"id": g.id, "version": g.version, "title": g.title, "flowcharts": list(g.flowcharts)})
        except LoadError as exc:
            rows.append({"id": gid, "version": None, "title": f"(does not load: {len(exc.problems)} problems; run guidewalk validate)", "flowcharts": []})
            status = 2
    if args.format == "json":
        _out(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        for r in rows:
            _out(f"{r['id']:<34} {r['version'] or '-':<10} {r['title']}\n")
    return status


def cmd_validate(args: argparse.Namespace) -> int:
    from guidewalk.engine.errors import Problem
    from guidewalk.engine.load import default_root, guideline_ids, load_guideline, load_score, score_ids

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
    else:
        root = default_root()
        targets = [("guideline", g) for g in guideline_ids(root)] + [("score", s) for s in score_ids(root)]
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
                from guidewalk.engine.checks import networkx_checks

                problems.extend(p for p in networkx_checks(g.nodes, g.flowcharts) if str(p) not in seen)
                ok.append(f"{g.id} {g.version}: {len(g.nodes)} nodes, {len(g.rules)} rules, {len(g.asks)} facts asked")
        except LoadError as exc:
            for p in exc.problems:
                key = str(p)
                if key not in seen:
                    seen.add(key)
                    problems.append(p)
    errors = [p for p in problems if p.severity == "error"]
    if args.format == "json":
        _out(json.dumps({"ok": not errors, "problems": [p.to_json() for p in sorted(problems, key=Problem.sort_key)]}, indent=2) + "\n")
    else:
        for p in sorted(problems, key=Problem.sort_key):
            _err(str(p))
        for line in ok:
            _out(f"ok  {line}\n")
        if errors:
            _err(f"{len(errors)} error(s)")
    return 1 if errors else 0


def _load_case(path: str) -> tuple[dict[str, Any], Any]:
    from guidewalk.engine.facts import read_case

    return read_case(path)


def cmd_run(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.rules import backend
    from guidewalk.engine.trace import dumps
    from guidewalk.engine.walk import run
    from guidewalk.render.text import to_text

    g = load_guideline(args.guideline, overlays=args.overlay or ())
    raw, doc = _load_case(args.facts) if args.facts else ({}, None)
    result = run(g, raw, flowchart=args.flowchart, rules=backend(args.rules), doc=doc)
    if args.format == "json":
        _out(dumps(result.to_json()))
    else:
        _out(to_text(result, g))
    return 2 if result.status == "invalid_facts" else 0


def cmd_facts(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_guideline

    g = load_guideline(args.guideline)
    specs = [g.dictionary[f] for f in g.asks]
    if args.format == "json":
        _out(json.dumps([s.to_json() for s in specs], indent=2, ensure_ascii=False) + "\n")
        return 0
    for s in specs:
        unit = f" [{s.unit}]" if s.unit else ""
        _out(f"{s.name:<44} {s.type:<8} {s.describe_domain()}{unit}\n")
        if s.question:
            _out(f"    {s.question}\n")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from guidewalk.engine.load import load_score, score_ids
    from guidewalk.engine.scores import calculate, describe, describe_text, result_text

    if args.list or not args.name:
        ids = score_ids()
        if args.format == "json":
            _out(json.dumps(ids) + "\n")
        else:
            for sid in ids:
                module, _ = load_score(sid)
                _out(f"{sid:<18} {module.verification:<11} {module.title}\n")
        return 0
    module, g = load_score(args.name)
    if args.describe:
        d = describe(module, g)
        _out(json.dumps(d, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else describe_text(d))
        return 0
    raw, doc = _load_case(args.facts) if args.facts else ({}, None)
    out = calculate(module, g, raw, doc=doc)
    _out(json.dumps(out, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else result_text(out))
    return 2 if out["status"] == "invalid_facts" else 0


# --------------------------------------------------------------------------- parser


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="guidewalk", description="Walk clinical practice guidelines written as YAML decision graphs; every step traced. Decision support: it shows what the guideline recommends.")
    p.add_argument("--version", action="store_true", help="show version and the active rules backend")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", help="the guidelines available, with id and version")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("validate", help="load and check guideline files; errors as path:line:col")
    s.add_argument("paths", nargs="*", help="guideline files or folders (default: all shipped guidelines and scores)")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("run", help="walk a guideline for one case")
    s.add_argument("guideline", help="guideline id or path")
    s.add_argument("--facts", metavar="CASE", help="case file (YAML or JSON mapping of fact to value)")
    s.add_argument("--flowchart", help="start at this flowchart instead of the entry one")
    s.add_argument("--overlay", action="append", metavar="FILE", help="local protocol overlay (repeatable)")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--rules", choices=("auto", "builtin", "durable_rules"), default=None, help="rules backend (default: durable_rules where it loads)")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("facts", help="the facts a guideline may ask, with types, units, ranges")
    s.add_argument("guideline")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=cmd_facts)

    s = sub.add_parser("score", help="one score as a calculator (inputs, points, total, class, survival, source)")
    s.add_argument("name", nargs="?", help="score id (see --list)")
    s.add_argument("--facts", metavar="FILE")
    s.add_argument("--list", action="store_true", help="list the scores")
    s.add_argument("--describe", action="store_true", help="the score's inputs and source")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=cmd_score)

    word = next((a for a in (argv or []) if not a.startswith("-")), None)
    if word in CORE_COMMANDS:
        modules: list[str] = []
    elif word in COMMAND_MODULES:
        modules = [COMMAND_MODULES[word]]
    else:  # help, --version, or a misspelt command: offer every command
        modules = list(dict.fromkeys(COMMAND_MODULES.values()))
    for modname in modules:
        if importlib.util.find_spec(modname.split(".")[0]) is not None and importlib.util.find_spec(modname) is not None:
            importlib.import_module(modname).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.version:
        _out(_version_line() + "\n")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except LoadError as exc:
        for p in exc.problems:
            _err(str(p))
        return 2
    except RunError as exc:
        _err(f"error: {exc}")
        return 2
    except GuidewalkError as exc:
        _err(f"error: {exc}")
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. `guidewalk run ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
