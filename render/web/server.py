"""The web stepper's HTTP side: the request handler (routes, forms, CSRF, limits) and make_server."""

from __future__ import annotations

import secrets
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .downloads import case_yaml, report_html
from .pages import case_page, error_page, index_page
from .state import WebApp, WebCase

__all__ = ["Handler", "make_server", "MAX_BODY"]

MAX_BODY = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    server_version = "guidewalk"
    sys_version = ""
    app: WebApp  # set on the subclass by make_server
    quiet = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

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
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self._send(303, "", extra={"Location": location})

    def _error(self, status: int, message: str) -> None:
        self._send(*error_page(status, message))

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
                    self._send(
                        200,
                        case_yaml(case),
                        "application/yaml; charset=utf-8",
                        {"Content-Disposition": f'attachment; filename="{case.session.guideline.id}-case.yaml"'},
                    )
                    return
                if parts[2:] == ["report.html"]:
                    report = report_html(case)
                    if report is None:
                        self._error(404, "The report is not available in this installation.")
                        return
                    self._send(200, report, extra={"Content-Disposition": f'attachment; filename="{case.session.guideline.id}-report.html"'})
                    return
                if parts[2:] == ["state.json"]:
                    import json

                    self._send(
                        200,
                        json.dumps({"facts": case.session.facts, "status": case.session.result().status, "path": case.session.result().path}),
                        "application/json",
                    )
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
