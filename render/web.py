"""`guidewalk serve`: the web stepper — one question per page, on a local server.

Standard library only (``http.server.ThreadingHTTPServer``); pages are server-rendered HTML
forms that work without JavaScript (the page carries no script at all). Each case lives in a
server-side :class:`engine.session.Session` keyed by a random id (``secrets.token_urlsafe``),
with its own lock and a per-case CSRF token that every POST must carry; several clinicians
at once never see each other's cases. Bound to 127.0.0.1 unless told otherwise; every text is
escaped with :func:`html.escape`; request bodies are limited to MAX_BODY bytes; bad input
re-renders the form with a message; an unexpected error gives a plain error page, never a
stack trace. The flowchart SVG (render.graph_svg) and the report (render.report) are shown
when those modules are present.
"""

from __future__ import annotations

import argparse
import html
import secrets
import sys
import threading
import time
import traceback
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping

__all__ = ["register", "cmd_serve", "make_server", "WebApp", "MAX_BODY", "MAX_CASES"]

MAX_BODY = 64 * 1024
MAX_CASES = 1000
CASE_TTL_SECONDS = 12 * 3600


def e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def register(subparsers: Any) -> None:
    s = subparsers.add_parser("serve", help="the web stepper on a local server (one question per page)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--guideline", action="append", metavar="ID_OR_PATH", help="offer this guideline (repeatable; default: every shipped guideline)")
    s.set_defaults(func=cmd_serve)


# --------------------------------------------------------------------------- state


@dataclass
class WebCase:
    id: str
    token: str
    guideline_ref: str
    session: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    touched: float = field(default_factory=time.monotonic)
    questions: int = 0


class WebApp:
    """Guidelines on offer, the cases in progress, and the page builders."""

    def __init__(self, guidelines: list[str] | None = None):
        from guidewalk.engine.load import default_root, guideline_ids

        self.refs: list[str] = list(guidelines) if guidelines else guideline_ids(default_root())
        self._loaded: dict[str, Any] = {}
        self._load_errors: dict[str, str] = {}
        self._glock = threading.Lock()
        self.cases: "OrderedDict[str, WebCase]" = OrderedDict()
        self._clock = threading.Lock()
        self.new_token = secrets.token_urlsafe(24)  # CSRF token of the start form

    # ---- guidelines

    def guideline(self, ref: str) -> Any:
        from guidewalk.engine.errors import GuidewalkError
        from guidewalk.engine.load import load_guideline

        with self._glock:
            if ref in self._loaded:
                return self._loaded[ref]
            try:
                g = load_guideline(ref)
            except GuidewalkError as exc:
                self._load_errors[ref] = str(exc)
                raise
            self._loaded[ref] = g
            return g

    def warm_up(self) -> None:
        """Load every guideline and run one empty case, before threads race for first use."""
        from guidewalk.engine.errors import GuidewalkError
        from guidewalk.engine.walk import run

        for ref in self.refs:
            try:
                g = self.guideline(ref)
                run(g, {})
            except (GuidewalkError, ValueError) as exc:
                sys.stderr.write(f"guidewalk serve: {ref} is not available: {exc}\n")

    # ---- cases

    def new_case(self, ref: str, flowchart: str | None) -> WebCase:
        from guidewalk.engine.session import Session

        g = self.guideline(ref)
        session = Session(g, flowchart=flowchart or None)
        case = WebCase(id=secrets.token_urlsafe(18), token=secrets.token_urlsafe(24), guideline_ref=ref, session=session)
        with self._clock:
            self._expire()
            self.cases[case.id] = case
            while len(self.cases) > MAX_CASES:
                self.cases.popitem(last=False)
        return case

    def case(self, cid: str) -> WebCase | None:
        with self._clock:
            c = self.cases.get(cid)
            if c is not None:
                c.touched = time.monotonic()
                self.cases.move_to_end(cid)
            return c

    def _expire(self) -> None:
        now = time.monotonic()
        for cid in [k for k, c in self.cases.items() if now - c.touched > CASE_TTL_SECONDS]:
            del self.cases[cid]


# --------------------------------------------------------------------------- pages

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:.6em 1.2em}header a{color:#fff}
main{display:flex;gap:1.2em;padding:1em 1.2em;flex-wrap:wrap;align-items:flex-start}
section{background:#fff;border:1px solid #d5dce5;border-radius:6px;padding:1em;min-width:20em;overflow-wrap:anywhere}
#ask{flex:1 1 28em;max-width:44em}#side{flex:1 1 26em}#flow{flex:1 1 100%;overflow:auto}
h1{font-size:1.2em;margin:0}h2{font-size:1.05em;margin:.2em 0 .6em}
.error{background:#fde8e8;border:1px solid #c0392b;color:#7b1d1d;padding:.5em .8em;border-radius:4px}
.ok{background:#e8f6ec;border:1px solid #2e7d4f;padding:.5em .8em;border-radius:4px}
.muted{color:#5b6776;font-size:.9em}label{display:block;margin:.25em 0}
input[type=number],input[type=text],input[type=date],select{font-size:1em;padding:.25em}
button{font-size:1em;padding:.35em .9em;margin:.4em .3em 0 0;cursor:pointer}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #e3e8ee;padding:.2em .5em;text-align:left;vertical-align:top}
.rec{margin:.3em 0}.alert{color:#8a4b00}li{margin:.15em 0}
#flow svg{max-width:100%;height:auto}
"""


def page(title: str, body: str, status: int = 200) -> tuple[int, str]:
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        "<header><h1><a href=\"/\">guidewalk</a> — what the guideline recommends, one question at a time</h1></header>"
        f"{body}<footer class=\"muted\" style=\"padding:0 1.2em 1em\">Decision support: the page shows what the guideline recommends; "
        "the multidisciplinary team decides.</footer></body></html>\n"
    )
    return status, doc


def index_page(app: WebApp, message: str | None = None, status: int = 200) -> tuple[int, str]:
    from guidewalk.engine.errors import GuidewalkError

    rows = []
    for ref in app.refs:
        try:
            g = app.guideline(ref)
        except GuidewalkError:
            rows.append(f"<li>{e(ref)} <span class=\"muted\">(does not load; run guidewalk validate)</span></li>")
            continue
        fcs = "".join(f"<option value=\"{e(f)}\"{' selected' if f == g.entry else ''}>{e(fc.title or f)}</option>" for f, fc in g.flowcharts.items())
        rows.append(
            "<li><form method=\"post\" action=\"/new\">"
            f"<input type=\"hidden\" name=\"csrf\" value=\"{e(app.new_token)}\">"
            f"<input type=\"hidden\" name=\"guideline\" value=\"{e(ref)}\">"
            f"<strong>{e(g.title)}</strong> <span class=\"muted\">{e(g.id)} · version {e(g.version)}</span><br>"
            f"<label>Start at flowchart <select name=\"flowchart\">{fcs}</select></label>"
            f"<button type=\"submit\" name=\"start\" value=\"{e(g.id)}\">Start a case</button></form></li>"
        )
    msg = f"<p class=\"error\" role=\"alert\">{e(message)}</p>" if message else ""
    body = f"<main><section id=\"ask\"><h2>Choose a guideline</h2>{msg}<ul>{''.join(rows) or '<li>No guidelines found.</li>'}</ul></section></main>"
    return page("guidewalk — choose a guideline", body, status)


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else str(v)


def _field(p: Any, value: str | None) -> str:
    """The form field for one pending fact, typed by the fact."""
    name = "value"
    if p.type == "boolean":
        opts = [("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")]
        return "".join(
            f"<label><input type=\"radio\" name=\"{name}\" value=\"{v}\"{' checked' if value == v else ''}{' required' if i == 0 else ''}> {t}</label>"
            for i, (v, t) in enumerate(opts)
        )
    if p.type == "enum":
        choices = "".join(f"<label><input type=\"radio\" name=\"{name}\" value=\"{e(v)}\"{' checked' if value == v else ''}> {e(v.replace('_', ' '))}</label>" for v in p.values)
        return choices + f"<label><input type=\"radio\" name=\"{name}\" value=\"unknown\"{' checked' if value == 'unknown' else ''}> Unknown</label>"
    if p.type == "set":
        chosen = set((value or "").split(",")) if value else set()
        boxes = "".join(f"<label><input type=\"checkbox\" name=\"item\" value=\"{e(v)}\"{' checked' if v in chosen else ''}> {e(v.replace('_', ' '))}</label>" for v in p.values)
        return boxes + "<input type=\"hidden\" name=\"value\" value=\"__set__\"><p class=\"muted\">Tick none for 'none of these'; use the Unknown button if not known.</p>"
    if p.type in ("integer", "number"):
        attrs = [f"name=\"{name}\"", "type=\"number\"", "id=\"answer\"", "required"]
        if p.min is not None:
            attrs.append(f"min=\"{e(_num(p.min))}\"")
        if p.max is not None:
            attrs.append(f"max=\"{e(_num(p.max))}\"")
        attrs.append(f"step=\"{e(_num(p.step))}\"" if p.step else ("step=\"1\"" if p.type == "integer" else "step=\"any\""))
        if value is not None:
            attrs.append(f"value=\"{e(value)}\"")
        unit = f" <span>{e(p.unit)}</span>" if p.unit else ""
        rng = f"{_num(p.min)}–{_num(p.max)}" + (f", steps of {_num(p.step)}" if p.step else "")
        return f"<label>Answer: <input {' '.join(attrs)}>{unit}</label><p class=\"muted\">Valid: {e(rng)}</p>"
    if p.type == "date":
        return f"<label>Date: <input type=\"date\" name=\"{name}\" id=\"answer\" required value=\"{e(value or '')}\"></label>"
    return f"<label>Answer: <input type=\"text\" name=\"{name}\" id=\"answer\" value=\"{e(value or '')}\"></label>"


def _fmt(v: Any) -> str:
    if v is None:
        return "unknown"
    if v is True:
        return "yes"
    if v is False:
        return "no"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "none"
    return str(v)


def _svg(case: WebCase, res: Any) -> str:
    """The flowchart with the path so far, when render.graph_svg is available."""
    try:
        from . import svg as graph_svg
    except Exception:
        return ""
    try:
        g = case.session.guideline
        overlay_fn: Callable[..., Any] | None = getattr(graph_svg, "overlay_from_result", None)
        render_fn: Callable[..., Any] | None = getattr(graph_svg, "render_svg", None)
        if render_fn is None:
            return ""
        ov = overlay_fn(g, res.to_json()) if overlay_fn else None
        svg = render_fn(g, ov, flowchart=case.session.flowchart)
        strip = getattr(graph_svg, "strip_xml_prolog", None)
        svg = strip(svg) if strip else svg[svg.find("<svg"):]
        return str(svg)
    except Exception as exc:  # drawing is optional: say so, never break the page
        return f"<p class=\"muted\">The flowchart could not be drawn ({e(type(exc).__name__)}).</p>"


def case_page(app: WebApp, case: WebCase, *, error: str | None = None, value: str | None = None, status: int = 200, notice: str | None = None) -> tuple[int, str]:
    s = case.session
    g = s.guideline
    res = s.result()
    pending = s.pending()
    cid = e(case.id)
    tok = f"<input type=\"hidden\" name=\"csrf\" value=\"{e(case.token)}\">"
    parts: list[str] = []
    ask: list[str] = [f"<h2>{e(g.title)} <span class=\"muted\">version {e(g.version)} · flowchart {e(s.flowchart)}</span></h2>"]
    if notice:
        ask.append(f"<p class=\"ok\">{e(notice)}</p>")
    if error:
        ask.append(f"<p class=\"error\" role=\"alert\" id=\"error\">Not accepted: {e(error)}</p>")
    if pending:
        p = pending[0]
        deciding = p.node_question or p.node_title or p.node
        src = f"<a href=\"{e(p.node_source_url)}\" rel=\"noreferrer\">{e(p.node_source)}</a>" if p.node_source_url else e(p.node_source or "")
        ask.append(
            f"<form method=\"post\" action=\"/c/{cid}/answer\" id=\"question\">{tok}"
            f"<input type=\"hidden\" name=\"fact\" value=\"{e(p.fact)}\">"
            f"<p><strong id=\"q\">Question {len(s.facts) + 1}: {e(p.question)}</strong>"
            + (f" <span class=\"muted\">[{e(p.unit)}]</span>" if p.unit else "")
            + "</p>"
            + _field(p, value)
            + "<div><button type=\"submit\" name=\"action\" value=\"answer\" id=\"submit\">Answer</button>"
            "<button type=\"submit\" name=\"action\" value=\"unknown\" formnovalidate id=\"unknown\">Unknown / skip</button></div></form>"
            + (f"<details><summary>Help and source</summary><p>{e(p.help)}</p>" if p.help else "<details><summary>Help and source</summary>")
            + f"<p>This answer helps decide: <em>{e(deciding)}</em> (decision <code>{e(p.node)}</code>)</p><ul>"
            + "".join(f"<li>{e(b)}</li>" for b in p.branches)
            + "</ul>"
            + (f"<p>Note: {e(p.node_note)}</p>" if p.node_note else "")
            + (f"<p>Source: {src}</p>" if src else "")
            + (f"<p>Fact source: {e(p.fact_source)}</p>" if p.fact_source else "")
            + "</details>"
        )
    else:
        if res.status == "complete":
            ask.append("<p class=\"ok\" id=\"done\">The walk is complete.</p>")
        elif res.status == "needs_facts":
            ask.append("<p class=\"error\" id=\"done\">The walk cannot go further: the facts that would decide the next step were answered 'unknown'.</p>")
        else:
            ask.append("<p class=\"error\" id=\"done\">The case has invalid facts.</p>")
    ask.append(
        f"<form method=\"post\" action=\"/c/{cid}/back\" style=\"display:inline\">{tok}<button type=\"submit\" id=\"back\"{'' if s.can_undo() else ' disabled'}>Back</button></form>"
        f" <a href=\"/c/{cid}/case.yaml\" id=\"download-case\" download>Download case (YAML)</a>"
        + (f" · <a href=\"/c/{cid}/report.html\" id=\"download-report\" download>Download report (HTML)</a>" if _report_available() else "")
        + " · <a href=\"/\">New case</a>"
    )
    if res.recommendations:
        ask.append("<h2>The guideline recommends</h2><div id=\"recommendations\">")
        for r in res.recommendations:
            ask.append(f"<p class=\"rec\">• {e(r.text)} <span class=\"muted\">[{e(', '.join(r.actions))}]" + (f" — {e(r.source.short())}" if r.source else "") + "</span></p>")
        ask.append("</div>")
    if res.alerts:
        ask.append("<h2>Alerts</h2><ul id=\"alerts\">" + "".join(f"<li class=\"alert\">[{e(a.severity)}] {e(a.text)}</li>" for a in res.alerts) + "</ul>")
    parts.append(f"<section id=\"ask\">{''.join(ask)}</section>")

    side: list[str] = []
    try:
        reach = s.reachable()
        side.append("<h2>Still reachable</h2><ul id=\"reachable\">")
        for nid in reach:
            n = g.nodes[nid]
            side.append(f"<li><code>{e(nid)}</code> {e(n.text or ', '.join(n.actions))}</li>")
        side.append("</ul>")
    except ValueError as exc:
        side.append(f"<p class=\"muted\">Reachable recommendations not available: {e(exc)}</p>")
    if s.facts:
        side.append("<h2>Answers</h2><table id=\"answers\">")
        unused = set(res.unused_facts)
        for k, v in s.facts.items():
            mark = " <span class=\"muted\">(not used by the current path)</span>" if k in unused else ""
            side.append(f"<tr><td>{e(k)}</td><td>{e(_fmt(v))}{mark}</td></tr>")
        side.append("</table>")
    side.append("<h2>Trace</h2><ol id=\"trace\">")
    for st in res.trace:
        label = st.question or st.title or st.text or ""
        if st.kind == "decision":
            how = f" → {st.taken} ({st.how})" if st.taken else " (being decided)"
        else:
            how = ""
        side.append(f"<li><code>{e(st.node)}</code> {e(label)}<span class=\"muted\">{e(how)}</span></li>")
    side.append("</ol>")
    parts.append(f"<section id=\"side\">{''.join(side)}</section>")
    svg = _svg(case, res)
    if svg:
        parts.append(f"<section id=\"flow\"><h2>Flowchart (path so far highlighted)</h2>{svg}</section>")
    return page(f"guidewalk — {g.title}", f"<main>{''.join(parts)}</main>", status)


def _report_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("render.report") is not None
    except (ImportError, ValueError):
        return False


def report_html(case: WebCase) -> str | None:
    try:
        from . import report
    except Exception:
        return None
    make_record = getattr(report, "make_record", None)
    render_html = getattr(report, "render_html", None)
    if make_record is None or render_html is None:
        return None
    s = case.session
    record = make_record(s.guideline, s.result(), flowchart_requested=s.flowchart, case_file=None, guideline_ref=case.guideline_ref)
    return str(render_html(s.guideline, record))


def case_yaml(case: WebCase) -> str:
    import yaml

    facts = case.session.facts
    head = f"# guidewalk case for {case.session.guideline.id} (flowchart {case.session.flowchart}); null = asked, not known\n"
    return head + (yaml.safe_dump(facts, sort_keys=False, allow_unicode=True) if facts else "{}\n")


# --------------------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    server_version = "guidewalk"
    sys_version = ""
    app: WebApp  # set on the subclass by make_server
    quiet = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    # ---- responses

    def _send(self, status: int, body: str | bytes, ctype: str = "text/html; charset=utf-8", extra: Mapping[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self._send(303, "", extra={"Location": location})

    def _error(self, status: int, message: str) -> None:
        st, doc = page("guidewalk — error", f"<main><section id=\"ask\"><p class=\"error\" role=\"alert\">{e(message)}</p><p><a href=\"/\">Start page</a></p></section></main>", status)
        self._send(st, doc)

    # ---- dispatch

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # never show a stack trace to the browser
            traceback.print_exc(file=sys.stderr)
            try:
                self._error(500, "Something went wrong on the server; the case is unchanged. Please go back and try again.")
            except Exception:
                pass

    def _path(self) -> list[str]:
        path = urllib.parse.urlsplit(self.path).path
        return [urllib.parse.unquote(p) for p in path.split("/") if p]

    def _get(self) -> None:
        parts = self._path()
        app = self.app
        if not parts:
            self._send(*index_page(app))
            return
        if parts == ["favicon.ico"]:
            self._send(404, "", "text/plain")
            return
        if len(parts) >= 2 and parts[0] == "c":
            case = app.case(parts[1])
            if case is None:
                self._error(404, "No such case (it may have expired). Start a new one.")
                return
            with case.lock:
                if len(parts) == 2:
                    status, doc = case_page(app, case)
                    self._send(status, doc)
                    return
                if parts[2:] == ["case.yaml"]:
                    self._send(200, case_yaml(case), "application/yaml; charset=utf-8", {"Content-Disposition": f"attachment; filename=\"{case.session.guideline.id}-case.yaml\""})
                    return
                if parts[2:] == ["report.html"]:
                    report = report_html(case)
                    if report is None:
                        self._error(404, "The report is not available in this installation.")
                        return
                    self._send(200, report, extra={"Content-Disposition": f"attachment; filename=\"{case.session.guideline.id}-report.html\""})
                    return
                if parts[2:] == ["state.json"]:
                    import json

                    self._send(200, json.dumps({"facts": case.session.facts, "status": case.session.result().status, "path": case.session.result().path}), "application/json")
                    return
        self._error(404, "Not found.")

    def _form(self) -> dict[str, list[str]] | None:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self._error(411, "A form must say how long it is.")
            return None
        try:
            length = int(length_text)
        except ValueError:
            self._error(400, "Bad request.")
            return None
        if length < 0 or length > MAX_BODY:
            self._error(413, f"The form is too large (at most {MAX_BODY} bytes).")
            self.close_connection = True
            return None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        raw = self.rfile.read(length)
        if ctype not in ("application/x-www-form-urlencoded", ""):
            self._error(415, "Forms are sent as application/x-www-form-urlencoded.")
            return None
        try:
            return urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            self._error(400, "The form could not be read.")
            return None

    def _post(self) -> None:
        parts = self._path()
        app = self.app
        form = self._form()
        if form is None:
            return

        def one(name: str) -> str | None:
            v = form.get(name)
            return v[0] if v else None

        if parts == ["new"]:
            if not secrets.compare_digest(one("csrf") or "", app.new_token):
                self._error(403, "The form has expired; reload the start page.")
                return
            ref = one("guideline") or ""
            if ref not in app.refs:
                status, doc = index_page(app, "Choose one of the guidelines listed.", 400)
                self._send(status, doc)
                return
            try:
                case = app.new_case(ref, one("flowchart"))
            except Exception as exc:
                status, doc = index_page(app, f"Could not start a case: {type(exc).__name__}: {exc}", 400)
                self._send(status, doc)
                return
            self._redirect(f"/c/{case.id}")
            return
        if len(parts) == 3 and parts[0] == "c" and parts[2] in ("answer", "back"):
            found = app.case(parts[1])
            if found is None:
                self._error(404, "No such case (it may have expired). Start a new one.")
                return
            case = found
            if not secrets.compare_digest(one("csrf") or "", case.token):
                self._error(403, "The form does not belong to this case; reload the page.")
                return
            with case.lock:
                if parts[2] == "back":
                    case.session.undo()
                    self._redirect(f"/c/{case.id}")
                    return
                self._answer(case, form, one)
            return
        self._error(404, "Not found.")

    def _answer(self, case: WebCase, form: Mapping[str, list[str]], one: Callable[[str], str | None]) -> None:
        s = case.session
        pending = s.pending()
        fact = one("fact") or ""
        if not pending or fact != pending[0].fact:
            # a stale form (e.g. the browser's back button): show the current question
            status, doc = case_page(self.app, case, notice="That question is no longer the current one; here is the current question.")
            self._send(status, doc)
            return
        p = pending[0]
        action = one("action") or "answer"
        raw = one("value")
        if action == "unknown":
            value: Any = None
        elif p.type == "set" and raw == "__set__":
            value = list(form.get("item", []))
        else:
            if raw is None or raw.strip() == "":
                status, doc = case_page(self.app, case, error="please give an answer, or choose Unknown / skip.", status=422)
                self._send(status, doc)
                return
            value = raw
        try:
            s.answer(fact, value)
        except ValueError as exc:
            reason = getattr(exc, "reason", str(exc))
            status, doc = case_page(self.app, case, error=str(reason), value=raw, status=422)
            self._send(status, doc)
            return
        case.questions += 1
        self._redirect(f"/c/{case.id}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: many clinicians connecting at once


def make_server(host: str = "127.0.0.1", port: int = 8080, guidelines: list[str] | None = None, *, quiet: bool = False) -> tuple[ThreadingHTTPServer, WebApp]:
    """A ready server (not yet serving) and its app; port 0 picks a free port."""
    app = WebApp(guidelines)
    app.warm_up()
    handler = type("BoundHandler", (Handler,), {"app": app, "quiet": quiet})
    server = _Server((host, port), handler)
    return server, app


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
