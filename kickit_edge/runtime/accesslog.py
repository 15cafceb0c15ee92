"""The access log: one line per request, and never a secret.

A line names the client address, method, path, status, body size, duration,
request id and the rule that answered (from the ``X-Kickit-Rule`` response
header)::

    127.0.0.1:50312 "GET /v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production" 200 96B 0.31ms rid=1a2b3c4d9f-2 rule=minimum:ios/production

Headers are never logged (they carry the keys), nor bodies. The query string
is logged with the values of the parameters the check APIs define; any other
parameter's value is replaced by ``***`` in case a client put a key in it.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, quote

from .wire import Receive, Scope, Send

__all__ = ["AccessLog", "LOGGED_PARAMS"]

log = logging.getLogger("kickit_edge.access")

LOGGED_PARAMS = frozenset({"app_id", "app_version", "platform", "environment"})
_MAX_VALUE = 64


def _query(raw: bytes) -> str:
    if not raw:
        return ""
    parts = []
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        shown = quote(value[:_MAX_VALUE], safe="") if name in LOGGED_PARAMS else "***"
        parts.append(f"{quote(name[:_MAX_VALUE], safe='')}={shown}")
    return "?" + "&".join(parts)


class AccessLog:
    """ASGI middleware that logs each HTTP request after its answer is sent."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 0, "size": 0, "rid": b"-", "rule": None}

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        seen["rid"] = value
                    elif name == b"x-kickit-rule":
                        seen["rule"] = value
            elif message["type"] == "http.response.body":
                seen["size"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            client = scope.get("client")
            where = f"{client[0]}:{client[1]}" if client else "-"
            path = quote(scope["path"][:512], safe="/-._~")
            line = (f'{where} "{scope["method"]} {path}{_query(scope["query_string"])}" {seen["status"]} '
                    f'{seen["size"]}B {(time.perf_counter() - started) * 1000:.2f}ms '
                    f'rid={seen["rid"].decode("latin-1")}')
            if seen["rule"] is not None:
                line += f' rule={seen["rule"].decode("latin-1")}'
            log.info(line)
