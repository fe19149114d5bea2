"""The web stepper's HTTP side: the request handler (routes, forms, CSRF, owners, limits) and a
server with a bounded pool of worker threads (:func:`make_server`)."""

from __future__ import annotations

import json
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from .downloads import case_yaml, read_saved_case, report_html
from .pages import case_page, confirm_delete_page, error_page, index_page
from .pool import MAX_PENDING, WORKERS, PooledServer, preread
from .security import IDLE_SECONDS, REQUEST_SECONDS, allowed_hosts, csp, host_allowed, new_owner_cookie, origin_allowed, owner_cookie
from .state import MAX_CASES, MAX_CASES_PER_OWNER, QuotaError, WebApp, WebCase

__all__ = ["Handler", "PooledServer", "make_server", "MAX_BODY", "MAX_UPLOAD", "WORKERS"]

MAX_BODY = 64 * 1024
MAX_UPLOAD = 256 * 1024
MAX_TEXT = 2000  # a reason, a name: at most this many characters


class Handler(BaseHTTPRequestHandler):
    server_version = "guidewalk"
    sys_version = ""
    timeout = IDLE_SECONDS  # a response's writes wait at most this long for a client to read
    app: WebApp  # set on the subclass by make_server
    allowed: frozenset[str] = frozenset()
    quiet = False

    def setup(self) -> None:
        super().setup()
        preread(self)  # the request arrived whole before a worker took it (pool.PooledServer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # ---- responses

    def _send(self, status: int, body: str | bytes, ctype: str = "text/html; charset=utf-8", extra: Mapping[str, str] | None = None) -> None:
        from .flow import ZOOM_SCRIPT

        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Content-Security-Policy", csp(ZOOM_SCRIPT))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        cookie = getattr(self, "_cookie", None)
        if cookie:
            self.send_header("Set-Cookie", cookie)
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
        self._cookie: str | None = None
        try:
            if not host_allowed(self.headers.get("Host"), self.allowed):  # DNS rebinding: only names we answer for
                self.close_connection = True
                self._send(421, f"This server does not answer for host {self.headers.get('Host')!r}.\n", "text/plain; charset=utf-8")
                return
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

    def _owner(self, *, create: bool = False) -> str | None:
        """This browser's owner id (from its cookie); with `create`, a new one when it has none."""
        token = owner_cookie(self.headers.get("Cookie"))
        if token is None and create:
            token, self._cookie = new_owner_cookie()
        return self.app.owner_id(token) if token else None

    def _case(self, cid: str, owner: str | None) -> WebCase | None:
        return self.app.case(cid, owner) if owner else None

    def _get(self) -> None:
        parts = self._path()
        app = self.app
        if not parts:
            self._send(*index_page(app, self._owner(create=True) or ""))
            return
        if parts == ["favicon.ico"]:
            self._send(404, "", "text/plain")
            return
        if len(parts) in (2, 3) and parts[0] == "c":
            owner = self._owner()
            with app.lock(parts[1]):
                case = self._case(parts[1], owner)
                if case is None:
                    self._error(404, "No such case in this browser. Start a new one, or resume a saved case file from the start page.")
                    return
                self._case_get(case, parts[2:], owner or "")
            return
        self._error(404, "Not found.")

    def _case_get(self, case: WebCase, rest: list[str], owner: str) -> None:
        gid = case.session.guideline.id
        if not rest:
            self._send(*case_page(self.app, case, self.app.owner_name(owner)))
        elif rest == ["case.yaml"]:
            self._send(200, case_yaml(case), "application/yaml; charset=utf-8", {"Content-Disposition": f'attachment; filename="{gid}-case.yaml"'})
        elif rest == ["report.html"]:
            report = report_html(case)
            if report is None:
                self._error(404, "The report is not available in this installation.")
                return
            self._send(200, report, extra={"Content-Disposition": f'attachment; filename="{gid}-report.html"'})
        elif rest == ["state.json"]:
            s = case.session
            state = {"facts": s.facts, "status": s.result().status, "path": s.result().path, "events": case.seq}
            if case.decision is not None:
                state["clinician_decision"] = dict(case.decision.to_json())
            self._send(200, json.dumps(state), "application/json")
        else:
            self._error(404, "Not found.")

    def _body(self, limit: int) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self._error(411, "A form must say how long it is.")
            return None
        try:
            length = int(length_text)
        except ValueError:
            self._error(400, "Bad request.")
            return None
        if length < 0 or length > limit:
            self.close_connection = True
            self._error(413, f"The form is too large (at most {limit} bytes).")
            return None
        return self.rfile.read(length)

    def _form(self, raw: bytes) -> dict[str, list[str]] | None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("application/x-www-form-urlencoded", ""):
            self._error(415, "Forms are sent as application/x-www-form-urlencoded.")
            return None
        try:
            return urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=400, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            self._error(400, "The form could not be read.")
            return None

    def _post(self) -> None:
        parts = self._path()
        app = self.app
        if not origin_allowed(self.headers, self.allowed):
            self._error(403, "The form came from another site; it was refused.")
            return
        upload = parts == ["upload"]
        raw = self._body(MAX_UPLOAD if upload else MAX_BODY)
        if raw is None:
            return
        owner = self._owner()
        if owner is None:
            self._error(403, "This browser sent no guidewalk cookie (cookies are needed to keep your cases apart). Reload the start page and try again.")
            return
        if upload:
            self._upload(owner, raw)
            return
        form = self._form(raw)
        if form is None:
            return

        def one(name: str) -> str | None:
            v = form.get(name)
            return v[0] if v else None

        if parts in (["new"], ["name"]):
            if not app.check_new_token(owner, one("csrf") or ""):
                self._error(403, "The form has expired; reload the start page.")
                return
            if parts == ["name"]:
                name = _text(one("name"))
                if not name:
                    self._send(*index_page(app, owner, "Please enter your name.", 400))
                    return
                app.set_owner_name(owner, name)
                self._redirect("/")
                return
            self._new(owner, one("guideline") or "", one("flowchart"))
            return
        if len(parts) == 3 and parts[0] == "c" and parts[2] in ("answer", "back", "decision", "delete"):
            with app.lock(parts[1]):
                case = self._case(parts[1], owner)
                if case is None:
                    self._error(404, "No such case in this browser. Start a new one.")
                    return
                if not _same(one("csrf") or "", case.token):
                    self._error(403, "The form does not belong to this case; reload the page.")
                    return
                by = app.owner_name(owner)
                if parts[2] == "back":
                    app.back(case, by)
                    self._redirect(f"/c/{case.id}")
                elif parts[2] == "delete":
                    if one("confirm") != "yes":
                        self._send(*confirm_delete_page(case))
                        return
                    app.delete(case)
                    self._redirect("/")
                elif parts[2] == "decision":
                    self._decision(case, form, by)
                else:
                    self._answer(case, form, one, by)
            return
        self._error(404, "Not found.")

    def _new(self, owner: str, ref: str, flowchart: str | None) -> None:
        app = self.app
        by = app.owner_name(owner)
        if ref not in app.refs:
            self._send(*index_page(app, owner, "Choose one of the guidelines listed.", 400))
            return
        if not by:
            self._send(*index_page(app, owner, "Enter your name first: it is recorded with every answer.", 400))
            return
        try:
            case = app.new_case(owner, ref, flowchart, by)
        except QuotaError as exc:
            self._send(*index_page(app, owner, str(exc), exc.status))
            return
        except Exception as exc:
            self._send(*index_page(app, owner, f"Could not start a case: {type(exc).__name__}: {exc}", 400))
            return
        self._redirect(f"/c/{case.id}")

    def _upload(self, owner: str, raw: bytes) -> None:
        from guidewalk.engine.errors import GuidewalkError, LoadError

        app = self.app
        fields = _multipart(self.headers.get("Content-Type") or "", raw)
        if fields is None:
            self._error(400, "The upload could not be read (expected multipart/form-data).")
            return
        if not app.check_new_token(owner, (fields.get("csrf") or ("", b""))[1].decode("utf-8", "replace")):
            self._error(403, "The form has expired; reload the start page.")
            return
        by = app.owner_name(owner)
        if not by:
            self._send(*index_page(app, owner, "Enter your name first: it is recorded with every answer.", 400))
            return
        name, data = fields.get("case") or ("", b"")
        name = Path(name or "case.yaml").name
        try:
            saved = read_saved_case(data, name)
            chosen = (fields.get("guideline") or ("", b""))[1].decode("utf-8", "replace").strip()
            ref = chosen or next((r for r in app.refs if r == saved.guideline_id or Path(r).parent.name == saved.guideline_id), "")
            if ref not in app.refs:
                self._send(*index_page(app, owner, f"{name}: choose the guideline to resume it with (the file does not name one that is offered here).", 400))
                return
            g = app.guideline(ref)
            fc = saved.flowchart if saved.flowchart in g.flowcharts else None
            case = app.resume_case(owner, ref, fc, saved.case.values, saved.case.decision_for(g.actions), by)
        except LoadError as exc:
            self._send(*index_page(app, owner, f"{name} is not a case file this guideline can resume:", 422, problems=[str(p) for p in exc.problems]))
            return
        except QuotaError as exc:
            self._send(*index_page(app, owner, str(exc), exc.status))
            return
        except (GuidewalkError, ValueError) as exc:
            self._send(*index_page(app, owner, f"{name} cannot be resumed: {exc}", 422))
            return
        self._redirect(f"/c/{case.id}")

    def _decision(self, case: WebCase, form: Mapping[str, list[str]], by: str | None) -> None:
        from guidewalk.engine.decision import ClinicianDecision
        from guidewalk.engine.errors import LoadError

        g = case.session.guideline
        raw = {
            "actions": list(dict.fromkeys(form.get("action", []))),
            "reason": _text((form.get("reason") or [""])[0], multiline=True) or None,
            "by": _text((form.get("by") or [""])[0]) or None,
            "date": (form.get("date") or [""])[0].strip() or None,
        }
        try:
            decision = ClinicianDecision.from_json(raw, g.actions)
            if not decision.by or not decision.date:
                raise ValueError("say who decided, and when")
        except (LoadError, ValueError) as exc:
            msg = "; ".join(p.message for p in exc.problems) if isinstance(exc, LoadError) else str(exc)
            self._send(*case_page(self.app, case, by, status=422, decision_error=msg, decision_form=dict(form)))
            return
        self.app.decide(case, decision, by)
        self._redirect(f"/c/{case.id}#decision")

    def _answer(self, case: WebCase, form: Mapping[str, list[str]], one: Callable[[str], str | None], by: str | None) -> None:
        s = case.session
        pending = s.pending()
        fact = one("fact") or ""
        if not pending or fact != pending[0].fact:
            # a stale form (e.g. the browser's back button): show the current question
            self._send(*case_page(self.app, case, by, notice="That question is no longer the current one; here is the current question."))
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
                self._send(*case_page(self.app, case, by, error="please give an answer, or choose Unknown / skip.", status=422))
                return
            value = raw
        try:
            self.app.answer(case, fact, value, by)
        except ValueError as exc:
            reason = getattr(exc, "reason", str(exc))
            self._send(*case_page(self.app, case, by, error=str(reason), value=raw, status=422))
            return
        self._redirect(f"/c/{case.id}")


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _text(value: str | None, *, multiline: bool = False) -> str:
    """Free text from a form: control characters dropped, at most MAX_TEXT characters."""
    keep = "\n\t" if multiline else ""
    cleaned = "".join(ch for ch in (value or "") if ch.isprintable() or ch in keep)
    return cleaned.strip()[:MAX_TEXT]


def _multipart(ctype: str, body: bytes) -> dict[str, tuple[str, bytes]] | None:
    """The fields of a multipart/form-data body: name -> (file name, bytes)."""
    from email import policy
    from email.parser import BytesParser

    if not ctype.lower().startswith("multipart/form-data") or "boundary=" not in ctype:
        return None
    msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        return None
    out: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or name in out:
            continue
        payload = part.get_payload(decode=True)
        out[str(name)] = (part.get_filename() or "", payload if isinstance(payload, bytes) else b"")
    return out


def make_server(
    host: str = "127.0.0.1",
    port: int = 8080,
    guidelines: list[str] | None = None,
    *,
    quiet: bool = False,
    db: str | Path | None = None,
    allow_hosts: Iterable[str] = (),
    workers: int = WORKERS,
    max_cases: int = MAX_CASES,
    max_cases_per_owner: int = MAX_CASES_PER_OWNER,
    request_seconds: float = REQUEST_SECONDS,
    idle_seconds: float = IDLE_SECONDS,
    max_pending: int = MAX_PENDING,
) -> tuple[PooledServer, WebApp]:
    """A ready server (not yet serving) and its app; port 0 picks a free port. `db`: the SQLite
    file of the cases (None: a temporary one, removed when the server closes); `allow_hosts`:
    host names answered besides the loopback names and the bound address; `workers`: threads
    serving requests; `request_seconds`: how long a client may take to send its request before
    it is dropped (408); `idle_seconds`: how long a response waits for a client to read;
    `max_pending`: connections whose request is still arriving, past which new ones get 503."""
    app = WebApp(guidelines, db, max_cases=max_cases, max_cases_per_owner=max_cases_per_owner)
    app.warm_up()
    handler = type(
        "BoundHandler",
        (Handler,),
        {"app": app, "quiet": quiet, "allowed": allowed_hosts(host, allow_hosts), "timeout": idle_seconds},
    )
    server = PooledServer((host, port), handler, workers=workers, request_seconds=request_seconds, max_pending=max_pending)
    server.app = app
    return server, app
