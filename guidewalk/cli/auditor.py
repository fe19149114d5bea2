"""Auditors' commands: `render`, `report` and `replay`.

Heavy imports (graphviz, the renderers) happen inside the handlers.

    guidewalk render GUIDELINE [-o FILE.svg] [--facts CASE | --trace RESULT.json] [--flowchart F]
    guidewalk render --all [-o DIR]      rebuild flowcharts/*.svg (the committed drawings)
    guidewalk render --all --check       exit 1 when a committed SVG is stale or missing
    guidewalk report GUIDELINE --facts CASE [-o report.html] [--format html|json] [--patient-id P --date D --mdo TEXT]
    guidewalk replay RECORD.json [--guideline PATH]    exit 0 identical, 1 different
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from guidewalk.engine.contract import ResultJSON

__all__ = ["cmd_render", "cmd_report", "cmd_replay"]


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
        from guidewalk.engine.resources import flowcharts_dir

        return _render_all(Path(args.output) if args.output else flowcharts_dir(), check=args.check)
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
        result = run(g, read_case(args.facts, g.actions), flowchart=args.flowchart, rules=backend(args.rules))
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
        overlay = overlay_from_result(g, cast("ResultJSON", data))  # a saved result, checked above
    _write(args.output, render_svg(g, overlay, flowchart=args.flowchart))
    return status


def _render_all(out_dir: Path, *, check: bool) -> int:
    from guidewalk.engine.load import load_guideline, require_guidelines
    from guidewalk.render.svg import flowchart_files

    want: dict[str, str] = {}
    for gid in require_guidelines():
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
    from guidewalk.render.report import MISSING_DRAWING, make_record, record_json, render_html
    from guidewalk.render.report_layout import report_header

    fmt = args.format or ("json" if args.output and args.output.endswith(".json") else "html")
    header = report_header(args.patient_id, args.date, args.mdo)  # checked before anything is walked
    g = load_guideline(args.guideline, overlays=args.overlay or ())
    case = read_case(args.facts, g.actions)
    result = run(g, case, flowchart=args.flowchart, rules=backend(args.rules))
    record = make_record(g, result, flowchart_requested=args.flowchart, case_file=args.facts, guideline_ref=_ref(args.guideline), header=header)
    if args.why_not:
        from guidewalk.engine.verify.whynot import why_not

        record["why_not"] = [why_not(g, case.values, t, flowchart=args.flowchart).to_json() for t in args.why_not]
    text = record_json(record) if fmt == "json" else render_html(g, record)
    _write(args.output, text)
    if fmt == "html" and 'id="no-drawing"' in text:
        sys.stderr.write(f"warning: {MISSING_DRAWING}\n")
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
