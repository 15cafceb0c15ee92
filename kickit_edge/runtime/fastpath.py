"""The fast path: the check routes answered inside uvicorn's protocol, without an ASGI scope, a task or Starlette.

A check is a few dict lookups and a prebuilt body (:mod:`.checks`); under
ASGI, building the scope, running a task per request and passing the
middleware layers cost several times the check itself. :class:`EdgeProtocol`
(the edge's uvicorn ``http`` class: :class:`~.limits.BoundedProtocol` plus
this) recognises a check request when its head is complete and answers it
from the endpoint's own :meth:`~.checks.CheckRoute.respond`: the same
decision, the same headers (:func:`~.wire.answer_message`), the same access
line and metrics count (:class:`~.accesslog.RequestLog`) as the ASGI path.

It takes only what it fully understands, and leaves everything else to the
ASGI app unchanged:

- ``GET`` on the versions and maintenance paths (no body), ``POST`` on
  ``/v2/authenticate``, ``/api/v1/target-checks`` and the OFREP paths (bulk,
  and each flag's own) with a ``Content-Length``
  within ``--max-body`` and uvicorn's read buffer (the ASGI path answers 413,
  and reads larger bodies as the endpoint asks for them); the path exactly as
  routed, no fragment, no absolute-form target;
- HTTP/1.1, no upgrade, no ``Expect``, no ``Transfer-Encoding``, no
  ``X-Forwarded-*`` (uvicorn's proxy headers rewrite the client the access
  log names), under ``--limit-concurrency``, and no CORS configured.

Each request taken is a :class:`FastCycle` standing where uvicorn keeps its
``RequestResponseCycle``, so uvicorn's body callbacks, pipelining queue,
keep-alive, shutdown and the bounded-HTTP deadlines treat it as one: answers
leave in request order, a POST waits for its event's group commit (a failed
write answers each of its requests with the endpoint's failure), and an
unexpected exception is logged and answered with the JSON 500, the
connection then closed, as under Starlette.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import Any, NamedTuple

from starlette.applications import Starlette
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from ..snapshot import Answer
from .accesslog import RequestLog
from .checks import CheckRoute, Pending
from .context import Runtime
from .limits import _BODY, BoundedProtocol
from .wire import INTERNAL_ERROR, OPERATOR, Family, answer_message, header_fields, request_id, rule_header

__all__ = ["FastPath", "FastCycle", "EdgeProtocol", "PROTOCOL"]

PROTOCOL = "kickit_edge.runtime.fastpath:EdgeProtocol"

log = logging.getLogger("kickit_edge.runtime")

# Requests whose headers change what the ASGI app would see or do: they take it.
_DECLINED_HEADERS = (b"transfer-encoding", b"x-forwarded-for", b"x-forwarded-proto")


class FastRoute(NamedTuple):
    path: str
    method: str
    check: CheckRoute
    conditional: bool  # If-None-Match may answer 304


class FastPath:
    """The check routes the protocol answers itself, by (method, path); built by the app, found by the protocol."""

    def __init__(self, runtime: Runtime, checks: dict[tuple[str, str], CheckRoute], log: RequestLog) -> None:
        self.runtime = runtime
        self.routes = {(method.encode("ascii"), path.encode("ascii")): FastRoute(path, method, check, check.conditional)
                       for (method, path), check in checks.items()}
        self.log = log
        # A body past uvicorn's high-water mark pauses reading until an ASGI app receives it.
        self.max_body = min(runtime.max_body, HIGH_WATER_LIMIT)

    def cycle_for(self, protocol: EdgeProtocol) -> FastCycle | None:
        """A cycle for the request whose head ``protocol`` just parsed, or None when the ASGI app must take it."""
        path, _, query = protocol.url.partition(b"?")
        parser = protocol.parser
        route = self.routes.get((parser.get_method(), path))
        if route is None or b"#" in query or protocol.expect_100_continue or parser.should_upgrade() \
                or parser.get_http_version() != "1.1":
            return None
        headers = header_fields(protocol.headers)
        for name in _DECLINED_HEADERS:
            if name in headers:
                return None
        length = headers.get(b"content-length")
        if route.method == "GET":
            if length is not None and length != b"0":
                return None
        elif length is None or not length.isdigit() or int(length) > self.max_body:
            return None
        limit = protocol.limit_concurrency
        if limit is not None and (len(protocol.connections) >= limit or len(protocol.tasks) >= limit):
            return None  # uvicorn answers 503
        return FastCycle(protocol, self, route, query, headers, parser.should_keep_alive())


class FastCycle:
    """One request answered by the fast path, in the place of uvicorn's ``RequestResponseCycle``.

    uvicorn's protocol calls ``message_event.set()`` after body bytes, at the
    end of the request and when the client goes away; the cycle is its own
    event and answers once it is started (its turn in the pipeline) and the
    request is complete (or the client gone, as an ASGI app would go on
    with what it had).
    """

    __slots__ = ("protocol", "fast", "route", "query", "headers", "keep_alive", "body", "more_body",
                 "response_started", "response_complete", "disconnected", "started", "ran", "message_event", "since")

    def __init__(self, protocol: EdgeProtocol, fast: FastPath, route: FastRoute, query: bytes,
                 headers: dict[bytes, bytes], keep_alive: bool) -> None:
        self.protocol = protocol
        self.fast = fast
        self.route = route
        self.query = query
        self.headers = headers
        self.keep_alive = keep_alive
        self.body = bytearray()
        self.more_body = True
        self.response_started = self.response_complete = self.disconnected = False
        self.started = self.ran = False
        self.message_event = self
        self.since = 0.0

    def set(self) -> None:
        if self.started and not self.ran and (not self.more_body or self.disconnected):
            self.run()

    def start(self, now: bool) -> None:
        """Its turn: answer when the request is complete (``now``: in this call, else in a later turn of the loop)."""
        self.started = True
        if not self.more_body:
            if now:
                self.run()
            else:  # from the pipeline: a call per request, not a recursion through a pipelined burst
                self.protocol.loop.call_soon(self.set)

    def run(self) -> None:
        self.ran = True
        self.since = time.perf_counter()
        rid = request_id(self.headers)
        try:
            result = self.route.check.respond(self.headers, self.query, bytes(self.body), rid)
        except Exception:  # noqa: BLE001 - a bug: logged, and the client gets no detail
            self.fail()
            return
        if not isinstance(result, Pending):
            self.answer(result, rid)
            return
        events = self.fast.runtime.events
        if events is None:
            self.answer(result.failed, rid)
            return
        events.submit(result.event, lambda error: self.answer(result.written if error is None else result.failed, rid))

    def answer(self, answer: Answer, rid: bytes) -> None:
        route = self.route
        if_none_match = self.headers.get(b"if-none-match") if route.conditional else None
        if route.method == "GET":  # one of the snapshot's prebuilt answers, asked for again and again
            framed = _framed(answer, route.check.family, if_none_match)
        else:  # a POST's answer is often new (an echo, an evaluation for one context)
            framed = _frame(answer, route.check.family, if_none_match)
        status, before, after, body, verdict = framed
        self.send(status, before, rid, after, body)
        self.fast.log.done(self.protocol.client, route.method, route.path, self.query, status, verdict, len(body),
                           time.perf_counter() - self.since, rid, rule_header(answer.rule) if answer.rule else None)

    def fail(self) -> None:
        """An unexpected exception: what Starlette's error handling does (a JSON 500, the connection closed)."""
        log.exception("Exception in the fast path")
        self.keep_alive = False
        status, before, after, body, _ = _frame(INTERNAL_ERROR, OPERATOR, None)
        self.send(status, before, request_id(self.headers), after, body)
        # The access line of an exception under Starlette: the middleware saw no answer of the app's.
        self.fast.log.done(self.protocol.client, self.route.method, self.route.path, self.query, 500, None, 0,
                           time.perf_counter() - self.since, b"-", None)

    def send(self, status: int, before: bytes, rid: bytes, after: bytes, body: bytes) -> None:
        """Write the whole answer with one call, as uvicorn would frame it; then the next request's turn."""
        protocol = self.protocol
        self.response_started = True
        if self.disconnected or protocol.transport.is_closing():
            return
        parts = [STATUS_LINE[status]]
        for name, value in protocol.server_state.default_headers:  # the date (uvicorn renews it every second)
            parts += (name, b": ", value, b"\r\n")
        parts += (before, rid, after)
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", body)
        protocol.transport.write(b"".join(parts))
        self.response_complete = True
        if not self.keep_alive:
            protocol.transport.close()
        protocol.on_response_complete()


_RID = b"\0request-id\0"
Framed = tuple[int, bytes, bytes, bytes, "str | None"]  # status, headers before the request id, after it, body, verdict


def _frame(answer: Answer, family: Family, if_none_match: bytes | None) -> Framed:
    """:func:`~.wire.answer_message`'s headers as bytes, split where each request puts its own id."""
    status, headers, body, verdict = answer_message(answer, family, _RID, if_none_match=if_none_match)
    before, after = b"".join([name + b": " + value + b"\r\n" for name, value in headers]).split(_RID)
    return status, before, after, body, verdict


# A GET's answer is one of the snapshot's few prebuilt ones, and a client's If-None-Match is the ETag it was
# given: their bytes are framed once (answers of an older snapshot leave the cache as new ones come).
_framed = lru_cache(maxsize=4096)(_frame)


def _fast_path_of(app: Any) -> FastPath | None:
    """The app's fast path, through uvicorn's wrappers (proxy headers, message logger)."""
    for _ in range(8):
        if isinstance(app, Starlette):
            fast = getattr(app.state, "fastpath", None)
            return fast if isinstance(fast, FastPath) else None
        app = getattr(app, "app", None)
    return None


class EdgeProtocol(BoundedProtocol):
    """:class:`~.limits.BoundedProtocol` that answers the check routes itself; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast = None if self.root_path else _fast_path_of(self.app)

    def on_headers_complete(self) -> None:
        # An answer made inside this read (below) armed the keep-alive timer, not knowing a request followed it.
        self._unset_keepalive_if_required()
        cycle = self.fast.cycle_for(self) if self.fast is not None else None
        if cycle is None:
            BoundedProtocol.on_headers_complete(self)
            return
        self._reading, self._since = _BODY, self.loop.time()
        existing, self.cycle = self.cycle, cycle  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            cycle.start(now=True)
        else:  # pipelined behind an answer still being made: its turn comes in order
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, None))  # type: ignore[arg-type]

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if isinstance(cycle, FastCycle):
            cycle.start(now=False)
        else:
            super()._start_asgi_task(cycle, app)

