"""CORS for browser and hybrid clients (a web page, Capacitor, Cordova), off unless origins are given.

With no ``--cors-origin`` nothing is added to the request path; with some,
Starlette's ``CORSMiddleware`` answers preflights and adds the CORS headers.
The check APIs' headers are allowed and the ones a client reads are exposed.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

__all__ = ["cors", "CHECK_HEADERS", "ADMIN_HEADERS", "EXPOSED_HEADERS"]

# The headers the seeds' clients send (keys, the KickIt request headers, revalidation).
CHECK_HEADERS = (
    "x-api-token", "x-api-key", "x-kickit-app-version", "x-kickit-build-number", "x-kickit-platform",
    "x-kickit-platform-os-version", "x-kickit-environment", "x-kickit-app-name", "if-none-match",
    "x-request-id", "content-type", "accept",
)
ADMIN_HEADERS = ("authorization", "content-type", "accept", "x-request-id")
EXPOSED_HEADERS = ("etag", "x-request-id", "x-kickit-rule", "x-kickit-hard-from")
PREFLIGHT_MAX_AGE = 600


def cors(origins: Sequence[str], headers: Sequence[str], methods: Sequence[str]) -> list[Middleware]:
    """The CORS middleware for ``origins`` (``*`` for any), or nothing when there are none."""
    if not origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=list(methods),
                       allow_headers=list(headers), expose_headers=list(EXPOSED_HEADERS),
                       max_age=PREFLIGHT_MAX_AGE)]
