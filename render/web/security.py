"""The web stepper's defences that do not depend on a page: which Host and Origin are answered,
the owner cookie, the Content-Security-Policy, and how long a client may take.

* **Host allow-list** (DNS rebinding): a request whose ``Host`` is not a loopback name
  (``localhost``, ``127.0.0.1``, ``::1``), the address the server is bound to, or a name added
  with ``--allow-host`` is refused with 421, before anything else is read.
* **Origin**: a POST must come from this server's own pages: ``Sec-Fetch-Site``, when the
  browser sends it, must be ``same-origin`` (or ``none``), and an ``Origin`` must be this very
  origin (scheme, allowed host and the port of the ``Host`` header; ``null`` only with
  ``Sec-Fetch-Site: same-origin``). Together with the SameSite=Strict owner cookie and the
  per-form CSRF tokens, a page elsewhere (another site, or another port of this host) cannot
  act on a case.
* **Owner cookie**: ``gw_owner``, random (256 bits), HttpOnly, SameSite=Strict, Path=/; the
  store keeps only its SHA-256.
* **Slow clients**: a request must arrive whole within :data:`REQUEST_SECONDS` of connecting,
  read ahead without a thread (:mod:`.pool`); a response waits at most :data:`IDLE_SECONDS` for
  the client to read it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import urllib.parse
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any

__all__ = [
    "LOOPBACK_NAMES",
    "allowed_hosts",
    "host_allowed",
    "origin_allowed",
    "OWNER_COOKIE",
    "owner_cookie",
    "new_owner_cookie",
    "csp",
    "script_hash",
    "REQUEST_SECONDS",
    "IDLE_SECONDS",
]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
OWNER_COOKIE = "gw_owner"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
REQUEST_SECONDS = 15.0
IDLE_SECONDS = 10.0


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names answered: loopback names, the bound address (unless a wildcard), `extra`."""
    names = {n.lower() for n in LOOPBACK_NAMES}
    if bind and bind not in ("0.0.0.0", "::", ""):
        names.add(bind.lower().strip("[]"))
    names.update(x.lower().strip().strip("[]") for x in extra if x.strip())
    return frozenset(names)


def _hostname(value: str) -> str | None:
    """The name part of a Host header value (``name``, ``name:port``, ``[v6]:port``)."""
    v = value.strip().lower()
    if not v or any(c in v for c in "/\\@ \t"):
        return None
    if v.startswith("["):
        end = v.find("]")
        if end < 0 or (v[end + 1 :] and not re.fullmatch(r":\d{1,5}", v[end + 1 :])):
            return None
        return v[1:end]
    name, _, port = v.partition(":")
    if port and not port.isdigit():
        try:  # a bare IPv6 address without brackets
            return str(ipaddress.IPv6Address(v))
        except ValueError:
            return None
    return name.rstrip(".")


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    if not host_header:
        return False
    name = _hostname(host_header)
    return name is not None and name in allowed


def origin_allowed(headers: Any, allowed: frozenset[str]) -> bool:
    """Whether a state-changing request comes from this server's own pages (see above)."""
    site = (headers.get("Sec-Fetch-Site") or "").lower()
    if site and site not in ("same-origin", "none"):
        return False  # cross-site, or same-site (another port or subdomain)
    origin = headers.get("Origin")
    if origin is None:
        return True  # not a browser, or an old one: the cookie and the CSRF token decide
    origin = origin.strip()
    if origin == "null":
        return site == "same-origin"  # a no-referrer form post from our own page
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.hostname.lower().strip("[]") not in allowed:
        return False
    return bool(parts.netloc.lower() == (headers.get("Host") or "").strip().lower())


def owner_cookie(header: str | None) -> str | None:
    """The owner token from a Cookie header, if it looks like one of ours."""
    if not header:
        return None
    try:
        jar: SimpleCookie = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(OWNER_COOKIE)
    if morsel is None or not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", morsel.value):
        return None
    return morsel.value


def new_owner_cookie() -> tuple[str, str]:
    """A fresh owner token and its Set-Cookie header value."""
    import secrets

    token = secrets.token_urlsafe(32)
    return token, f"{OWNER_COOKIE}={token}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict"


def script_hash(script: str) -> str:
    """The CSP source for one inline script: 'sha256-<base64 of the SHA-256 of its text>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(*scripts: str) -> str:
    """The pages' Content-Security-Policy: nothing from elsewhere; inline styles; inline
    scripts only those whose text is given (by hash)."""
    src = " ".join(script_hash(s) for s in scripts) or "'none'"
    return f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src {src}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
