"""EHR commands: `fhir-facts` (the facts a FHIR R4 Bundle gives a guideline), the glue behind
`run --fhir BUNDLE` and `run --format fhir`, and `cds-hooks` (the CDS Hooks 2.0 service).

    guidewalk fhir-facts GUIDELINE BUNDLE.json [--format yaml|json] [--as-of DATE]
    guidewalk run GUIDELINE --fhir BUNDLE.json [--facts CASE.yaml] [--as-of DATE] [--format text|json|fhir]
    guidewalk cds-hooks [--host 127.0.0.1] [--port 8090] [--db FILE] [--issuer ISS=JWKS ...] [--dev] ...

Reading a Bundle and the service need the ``fhir`` extra (``pip install 'guidewalk[fhir]'``);
writing FHIR output does not.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from guidewalk.engine.errors import GuidewalkError
from guidewalk.engine.facts import CaseFacts

__all__ = ["cmd_fhir_facts", "cmd_cds_hooks", "RunInput", "parse_as_of"]


def parse_as_of(text: str | None) -> _dt.date:
    if not text:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(text.strip())
    except ValueError:
        raise GuidewalkError(f"--as-of must be a date YYYY-MM-DD, got {text!r}") from None


def _extract(g: Any, bundle: str, as_of: str | None, bindings_file: str | None = None) -> tuple[Any, Any]:
    from guidewalk.engine.fhir.bindings import load_bindings
    from guidewalk.engine.fhir.bundle import read_bundle
    from guidewalk.engine.fhir.extract import extract

    day = parse_as_of(as_of)
    b = load_bindings(g.dictionary, bindings_file)
    record = read_bundle(bundle)
    return extract(record, b, as_of=day), b


def cmd_fhir_facts(args: argparse.Namespace) -> int:
    from guidewalk.engine.facts import check_facts
    from guidewalk.engine.load import load_guideline

    g = load_guideline(args.guideline)
    x, _ = _extract(g, args.bundle, args.as_of, args.bindings)
    checked = check_facts(x.as_case(), g.dictionary, g.derived)
    invalid = []
    for e in checked.errors:
        src = x.sources.get(e.fact)
        invalid.append(
            {
                "fact": e.fact,
                "message": e.message,
                "from": src.resource if src else None,
                "path": src.location.path if src else None,
                **({"at": str(src.location)} if src and src.location.line else {}),
            }
        )
    out: dict[str, Any] = {
        "guideline": g.id,
        "record": x.file,
        "patient": x.patient,
        "as_of": x.as_of.isoformat(),
        "facts": x.facts,
        "sources": {k: {kk: vv for kk, vv in s.to_json().items() if kk != "value"} for k, s in x.sources.items()},
        "not_asked": [f for f in x.facts if f not in g.asks],
        "invalid": invalid,
        "not_mapped": [n.to_json() for n in x.not_mapped],
    }
    if args.format == "json":
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        import yaml

        sys.stdout.write(f"# Facts from {x.file} for {g.id}, as of {x.as_of}. `facts` can be used as a case file's facts.\n")
        sys.stdout.write(yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=120))
    sys.stderr.write(
        f"{len(x.facts)} facts from {len(set(s.resource for s in x.sources.values()))} resources; {len(x.not_mapped)} not mapped; {len(invalid)} invalid\n"
    )
    return 2 if invalid else 0


@dataclass
class RunInput:
    """`run --fhir` / `run --format fhir`: the record's facts under the case file's, and the
    output in the asked format."""

    guideline: Any
    case: CaseFacts
    fmt: str
    extraction: Any = None
    bindings: Any = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def prepare(cls, args: argparse.Namespace, g: Any, case: CaseFacts) -> RunInput:
        from guidewalk.engine.fhir.bindings import load_bindings
        from guidewalk.engine.fhir.extract import merge_case

        bundle = getattr(args, "fhir", None)
        if not bundle:
            return cls(g, case, args.format, None, load_bindings(g.dictionary))
        x, b = _extract(g, bundle, getattr(args, "as_of", None))
        raw = case.values
        ri = cls(g, merge_case(x, case, args.facts or "case file"), args.format, x, b)
        over = [f"{k} ({s.overrides['value']!r} from {s.overrides['from']} -> {s.value!r})" for k, s in x.sources.items() if s.overrides]
        ri.notes.append(
            f"Facts from FHIR record {x.file} as of {x.as_of}: {sum(1 for s in x.sources.values() if s.origin == 'fhir')} mapped, "
            f"{len(x.not_mapped)} not mapped" + (f"; case file {args.facts}: {len(raw)} facts" if args.facts else "")
        )
        if over:
            ri.notes.append("The case file overrides: " + "; ".join(over))
        for n in x.not_mapped:
            if n.kind in ("conflict", "stale", "undated", "unit", "value", "future", "absent"):
                ri.notes.append(f"Not used: {n.fact or n.resource}: {n.reason}")
        return ri

    def emit(self, result: Any, out: Callable[[str], None]) -> int:
        from guidewalk.engine.trace import dumps
        from guidewalk.render.text import to_text

        if self.extraction is not None:
            from guidewalk.engine.fhir.extract import annotate_errors

            result.errors = annotate_errors(result.errors, self.extraction)
        if self.fmt == "fhir":
            from guidewalk.engine.fhir.output import guidance_bundle

            out(json.dumps(guidance_bundle(self.guideline, result, self.bindings, extraction=self.extraction), indent=2, ensure_ascii=False) + "\n")
        elif self.fmt == "json":
            data = result.to_json()
            if self.extraction is not None:
                data["fhir"] = self.extraction.to_json()
            out(dumps(data))
        else:
            text = to_text(result, self.guideline)
            if self.notes:
                text = "\n".join(self.notes) + "\n\n" + text
            out(text)
        return 2 if result.status == "invalid_facts" else 0


def cmd_cds_hooks(args: argparse.Namespace) -> int:
    from guidewalk.engine.fhir import require_extra

    for mod in ("starlette", "uvicorn", "jwt", "fhir.resources", "platformdirs"):
        require_extra(mod, "guidewalk cds-hooks")
    import uvicorn

    from guidewalk.render.cds_hooks.app import ServiceConfig, create_app, is_loopback
    from guidewalk.render.cds_hooks.auth import parse_issuer
    from guidewalk.render.cds_hooks.store import default_db_path

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
        sys.stderr.write(
            "cds-hooks: no trusted issuer: give --issuer ISS=JWKS (the EHR's JWT issuer and its JWK Set), or --dev for development on this machine only\n"
        )
        return 2
    if not is_loopback(args.host) and not args.ssl_certfile and not (args.base_url or "").startswith("https://"):
        sys.stderr.write(
            "cds-hooks: warning: listening beyond this machine without TLS; CDS Hooks requires HTTPS (use --ssl-certfile/--ssl-keyfile or a TLS proxy and --base-url https://...)\n"
        )
    as_of = parse_as_of(args.as_of) if args.as_of else None
    db = args.db or str(default_db_path())
    config = ServiceConfig(
        guidelines=args.guideline or [],
        db=db,
        issuers=issuers,
        dev=args.dev,
        host=args.host,
        base_url=args.base_url,
        cors_origins=args.cors_origin,
        as_of=as_of,
    )
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    mode = "DEV MODE: calls from this machine need no token" if args.dev else f"JWT from {', '.join(i.iss for i in issuers)}"
    sys.stderr.write(
        f"guidewalk cds-hooks: {len(app.state.services)} services at http{'s' if args.ssl_certfile else ''}://{args.host}:{args.port}/cds-services; "
        f"{mode}; feedback in {db}\n"
    )
    sys.stderr.flush()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level=args.log_level,
        server_header=False,
        ssl_keyfile=args.ssl_keyfile,
        ssl_certfile=args.ssl_certfile,
    )
    return 0
