"""Bounded HTTP: uvicorn's httptools protocol with a bound on the request head and read deadlines.

uvicorn's httptools protocol reads a request head of any size, for as long as
the client likes, and waits for a body forever: ten connections sending
unfinished headers can hold hundreds of MiB, and slow ones hold a worker's
connections (and its shutdown) as long as they like. :class:`BoundedProtocol`
is that protocol plus three limits, given to uvicorn as its ``http`` class:

- ``max_header_bytes``: the request line and headers together; a head that
  grows past it is answered ``431`` (JSON) and the connection closed, having
  held at most one read buffer more than the bound;
- ``header_timeout``: seconds from a connection's start, or from the first
  byte of the next request on it, to the end of the request's head;
- ``body_timeout``: seconds from the end of the head to the end of the body.

A request past a deadline is answered ``408`` (JSON) if no answer has started,
and its connection is closed. What uvicorn itself answers in plain text is
answered in the same JSON shape too: a request the HTTP parser refuses (``400``,
the connection closed) and one beyond ``--limit-concurrency`` (``503``). Each
of these answers carries the ETag and a request id, as every JSON answer does.

The deadlines are checked by one sweep per second per worker over the open
connections, not by a timer per request, so a request pays a clock read and a
few attribute stores. The same sweep closes a
keep-alive connection idle for uvicorn's ``timeout_keep_alive`` seconds (up to
one more): uvicorn arms a timer after every answer and cancels it at the next
request, two timer operations per request that cost more than a whole access
line.

Worker processes do not inherit Python objects, so the limits are read from
the settings' environment variables (:meth:`ProcessSettings.resolve`) once per
process; a process may also set :attr:`BoundedProtocol.limits` before serving.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any, ClassVar, NamedTuple

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ..settings import Settings
from ..snapshot import Answer, error_answer, etag_of
from .wire import OPERATOR, answer_message, request_id

__all__ = ["HttpLimits", "BoundedProtocol", "PROTOCOL", "closing_answer", "json_answer"]

PROTOCOL = "kickit_edge.runtime.limits:BoundedProtocol"
SWEEP_INTERVAL = 1.0

_HEAD, _BODY = 1, 2  # what a connection is reading (the body phase lasts until the next head)


class HttpLimits(NamedTuple):
    max_header_bytes: int
    header_timeout: float
    body_timeout: float

    @classmethod
    def of(cls, settings: Any) -> HttpLimits:
        return cls(settings.max_header_bytes, settings.header_timeout, settings.body_timeout)


def json_answer(status: int, body: bytes) -> Answer:
    """An answer of the protocol itself: ``body`` (JSON) with its ETag."""
    return Answer(status, body, etag_of(body), "error", None)


def closing_answer(answer: Answer, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole HTTP/1.1 message of ``answer``, with the edge's headers and a new request id, closing the connection."""
    _, headers, body, _ = answer_message(answer, OPERATOR, request_id({}))
    parts = [STATUS_LINE[answer.status]]
    for name, value in (*default_headers, *headers, (b"connection", b"close")):
        parts += (name, b": ", value, b"\r\n")
    parts += (b"\r\n", body)
    return b"".join(parts)


class BoundedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`HttpLimits`; see the module docstring."""

    limits: ClassVar[HttpLimits | None] = None
    TOO_LARGE: ClassVar[Answer] = error_answer(431, "Request Header Fields Too Large")
    TIMEOUT: ClassVar[Answer] = error_answer(408, "Request Timeout")
    INVALID: ClassVar[Answer] = error_answer(400, "Bad Request: invalid HTTP request")
    BUSY: ClassVar[Answer] = error_answer(503, "Service Unavailable: too many concurrent requests")
    _sweepers: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]]] = \
        weakref.WeakKeyDictionary()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self).limits is None:
            type(self).limits = HttpLimits.of(Settings.resolve(environ=os.environ))
        assert self.limits is not None
        self._max_head = self.limits.max_header_bytes
        self._reading = _HEAD
        self._since = self.loop.time()
        self._head_bytes = 0
        self._idle_since: float | None = None  # since the last answer, while no byte of another request came
        self._final: Answer | None = None  # the refusal that closes the connection once earlier answers are out
        if self.loop not in self._sweepers:
            self._sweepers[self.loop] = self.loop.create_task(self._sweep(self.limits, self.connections))

    def data_received(self, data: bytes) -> None:
        # Three methods are wrapped, each a call per request: a head starts with the first
        # bytes after a whole request (or the connection's first), the body with the head's end,
        # an answer starts the idle time; the sweep reads the end of the body from uvicorn's
        # own ``cycle.more_body``.
        self._idle_since = None
        if self._final is not None:
            return  # refused: nothing more is read
        if self._reading == _BODY and (self.cycle is None or not self.cycle.more_body):
            self._reading, self._since, self._head_bytes = _HEAD, self.loop.time(), 0
        if self._reading == _HEAD:
            # Counted before parsing: a whole oversized head can arrive in one read, and
            # once parsed it would already be a request. Only the head's bytes count, not
            # a body sent with it.
            end = data.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else end + 4
            if self._head_bytes > self._max_head:
                if not self.transport.is_closing():
                    self._refuse_in_turn(self.TOO_LARGE)
                return
        HttpToolsProtocol.data_received(self, data)

    def on_headers_complete(self) -> None:
        self._reading, self._since = _BODY, self.loop.time()
        HttpToolsProtocol.on_headers_complete(self)

    def on_response_complete(self) -> None:
        # uvicorn's, with the idle time noted for the sweep instead of a keep-alive timer armed.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        if self._final is not None and not self.pipeline:
            self._refuse(self._final)
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle_since = self.loop.time()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request its parser refuses (it has logged ``msg``), in plain text there.
        self._refuse_in_turn(self.INVALID)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        # uvicorn runs its plain-text 503 app on a request beyond --limit-concurrency.
        HttpToolsProtocol._start_asgi_task(self, cycle, self._busy if app is service_unavailable else app)  # type: ignore[arg-type]

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        _, headers, body, _ = answer_message(self.BUSY, OPERATOR, request_id({}))
        await send({"type": "http.response.start", "status": 503, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _refuse_in_turn(self, answer: Answer) -> None:
        """:meth:`_refuse` now, or after the answers to the whole requests before this one (pipelined)."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete or cycle.more_body:  # more_body: the fault is in its body
            self._refuse(answer)
        else:
            self._final = answer
            self.flow.pause_reading()

    def _refuse(self, answer: Answer) -> None:
        """Answer ``answer`` unless an answer is under way, and close the connection."""
        self._reading = 0
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(closing_answer(answer, self.server_state.default_headers))
        if cycle is not None:
            cycle.keep_alive = False
        self.transport.close()

    @classmethod
    async def _sweep(cls, limits: HttpLimits, connections: set[Any]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = loop.time()
            for connection in list(connections):
                idle = getattr(connection, "_idle_since", None)
                if idle is not None and now - idle > connection.timeout_keep_alive:
                    connection.timeout_keep_alive_handler()  # closes it, as uvicorn's timer would
                    continue
                reading = getattr(connection, "_reading", 0)
                if reading == _HEAD and now - connection._since > limits.header_timeout \
                        or reading == _BODY and getattr(connection.cycle, "more_body", False) \
                        and now - connection._since > limits.body_timeout:
                    if not connection.transport.is_closing():
                        connection._refuse(cls.TIMEOUT)
