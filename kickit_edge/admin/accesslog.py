"""The access log of the admin process, which never records a token.

uvicorn's own access log writes the query string as sent, ``auth_token``
included, so the admin server turns it off and logs here instead, with every
``auth_token`` value replaced by ``[FILTERED]``. Headers are never logged.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import TOKEN_PARAM

__all__ = ["AccessLog", "redact_query"]

log = logging.getLogger("kickit_edge.admin.access")
FILTERED = "[FILTERED]"
MAX_LOGGED_TARGET = 512


def redact_query(query: str) -> str:
    """``query`` with the value of every ``auth_token`` parameter replaced by ``[FILTERED]``."""
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        if unquote_plus(name).strip().lower() == TOKEN_PARAM:
            part = f"{name}={FILTERED}"
        parts.append(part)
    return "&".join(parts)


class AccessLog:
    """``client - "METHOD /path?query HTTP/1.1" status duration``, one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # unless the app answers: an exception becomes a 500 further out
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            target = scope.get("path", "")
            query = scope.get("query_string", b"").decode("latin-1")
            if query:
                target += "?" + redact_query(query)
            if len(target) > MAX_LOGGED_TARGET:
                target = target[:MAX_LOGGED_TARGET] + "..."
            client = scope.get("client")
            who = f"{client[0]}:{client[1]}" if client else "-"
            elapsed = (time.perf_counter() - started) * 1000
            log.info('%s - "%s %s HTTP/%s" %d %.1fms', who, scope["method"], target,
                     scope.get("http_version", "1.1"), status, elapsed)
