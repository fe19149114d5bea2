"""`guidewalk cds-hooks`: the CDS Hooks 2.0 service on uvicorn (registered by engine.cli).

    guidewalk cds-hooks [--host 127.0.0.1] [--port 8090] [--db FILE]
                        [--issuer ISS=JWKS ...] [--jku ISS=URL ...] [--base-url URL]
                        [--cors-origin ORIGIN ...] [--guideline ID ...] [--dev]
                        [--ssl-keyfile KEY --ssl-certfile CERT]

Refuses to start without a trusted issuer unless --dev (loopback only). Needs the ``fhir``
extra; without it the command says how to install it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

__all__ = ["register", "cmd_cds_hooks"]


def register(subparsers: Any) -> None:
    s = subparsers.add_parser("cds-hooks", help="a CDS Hooks 2.0 service: the guidelines' advice as cards in the EHR (needs guidewalk[fhir])")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8090)
    s.add_argument("--db", metavar="FILE", help="SQLite file for cards and feedback (default: in the user's data directory)")
    s.add_argument("--issuer", action="append", default=[], metavar="ISS=JWKS",
                   help="trust JWTs from issuer ISS, verified with the JWK Set at URL or in a file (repeatable)")
    s.add_argument("--jku", action="append", default=[], metavar="ISS=URL", help="a further JWK Set URL issuer ISS may name in the jku header (repeatable)")
    s.add_argument("--base-url", metavar="URL", help="the service's public base URL, for the JWT audience and report links (default: from each request)")
    s.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN", help="allow browser calls from this origin, e.g. https://sandbox.cds-hooks.org (repeatable)")
    s.add_argument("--guideline", action="append", metavar="ID_OR_PATH", help="offer this guideline (repeatable; default: every shipped guideline)")
    s.add_argument("--dev", action="store_true", help="development only: accept calls without a JWT from this machine; needs a loopback --host")
    s.add_argument("--ssl-keyfile", metavar="KEY")
    s.add_argument("--ssl-certfile", metavar="CERT")
    s.add_argument("--as-of", metavar="DATE", help="evaluate as if today were DATE (only to demonstrate historical records; default: today)")
    s.add_argument("--log-level", choices=("warning", "info", "debug"), default="info")
    s.set_defaults(func=cmd_cds_hooks)


def cmd_cds_hooks(args: argparse.Namespace) -> int:
    from engine.fhir import require_extra

    for mod in ("starlette", "uvicorn", "jwt", "fhir.resources", "platformdirs"):
        require_extra(mod, "guidewalk cds-hooks")
    import uvicorn

    from .app import ServiceConfig, create_app, is_loopback
    from .auth import parse_issuer
    from .store import default_db_path

    try:
        issuers = [parse_issuer(t) for t in args.issuer]
    except ValueError as exc:
        sys.stderr.write(f"cds-hooks: {exc}\n")
        return 2
    by_iss = {i.iss: i for i in issuers}
    for t in args.jku:
        iss, _, url = t.rpartition("=")
        if iss not in by_iss or not url.startswith("https://"):
            sys.stderr.write(f"cds-hooks: --jku takes ISS=https-URL for an --issuer ISS, got {t!r}\n")
            return 2
        by_iss[iss].jku += (url,)
    if args.dev and not is_loopback(args.host):
        sys.stderr.write("cds-hooks: --dev accepts calls without a token, so it binds only to a loopback address (e.g. 127.0.0.1)\n")
        return 2
    if not issuers and not args.dev:
        sys.stderr.write("cds-hooks: no trusted issuer: give --issuer ISS=JWKS (the EHR's JWT issuer and its JWK Set), "
                         "or --dev for development on this machine only\n")
        return 2
    if not is_loopback(args.host) and not args.ssl_certfile and not (args.base_url or "").startswith("https://"):
        sys.stderr.write("cds-hooks: warning: listening beyond this machine without TLS; CDS Hooks requires HTTPS (use --ssl-certfile/--ssl-keyfile or a TLS proxy and --base-url https://...)\n")
    from engine.fhir.commands import parse_as_of

    as_of = parse_as_of(args.as_of) if args.as_of else None
    db = args.db or str(default_db_path())
    config = ServiceConfig(guidelines=args.guideline or [], db=db, issuers=issuers, dev=args.dev, host=args.host, base_url=args.base_url,
                           cors_origins=args.cors_origin, as_of=as_of)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    mode = "DEV MODE: calls from this machine need no token" if args.dev else f"JWT from {', '.join(i.iss for i in issuers)}"
    sys.stderr.write(f"guidewalk cds-hooks: {len(app.state.services)} services at http{'s' if args.ssl_certfile else ''}://{args.host}:{args.port}/cds-services; "
                     f"{mode}; feedback in {db}\n")
    sys.stderr.flush()
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level=args.log_level, server_header=False,
                ssl_keyfile=args.ssl_keyfile, ssl_certfile=args.ssl_certfile)
    return 0
