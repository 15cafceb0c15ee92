"""Bounded HTTP on a real uvicorn: oversized and slow heads, slow bodies, drain, SIGTERM under load."""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path

import httpx2 as httpx

from .conftest import DEMO_KEY, StartServer, decoded_events, token, wait_until

DEMO = {"x-api-token": token(DEMO_KEY)}
VERSIONS = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"


def _connect(server_port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server_port), timeout=30)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_an_oversized_head_gets_a_json_431_and_a_closed_connection(start_server: StartServer,
                                                                      snapshots: Path, events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir),
                          "--max-header-bytes", "4096")
    assert server.http.get(VERSIONS, headers={**DEMO, "x-pad": "a" * 3000}).status_code == 200
    with _connect(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"x-filler: " + b"a" * 5000 + b"\r\n")  # unfinished
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"connection: close" in head and b"content-type: application/json" in head
    assert body == b'{"error":"Request Header Fields Too Large"}'
    # A whole oversized head in one write is refused before it becomes a request.
    with _connect(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nx-filler: " + b"a" * 5000 + b"\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    # A client that goes on sending is cut off: it gets no further than the kernel's socket buffers
    # hold (a few MiB on loopback), where an unbounded server would read all 64 MiB.
    sent = 0
    with _connect(server.port) as sock:
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            while sent < 64 * 1024 * 1024:
                sock.sendall(b"x-filler: " + b"a" * 1000 + b"\r\n")
                sent += 1012
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 32 * 1024 * 1024
    assert server.http.get("/health").status_code == 200


def test_a_slow_head_and_a_slow_body_get_408_and_are_closed(start_server: StartServer, snapshots: Path,
                                                            events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir),
                          "--header-timeout", "1", "--body-timeout", "1")
    with _connect(server.port) as slow_head, _connect(server.port) as slow_body, _connect(server.port) as silent:
        slow_head.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        slow_body.sendall(b"POST /v2/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"x-api-token: " + DEMO["x-api-token"].encode() + b"\r\n"
                          b"Content-Length: 100\r\n\r\n{\"user_id\":")
        # Still served meanwhile.
        assert server.http.get(VERSIONS, headers=DEMO).status_code == 200
        for sock in (slow_head, slow_body):
            head, _, body = _read_all(sock).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and body == b'{"error":"Request Timeout"}'
        assert _read_all(silent).startswith(b"HTTP/1.1 408 ")  # a connection that never sent a byte


def test_on_sigterm_ready_fails_at_once_while_requests_are_served_then_it_exits(
        start_server: StartServer, snapshots: Path, events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir), "--drain-seconds", "3")
    assert server.http.get("/ready").status_code == 200
    server.process.send_signal(signal.SIGTERM)
    ready = wait_until(lambda: server.http.get("/ready").status_code == 503, what="/ready to fail")
    assert ready
    assert server.http.get("/ready").json()["draining"] is True
    assert server.http.get(VERSIONS, headers=DEMO).status_code == 200  # still serving
    # uvicorn re-raises the signal after its graceful shutdown, so the exit status is SIGTERM's.
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "SIGTERM: /ready answers 503; serving 3 s more" in server.output
    assert "Application shutdown complete" in server.output


def test_sigterm_under_load_loses_no_acknowledged_event(start_server: StartServer, snapshots: Path,
                                                        events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir), "--workers", "2",
                          "--drain-seconds", "1")
    acknowledged: list[str] = []
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=server.base, timeout=10) as http:
            i = 0
            while not stop.is_set():
                user = f"c{n}-{i}"
                i += 1
                try:
                    response = http.post("/v2/authenticate", headers=DEMO,
                                         json={"user_id": user, "platform": "ios", "app_version": "1.0.0"})
                except httpx.TransportError:
                    return  # the server is gone: this request was never acknowledged
                if response.status_code == 200:
                    acknowledged.append(user)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 50, what="load")
    server.process.send_signal(signal.SIGTERM)
    try:
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    kept = {event["user"] for event in decoded_events(events_dir)}
    assert set(acknowledged) <= kept
    assert len(acknowledged) >= 50


def test_the_settings_reach_uvicorn(start_server: StartServer, snapshots: Path, events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir), "--limit-concurrency", "3")
    # uvicorn counts open connections, the asking one included: two held open leave no room for a third.
    with _connect(server.port), _connect(server.port):
        wait_until(lambda: httpx.get(server.base + "/health").status_code == 503, what="503 beyond the limit")
    wait_until(lambda: httpx.get(server.base + "/health").status_code == 200, what="the slot free again")
