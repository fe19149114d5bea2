"""CLI sub-commands `render`, `report` and `replay` (registered by engine.cli).

Heavy imports (graphviz, the renderers) happen inside the handlers.

    guidewalk render GUIDELINE [-o FILE.svg] [--facts CASE | --trace RESULT.json] [--flowchart F]
    guidewalk render --all [-o DIR]      rebuild flowcharts/*.svg (the committed drawings)
    guidewalk render --all --check       exit 1 when a committed SVG is stale or missing
    guidewalk report GUIDELINE --facts CASE [-o report.html] [--format html|json]
    guidewalk replay RECORD.json [--guideline PATH]    exit 0 identical, 1 different
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "FLOWCHARTS_DIR"]

from guidewalk.engine.resources import flowcharts_dir

FLOWCHARTS_DIR = flowcharts_dir()


def register(subparsers: Any) -> None:
    s = subparsers.add_parser("render", help="draw a guideline as an SVG flowchart, optionally with a case's path")
    s.add_argument("guideline", nargs="?", help="guideline id or path (omit with --all)")
    s.add_argument("-o", "--output", metavar="FILE", help="SVG file to write (default: stdout); with --all: the folder (default: flowcharts/)")
    case = s.add_mutually_exclusive_group()
    case.add_argument("--facts", metavar="CASE", help="walk this case and draw its path")
    case.add_argument("--trace", metavar="RESULT.json", help="draw the path of a saved run (`run --format json`) or report record")
    s.add_argument("--flowchart", help="draw only this flowchart (with --facts the walk also starts there)")
    s.add_argument("--overlay", action="append", metavar="FILE", help="local protocol overlay (repeatable)")
    s.add_argument("--rules", choices=("auto", "builtin", "durable_rules"), default=None)
    s.add_argument("--all", action="store_true", help="rebuild the SVGs of every guideline (flowcharts/<id>.svg and <id>--<flowchart>.svg)")
    s.add_argument("--check", action="store_true", help="with --all: write nothing; exit 1 if a committed SVG is stale, missing or extra")
    s.set_defaults(func=cmd_render)

    s = subparsers.add_parser("report", help="a self-contained HTML report (or JSON record) of one case, for the patient record")
    s.add_argument("guideline", help="guideline id or path")
    s.add_argument("--facts", metavar="CASE", required=True, help="case file (YAML or JSON mapping of fact to value)")
    s.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    s.add_argument("--format", choices=("html", "json"), default=None, help="html (default) or json (the replayable record); default from the -o suffix")
    s.add_argument("--flowchart", help="start at this flowchart instead of the entry one")
    s.add_argument("--overlay", action="append", metavar="FILE", help="local protocol overlay (repeatable)")
    s.add_argument("--rules", choices=("auto", "builtin", "durable_rules"), default=None)
    s.add_argument("--why-not", action="append", metavar="TARGET", dest="why_not", help="also explain the smallest change of facts that would lead to this node or action code (repeatable)")
    s.set_defaults(func=cmd_report)

    s = subparsers.add_parser("replay", help="re-run a recorded case (report JSON or HTML) with the current guideline and engine")
    s.add_argument("record", help="record made by `guidewalk report --format json` (or the HTML report)")
    s.add_argument("--guideline", metavar="PATH", help="guideline id or path to replay against (default: the recorded one)")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--rules", choices=("auto", "builtin", "durable_rules"), default=None)
    s.set_defaults(func=cmd_replay)


def _write(path: str | None, text: str) -> None:
    if path:
        Path(path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _ref(name: str) -> str:
    p = Path(name)
    return str(p.resolve()) if p.exists() else name


def cmd_render(args: argparse.Namespace) -> int:
    if args.all:
        return _render_all(Path(args.output) if args.output else FLOWCHARTS_DIR, check=args.check)
    if not args.guideline:
        sys.stderr.write("render: give a GUIDELINE (id or path), or --all\n")
        return 2
    from guidewalk.engine.facts import read_case
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.rules import backend
    from guidewalk.engine.walk import run

    from guidewalk.render.svg import overlay_from_result, render_svg

    g = load_guideline(args.guideline, overlays=args.overlay or ())
    overlay = None
    status = 0
    if args.facts:
        raw, doc = read_case(args.facts)
        result = run(g, raw, flowchart=args.flowchart, rules=backend(args.rules), doc=doc)
        overlay = overlay_from_result(g, result.to_json())
        status = 2 if result.status == "invalid_facts" else 0
    elif args.trace:
        data = json.loads(Path(args.trace).read_text(encoding="utf-8"))
        if isinstance(data, dict) and "result" in data and "trace" not in data:
            data = data["result"]  # a report record
        if not isinstance(data, dict) or "path" not in data:
            sys.stderr.write(f"render: {args.trace} is not a run result (`guidewalk run --format json`) or a report record\n")
            return 2
        if (data.get("guideline") or {}).get("sha256") not in (None, g.sha256):
            sys.stderr.write("render: warning: the trace was made with another version of this guideline (sha256 differs)\n")
        overlay = overlay_from_result(g, data)
    _write(args.output, render_svg(g, overlay, flowchart=args.flowchart))
    return status


def _render_all(out_dir: Path, *, check: bool) -> int:
    from guidewalk.engine.load import default_root, guideline_ids, load_guideline

    from guidewalk.render.svg import flowchart_files

    want: dict[str, str] = {}
    for gid in guideline_ids(default_root()):
        want.update(flowchart_files(load_guideline(gid)))
    have = {p.name for p in out_dir.glob("*.svg")} if out_dir.is_dir() else set()
    if check:
        stale = sorted(n for n, svg in want.items() if not (out_dir / n).exists() or (out_dir / n).read_text(encoding="utf-8") != svg)
        extra = sorted(have - set(want))
        for n in stale:
            sys.stderr.write(f"stale or missing: {out_dir / n}\n")
        for n in extra:
            sys.stderr.write(f"no longer produced: {out_dir / n}\n")
        if stale or extra:
            sys.stderr.write("run `guidewalk render --all` to rebuild the flowcharts\n")
            return 1
        sys.stdout.write(f"{len(want)} flowchart SVGs are fresh\n")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for n in sorted(have - set(want)):
        (out_dir / n).unlink()
    for n, svg in want.items():
        path = out_dir / n
        if not path.exists() or path.read_text(encoding="utf-8") != svg:
            path.write_text(svg, encoding="utf-8")
    sys.stdout.write(f"wrote {len(want)} SVGs to {out_dir}\n")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from guidewalk.engine.facts import read_case
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.rules import backend
    from guidewalk.engine.walk import run

    from guidewalk.render.report import make_record, record_json, render_html

    fmt = args.format or ("json" if args.output and args.output.endswith(".json") else "html")
    g = load_guideline(args.guideline, overlays=args.overlay or ())
    raw, doc = read_case(args.facts)
    result = run(g, raw, flowchart=args.flowchart, rules=backend(args.rules), doc=doc)
    record = make_record(g, result, flowchart_requested=args.flowchart, case_file=args.facts, guideline_ref=_ref(args.guideline))
    if args.why_not:
        from guidewalk.engine.verify.whynot import why_not

        record["why_not"] = [why_not(g, raw, t, flowchart=args.flowchart).to_json() for t in args.why_not]
    _write(args.output, record_json(record) if fmt == "json" else render_html(g, record))
    if args.output:
        sys.stderr.write(f"wrote {args.output} (status {result.status}; guideline {g.id} {g.version}, sha256 {g.sha256[:12]}…)\n")
    return 2 if result.status == "invalid_facts" else 0


def cmd_replay(args: argparse.Namespace) -> int:
    from guidewalk.render.replay import load_record, replay, to_text

    record = load_record(args.record)
    out = replay(record, guideline=args.guideline, rules=args.rules)
    if args.format == "json":
        sys.stdout.write(json.dumps(out.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(to_text(out))
    return 0 if out.identical else 1
