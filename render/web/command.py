"""The `guidewalk serve` command line: its arguments and the serving loop."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .server import make_server

__all__ = ["register", "cmd_serve"]


def register(subparsers: Any) -> None:
    s = subparsers.add_parser("serve", help="the web stepper on a local server (one question per page)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--guideline", action="append", metavar="ID_OR_PATH", help="offer this guideline (repeatable; default: every shipped guideline)")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    server, app = make_server(args.host, args.port, args.guideline)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    sys.stdout.write(f"guidewalk serve: http://{host}:{port}/  ({len(app.refs)} guideline(s); Ctrl-C stops)\n")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.stdout.write("warning: bound to a non-loopback address; anyone who can reach it can use it (no authentication)\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
