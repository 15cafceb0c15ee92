"""The fast path on a real uvicorn: the same answers, lines and counts as the ASGI path, in request order.

Each test serves the app in this process with uvicorn and the edge's protocol
on a loopback port, so it can give the app a failing event sink or a broken
clock, and read the access log from a file. Requests the fast path declines
(HTTP/1.0, a chunked body, HEAD, an unknown path) go to the ASGI app: a request
sent both ways must come back the same.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from kickit_edge.events import Event
from kickit_edge.runtime.app import create_app
from kickit_edge.runtime.eventlog import EventWriteError
from kickit_edge.runtime.fastpath import PROTOCOL, FastCycle
from kickit_edge.settings import Settings

from .conftest import DEMO_KEY, decoded_events, free_port, token, wait_until

TOKEN = token(DEMO_KEY).encode()
VERSIONS = b"/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"
USER = b'{"user_id":"u1","platform":"iOS","app_version":"2.5.0"}'
OFREP_CONTEXT = b'{"context":{"appVersion":"1.2.0","platform":"ios","environment":"production"}}'
OFREP_BULK_ETAG = b"(the bulk answer's etag)"


class FailingSink:
    """An event log whose disk is full."""

    def __init__(self) -> None:
        self.batches = 0

    def write_many(self, events: Sequence[Event]) -> None:
        self.batches += 1
        raise EventWriteError("cannot write event: No space left on device")


class LiveEdge:
    """The edge app under uvicorn with :data:`PROTOCOL`, in a thread of this process; its access log in a file."""

    def __init__(self, tmp_path: Path, snapshots: Path, events: Any = None, keep_alive: int = 5,
                 limit_concurrency: int | None = None, **settings: Any) -> None:
        folder = tmp_path / "events"
        folder.mkdir(parents=True)
        self.events_dir = folder
        self.app = create_app(Settings(snapshots=str(snapshots), events_dir=str(folder), **settings), events=events)
        self.log_path = tmp_path / f"access-{id(self)}.log"
        self._log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self.app.state.access.fd = self._log_fd
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, http=PROTOCOL, lifespan="on",
                                log_config=None, access_log=False, server_header=False, timeout_keep_alive=keep_alive,
                                limit_concurrency=limit_concurrency)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, what="uvicorn started")

    def lines(self, count: int) -> list[str]:
        """The first ``count`` access lines, normalised: no time, pid, client port or duration."""
        def read() -> list[str] | None:
            lines = self.log_path.read_text().splitlines()
            return lines if len(lines) >= count else None

        lines = wait_until(read, what=f"{count} access lines")[:count]
        return [re.sub(r"^.*?\] 127\.0\.0\.1:\d+ (.*) [\d.]+ms (.*)$", r"\1 \2", line) for line in lines]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        os.close(self._log_fd)


@pytest.fixture
def live(tmp_path: Path, snapshots: Path) -> Iterator[Any]:
    started: list[LiveEdge] = []

    def start(**kwargs: Any) -> LiveEdge:
        edge = LiveEdge(tmp_path / f"edge-{len(started)}", snapshots, **kwargs)
        started.append(edge)
        return edge

    yield start
    for edge in started:
        edge.stop()


# --- a small HTTP/1.1 client that can pipeline and split ---------------------------------


def request(method: bytes, target: bytes, headers: dict[bytes, bytes] | None = None, body: bytes = b"",
            version: bytes = b"HTTP/1.1") -> bytes:
    head = [method + b" " + target + b" " + version, b"host: edge"]
    head += [name + b": " + value for name, value in (headers or {}).items()]
    if body and not any(name.lower() == b"transfer-encoding" for name in (headers or {})):
        head.append(b"content-length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class Answer:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def same_as(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """What must not differ between the two paths (the date and connection framing may)."""
        return self.status, [(k, v) for k, v in self.headers if k not in ("date", "connection")], self.body


def read_answers(sock: socket.socket, heads: Sequence[bool]) -> list[Answer]:
    """One answer per entry of ``heads`` (True: the answer to a HEAD, without a body)."""
    buffer = b""
    out = []
    for head_only in heads:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(out)} answers"
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [(name.lower(), value) for name, _, value in (line.partition(": ") for line in lines[1:])]
        length = 0 if head_only else int(dict(headers).get("content-length", "0"))
        while len(buffer) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside a body"
            buffer += chunk
        out.append(Answer(int(lines[0].split()[1]), headers, buffer[:length]))
        buffer = buffer[length:]
    return out


def exchange(port: int, *parts: bytes, heads: Sequence[bool] = (False,), pause: float = 0.0) -> list[Answer]:
    """Send ``parts`` (``pause`` seconds apart, so each is its own read at the server) and read the answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for n, part in enumerate(parts):
            if n and pause:
                time.sleep(pause)
            sock.sendall(part)
        return read_answers(sock, heads)


def authed(rid: bytes, **extra: bytes) -> dict[bytes, bytes]:
    return {b"x-api-token": TOKEN, b"x-request-id": rid, **{k.replace("_", "-").encode(): v for k, v in extra.items()}}


# --- the tests ----------------------------------------------------------------------------


def test_the_check_routes_are_answered_by_the_fast_path(live: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    edge = live()
    ran: list[str] = []
    answer = FastCycle.answer
    monkeypatch.setattr(FastCycle, "answer", lambda self, *a: (ran.append(self.route.path), answer(self, *a))[1])
    exchange(edge.port, request(b"GET", VERSIONS, authed(b"f1")))
    exchange(edge.port, request(b"GET", VERSIONS, authed(b"s1"), version=b"HTTP/1.0"))  # declined: HTTP/1.0
    exchange(edge.port, request(b"POST", b"/v2/authenticate", authed(b"f2"), USER))
    assert ran == ["/v1/versions", "/v2/authenticate"]


def test_pipelined_requests_mixing_both_paths_are_answered_in_order(live: Any) -> None:
    edge = live()
    etag = exchange(edge.port, request(b"GET", VERSIONS, authed(b"r0")))[0].header("etag")
    assert etag is not None
    burst = [
        request(b"GET", VERSIONS, authed(b"r1")),
        request(b"GET", b"/status", {b"x-request-id": b"r2"}),
        request(b"POST", b"/v2/authenticate", authed(b"r3"), USER),
        request(b"GET", b"/nope", {b"x-request-id": b"r4"}),
        request(b"GET", VERSIONS, authed(b"r5", if_none_match=etag.encode())),
        request(b"HEAD", VERSIONS, authed(b"r6")),
        request(b"POST", b"/v2/authenticate", authed(b"r7", transfer_encoding=b"chunked"),
                b"%x\r\n%s\r\n0\r\n\r\n" % (len(USER), USER)),
        request(b"POST", b"/api/v1/target-checks", {b"x-api-key": DEMO_KEY.encode(), b"x-request-id": b"r8"},
                b'{"data":{"n":1}}'),
    ]
    answers = exchange(edge.port, b"".join(burst), heads=[False] * 5 + [True] + [False] * 2)
    assert [(a.header("x-request-id"), a.status) for a in answers] == [
        ("r1", 200), ("r2", 200), ("r3", 200), ("r4", 404), ("r5", 304), ("r6", 200), ("r7", 200), ("r8", 200)]
    assert answers[2].body == answers[6].body == b'{"success":true,"user_id":"u1","platform":"iOS","app_version":"2.5.0"}'
    events = decoded_events(edge.events_dir)
    assert [event["request_id"] for event in events] == ["r3", "r7", "r8"]


def test_head_answers_like_get_without_a_body(live: Any) -> None:
    edge = live()
    get, head = (exchange(edge.port, request(method, VERSIONS, authed(b"h")), heads=[method == b"HEAD"])[0]
                 for method in (b"GET", b"HEAD"))
    assert head.body == b"" and get.body
    assert head.same_as()[:2] == get.same_as()[:2]


def test_bodies_and_heads_split_across_reads(live: Any) -> None:
    edge = live()
    whole = request(b"POST", b"/v2/authenticate", authed(b"split"), USER)
    cut = whole.index(b"\r\n\r\n") + 4
    answers = exchange(edge.port, whole[:20], whole[20:cut], whole[cut:cut + 10], whole[cut + 10:], pause=0.05)
    assert answers[0].status == 200 and answers[0].header("x-request-id") == "split"
    # Two requests, the second's head arriving with the end of the first's body.
    second = request(b"GET", VERSIONS, authed(b"after"))
    answers = exchange(edge.port, whole[:-5], whole[-5:] + second[:30], second[30:], heads=[False, False], pause=0.05)
    assert [a.header("x-request-id") for a in answers] == ["split", "after"]
    assert [event["request_id"] for event in decoded_events(edge.events_dir)] == ["split", "split"]


def test_a_failed_event_write_answers_each_of_its_requests_with_the_seeds_500(live: Any) -> None:
    sink = FailingSink()
    edge = live(events=sink)
    burst = b"".join(request(b"POST", b"/v2/authenticate", authed(b"w%d" % n), USER) for n in range(3))
    check = request(b"POST", b"/api/v1/target-checks", {b"x-api-key": DEMO_KEY.encode()}, b'{"data":{}}')
    answers = exchange(edge.port, burst + check, heads=[False] * 4)
    assert [(a.status, a.body) for a in answers[:3]] == [(500, b'{"error":"Failed to update user version data"}')] * 3
    assert answers[3].status == 200  # a target check only reads: it answers even when its event is lost
    assert sink.batches >= 1
    # Side by side on separate connections (one batch), and by the ASGI path (HTTP/1.0).
    for version in (b"HTTP/1.1", b"HTTP/1.0"):
        assert exchange(edge.port, request(b"POST", b"/v2/authenticate", authed(b"x"), USER, version))[0].status == 500


def test_fast_and_asgi_answers_and_access_lines_are_identical(live: Any) -> None:
    edge = live()
    cases = [
        request(b"GET", VERSIONS + b"&token=SECRET", authed(b"c1")),
        request(b"GET", b"/v1/versions?app_id=demo", authed(b"c2")),  # 400: app_version is required
        request(b"GET", VERSIONS, {b"x-api-token": b"bad", b"x-request-id": b"c3"}),  # 401
        request(b"GET", b"/v2/maintenance?app_id=demo&environment=production", authed(b"c4")),
        request(b"POST", b"/v2/authenticate", authed(b"c5"), b'{"user_id":"u1"}'),  # 400: platform is required
        request(b"POST", b"/v2/authenticate", authed(b"c6"), USER),
        request(b"POST", b"/api/v1/target-checks", {b"x-api-key": DEMO_KEY.encode(), b"x-request-id": b"c7",
                                                    b"x-kickit-app-version": b"1.0.0"}, b'{"data":{"a":1}}'),
        request(b"POST", b"/ofrep/v1/evaluate/flags/kickit.upgrade", {b"x-api-key": DEMO_KEY.encode(),
                                                                      b"x-request-id": b"c8"}, OFREP_CONTEXT),
        request(b"POST", b"/ofrep/v1/evaluate/flags", {b"x-api-key": DEMO_KEY.encode(), b"x-request-id": b"c9"},
                OFREP_CONTEXT),
        request(b"POST", b"/ofrep/v1/evaluate/flags", {b"x-api-key": DEMO_KEY.encode(), b"x-request-id": b"c10",
                                                       b"if-none-match": OFREP_BULK_ETAG}, OFREP_CONTEXT),
        request(b"POST", b"/ofrep/v1/evaluate/flags/kickit.nope", {b"x-api-key": DEMO_KEY.encode(),
                                                                   b"x-request-id": b"c11"}, OFREP_CONTEXT),
    ]
    bulk = exchange(edge.port, request(b"POST", b"/ofrep/v1/evaluate/flags", {b"x-api-key": DEMO_KEY.encode()},
                                       OFREP_CONTEXT))[0]
    cases = [case.replace(OFREP_BULK_ETAG, str(bulk.header("etag")).encode()) for case in cases]
    edge.lines(1)  # its line, written: the lines compared below start after it
    edge.log_path.write_text("")
    fast = [exchange(edge.port, case)[0] for case in cases]
    asgi = [exchange(edge.port, case.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1))[0] for case in cases]
    assert [a.same_as() for a in fast] == [a.same_as() for a in asgi]
    assert [a.status for a in fast] == [200, 400, 401, 200, 400, 200, 200, 200, 200, 304, 404]
    lines = edge.lines(2 * len(cases))
    assert lines[:len(cases)] == lines[len(cases):]
    assert lines[0] == ('"GET /v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production&token=***"'
                        ' 200 139B rid=c1 rule=minimum:ios/production')
    metrics = exchange(edge.port, request(b"GET", b"/metrics"))[0].body.decode()
    assert 'kickit_requests_total{route="/v1/versions",status="200"} 2.0' in metrics
    assert 'kickit_requests_total{route="/v2/authenticate",status="400"} 2.0' in metrics


def test_an_unexpected_exception_is_the_json_500_and_the_same_line(live: Any) -> None:
    edge = live()
    edge.app.state.runtime.clock = lambda: 1 / 0  # a bug, not a client mistake
    fast = exchange(edge.port, request(b"GET", VERSIONS, authed(b"e1")))[0]
    asgi = exchange(edge.port, request(b"GET", VERSIONS, authed(b"e1"), version=b"HTTP/1.0"))[0]
    assert (fast.status, fast.body, fast.header("content-type")) == (500, b'{"error":"Internal Server Error"}',
                                                                      "application/json")
    assert (asgi.status, asgi.body) == (fast.status, fast.body)
    assert fast.header("connection") == "close"
    assert edge.lines(2) == ['"GET /v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"'
                             ' 500 0B rid=-'] * 2


def test_cors_turns_the_fast_path_off(live: Any) -> None:
    edge = live(cors_origin=("https://app.example",))
    assert edge.app.state.fastpath is None
    answer = exchange(edge.port, request(b"GET", VERSIONS, authed(b"o1", origin=b"https://app.example")))[0]
    assert answer.header("access-control-allow-origin") == "https://app.example"



def test_an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not(live: Any) -> None:
    edge = live(keep_alive=1)
    with socket.create_connection(("127.0.0.1", edge.port), timeout=30) as sock:
        for n in range(6):  # busy for longer than the timeout, never idle for as long
            sock.sendall(request(b"GET", VERSIONS, authed(b"k%d" % n)))
            assert read_answers(sock, [False])[0].header("x-request-id") == f"k{n}"
            time.sleep(0.3)
        sock.settimeout(10)
        assert sock.recv(1) == b""  # then idle: closed by the server (within a sweep of the timeout)


def test_a_proxied_request_names_the_forwarded_client_and_the_limit_still_answers_503(live: Any) -> None:
    edge = live(limit_concurrency=3)
    forwarded = exchange(edge.port, request(b"GET", VERSIONS, authed(b"p1", x_forwarded_for=b"203.0.113.9")))[0]
    assert forwarded.status == 200
    wait_until(lambda: "203.0.113.9" in edge.log_path.read_text(), what="the forwarded client in the access line")
    # uvicorn counts open connections, the asking one included: two held open leave no room for a third.
    with socket.create_connection(("127.0.0.1", edge.port)), socket.create_connection(("127.0.0.1", edge.port)):
        wait_until(lambda: exchange(edge.port, request(b"GET", VERSIONS, authed(b"p2")))[0].status == 503,
                   what="503 beyond the limit")
    wait_until(lambda: exchange(edge.port, request(b"GET", VERSIONS, authed(b"p3")))[0].status == 200,
               what="the slot free again")
