"""CLI: ``guidewalk fhir-facts`` (registered by engine.cli) and the glue behind
``guidewalk run --fhir BUNDLE`` and ``run --format fhir``.

    guidewalk fhir-facts GUIDELINE BUNDLE.json [--format yaml|json] [--as-of DATE]
    guidewalk run GUIDELINE --fhir BUNDLE.json [--facts CASE.yaml] [--as-of DATE] [--format text|json|fhir]

Nothing heavy is imported until a command runs; reading a Bundle needs the ``fhir`` extra
(``pip install 'guidewalk[fhir]'``), writing FHIR output does not.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import GuidewalkError

__all__ = ["register", "cmd_fhir_facts", "RunInput", "parse_as_of"]


def register(subparsers: Any) -> None:
    s = subparsers.add_parser("fhir-facts", help="the facts a FHIR R4 Bundle gives a guideline, with their sources, and what could not be mapped")
    s.add_argument("guideline", help="guideline id or path")
    s.add_argument("bundle", metavar="BUNDLE.json", help="a FHIR R4 Bundle (JSON) of one patient's record")
    s.add_argument("--format", choices=("yaml", "json"), default="yaml")
    s.add_argument("--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD for age and staleness (default: today)")
    s.add_argument("--bindings", metavar="FILE", help="FHIR binding table (default: guidelines/bindings/fhir.yaml)")
    s.set_defaults(func=cmd_fhir_facts)


def parse_as_of(text: str | None) -> _dt.date:
    if not text:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(text.strip())
    except ValueError:
        raise GuidewalkError(f"--as-of must be a date YYYY-MM-DD, got {text!r}") from None


def _extract(g: Any, bundle: str, as_of: str | None, bindings_file: str | None = None) -> tuple[Any, Any]:
    from .bindings import load_bindings
    from .bundle import read_bundle
    from .extract import extract

    day = parse_as_of(as_of)
    b = load_bindings(g.dictionary, bindings_file)
    record = read_bundle(bundle)
    return extract(record, b, as_of=day), b


def cmd_fhir_facts(args: argparse.Namespace) -> int:
    from ..facts import check_facts
    from ..load import load_guideline

    g = load_guideline(args.guideline)
    x, _ = _extract(g, args.bundle, args.as_of, args.bindings)
    checked = check_facts(x.facts, g.dictionary, g.derived, x)
    invalid = []
    for e in checked.errors:
        src = x.sources.get(e.fact)
        invalid.append({"fact": e.fact, "message": e.message, "from": src.resource if src else None, "path": src.location.path if src else None,
                        **({"at": str(src.location)} if src and src.location.line else {})})
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
    sys.stderr.write(f"{len(x.facts)} facts from {len(set(s.resource for s in x.sources.values()))} resources; "
                     f"{len(x.not_mapped)} not mapped; {len(invalid)} invalid\n")
    return 2 if invalid else 0


@dataclass
class RunInput:
    """`run --fhir` / `run --format fhir`: the record's facts under the case file's, and the
    output in the asked format."""

    guideline: Any
    raw: dict[str, Any]
    doc: Any
    fmt: str
    extraction: Any = None
    bindings: Any = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def prepare(cls, args: argparse.Namespace, g: Any, raw: dict[str, Any], doc: Any) -> "RunInput":
        from .bindings import load_bindings
        from .extract import merge_case

        bundle = getattr(args, "fhir", None)
        if not bundle:
            return cls(g, raw, doc, args.format, None, load_bindings(g.dictionary))
        x, b = _extract(g, bundle, getattr(args, "as_of", None))
        merged, where = merge_case(x, raw, args.facts or "case file", doc)
        ri = cls(g, merged, where, args.format, x, b)
        over = [f"{k} ({s.overrides['value']!r} from {s.overrides['from']} -> {s.value!r})" for k, s in x.sources.items() if s.overrides]
        ri.notes.append(f"Facts from FHIR record {x.file} as of {x.as_of}: {sum(1 for s in x.sources.values() if s.origin == 'fhir')} mapped, "
                        f"{len(x.not_mapped)} not mapped" + (f"; case file {args.facts}: {len(raw)} facts" if args.facts else ""))
        if over:
            ri.notes.append("The case file overrides: " + "; ".join(over))
        for n in x.not_mapped:
            if n.kind in ("conflict", "stale", "undated", "unit", "value", "future", "absent"):
                ri.notes.append(f"Not used: {n.fact or n.resource}: {n.reason}")
        return ri

    def emit(self, result: Any, out: Callable[[str], None]) -> int:
        from ..trace import dumps, to_text

        if self.extraction is not None:
            from .extract import annotate_errors

            result.errors = annotate_errors(result.errors, self.extraction)
        if self.fmt == "fhir":
            from .output import guidance_bundle

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
