"""Every `guidewalk` sub-command's arguments, in one place (the only module that builds argparse
parsers). Each sub-command names its handler as ``"module:function"`` inside this package; the
handler's module is imported only when that command runs, so `guidewalk run` does not pay for
z3, graphviz or the web server."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["build_parser", "command_in", "COMMANDS", "EXIT_CODES"]

EXIT_CODES = (
    (0, "success (`run`: complete, or stopped because facts are needed)"),
    (1, "findings: validate/lint errors, replay differences, stale flowcharts, a failing golden case"),
    (2, "bad input or usage: invalid facts, an unusable guideline, a missing file or extra"),
    (3, "internal error in guidewalk (a bug: please report it with the command)"),
    (130, "interrupted (Ctrl-C); what was saved is said"),
)

_EPILOG = (
    "exit codes:\n" + "".join(f"  {code:<4} {what}\n" for code, what in EXIT_CODES) + "\nenvironment:\n"
    "  GUIDEWALK_GUIDELINES  a guidelines folder of your own (default: the shipped guidelines)\n"
    "  GUIDEWALK_RULES       rules backend: auto | builtin | durable_rules\n"
    "  GUIDEWALK_CACHE       folder for compiled guidelines (default: the user's cache folder); 0: off\n"
    "  NO_COLOR              no colour in terminal output (also --color never)\n"
    "\nIt is decision support: it shows what the guideline recommends; clinicians decide."
)

_BACKENDS = ("auto", "builtin", "durable_rules")

#: every sub-command, in the order `guidewalk --help` lists them
COMMANDS = (
    "list",
    "run",
    "facts",
    "score",
    "completion",
    "step",
    "serve",
    "fhir-facts",
    "cds-hooks",
    "render",
    "report",
    "replay",
    "audit",
    "cohort",
    "validate",
    "test",
    "lint",
    "why-not",
    "diff",
    "schema",
)


def _formats(s: argparse.ArgumentParser, *choices: str, default: str | None = None) -> None:
    s.add_argument("--format", choices=choices, default=default if default is not None else choices[0], help="output format (default: %(default)s)")


def _server(s: argparse.ArgumentParser, port: int, db: str) -> None:
    """Where a server listens (this machine only unless told) and the SQLite file it keeps."""
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=port)
    s.add_argument("--db", metavar="FILE", help=f"SQLite file {db} (default: in the user's data directory)")


def _case(s: argparse.ArgumentParser, *, required: bool = False) -> None:
    s.add_argument("--facts", metavar="CASE", required=required, help="case file: a YAML or JSON mapping of fact name to value")


def _walk_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--flowchart", help="start at this flowchart instead of the entry one")
    s.add_argument("--overlay", action="append", metavar="FILE", help="local protocol overlay (repeatable)")
    s.add_argument("--rules", choices=_BACKENDS, default=None, help="rules backend (default: durable_rules where it loads)")


def _command(sub: Any, name: str, handler: str, help: str, **kw: Any) -> argparse.ArgumentParser:
    s: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, **kw)
    s.set_defaults(handler=handler)
    return s


def command_in(argv: list[str]) -> str | None:
    """The sub-command named in `argv` (the first word that is one), if any."""
    return next((a for a in argv if a in COMMANDS), None)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command; with `only`, of that sub-command alone (what one
    command line needs: argparse pays for every argument it is given)."""

    def want(name: str) -> bool:
        return only is None or name == only

    p = argparse.ArgumentParser(
        prog="guidewalk",
        description="Walk clinical practice guidelines written as YAML decision graphs; every step traced.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="store_true", help="show version and the active rules backend")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour in terminal output (default: auto; NO_COLOR turns it off)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    # -- everyone
    if want("list"):
        s = _command(sub, "list", "core:cmd_list", "the guidelines available, with id and version; --coverage: their modules and how far each is encoded")
        s.add_argument(
            "--coverage",
            nargs="?",
            const="",
            metavar="GUIDELINE",
            help="every module of the guideline text (of each guideline, or of GUIDELINE) with its coverage (encoded | partly | not encoded), the reason, and totals",
        )
        _formats(s, "text", "json")

    if want("run"):
        s = _command(sub, "run", "core:cmd_run", "walk a guideline for one case")
        s.add_argument("guideline", help="guideline id or path")
        _case(s)
        s.add_argument("--fhir", metavar="BUNDLE", help="read facts from a FHIR R4 Bundle (JSON); --facts then overrides them (needs guidewalk[fhir])")
        s.add_argument("--as-of", metavar="DATE", help="with --fhir: evaluation date YYYY-MM-DD for age and staleness (default: today)")
        _walk_options(s)
        s.add_argument(
            "--format",
            choices=("text", "json", "fhir"),
            default="text",
            help="text (default), json (the result contract) or fhir (a GuidanceResponse + RequestGroup + Provenance Bundle)",
        )

    if want("facts"):
        s = _command(sub, "facts", "core:cmd_facts", "the facts a guideline may ask, with types, units, ranges")
        s.add_argument("guideline", help="guideline id or path")
        _formats(s, "text", "json")

    if want("score"):
        s = _command(sub, "score", "core:cmd_score", "one score as a calculator (inputs, points, total, class, survival, source)")
        s.add_argument("name", nargs="?", help="score id (see --list)")
        s.add_argument("--facts", metavar="FILE", help="case file with the score's inputs")
        s.add_argument("--list", action="store_true", help="list the scores")
        s.add_argument("--describe", action="store_true", help="the score's inputs and source")
        _formats(s, "text", "json")

    if want("completion"):
        s = _command(sub, "completion", "core:cmd_completion", "print a shell completion script (bash, zsh or tcsh)")
        s.add_argument("shell", choices=("bash", "zsh", "tcsh"))

    # -- clinicians
    if want("step"):
        s = _command(sub, "step", "clinician:cmd_step", "step through a case one question at a time (saved after every answer)")
        s.add_argument("guideline", help="guideline id or path")
        s.add_argument("--facts", metavar="PARTIAL", help="resume from this case file")
        s.add_argument("--save", metavar="CASE.yaml", help="save the case here after every answer (default: the --facts file, else ./<guideline>-case.yaml)")
        s.add_argument("--flowchart", help="start at this flowchart instead of the entry one")

    if want("serve"):
        s = _command(sub, "serve", "clinician:cmd_serve", "the web stepper on a local server (one question per page)")
        _server(s, 8080, "that keeps the cases and their history")
        s.add_argument("--guideline", action="append", metavar="ID_OR_PATH", help="offer this guideline (repeatable; default: every shipped guideline)")
        s.add_argument(
            "--allow-host",
            action="append",
            default=[],
            metavar="NAME",
            help="also answer requests for this host name (repeatable; loopback names and the --host address always are)",
        )
        s.add_argument("--max-cases", type=int, default=None, metavar="N", help="cases the server keeps at most (default 20,000); new ones are refused past it")
        s.add_argument("--max-cases-per-browser", type=int, default=None, metavar="N", help="cases one browser may keep (default 200)")

    # -- the EHR
    if want("fhir-facts"):
        s = _command(sub, "fhir-facts", "ehr:cmd_fhir_facts", "the facts a FHIR R4 Bundle gives a guideline, with their sources, and what could not be mapped")
        s.add_argument("guideline", help="guideline id or path")
        s.add_argument("bundle", metavar="BUNDLE.json", help="a FHIR R4 Bundle (JSON) of one patient's record")
        _formats(s, "yaml", "json")
        s.add_argument("--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD for age and staleness (default: today)")
        s.add_argument("--bindings", metavar="FILE", help="FHIR binding table (default: guidelines/bindings/fhir.yaml)")

    if want("cds-hooks"):
        s = _command(sub, "cds-hooks", "ehr:cmd_cds_hooks", "a CDS Hooks 2.0 service: the guidelines' advice as cards in the EHR (needs guidewalk[fhir])")
        _server(s, 8090, "for cards and feedback")
        s.add_argument(
            "--issuer",
            action="append",
            default=[],
            metavar="ISS=JWKS",
            help="trust JWTs from issuer ISS, verified with the JWK Set at URL or in a file (repeatable)",
        )
        s.add_argument("--jku", action="append", default=[], metavar="ISS=URL", help="a further JWK Set URL issuer ISS may name in the jku header (repeatable)")
        s.add_argument("--base-url", metavar="URL", help="the service's public base URL, for the JWT audience and report links (default: from each request)")
        s.add_argument(
            "--cors-origin",
            action="append",
            default=[],
            metavar="ORIGIN",
            help="allow browser calls from this origin, e.g. https://sandbox.cds-hooks.org (repeatable)",
        )
        s.add_argument("--guideline", action="append", metavar="ID_OR_PATH", help="offer this guideline (repeatable; default: every shipped guideline)")
        s.add_argument("--dev", action="store_true", help="development only: accept calls without a JWT from this machine; needs a loopback --host")
        s.add_argument("--ssl-keyfile", metavar="KEY")
        s.add_argument("--ssl-certfile", metavar="CERT")
        s.add_argument("--as-of", metavar="DATE", help="evaluate as if today were DATE (only to demonstrate historical records; default: today)")
        s.add_argument("--log-level", choices=("warning", "info", "debug"), default="info")

    # -- auditors
    if want("render"):
        s = _command(sub, "render", "auditor:cmd_render", "draw a guideline as an SVG flowchart, optionally with a case's path")
        s.add_argument("guideline", nargs="?", help="guideline id or path (omit with --all)")
        s.add_argument("-o", "--output", metavar="FILE", help="SVG file to write (default: stdout); with --all: the folder (default: the shipped flowcharts)")
        case = s.add_mutually_exclusive_group()
        case.add_argument("--facts", metavar="CASE", help="walk this case and draw its path")
        case.add_argument("--trace", metavar="RESULT.json", help="draw the path of a saved run (`run --format json`) or report record")
        _walk_options(s)
        s.add_argument("--all", action="store_true", help="rebuild the SVGs of every guideline (<id>.svg and <id>--<flowchart>.svg)")
        s.add_argument("--check", action="store_true", help="with --all: write nothing; exit 1 if a committed SVG is stale, missing or extra")

    if want("report"):
        s = _command(sub, "report", "auditor:cmd_report", "a self-contained HTML report (or JSON record) of one case, for the patient record")
        s.add_argument("guideline", help="guideline id or path")
        _case(s, required=True)
        s.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
        s.add_argument("--format", choices=("html", "json"), default=None, help="html (default) or json (the replayable record); default from the -o suffix")
        _walk_options(s)
        s.add_argument(
            "--why-not",
            action="append",
            metavar="TARGET",
            dest="why_not",
            help="also explain the smallest change of facts that would lead to this node or action code (repeatable)",
        )
        s.add_argument("--patient-id", metavar="PSEUDONYM", help="the patient's pseudonymous id for the report header (never a BSN; stored in the record)")
        s.add_argument("--date", metavar="YYYY-MM-DD", help="the date of the consultation or meeting, for the report header")
        s.add_argument("--mdo", metavar="TEXT", help="the multidisciplinary meeting (MDO) that discussed the case, for the report header")

    if want("replay"):
        s = _command(sub, "replay", "auditor:cmd_replay", "re-run a recorded case (report JSON or HTML) with the current guideline and engine")
        s.add_argument("record", help="record made by `guidewalk report --format json` (or the HTML report)")
        s.add_argument("--guideline", metavar="PATH", help="guideline id or path to replay against (default: the recorded one)")
        s.add_argument("--rules", choices=_BACKENDS, default=None)
        _formats(s, "text", "json")

    if want("audit"):
        s = _command(sub, "audit", "cohort:cmd_audit", "audit a cohort (CSV, JSON Lines, Parquet) against a guideline: per patient and concordance")
        s.add_argument("guideline", help="guideline id or path")
        s.add_argument("cohort", help="cohort file: .csv, .jsonl or .parquet; columns are fact names (see --mapping)")
        s.add_argument("--actual", metavar="COLUMN", help="column with the action code(s) actually done, for concordance")
        s.add_argument(
            "--reason",
            metavar="COLUMN",
            help="with --actual: column with the reason recorded for a deviation (deviations with and without a reason, per decision)",
        )
        s.add_argument(
            "--mapping", metavar="MAP.yaml", help="rename columns and recode values: `column: fact` or `column: {fact: name, values: {code: value}}`"
        )
        s.add_argument("--flowchart", help="flowchart to walk (default: the guideline's entry flowchart)")
        s.add_argument("-o", "--output", metavar="OUT.jsonl", help="per-patient results as JSON Lines (default: stdout)")
        s.add_argument("--summary", metavar="SUMMARY.json", help="write the summary as JSON")
        s.add_argument("--html", metavar="SUMMARY.html", help="write the summary as a self-contained HTML page with charts")
        s.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: all cores; 1: in this process)")
        s.add_argument("--dask", nargs="?", const="local", metavar="ADDRESS", help="run the chunks on a Dask cluster (scheduler address, or a local cluster)")
        s.add_argument(
            "--engine",
            choices=("fast", "walk"),
            default="fast",
            help="fast: memoised trace-free walker (builtin rules); walk: the full traced walk per patient",
        )
        s.add_argument("--rules", choices=_BACKENDS, default="builtin", help="rules backend with --engine walk")
        s.add_argument("--id", metavar="COLUMN", help="column with a patient identifier to copy into the per-patient output")
        s.add_argument("--format", choices=("csv", "jsonl", "parquet"), help="input format (default: from the suffix)")
        s.add_argument(
            "--delimiter",
            choices=(",", ";", "tab"),
            help="CSV field separator (default: found from the header; Dutch Excel writes ';')",
        )
        s.add_argument(
            "--encoding",
            metavar="ENC",
            help="text encoding of a CSV or JSON Lines file (default: UTF-8; Dutch Excel writes cp1252); a file that is not UTF-8 is refused",
        )
        s.add_argument(
            "--locale",
            choices=("nl", "en"),
            help="read numbers written with separators: nl = 1.000,5 (Dutch Excel), en = 1,000.5 (default: such numbers are refused with the reason)",
        )
        s.add_argument("--overlay", action="append", metavar="FILE", help="local protocol overlay (repeatable)")
        s.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no text summary")

    if want("cohort"):
        s = _command(sub, "cohort", "cohort:cmd_cohort", "write a seeded synthetic cohort (no real patient data) with planted deviations")
        s.add_argument("guideline", help="guideline id or path")
        s.add_argument("output", help="output file: .csv, .jsonl or .parquet")
        s.add_argument("--rows", type=int, default=10_000)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--flowchart", help="flowchart whose facts to generate (default: the entry flowchart)")
        s.add_argument("--deviation-rate", type=float, default=0.1, help="share of assessable patients whose actual treatment deviates")
        s.add_argument("--missing-rate", type=float, default=0.02, help="share of missing cells")
        s.add_argument("--no-actual-rate", type=float, default=0.01, help="share of patients without an actual treatment")
        s.add_argument("--invalid-rate", type=float, default=0.0, help="share of rows with a planted invalid value")
        s.add_argument("--truth", metavar="TRUTH.json", help="write what was planted (deviating rows, counts)")

    # -- guideline authors
    if want("validate"):
        s = _command(sub, "validate", "core:cmd_validate", "load and check guideline files; errors as path:line:col")
        s.add_argument("paths", nargs="*", help="guideline files or folders (default: all shipped guidelines and scores)")
        _formats(s, "text", "json")

    if want("test"):
        s = _command(sub, "test", "author:cmd_test", "run golden cases (facts in, expected outcome out): one line per case, a diff for each failure")
        s.add_argument("paths", nargs="*", metavar="PATH", help="golden case files or folders (default: tests/cases, when it exists)")
        s.add_argument("--guideline", metavar="ID_OR_PATH", help="the guideline of cases that do not name one and whose folder is not a guideline id")
        s.add_argument("--rules", choices=_BACKENDS, default=None, help="rules backend (default: durable_rules where it loads)")
        s.add_argument("--quiet", "-q", action="store_true", help="print only failures and the count")
        _formats(s, "text", "json")

    if want("lint"):
        s = _command(sub, "lint", "author:cmd_lint", "prove every decision covers every patient exactly once (gaps, overlaps, unreachable nodes, ...)")
        s.add_argument("guidelines", nargs="*", metavar="GUIDELINE", help="ids, files or folders (default: every shipped guideline)")
        _formats(s, "text", "json")
        s.add_argument("--min-severity", choices=("error", "warning", "info"), default="info", help="hide findings below this severity")
        s.add_argument("--no-unknowns", action="store_true", help="skip the per-decision report of facts whose absence stops the walk")

    if want("why-not"):
        s = _command(sub, "why-not", "author:cmd_why_not", "the smallest change of a case's facts that would lead to a node or action")
        s.add_argument("guideline", help="guideline id or path")
        _case(s)
        s.add_argument("--target", required=True, metavar="NODE_OR_ACTION", help="a node id or an action code")
        s.add_argument("--flowchart", help="start at this flowchart instead of the entry one")
        _formats(s, "text", "json")

    if want("diff"):
        s = _command(sub, "diff", "author:cmd_diff", "structural changes between two guideline versions and the patients whose recommendation changes")
        s.add_argument("old", help="old guideline file or folder")
        s.add_argument("new", help="new guideline file or folder")
        s.add_argument("--flowchart", help="compare walks from this flowchart (default: each version's entry)")
        s.add_argument("--max-regions", type=int, default=30)
        _formats(s, "text", "json")

    if want("schema"):
        s = _command(sub, "schema", "author:cmd_schema", "print the JSON Schema of guideline files (for editors)")
        s.add_argument("--kind", choices=("guideline", "facts", "actions", "score", "overlay", "modules"), default="guideline")
        s.add_argument("--path", action="store_true", help="print where the shipped schema file is")
        s.add_argument("--write", action="store_true", help="regenerate the shipped schema files")
        s.add_argument("--markdown", action="store_true", help="print the format reference (every element and key) as Markdown")
    return p
