"""Clinicians' commands: `step` (the terminal stepper) and `serve` (the web stepper)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from guidewalk.engine.errors import GuidewalkError

__all__ = ["cmd_step", "cmd_serve"]


def cmd_step(args: argparse.Namespace) -> int:
    from guidewalk.engine.facts import read_case
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.session import Session
    from guidewalk.render.stepper import run_stepper, save_case

    g = load_guideline(args.guideline)
    raw: dict[str, Any] = {}
    decision = None
    if args.facts:
        case = read_case(args.facts, g.actions)
        raw, decision = dict(case.values), case.decision_for(g.actions)
    try:
        session = Session(g, raw, flowchart=args.flowchart)
    except ValueError as exc:
        sys.stderr.write(f"error: the case {args.facts} has invalid facts: {exc}\n")
        return 2
    save = args.save or args.facts or f"{g.id}-case.yaml"
    if Path(save).is_dir():
        raise GuidewalkError(f"--save {save} is a folder; give a file, e.g. {Path(save) / (g.id + '-case.yaml')}")
    interactive = sys.stdin.isatty()

    def read() -> str | None:
        if interactive:
            try:
                return input()
            except EOFError:
                return None
        line = sys.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    try:
        return run_stepper(session, read, sys.stdout, save, args.guideline, decision=decision, decide=True)
    except KeyboardInterrupt:
        save_case(save, session.facts, decision)
        sys.stdout.write(f"\nInterrupted: the case so far is saved to {save}.\nResume with: guidewalk step {args.guideline} --facts {save}\n")
        return 130


def cmd_serve(args: argparse.Namespace) -> int:
    from guidewalk.render.web import MAX_CASES, MAX_CASES_PER_OWNER, default_db_path, make_server
    from guidewalk.render.web.store import StoreError

    db = args.db or str(default_db_path())
    try:
        server, app = make_server(
            args.host,
            args.port,
            args.guideline,
            db=db,
            allow_hosts=args.allow_host,
            max_cases=args.max_cases or MAX_CASES,
            max_cases_per_owner=args.max_cases_per_browser or MAX_CASES_PER_OWNER,
        )
    except StoreError as exc:
        raise GuidewalkError(str(exc)) from exc
    host, port = str(server.server_address[0]), int(server.server_address[1])
    sys.stdout.write(f"guidewalk serve: http://{host}:{port}/  ({len(app.refs)} guideline(s); Ctrl-C stops)\n")
    sys.stdout.write(f"cases are kept in {app.db_path}\n")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.stdout.write("warning: bound to a non-loopback address; anyone who can reach it can use it (no authentication)\n")
    sys.stdout.flush()
    import signal

    def _stop(signum: int, frame: Any) -> None:  # SIGTERM: stop as Ctrl-C does (every answer is already committed)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
