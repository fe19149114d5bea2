"""The web stepper's defences: only allowed Host names are answered (DNS rebinding), forms only
from its own origin, slow clients are dropped and cannot hold more than the bounded pool of
threads, the owner cookie's attributes, and a Content-Security-Policy that names the one
inline script by its hash."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from test_session import FIXTURE_ROOT
from web_client import Client, serving

from guidewalk.render.web import make_server
from guidewalk.render.web.security import allowed_hosts, host_allowed

FIXTURE = str(FIXTURE_ROOT / "demo-stepper" / "guideline.yaml")
WORKERS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    # durable_rules crashes on the fixture (reported)
    with serving([FIXTURE], builtin_rules=True, allow_hosts=["stepper.example"], workers=WORKERS, request_seconds=2.0, idle_seconds=1.0) as addr:
        yield addr


def test_host_allow_list(server: tuple[str, int]) -> None:
    port = server[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example", "127.0.0.1@evil.example"):
        status, _, body = Client(server, host=host).get("/")
        assert status == 421, host
        assert "does not answer for host" in body
    status, _, _ = Client(server, host="evil.example").post("/new", [("csrf", "x")])
    assert status == 421
    with socket.create_connection(server, timeout=5) as s:  # no Host at all
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.0 421")
    for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}", "stepper.example"):
        assert Client(server, host=host).get("/")[0] == 200, host
    allowed = allowed_hosts("0.0.0.0", ["ward.example"])
    assert host_allowed("ward.example:8080", allowed) and not host_allowed("0.0.0.0", allowed) and not host_allowed(None, allowed)
    assert host_allowed("10.1.2.3:80", allowed_hosts("10.1.2.3"))


def test_forms_only_from_our_own_origin(server: tuple[str, int]) -> None:
    c = Client(server)
    path, csrf = c.start(FIXTURE)
    own = f"http://127.0.0.1:{server[1]}"
    fields = [("csrf", csrf), ("fact", "symptomatic"), ("value", "yes")]
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": f"http://127.0.0.1:{server[1] + 1}"},  # another port of this host
        {"Origin": "null"},
        {"Origin": own, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        status, _, body = c.post(f"{path}/answer", fields, headers)
        assert status == 403 and "another site" in body, headers
    assert '"facts": {}' in c.get(f"{path}/state.json")[2]
    assert c.post(f"{path}/answer", fields, {"Origin": own, "Sec-Fetch-Site": "same-origin"})[0] == 303
    assert c.post(f"{path}/back", [("csrf", csrf)], {"Origin": "null", "Sec-Fetch-Site": "same-origin"})[0] == 303


def test_cookie_and_headers(server: tuple[str, int]) -> None:
    c = Client(server)
    status, headers, _ = c.get("/")
    cookie = headers["set-cookie"]
    assert re.match(r"gw_owner=[A-Za-z0-9_-]{43}; ", cookie)
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie
    assert "set-cookie" not in c.get("/")[1]  # one cookie per browser
    path, _ = c.start(FIXTURE)
    status, headers, page = c.get(path)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = headers["content-security-policy"]
    assert f"script-src 'sha256-{digest}';" in policy and "default-src 'none'" in policy and "unsafe-eval" not in policy
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "same-origin"
    assert 'id="zoomctl" hidden' in page  # the zoom buttons appear only when the script runs


def _half_sent(addr: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(addr, timeout=10)
    s.sendall(b"POST /new HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n")  # never finished
    return s


def _closed_within(s: socket.socket, seconds: float) -> bool:
    s.settimeout(seconds)
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
            if data.startswith(b"HTTP/1.0 503"):
                continue  # refused at once: the pool was full
    except TimeoutError:
        return False
    except OSError:
        return True


def test_slow_clients_are_dropped_and_hold_no_thread(server: tuple[str, int]) -> None:
    before = threading.active_count()
    slow = [_half_sent(server) for _ in range(60)]
    try:
        time.sleep(0.3)
        assert threading.active_count() - before <= WORKERS  # no thread per connection
        t0 = time.monotonic()
        c = Client(server)
        path, csrf = c.start(FIXTURE)  # others are served meanwhile, at once
        assert c.answer(path, csrf, "symptomatic", "yes")[0] == 303
        assert time.monotonic() - t0 < 2.0
        started = time.monotonic()
        answers = [_dropped_with(s, 6.0) for s in slow]
        assert answers == [b"HTTP/1.0 408 Request Timeout"] * 60  # dropped at the 2 s request deadline
        assert time.monotonic() - started < 4.0
    finally:
        for s in slow:
            s.close()


def _dropped_with(s: socket.socket, seconds: float) -> bytes | None:
    """The status line the server sent before closing, or None when it kept the socket open."""
    s.settimeout(seconds)
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except TimeoutError:
        return None
    except OSError:
        pass
    return data.split(b"\r\n", 1)[0]


def test_a_trickling_client_is_dropped_at_the_deadline(server: tuple[str, int]) -> None:
    s = socket.create_connection(server, timeout=10)
    started = time.monotonic()
    status: bytes | None = None
    try:
        for ch in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200:
            s.sendall(bytes([ch]))  # one byte every 0.1 s: never idle, never done
            time.sleep(0.1)
            if time.monotonic() - started > 2.5:
                break
        status = _dropped_with(s, 3.0)
    except OSError:  # the server closed it while we were still sending
        status = b"closed"
    finally:
        s.close()
    took = time.monotonic() - started
    assert status in (b"HTTP/1.0 408 Request Timeout", b"closed") and took < 4.0, (status, took)


def test_too_many_arriving_requests_get_503_at_once() -> None:
    srv, _ = make_server("127.0.0.1", 0, [FIXTURE], quiet=True, workers=2, request_seconds=2.0, max_pending=20)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    addr = ("127.0.0.1", int(srv.server_address[1]))
    slow = [_half_sent(addr) for _ in range(30)]
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        status, headers, body = Client(addr).get("/")
        assert time.monotonic() - t0 < 1.0
        assert status == 503 and headers.get("retry-after") == "5" and "busy" in body
        assert sorted(_dropped_with(s, 5.0) or b"" for s in slow) == [b"HTTP/1.0 408 Request Timeout"] * 20 + [b"HTTP/1.0 503 Service Unavailable"] * 10
        assert Client(addr).get("/")[0] == 200  # room again once they were dropped
    finally:
        for s in slow:
            s.close()
        srv.shutdown()
        srv.server_close()
