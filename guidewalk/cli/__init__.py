"""The `guidewalk` command: parse (:mod:`.parser`), run one handler, turn every failure into a
clear message and an exit code — never a traceback for a misuse.

Handlers live by audience: :mod:`.core` (list, validate, run, facts, score, completion),
:mod:`.clinician` (step, serve), :mod:`.auditor` (render, report, replay), :mod:`.cohort`
(audit, cohort), :mod:`.author` (lint, why-not, diff, schema). Results go to stdout, messages
to stderr; with ``--format json`` an error is a JSON object on stdout too. Exit codes are
listed in ``guidewalk --help`` (:data:`.parser.EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from ._term import emit_error, err, out, set_color

__all__ = ["main", "build_parser"]

#: third-party modules that only some commands need -> the extra that installs them
EXTRAS = {"z3": "lint", "pyarrow": "audit", "numpy": "audit", "dask": "audit", "distributed": "audit"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    from .parser import build_parser as _build

    return _build(only)


def _version_line() -> str:
    from guidewalk.engine import __version__
    from guidewalk.engine.rules import backend, durable_available

    name = backend().name
    ok, why = durable_available()
    if name == "durable_rules":
        from importlib.metadata import version

        detail = f"durable_rules {version('durable_rules')}"
    else:
        detail = "builtin" + ("" if ok else f" (durable_rules unavailable: {why})")
    return f"guidewalk {__version__}; Python {sys.version.split()[0]}; rules backend: {detail}"


def _handler(spec: str) -> Any:
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .parser import command_in

    parser = build_parser(command_in(argv))  # only the command asked for: argparse is slow to build
    args = parser.parse_args(argv)
    set_color(args.color)
    try:
        if args.version:
            out(_version_line() + "\n")
            return 0
        if not getattr(args, "handler", None):
            parser.print_help(sys.stderr)
            return 2
        return int(_handler(args.handler)(args))
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `guidewalk run ... | head`
        _silence_stdout()
        return 0
    except Exception as exc:  # every failure becomes a message and an exit code
        return _fail(exc, args)


def _fail(exc: BaseException, args: argparse.Namespace) -> int:
    from guidewalk.engine.errors import GuidewalkError, LoadError

    json_out = getattr(args, "format", None) == "json"
    if isinstance(exc, LoadError):
        emit_error("load_error", f"{len(exc.problems)} problem(s)", json_out=json_out, problems=exc.problems)
        return 2
    if isinstance(exc, GuidewalkError):
        emit_error(type(exc).__name__, str(exc), json_out=json_out)
        return 2
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in EXTRAS:
        extra = EXTRAS[(exc.name or "").split(".")[0]]
        emit_error(
            "missing_extra",
            f"`guidewalk {args.command}` needs the '{extra}' extra ({exc.name} is not installed): pip install 'guidewalk[{extra}]'",
            json_out=json_out,
        )
        return 2
    if _is_missing_graphviz(exc):
        emit_error(
            "missing_program",
            "the Graphviz program 'dot' is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)",
            json_out=json_out,
        )
        return 2
    if isinstance(exc, OSError):
        what = f" '{exc.filename}'" if exc.filename else ""
        emit_error("os_error", f"cannot use{what}: {exc.strerror or exc}", json_out=json_out)
        return 2
    emit_error(
        "internal_error",
        f"internal error: {type(exc).__name__}: {exc} — this is a bug in guidewalk; please report it with the command you ran",
        json_out=json_out,
    )
    if os.environ.get("GUIDEWALK_DEBUG"):
        import traceback

        traceback.print_exc()
    else:
        err("(set GUIDEWALK_DEBUG=1 to see the traceback)")
    return 3


def _is_missing_graphviz(exc: BaseException) -> bool:
    return type(exc).__name__ == "ExecutableNotFound" and type(exc).__module__.startswith("graphviz")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:  # pragma: no cover
        pass
