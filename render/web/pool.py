"""An HTTP server that gives a worker thread only to a request that has fully arrived.

One reader thread takes every accepted connection and reads, without blocking, until the
request's head (and its body, up to the declared Content-Length) is in; only then does one of a
fixed pool of worker threads handle it, from memory. A client that sends slowly, or stops
half-way, holds a socket and a small buffer, never a thread: when the request is not in within
``request_seconds`` of the connection it gets 408 and is closed. Past ``max_pending``
connections still arriving, or a full worker queue, a new connection gets 503 at once. Each
connection carries one request (HTTP/1.0), and a worker's writes wait at most the handler's
socket timeout.
"""

from __future__ import annotations

import io
import re
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

__all__ = ["PooledServer", "WORKERS", "MAX_PENDING", "MAX_HEAD", "preread"]

WORKERS = 16
MAX_PENDING = 512  # connections whose request is still arriving
MAX_HEAD = 64 * 1024  # request line and headers
MAX_REQUEST = 512 * 1024  # head and body read ahead; a larger declared body is refused by the handler
_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?$", re.I | re.M)


@dataclass
class _Arriving:
    addr: Any
    deadline: float
    data: bytearray = field(default_factory=bytearray)


def _complete(data: bytes | bytearray) -> bool | None:
    """True when the request is in; None when it can never be (a head too large)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = data.find(b"\n\n")
        if end < 0:
            return None if len(data) > MAX_HEAD else False
        end += 2
    else:
        end += 4
    m = _LENGTH.search(bytes(data[:end]))
    if m is None:
        return True  # no body (or no length: the handler answers 411)
    length = int(m.group(1))
    return length > MAX_REQUEST or len(data) >= end + length  # too long: the handler answers 413


def preread(handler: BaseHTTPRequestHandler) -> None:
    """In a handler's setup: read the request from memory when the server read it ahead."""
    data = getattr(handler.server, "_taken", {}).pop(id(handler.request), None)
    if data is not None:
        handler.rfile = io.BufferedReader(io.BytesIO(data))


class PooledServer(HTTPServer):
    """See the module docstring."""

    request_queue_size = 128  # the listen backlog: many clinicians connecting at once

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        workers: int = WORKERS,
        request_seconds: float = 15.0,
        max_pending: int = MAX_PENDING,
    ):
        super().__init__(address, handler)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="guidewalk-web")
        self._slots = threading.BoundedSemaphore(workers * 5)
        self.request_seconds = request_seconds
        self.max_pending = max_pending
        self._taken: dict[int, bytes] = {}
        self._arriving: dict[socket.socket, _Arriving] = {}
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="guidewalk-web-reader", daemon=True)
        self._reader.start()
        self.app: Any = None  # the WebApp, closed with the server

    # ---- arriving requests (the reader thread)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = len(self._arriving) >= self.max_pending
            if not full:
                request.setblocking(False)
                self._arriving[request] = _Arriving(client_address, time.monotonic() + self.request_seconds)
        if full:
            self._refuse(request, b"503 Service Unavailable", b"The server is busy; try again in a few seconds.\n")
            return
        self._wake_w.send(b"\0")

    def _read_loop(self) -> None:
        registered: set[socket.socket] = set()
        while not self._closed:
            with self._lock:
                for s in self._arriving:
                    if s not in registered:
                        self._sel.register(s, selectors.EVENT_READ)
                        registered.add(s)
            try:
                events = self._sel.select(timeout=0.2)
            except (OSError, ValueError):
                if self._closed:
                    return
                continue
            for key, _ in events:
                obj = key.fileobj
                if not isinstance(obj, socket.socket):
                    continue
                if obj is self._wake_r:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                self._readable(obj, registered)
            now = time.monotonic()
            with self._lock:
                late = [s for s, a in self._arriving.items() if a.deadline <= now]
            for s in late:
                self._drop(s, registered)
                self._refuse(s, b"408 Request Timeout", b"The request took too long to arrive.\n")

    def _readable(self, s: socket.socket, registered: set[socket.socket]) -> None:
        with self._lock:
            a = self._arriving.get(s)
        if a is None:
            return
        try:
            chunk = s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client gave up
            self._drop(s, registered)
            self.shutdown_request(s)
            return
        a.data += chunk
        done = _complete(a.data)
        if done is False:
            return
        self._drop(s, registered)
        if done is None:
            self._refuse(s, b"431 Request Header Fields Too Large", b"The request head is too large.\n")
            return
        s.setblocking(True)
        if not self._slots.acquire(blocking=False):
            self._refuse(s, b"503 Service Unavailable", b"The server is busy; try again in a few seconds.\n")
            return
        self._taken[id(s)] = bytes(a.data)
        try:
            self.pool.submit(self._work, s, a.addr)
        except RuntimeError:  # shutting down
            self._taken.pop(id(s), None)
            self._slots.release()
            self.shutdown_request(s)

    def _drop(self, s: socket.socket, registered: set[socket.socket]) -> None:
        with self._lock:
            self._arriving.pop(s, None)
        if s in registered:
            registered.discard(s)
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass

    def _refuse(self, s: Any, status: bytes, body: bytes) -> None:
        head = b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
        if status.startswith(b"503"):
            head += b"Retry-After: 5\r\n"
        try:
            s.setblocking(True)
            s.settimeout(1.0)
            s.sendall(head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        except OSError:
            pass
        self.shutdown_request(s)

    # ---- complete requests (the workers)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self._taken.pop(id(request), None)
            self.shutdown_request(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not getattr(self.RequestHandlerClass, "quiet", False):
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        self._closed = True
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass
        self._reader.join(timeout=2)
        super().server_close()
        with self._lock:
            arriving = list(self._arriving)
            self._arriving.clear()
        for s in arriving:
            self.shutdown_request(s)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.app is not None:
            self.app.close()
