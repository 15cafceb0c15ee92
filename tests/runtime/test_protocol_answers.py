"""What the HTTP protocol itself answers, on a real uvicorn: malformed requests, the concurrency limit,
431/408, /openapi.json, repeated If-None-Match fields; and a server whose stderr nobody reads."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from .conftest import DEMO_KEY, StartServer, free_port, token, wait_until, write_test_config

TOKEN = token(DEMO_KEY)
VERSIONS = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"
INVALID = b'{"error":"Bad Request: invalid HTTP request"}'


def exchange(port: int, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send ``raw``, read until the server closes: the status line, headers (lower-case) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def assert_json_error(headers: dict[str, str], body: bytes, *, closes: bool = True) -> None:
    assert headers["content-type"] == "application/json"
    assert headers["etag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    assert headers["content-length"] == str(len(body))
    assert headers["x-request-id"]
    assert set(json.loads(body)) == {"error"}
    if closes:
        assert headers["connection"] == "close"


MALFORMED = {
    "space before a colon": b"GET /health HTTP/1.1\r\nHost: x\r\nx-api-token : abc\r\n\r\n",
    "folded header line": b"GET /health HTTP/1.1\r\nHost: x\r\nx-a: one\r\n two\r\n\r\n",
    "control byte in the target": b"GET /he\x01alth HTTP/1.1\r\nHost: x\r\n\r\n",
    "Content-Length not a number": b"POST /v2/authenticate HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    "Content-Length and Transfer-Encoding": (b"POST /v2/authenticate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "a chunk size that is not hex": (b"POST /v2/authenticate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     b"zz\r\n{}\r\n0\r\n\r\n"),
}


def test_malformed_requests_get_the_seeds_json_400_and_a_closed_connection(
        start_server: StartServer, snapshots: Path, events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir))
    for case, raw in MALFORMED.items():
        status, headers, body = exchange(server.port, raw)
        assert status == b"HTTP/1.1 400 Bad Request", case
        assert body == INVALID, case
        assert_json_error(headers, body)
    # After a good answer on the same connection too (a kept-alive connection's next request).
    status, headers, body = exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + MALFORMED["folded header line"])
    assert status == b"HTTP/1.1 200 OK" and body.endswith(INVALID)
    assert server.http.get(VERSIONS, headers={"x-api-token": TOKEN}).status_code == 200
    assert "Invalid HTTP request received." in server.output and "Traceback" not in server.output


def test_431_and_408_carry_the_etag_and_a_request_id_also_after_a_first_answer(
        start_server: StartServer, snapshots: Path, events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir),
                          "--max-header-bytes", "4096", "--header-timeout", "1")
    status, headers, body = exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nx-f: " + b"a" * 5000 + b"\r\n\r\n")
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert body == b'{"error":"Request Header Fields Too Large"}'
    assert_json_error(headers, body)
    # A kept-alive connection whose second request is too large gets the 431 after the first answer.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = wait_until(lambda: sock.recv(65536), what="the first answer")
        assert first.startswith(b"HTTP/1.1 200 OK\r\n") and first.endswith(b"\r\n\r\n")  # /health: no body
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nx-f: " + b"a" * 5000 + b"\r\n\r\n")
        second = b"".join(iter(lambda: sock.recv(65536), b""))
    assert second.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert second.endswith(b'{"error":"Request Header Fields Too Large"}')
    status, headers, body = exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finished
    assert status == b"HTTP/1.1 408 Request Timeout" and body == b'{"error":"Request Timeout"}'
    assert_json_error(headers, body)


def test_beyond_the_concurrency_limit_a_json_503(start_server: StartServer, snapshots: Path,
                                                 events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir), "--limit-concurrency", "3")
    raw = f"GET {VERSIONS} HTTP/1.1\r\nHost: x\r\nx-api-token: {TOKEN}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port)), socket.create_connection(("127.0.0.1", server.port)):
        answer = wait_until(lambda: (got := exchange(server.port, raw))[0].startswith(b"HTTP/1.1 503") and got,
                            what="503 beyond the limit")
    status, headers, body = answer
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert body == b'{"error":"Service Unavailable: too many concurrent requests"}'
    assert_json_error(headers, body)
    wait_until(lambda: httpx.get(server.base + VERSIONS, headers={"x-api-token": TOKEN}).status_code == 200,
               what="the slot free again")


def test_openapi_has_an_etag_and_answers_304(start_server: StartServer, snapshots: Path, events_dir: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir))
    document = server.http.get("/openapi.json")
    assert document.status_code == 200 and document.headers["content-type"] == "application/json"
    assert document.headers["etag"] == '"' + hashlib.md5(document.content).hexdigest() + '"'
    assert document.headers["x-request-id"]
    again = server.http.get("/openapi.json", headers={"if-none-match": document.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == document.headers["etag"]


@pytest.mark.parametrize("path", ["fast", "asgi"])
def test_if_none_match_sent_as_several_fields_is_one_list_in_any_order(
        start_server: StartServer, snapshots: Path, events_dir: Path, path: str) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(events_dir))
    etag = server.http.get(VERSIONS, headers={"x-api-token": TOKEN}).headers["etag"]
    # X-Forwarded-For sends the request to the ASGI app; without it the protocol answers it.
    extra = b"" if path == "fast" else b"x-forwarded-for: 10.0.0.1\r\n"
    for fields in ([b'"x"', etag.encode()], [etag.encode(), b'"x"'], [b'"x"', b"W/" + etag.encode()]):
        raw = (f"GET {VERSIONS} HTTP/1.1\r\nHost: x\r\nx-api-token: {TOKEN}\r\nconnection: close\r\n".encode() + extra
               + b"".join(b"if-none-match: " + field + b"\r\n" for field in fields) + b"\r\n")
        status, headers, body = exchange(server.port, raw)
        assert status == b"HTTP/1.1 304 Not Modified", fields
        assert headers["etag"] == etag and body == b""
    status, _, _ = exchange(server.port, f"GET {VERSIONS} HTTP/1.1\r\nHost: x\r\nx-api-token: {TOKEN}\r\n"
                                         "connection: close\r\nif-none-match: \"x\"\r\nif-none-match: \"y\"\r\n\r\n"
                                         .encode() + extra)
    assert status == b"HTTP/1.1 200 OK"


def test_a_snapshots_path_that_is_a_file_is_refused_at_start(tmp_path: Path, snapshots: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "kickit_edge.cli", "serve", "--snapshots",
                             str(snapshots / "snapshot.json"), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --snapshots '{snapshots / 'snapshot.json'}' is not a folder: give the folder that holds "
        "snapshot.json (as written by kickit-edge compile --out DIR)"]


def test_a_server_whose_stderr_nobody_reads_keeps_answering(tmp_path: Path, snapshots: Path, events_dir: Path) -> None:
    """Every log line (access, uvicorn's warnings, rejections) goes to a pipe that is never read: a full pipe."""
    port = free_port()
    read_end, write_end = os.pipe()
    process = subprocess.Popen([sys.executable, "-m", "kickit_edge.cli", "serve", "--snapshots", str(snapshots),
                                "--events-dir", str(events_dir), "--port", str(port)],
                               cwd=tmp_path, stdout=write_end, stderr=write_end)
    os.close(write_end)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30, headers={"x-api-token": TOKEN}) as http:
            def ready() -> bool:
                assert process.poll() is None
                try:
                    return http.get("/ready").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, what="the server")
            for _ in range(1500):  # ~300 kB of access lines: far more than a pipe holds
                assert http.get(VERSIONS).status_code == 200
            (snapshots / "next.json").write_bytes(b"garbage")
            os.replace(snapshots / "next.json", snapshots / "snapshot.json")
            wait_until(lambda: http.get("/status").json()["rejected"] is not None, what="the rejection")
            for raw in MALFORMED.values():
                assert exchange(port, raw)[2] == INVALID
            for _ in range(200):
                assert http.get(VERSIONS).status_code == 200
            time.sleep(1.5)  # the access log's and the rejection's reports of dropped lines come due
            assert http.get(VERSIONS).status_code == 200
            assert exchange(port, MALFORMED["folded header line"])[2] == INVALID
        # Once read, the pipe gives the lines in the process's formats, and says that some were dropped.
        os.set_blocking(read_end, False)
        taken = b""
        while True:
            try:
                chunk = os.read(read_end, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            taken += chunk
        assert b"INFO kickit_edge.access" in taken and b"Traceback" not in taken
    finally:
        process.terminate()
        os.close(read_end)  # a writer still blocked gets EPIPE
        process.wait(30)


def test_the_admin_answers_malformed_http_in_its_own_shape(tmp_path: Path) -> None:
    config = write_test_config(tmp_path / "config")
    port = free_port()
    with (tmp_path / "admin.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "kickit_edge.cli", "admin", "--config", str(config),
                                    "--port", str(port)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            assert process.poll() is None, (tmp_path / "admin.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, what="the admin server")
        status, headers, body = exchange(port, MALFORMED["space before a colon"])
        assert status == b"HTTP/1.1 400 Bad Request"
        assert body == b'{"message":"the request is not valid HTTP","code":"bad_request"}'
        assert headers["content-type"] == "application/json" and headers["connection"] == "close"
        assert headers["etag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    finally:
        process.terminate()
        process.wait(30)
