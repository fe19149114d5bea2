"""Capture the outputs of every golden case, and compare two captures byte for byte.

    .venv/bin/python benchmarks/capture_outputs.py capture DIR [--session]
    .venv/bin/python benchmarks/capture_outputs.py compare DIR_A DIR_B

`capture` writes, for every case (tests/cases/**, the case fixtures under tests/fixtures and
examples/cases) and for each rules backend (builtin, durable_rules where it loads):

* ``<case>.<backend>.cli.json`` / ``.cli.txt`` — `guidewalk run GUIDELINE --facts FILE
  [--flowchart F] --format json|text`, in this process (stdout and exit code), the facts
  written to a case file under a fixed folder so locations in messages are stable;
* ``<case>.<backend>.api.json`` — ``run(g, facts)`` with the facts as a plain mapping,
  ``dumps(result.to_json())`` (the path a library user and the steppers take);
* with ``--session`` (slow: the exact searches), ``<case>.session.json`` — what a stepper
  session shows for the case's facts: ``pending()`` (fact, node) and ``reachable()``, and
  the same for the empty session of every flowchart (a stepper's first page).

`compare` lists every file that differs or exists on one side only, and exits 1 if any
does. Run `capture` before a change and after it, then `compare`: the engine's outputs
must stay byte-identical unless a change says why they differ.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CASE_DIR = Path("/tmp/guidewalk-capture-cases")


def _cases() -> list[tuple[str, str | None, Path | None, dict[str, Any], str | None, list[str]]]:
    """(name, guideline, guideline root, facts, flowchart, overlays) of every case."""
    out: list[tuple[str, str | None, Path | None, dict[str, Any], str | None, list[str]]] = []
    for p in sorted((ROOT / "tests" / "cases").glob("*/*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        overlays = [str(ROOT / data["overlay"])] if data.get("overlay") else []
        out.append((f"{p.parent.name}/{p.stem}", p.parent.name, None, data.get("facts") or {}, data.get("flowchart"), overlays))
    render = ROOT / "tests" / "fixtures" / "render"
    for p in sorted((render / "cases").glob("*.yaml")):
        out.append((f"fixture-render/{p.stem}", str(render / "root" / "demo-brain"), render / "root", yaml.safe_load(p.read_text()) or {}, None, []))
    session = ROOT / "tests" / "fixtures" / "session"
    for p in sorted((session / "cases" / "demo-stepper").glob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        out.append((f"fixture-session/{p.stem}", str(session / "demo-stepper"), session, data.get("facts") or {}, data.get("flowchart"), []))
    for p in sorted((ROOT / "examples" / "cases").glob("*.yaml")):
        out.append((f"examples/{p.stem}", "brain-metastases-2020", None, yaml.safe_load(p.read_text()) or {}, None, []))
    return out


def _cli(argv: list[str]) -> tuple[int, str]:
    from guidewalk.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        rc = main(argv)
    return rc, buf.getvalue()


def capture(dest: Path, session: bool) -> int:
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.rules import backend, durable_available
    from guidewalk.engine.trace import dumps
    from guidewalk.engine.walk import run

    dest.mkdir(parents=True, exist_ok=True)
    backends = ["builtin"] + (["durable_rules"] if durable_available()[0] else [])
    loaded: dict[tuple[Any, ...], Any] = {}
    started = time.perf_counter()
    n = 0
    for name, gid, root, facts, flowchart, overlays in _cases():
        key = (gid, str(root), tuple(overlays))
        if key not in loaded:
            loaded[key] = load_guideline(gid, root=root, overlays=overlays)  # type: ignore[arg-type]
        g = loaded[key]
        case_file = CASE_DIR / f"{name}.yaml"
        case_file.parent.mkdir(parents=True, exist_ok=True)
        case_file.write_text(yaml.safe_dump(facts, sort_keys=False, allow_unicode=True), encoding="utf-8")
        out = dest / name
        out.parent.mkdir(parents=True, exist_ok=True)
        for be in backends:
            os.environ["GUIDEWALK_RULES"] = be
            base = ["run", str(gid), "--facts", str(case_file)] + (["--flowchart", flowchart] if flowchart else [])
            for ov in overlays:
                base += ["--overlay", ov]
            env_root = {"GUIDEWALK_GUIDELINES": str(root)} if root else {}
            old = {k: os.environ.get(k) for k in env_root}
            os.environ.update(env_root)
            try:
                for fmt, ext in (("json", "json"), ("text", "txt")):
                    rc, text = _cli(base + ["--format", fmt])
                    Path(f"{out}.{be}.cli.{ext}").write_text(f"exit {rc}\n{text}", encoding="utf-8")
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            try:
                res = run(g, facts, flowchart=flowchart, rules=backend(be))
                text = dumps(res.to_json())
            except Exception as exc:  # recorded: an error is an output too
                text = f"{type(exc).__name__}: {exc}\n"
            Path(f"{out}.{be}.api.json").write_text(text, encoding="utf-8")
        if session:
            Path(f"{out}.session.json").write_text(json.dumps(_session(g, facts, flowchart), indent=1) + "\n", encoding="utf-8")
        n += 1
    if session:
        for key, g in loaded.items():
            for fc in g.flowcharts:
                name = f"first-page/{g.id}{'+overlay' if key[2] else ''}.{fc}"
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                Path(f"{dest / name}.session.json").write_text(json.dumps(_session(g, {}, fc), indent=1) + "\n", encoding="utf-8")
    print(f"captured {n} cases x {len(backends)} backends in {time.perf_counter() - started:.1f} s -> {dest}")
    return 0


def _session(g: Any, facts: dict[str, Any], flowchart: str | None) -> dict[str, Any]:
    from guidewalk.engine.errors import GuidewalkError
    from guidewalk.engine.session import Session, session

    os.environ["GUIDEWALK_RULES"] = "builtin"
    if hasattr(session, "REACH_SECONDS"):  # the exact list, however long it takes
        session.REACH_SECONDS = 1e9
    try:
        s = Session(g, facts, flowchart)
        pending = [[p.fact, p.node] for p in s.pending()]
    except GuidewalkError as exc:
        return {"error": str(exc)}
    try:
        reach: Any = s.reachable()
    except GuidewalkError as exc:
        reach = f"error: {exc}"
    return {"pending": pending, "reachable": reach}


def compare(a: Path, b: Path) -> int:
    fa = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    bad = 0
    for rel in sorted(fa | fb):
        if rel not in fa or rel not in fb:
            print(f"only in {a if rel in fa else b}: {rel}")
            bad += 1
        elif (a / rel).read_bytes() != (b / rel).read_bytes():
            print(f"differs: {rel}")
            bad += 1
    print(f"{len(fa & fb)} files compared, {bad} differ or are missing on one side")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("dest", type=Path)
    c.add_argument("--session", action="store_true", help="also pending() and reachable() (slow)")
    d = sub.add_parser("compare")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "capture":
        return capture(args.dest, args.session)
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
