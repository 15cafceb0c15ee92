"""The access log of the edge and of the admin: one line per request, never a secret, almost free.

A line names the client address, method, path, the redacted query, status,
body size, duration, request id and the rule that answered (from the
``X-Kickit-Rule`` response header), after the prefix every log line of the
process has::

    2026-11-30 19:35:17,123 INFO kickit_edge.access [4711] 127.0.0.1:50312 "GET /v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production" 200 96B 0.31ms rid=1a2b3c4d9f-2 rule=minimum:ios/production

Never a secret: headers (they carry the keys) and bodies are never logged;
the query is logged through a redaction (:func:`shown_params` for the edge,
which keeps only the check parameters' values; :func:`filtered_params` for the
admin, which filters ``auth_token``); and a key-shaped run of characters (a
key's hex secret, its base64 ``x-api-token`` form) is masked wherever a client
put it, in the path or in any value that is shown.

Almost free: no ``logging`` record per request. :class:`RequestLog` formats
one line from what the request path already parsed; the lines of
:data:`FLUSH_INTERVAL` (10 ms, the batch's time in their prefix) are joined
once and handed to a thread that writes them with one ``os.write``. The request path never waits for the
destination: if it is slow or full, batches wait in memory up to
:data:`MAX_PENDING_BYTES`, then are dropped and counted, and the count is
reported on the ``kickit_edge.access`` logger at most once per
:data:`REPORT_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable, Collection
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logformat import MAX_PENDING_BYTES, BackgroundWriter
from .wire import VERDICT_KEY

__all__ = ["AccessLog", "AccessLogWriter", "RequestLog", "LOGGED_PARAMS", "QueryRedaction", "filtered_params", "mask_secrets",
           "shown_params"]

log = logging.getLogger("kickit_edge.access")

LOGGED_PARAMS = frozenset({"app_id", "app_version", "platform", "environment"})
# A batch is handed to the writer thread this long after its first line (or at BATCH_LINES):
# waking the thread at every turn of a busy event loop cost more than formatting the lines.
FLUSH_INTERVAL = 0.01
BATCH_LINES = 1000
REPORT_INTERVAL = 10.0
_MAX_VALUE = 64
_MAX_TARGET = 512
# A run this long from the hex or base64 alphabets is a secret, or could be one:
# keys are 16 + 64 hex digits, their x-api-token is 108 base64 characters.
# "/" is base64 too, so a secret in a path takes the segments around it along
# (masking too much is the safe side: a base64 token cut at its "/" would leak).
_SECRET_LENGTH = 32
_SECRET = re.compile(r"[A-Za-z0-9+][A-Za-z0-9+/]{%d,}={0,2}" % (_SECRET_LENGTH - 1))
MASK = "***"

QueryRedaction = Callable[[bytes], str]
Observe = Callable[[str, int, "str | None", float], None]  # route, status, verdict, seconds


def mask_secrets(text: str) -> str:
    """``text`` with every key-shaped run of characters replaced by ``***``."""
    return _SECRET.sub(MASK, text) if len(text) >= _SECRET_LENGTH else text  # shorter: no run can be one


def shown_params(names: Collection[str]) -> QueryRedaction:
    """The values of ``names`` shown (bounded, quoted), any other value ``***``."""
    allowed = frozenset(names)

    @lru_cache(maxsize=4096)  # clients send the same few queries over and over
    def redact(raw: bytes) -> str:
        if not raw:
            return ""
        parts = []
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            shown = quote(value[:_MAX_VALUE], safe="") if name in allowed else MASK
            parts.append(f"{quote(name[:_MAX_VALUE], safe='')}={shown}")
        return mask_secrets("?" + "&".join(parts))

    return redact


def filtered_params(names: Collection[str], replacement: str = "[FILTERED]") -> QueryRedaction:
    """The query as sent, with the value of each parameter in ``names`` (any case) replaced."""
    hidden = frozenset(name.lower() for name in names)

    @lru_cache(maxsize=4096)
    def redact(raw: bytes) -> str:
        if not raw:
            return ""
        parts = []
        for part in raw.decode("latin-1").split("&"):
            name, _, _ = part.partition("=")
            if unquote_plus(name).strip().lower() in hidden:
                part = f"{name}={replacement}"
            parts.append(part)
        return mask_secrets("?" + "&".join(parts))

    return redact


@lru_cache(maxsize=4096)
def _path(path: str) -> str:
    return mask_secrets(quote(path[:_MAX_TARGET], safe="/-._~"))


class AccessLogWriter:
    """Writes the lines of each batch (see :data:`FLUSH_INTERVAL`) with one ``os.write`` on a thread of its own.

    ``fd`` is where lines go (stderr by default, as every other log line).
    Create it in the process that serves (after any fork); the thread starts
    with the first batch.
    """

    def __init__(self, fd: int = 2, name: str = "kickit_edge.access", *, json: bool = False) -> None:
        self.name = name
        self.json = json
        self.dropped = 0
        self._lines: list[str] = []
        self._out = BackgroundWriter(fd, "kickit-accesslog", self._failed, MAX_PENDING_BYTES)
        self._reported = 0.0
        self._prefix_second = -1
        self._prefix = ""
        self._pid = os.getpid()  # created in the serving process, after any fork

    @property
    def fd(self) -> int:
        return self._out.fd

    @fd.setter
    def fd(self, fd: int) -> None:  # before the first line
        self._out.fd = fd

    def record(self, client: str, method: str, path: str, query: str, status: int, size: int, ms: float,
               rid: str, rule: str | None) -> None:
        """Queue one request's line: the text form, or (``json``) an object with the same fields and the text."""
        text = (f'{client} "{method} {path}{query}" {status} {size}B {ms:.2f}ms rid={rid}'
                + (f" rule={rule}" if rule is not None else ""))
        if not self.json:
            self.add(text)
            return
        fields = {"message": text, "client": client, "method": method, "path": path, "query": query,
                  "status": status, "bytes": size, "duration_ms": round(ms, 3), "request_id": rid, "rule": rule}
        self.add(json.dumps(fields, ensure_ascii=False)[1:])  # the batch's prefix opens the object

    def add(self, line: str) -> None:
        """Queue ``line`` for the next batch: :data:`FLUSH_INTERVAL` after the first line, or sooner when it is full."""
        lines = self._lines
        lines.append(line)
        if len(lines) == 1:
            asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self.flush)
        elif len(lines) == BATCH_LINES:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Hand the lines gathered so far to the writer thread (or drop them, counted, if it is behind)."""
        lines, self._lines = self._lines, []
        if not lines:
            return
        now = time.time()
        prefix = self._prefix_at(now)
        batch = "".join([prefix + line + "\n" for line in lines]).encode("utf-8", "backslashreplace")
        if not self._out.offer(batch):
            self.dropped += len(lines)
            self._report(now)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds) and stop the thread."""
        self.flush()
        self._out.close(timeout)

    def _prefix_at(self, now: float) -> str:
        # The same fields as the processes' log format; the time is the batch's.
        second = int(now)
        if second != self._prefix_second:
            self._prefix_second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S" if self.json else "%Y-%m-%d %H:%M:%S",
                                         time.gmtime(now) if self.json else time.localtime(now))
        if self.json:
            return (f'{{"time": "{self._prefix}.{int(now % 1 * 1000):03d}Z", "level": "INFO", '
                    f'"logger": "{self.name}", "pid": {self._pid}, ')
        return f"{self._prefix},{int(now % 1 * 1000):03d} INFO {self.name} [{self._pid}] "

    def _failed(self, lost: bytes, exc: OSError) -> None:
        self.dropped += lost.count(b"\n")
        self._report(time.time(), exc)

    def _report(self, now: float, exc: OSError | None = None) -> None:
        if now - self._reported >= REPORT_INTERVAL:
            self._reported = now
            why = f": {exc}" if exc is not None else ": the destination is behind"
            log.warning("access log lines dropped (%d so far)%s", self.dropped, why)


class RequestLog:
    """What an answered request leaves behind: its metrics count (``observe``) and its access line (``writer``).

    One home for both ways a request is served (the :class:`AccessLog`
    middleware and the edge's fast path), so their lines and counts cannot
    differ. Without a writer only the metrics count; without ``observe`` only
    the line is written.
    """

    def __init__(self, writer: AccessLogWriter | None, redact: QueryRedaction,
                 observe: Observe | None = None, route_of: Callable[[str], str] | None = None) -> None:
        self.writer = writer
        self.redact = redact
        self.observe = observe
        self.route_of = route_of

    def done(self, client: tuple[str, int] | None, method: str, path: str, query: bytes, status: int,
             verdict: str | None, size: int, seconds: float, rid: bytes, rule: bytes | None) -> None:
        if self.observe is not None and self.route_of is not None:
            self.observe(self.route_of(path), status, verdict, seconds)
        if self.writer is not None:
            self.writer.record(f"{client[0]}:{client[1]}" if client else "-", method, _path(path), self.redact(query),
                               status, size, seconds * 1000, mask_secrets(rid.decode("latin-1")),
                               rule.decode("latin-1") if rule else None)


class AccessLog:
    """ASGI middleware: one line per HTTP request into ``writer``, the query through ``redact``."""

    def __init__(self, app: ASGIApp, writer: AccessLogWriter, redact: QueryRedaction,
                 observe: Observe | None = None, route_of: Callable[[str], str] | None = None) -> None:
        self.app = app
        # The metrics' counter is fed here too, so a request passes one wrapper, not two.
        self.log = RequestLog(writer, redact, observe, route_of)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, size, rid, rule = 500, 0, b"-", b""  # 500 unless the app answers: an exception is a 500 further out
        verdict = None

        async def watch(message: Message) -> None:
            nonlocal status, size, rid, rule, verdict
            if message["type"] == "http.response.start":
                status = message["status"]
                verdict = message.get(VERDICT_KEY)
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        rid = value
                    elif name == b"x-kickit-rule":
                        rule = value
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.log.done(scope.get("client"), scope["method"], scope["path"], scope["query_string"], status, verdict,
                          size, time.perf_counter() - started, rid, rule)
