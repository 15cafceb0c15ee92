"""A tiny snapshot origin on 127.0.0.1 that can misbehave on purpose (used by the tests and scripts/faults.py).

Each connection is answered according to :attr:`Origin.mode` at the time it
arrives: ``good`` serves :attr:`Origin.body` with an ETag (and 304 to a
matching ``If-None-Match``), the others are what a broken or hostile origin
does. Every wait is bounded, so a test can never hang on the origin.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import socketserver
import threading
import time
from typing import Literal

__all__ = ["Origin", "MODES", "Mode"]

Mode = Literal["good", "gzip", "close-reused", "truncated", "bad-status-line", "101-headers", "long-header-line", "huge", "drip", "hang",
               "redirect-loop", "error-500", "reset"]
MODES: tuple[Mode, ...] = ("truncated", "bad-status-line", "101-headers", "long-header-line", "huge", "drip", "hang",
                           "redirect-loop", "error-500", "reset")

# No behaviour holds a connection longer than this.
HOLD = 30.0


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        origin = self.server.origin
        origin.connections += 1
        sock: socket.socket = self.request
        sock.settimeout(5)
        self.served = 0
        while True:  # keep-alive: one request after another on this connection
            request = _read_head(sock)
            if request is None:
                return
            origin.requests += 1
            if not self._answer(origin, sock, request):
                return
            self.served += 1

    def _answer(self, origin: Origin, sock: socket.socket, request: bytes) -> bool:
        """Answer one request; False when the connection must end."""
        mode, body = origin.mode, origin.body
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        if mode == "gzip":
            packed = gzip.compress(body)
            sock.sendall(f"HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Encoding: gzip\r\n"
                         f"Content-Length: {len(packed)}\r\n\r\n".encode() + packed)
            origin.gzip_asked = b"accept-encoding: gzip" in request.lower()
            return True
        if mode == "close-reused" and self.served:
            return False  # the idle connection closed just as a request came: no answer at all
        if mode in ("good", "close-reused"):
            if f"if-none-match: {etag}".encode() in request.lower():
                sock.sendall(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode())
            else:
                sock.sendall(f"HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            return True
        if mode == "truncated":
            sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[: len(body) // 2])
        elif mode == "bad-status-line":
            sock.sendall(b"HTTP/1.1 2OO OKAY\r\n\r\n" + body)
        elif mode == "101-headers":
            headers = "".join(f"X-Filler-{i}: {i}\r\n" for i in range(101))
            sock.sendall(f"HTTP/1.1 200 OK\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        elif mode == "long-header-line":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70 * 1024 + b"\r\nContent-Length: 2\r\n\r\n{}")
        elif mode == "huge":
            _huge(sock)
        elif mode == "drip":
            _drip(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + body)
        elif mode == "hang":
            _hold(sock)
        elif mode == "redirect-loop":
            sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")
            return True
        elif mode == "error-500":
            sock.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n")
            return True
        elif mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return False


def _read_head(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _huge(sock: socket.socket) -> None:
    """A chunked body that never ends (until the client gives up or HOLD passes)."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    block = b"x" * (1 << 20)
    chunk = b"%x\r\n" % len(block) + block + b"\r\n"
    deadline = time.monotonic() + HOLD
    try:
        while time.monotonic() < deadline:
            sock.sendall(chunk)
    except OSError:
        return


def _drip(sock: socket.socket, data: bytes) -> None:
    """One byte every half second: each read succeeds, the whole never arrives in time."""
    deadline = time.monotonic() + HOLD
    try:
        for byte in data:
            if time.monotonic() > deadline:
                return
            sock.sendall(bytes([byte]))
            time.sleep(0.5)
    except OSError:
        return


def _hold(sock: socket.socket) -> None:
    """Say nothing until the client leaves (or HOLD passes)."""
    deadline = time.monotonic() + HOLD
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if sock.recv(1) == b"":
                return
        except TimeoutError:
            continue
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    origin: Origin


class Origin:
    """Serve ``body`` at ``url`` on a free loopback port until :meth:`close`."""

    def __init__(self, body: bytes, mode: Mode = "good") -> None:
        self.body = body
        self.mode: Mode = mode
        self.requests = 0
        self.connections = 0
        self.gzip_asked = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.origin = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/snapshot.json?sig=SECRET"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Origin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
