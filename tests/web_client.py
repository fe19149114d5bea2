"""A small HTTP client for the web stepper's tests and load test: one browser (its own owner
cookie), forms with their CSRF tokens, the clinician's name set once."""

from __future__ import annotations

import http.client
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Client", "current_fact", "serving"]


@contextmanager
def serving(guidelines: list[str], *, builtin_rules: bool = False, **kw: Any) -> Iterator[tuple[str, int]]:
    """The web stepper on a free loopback port in a thread, for the length of the block:
    (host, port). `builtin_rules`: walk with the built-in rules backend (GUIDEWALK_RULES);
    `kw` goes to make_server."""
    from guidewalk.render.web import make_server

    if builtin_rules:
        os.environ["GUIDEWALK_RULES"] = "builtin"
    srv, _ = make_server("127.0.0.1", 0, guidelines, quiet=True, **kw)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield "127.0.0.1", int(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()
        if builtin_rules:
            os.environ.pop("GUIDEWALK_RULES", None)


def current_fact(page: str) -> str | None:
    m = re.search(r'name="fact" value="([^"]+)"', page)
    return m.group(1) if m else None


class Client:
    """One browser: keeps its cookie; records the time of every request (seconds)."""

    def __init__(self, addr: tuple[str, int], name: str | None = "Dr. Test", host: str | None = None):
        self.addr = addr
        self.cookie: str | None = None
        self.name = name
        self.host = host  # a Host header other than the address (security tests)
        self.timings: list[float] = []

    def request(self, method: str, path: str, body: str | bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(*self.addr, timeout=60)
        t0 = time.perf_counter()
        try:
            hdrs = dict(headers or {})
            if body is not None and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            if self.cookie and "Cookie" not in hdrs:
                hdrs["Cookie"] = self.cookie
            if self.host and "Host" not in hdrs:
                hdrs["Host"] = self.host
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8")
        finally:
            conn.close()
        self.timings.append(time.perf_counter() - t0)
        set_cookie = out[1].get("set-cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";")[0]
        return out

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path)

    def post(self, path: str, fields: list[tuple[str, str]], headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, urllib.parse.urlencode(fields), headers)

    def index(self) -> tuple[str, str]:
        """The start page and its CSRF token (sets the owner cookie; sets the name once)."""
        _, _, page = self.get("/")
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, page[:2000]
        if self.name and f'value="{self.name}"' not in page:
            status, _, _ = self.post("/name", [("csrf", token.group(1)), ("name", self.name)])
            assert status == 303, status
            _, _, page = self.get("/")
        return page, token.group(1)

    def start(self, guideline: str, flowchart: str = "treatment") -> tuple[str, str]:
        """A new case: its path (/c/<id>) and its CSRF token."""
        _, token = self.index()
        status, headers, body = self.post("/new", [("csrf", token), ("guideline", guideline), ("flowchart", flowchart)])
        assert status == 303, (status, body[:2000])
        path = headers["location"]
        _, _, page = self.get(path)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        return path, csrf.group(1)

    def answer(self, path: str, csrf: str, fact: str, value: str, action: str = "answer") -> tuple[int, str]:
        fields = [("csrf", csrf), ("fact", fact), ("value", value), ("action", action)]
        status, headers, body = self.post(f"{path}/answer", fields)
        if status == 303:
            _, _, body = self.get(headers["location"])
        return status, body

    def decide(self, path: str, csrf: str, actions: list[str], reason: str = "", by: str = "Dr. Test", date: str = "2024-03-01") -> tuple[int, str]:
        fields = [("csrf", csrf), *[("action", a) for a in actions], ("reason", reason), ("by", by), ("date", date)]
        status, headers, body = self.post(f"{path}/decision", fields)
        if status == 303:
            _, _, body = self.get(headers["location"].split("#")[0])
        return status, body

    def upload(self, name: str, data: bytes, guideline: str = "") -> tuple[int, dict[str, str], str]:
        _, token = self.index()
        boundary = "----guidewalk-test-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="guideline"\r\n\r\n{guideline}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="case"; filename="{name}"\r\nContent-Type: application/yaml\r\n\r\n'.encode()
            + data
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        return self.request("POST", "/upload", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def summary(timings: list[float]) -> dict[str, Any]:
    return {"requests": len(timings), "p50": percentile(timings, 0.5), "p95": percentile(timings, 0.95), "max": max(timings, default=0.0)}
