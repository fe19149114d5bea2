"""The CDS Hooks 2.0 service as a Starlette (ASGI) app.

    GET  /cds-services                  discovery: one patient-view service per guideline
    POST /cds-services/{id}             the hook: facts from prefetch (or the EHR's FHIR server) -> cards
    POST /cds-services/{id}/feedback    accepted / overridden cards -> the deviation record (SQLite)
    GET  /reports/{token}               the full report behind a card's link (kept in memory, 1 hour)

Security: hook and feedback calls need the EHR's JWT (see :mod:`.auth`) unless the service runs
in dev mode, which is only possible bound to a loopback address and then only accepts
unauthenticated calls from loopback clients. Discovery answers without a token (it holds no
patient data) but a token that is sent must verify. CORS only for the origins configured. The
log holds method, route, status and time — never a patient id, a fact, a token or a body.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from guidewalk.engine.errors import GuidewalkError, LoadError
from guidewalk.engine.fhir.bindings import Bindings, load_bindings
from guidewalk.engine.fhir.bundle import record_from_resources
from guidewalk.engine.fhir.extract import extract
from guidewalk.engine.fhir.prefetch import fill, prefetch_templates
from guidewalk.engine.load import load_guideline
from guidewalk.engine.model import Guideline
from guidewalk.engine.rules import backend
from guidewalk.engine.walk import run

from .auth import AuthError, Issuer, Verifier
from .cards import OVERRIDE_REASONS, cards_for_result, warning_card
from .store import FeedbackError, FeedbackStore

__all__ = ["ServiceConfig", "create_app", "SERVICE_PREFIX", "LOOPBACK", "is_loopback"]

log = logging.getLogger("guidewalk.cds_hooks")

SERVICE_PREFIX = "guidewalk-"
MAX_BODY = 5_000_000
LOOPBACK = ("127.0.0.1", "::1", "localhost")
REPORT_TTL = 3600
MAX_REPORTS = 500
FHIR_TIMEOUT = 3.0
MAX_PAGES = 5


def is_loopback(host: str | None) -> bool:
    return bool(host) and (host in LOOPBACK or str(host).startswith("127."))


@dataclass
class ServiceConfig:
    guidelines: list[str] = field(default_factory=list)  # ids or paths; default: every shipped guideline
    db: str = ":memory:"
    issuers: list[Issuer] = field(default_factory=list)
    dev: bool = False
    host: str = "127.0.0.1"
    base_url: str | None = None  # the public base URL (audience and links); default: from the request
    cors_origins: list[str] = field(default_factory=list)
    report_ttl: int = REPORT_TTL
    as_of: _dt.date | None = None  # evaluation date; None = today (a fixed date only to demonstrate historical records)


@dataclass
class Service:
    id: str
    g: Guideline
    bindings: Bindings
    prefetch: dict[str, str]

    def discovery(self) -> dict[str, Any]:
        g = self.g
        return {
            "hook": "patient-view",
            "id": self.id,
            "title": f"{g.title} — guideline walk",
            "description": (
                f"Walks the Dutch guideline {g.title} (version {g.version}, {g.publisher}) against the patient's record and "
                "returns what the guideline recommends, with the path, the facts that decided it and the sources. "
                "Decision support: the clinician and the multidisciplinary meeting decide."
            ),
            "prefetch": dict(self.prefetch),
            "usageRequirements": (
                "Facts with a standard code are read from mCODE resources (LOINC, SNOMED CT, ICD-10, HGNC); the others from "
                "Observations coded with the guidewalk code system (guidewalk docs/fhir.md)."
            ),
        }


class _Reports:
    """In-memory capability URLs for the full report: token -> (service, facts), for REPORT_TTL."""

    def __init__(self, ttl: int):
        self.ttl = ttl
        self.items: OrderedDict[str, tuple[float, str, dict[str, Any]]] = OrderedDict()

    def put(self, service: str, facts: dict[str, Any]) -> str:
        now = time.monotonic()
        while self.items and (len(self.items) >= MAX_REPORTS or next(iter(self.items.values()))[0] < now - self.ttl):
            self.items.popitem(last=False)
        token = secrets.token_urlsafe(24)
        self.items[token] = (now, service, dict(facts))
        return token

    def get(self, token: str) -> tuple[str, dict[str, Any]] | None:
        hit = self.items.get(token)
        if hit is None or hit[0] < time.monotonic() - self.ttl:
            return None
        return hit[1], hit[2]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers={"Cache-Control": "no-store"})


def create_app(config: ServiceConfig) -> Starlette:
    if config.dev and not is_loopback(config.host):
        raise GuidewalkError("dev mode (no JWT) is only allowed bound to a loopback address such as 127.0.0.1")
    services: dict[str, Service] = {}
    from guidewalk.engine.load import default_root, guideline_ids

    for ref in config.guidelines or guideline_ids(default_root()):
        g = load_guideline(ref)
        b = load_bindings(g.dictionary)
        services[SERVICE_PREFIX + g.id] = Service(SERVICE_PREFIX + g.id, g, b, prefetch_templates(g, b))
    rules = backend()
    for s in services.values():  # create the rules host up front (durable_rules races on a concurrent first call)
        run(s.g, {}, rules=rules)
    _warm_up()
    verifier = Verifier(config.issuers) if config.issuers else None
    store = FeedbackStore(config.db)
    reports = _Reports(config.report_ttl)
    displays = dict(OVERRIDE_REASONS)

    def base(request: Request) -> str:
        return (config.base_url or str(request.base_url)).rstrip("/")

    def authorize(request: Request, audience: str, *, optional: bool = False) -> dict[str, Any] | None:
        """The verified JWT claims; None where no token is needed (discovery without a token, or
        dev mode for a loopback client). Raises AuthError otherwise."""
        header = request.headers.get("authorization")
        loopback_dev = config.dev and is_loopback(request.client.host if request.client else None)
        if header and verifier is not None:
            return verifier.verify(header, audience)  # a token that is sent must verify
        if optional or loopback_dev:
            return None
        if verifier is None and not config.dev:
            raise AuthError("this service trusts no issuer yet: start it with --issuer ISS=JWKS (or --dev on loopback for development)")
        raise AuthError("an Authorization: Bearer JWT is required")

    async def body_json(request: Request) -> Any:
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > MAX_BODY:
            raise _HTTP(413, "request body too large")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise _HTTP(413, "request body too large")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _HTTP(400, "the request body is not JSON") from None

    async def discovery(request: Request) -> Response:
        try:
            authorize(request, f"{base(request)}/cds-services", optional=True)
        except AuthError as exc:
            return _error(401, exc.reason)
        return JSONResponse({"services": [s.discovery() for s in services.values()]})

    async def hook(request: Request) -> Response:
        try:
            return await _hook(request)
        except Exception as exc:  # never a stack trace (with patient data) in the reply or the log
            log.error("hook %s: internal error %s", request.path_params.get("service"), type(exc).__name__)
            return _error(500, "internal error")

    async def _hook(request: Request) -> Response:
        sid = request.path_params["service"]
        svc = services.get(sid)
        if svc is None:
            return _error(404, "no such CDS service")
        try:
            claims = authorize(request, f"{base(request)}/cds-services/{sid}")
        except AuthError as exc:
            return _error(401, exc.reason)
        try:
            body = await body_json(request)
            req = _hook_request(body)
            req["_base"] = base(request)
            prefetch = await _gather(svc, req)
        except _HTTP as h:
            return _error(h.status, h.message, **h.extra)
        del claims
        t0 = time.perf_counter()
        cards = _walk(svc, req, prefetch)
        store.record_cards(sid, svc.g, cards[1], cards[0], hook_instance=req["hookInstance"], user_id=req["context"].get("userId"))
        log.info("hook %s: %d cards, status %s, %.0f ms", sid, len(cards[0]), cards[1].status, (time.perf_counter() - t0) * 1000)
        return JSONResponse({"cards": [c.data for c in cards[0]]}, headers={"Cache-Control": "no-store"})

    def _walk(svc: Service, req: dict[str, Any], prefetch: dict[str, Any]) -> tuple[list[Any], Any]:
        g, b = svc.g, svc.bindings
        try:
            record = record_from_resources(prefetch)
            x = extract(record, b, as_of=config.as_of or _dt.date.today(), patient_id=req["context"]["patientId"])
        except LoadError as exc:
            lines = ["The data the EHR sent is not valid FHIR R4 or not one patient's:", ""] + [f"- {p.message}" for p in exc.problems[:20]]
            card = warning_card(g, b, "The record's data could not be read (not valid FHIR R4); no recommendation given", lines)
            return [card], _Status("invalid_facts")
        try:
            result = run(g, x.as_case(), rules=rules)
        except GuidewalkError as exc:
            log.warning("hook %s: the walk failed (%s)", svc.id, type(exc).__name__)
            card = warning_card(
                g,
                b,
                "The guideline could not be walked for this record; no recommendation given",
                ["The guideline walk stopped with an error in the guideline, not in the record. It has been logged without patient data."],
            )
            return [card], _Status("error")
        from guidewalk.engine.fhir.extract import annotate_errors

        result.errors = annotate_errors(result.errors, x)
        url = f"{req['_base']}/reports/{reports.put(svc.id, x.facts)}"
        return cards_for_result(g, b, result, extraction=x, report_url=url), result

    async def _gather(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
        given = req.get("prefetch") or {}
        out: dict[str, Any] = {}
        missing: list[str] = []
        for key in svc.prefetch:
            if key in given and not _is_outcome(given[key]):
                out[key] = given[key]
            else:
                missing.append(key)
        if not missing:
            return out
        server, auth = req.get("fhirServer"), req.get("fhirAuthorization")
        token = auth.get("access_token") if isinstance(auth, dict) else None
        if not (isinstance(server, str) and isinstance(token, str) and token):
            raise _HTTP(412, "required prefetch data is missing and no FHIR server access was granted", missing=missing)
        if not (server.startswith("https://") or (server.startswith("http://") and config.dev)):
            raise _HTTP(412, "fhirServer must be an https URL", missing=missing)
        fetched = await _fetch(server.rstrip("/"), token, {k: svc.prefetch[k] for k in missing}, req["context"])
        out.update(fetched)
        return out

    async def _fetch(server: str, token: str, templates: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
        import httpx

        out: dict[str, Any] = {}
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        try:
            async with httpx.AsyncClient(timeout=FHIR_TIMEOUT, follow_redirects=False) as client:

                async def one(key: str, tmpl: str) -> None:
                    url = f"{server}/{fill(tmpl, context)}"
                    r = await client.get(url, headers=headers)
                    if r.status_code == 404 and tmpl.startswith("Patient/"):
                        out[key] = None
                        return
                    r.raise_for_status()
                    data = r.json()
                    pages = 1
                    while isinstance(data, dict) and data.get("resourceType") == "Bundle" and pages < MAX_PAGES:
                        nxt = next((ln.get("url") for ln in data.get("link") or [] if ln.get("relation") == "next"), None)
                        if not (isinstance(nxt, str) and nxt.startswith(server + "/")):
                            break
                        more = (await client.get(nxt, headers=headers)).json()
                        data.setdefault("entry", []).extend(more.get("entry") or [])
                        data["link"] = more.get("link") or []
                        pages += 1
                    out[key] = data

                await asyncio.gather(*(one(k, t) for k, t in templates.items()))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise _HTTP(412, f"the FHIR server did not give the required data ({type(exc).__name__})", missing=list(templates)) from None
        return out

    def _hook_request(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _HTTP(400, "a hook request is a JSON object")
        if body.get("hook") != "patient-view":
            raise _HTTP(400, "this service answers the patient-view hook")
        if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
            raise _HTTP(400, "hookInstance is required")
        ctx = body.get("context")
        if not isinstance(ctx, dict) or not isinstance(ctx.get("patientId"), str) or not ctx["patientId"]:
            raise _HTTP(400, "context.patientId is required")
        if "prefetch" in body and not isinstance(body["prefetch"], dict):
            raise _HTTP(400, "prefetch must be an object")
        return body

    async def feedback(request: Request) -> Response:
        sid = request.path_params["service"]
        if sid not in services:
            return _error(404, "no such CDS service")
        try:
            authorize(request, f"{base(request)}/cds-services/{sid}/feedback")
        except AuthError as exc:
            return _error(401, exc.reason)
        try:
            body = await body_json(request)
            stored = store.add_feedback(sid, body, displays)
        except _HTTP as h:
            return _error(h.status, h.message)
        except FeedbackError as exc:
            return _error(400, str(exc))
        log.info("feedback %s: %d stored", sid, len(stored))
        return JSONResponse({"stored": len(stored)}, headers={"Cache-Control": "no-store"})

    async def report(request: Request) -> Response:
        hit = reports.get(request.path_params["token"])
        if hit is None:
            return HTMLResponse(
                "<!DOCTYPE html><title>guidewalk</title><p>This report has expired or does not exist.</p>",
                status_code=404,
                headers={"Cache-Control": "no-store"},
            )
        sid, facts = hit
        svc = services[sid]
        from guidewalk.render.report import make_record, render_html

        result = run(svc.g, facts, rules=rules)
        html = render_html(svc.g, make_record(svc.g, result))
        return HTMLResponse(
            html,
            headers={
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            },
        )

    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=config.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,
                max_age=600,
                allow_private_network=True,
            )
        )  # a browser-based EHR (sandbox) calling a service on this machine
    app = Starlette(
        routes=[
            Route("/cds-services", discovery, methods=["GET"]),
            Route("/cds-services/{service}", hook, methods=["POST"]),
            Route("/cds-services/{service}/feedback", feedback, methods=["POST"]),
            Route("/reports/{token}", report, methods=["GET"]),
        ],
        middleware=middleware,
    )
    app.state.store = store
    app.state.services = services
    return app


class _HTTP(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@dataclass
class _Status:
    """A stand-in result for cards that carry no walk (unreadable data, a failed walk)."""

    status: str
    actions: tuple[str, ...] = ()


def _warm_up() -> None:
    """Build the FHIR models once at start-up, so the first hook call is as fast as the others."""
    record_from_resources(
        {
            "warm-up": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [
                    {"resource": {"resourceType": "Patient", "id": "w", "birthDate": "1970-01-01"}},
                    {"resource": {"resourceType": "Observation", "id": "w", "status": "final", "code": {"text": "w"}, "valueInteger": 1}},
                    {"resource": {"resourceType": "Condition", "id": "w", "subject": {"reference": "Patient/w"}, "code": {"text": "w"}}},
                ],
            }
        }
    )


def _is_outcome(v: Any) -> bool:
    return isinstance(v, dict) and v.get("resourceType") == "OperationOutcome"
