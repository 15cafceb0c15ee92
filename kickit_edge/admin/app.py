"""The admin ASGI app: the Kickfolio management API over one config folder.

Every request passes, outermost first: the access log (tokens filtered), the
guard (API version from ``Accept``, the declared body size, the admin token),
then the routes. Every error on the way out, ours or Starlette's, is answered
in the Kickfolio shape ``{"message", "code", "errors"?}``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import OperatorError
from ..runtime.accesslog import AccessLog, AccessLogWriter, filtered_params
from ..runtime.cors import ADMIN_HEADERS, cors
from ..runtime.openapi import OpenApiEndpoint, admin_document
from ..runtime.metrics import Exposition, Measure, Recorder, route_labels
from .auth import TOKEN_PARAM, authenticate, presented_token
from .editor import Editor
from .errors import (
    INTERNAL_ERROR,
    ApiError,
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    error_body,
)
from .gitlog import GitLog, GitOptions
from .routes import MAX_BODY_BYTES, build_routes
from .store import ConfigStore
from .versioning import negotiate

__all__ = ["create_admin_app"]

log = logging.getLogger("kickit_edge.admin")


def error_response(error: ApiError) -> Response:
    return Response(error_body(error), status_code=error.status, headers=error.headers,
                    media_type="application/json")


class Guard:
    """Refuses, before any route runs, what no route may answer: a foreign API version, an
    oversized body, a missing or wrong token. Records the token's name for the routes."""

    def __init__(self, app: ASGIApp, store: ConfigStore, max_body: int, metrics: bool = True) -> None:
        self.app = app
        self.store = store
        self.max_body = max_body
        # Public, as the routes it describes are; /metrics in it only where this port serves it.
        self.document = OpenApiEndpoint(admin_document(metrics=metrics))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/openapi.json" and scope["method"] in ("GET", "HEAD"):
            await self.document(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            negotiate(headers.get("accept"))
            length = headers.get("content-length")
            if length is not None:
                if not length.strip().isdigit():
                    raise BadRequest("Content-Length is not a number")
                if int(length) > self.max_body:
                    raise PayloadTooLarge(f"the body is larger than {self.max_body} bytes")
            token = presented_token(headers.get("authorization"), scope.get("query_string", b""))
            tokens = await run_in_threadpool(self.store.tokens)  # token files only: no app file before auth
            admin = authenticate(token, tokens, datetime.now(UTC))
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        scope.setdefault("state", {})["admin"] = admin.name
        await self.app(scope, receive, send)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        # The path is not echoed: a client may have put a secret in it.
        return error_response(NotFound(f"no route for {request.method} on this path: "
                                       "see /api/apps and /api/versions"))
    if exc.status_code == 405:
        # Starlette joins a set: sorted, the header reads the same in every process.
        allowed = ", ".join(sorted(m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()))
        return error_response(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path[:200]}"
                                               f" (allowed: {allowed})", {"Allow": allowed}))
    error = ApiError(str(exc.detail)[:200])
    error.status = exc.status_code
    return error_response(error)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(INTERNAL_ERROR)


def create_admin_app(config_dir: str, publish_dir: str | None = None, max_body: int = MAX_BODY_BYTES,
                     access: AccessLogWriter | None = None, git: GitOptions = GitOptions(), *,
                     recorder: Recorder | None = None, metrics_on_main_port: bool = True,
                     cors_origins: Sequence[str] = ()) -> Starlette:
    """The management API over ``config_dir``.

    With ``publish_dir``, each write also publishes a snapshot there. When ``config_dir`` is in a git work
    tree, each write is a commit (see :mod:`.gitlog`); review mode (``git.branch``) publishes nothing.
    The access log (tokens filtered) goes to ``access``, stderr by default. Requests are counted into
    ``recorder``; ``GET /metrics`` is answered before the token check unless ``metrics_on_main_port`` is off.
    Raise OperatorError for a setup that cannot work.
    """
    if publish_dir is not None and git.branch is not None:
        raise OperatorError("--publish and --git-branch do not go together: review mode publishes nothing "
                            "directly, CI publishes once the pull request is merged")
    access = access or AccessLogWriter(name="kickit_edge.admin.access")
    recorder = recorder or Recorder()
    store = ConfigStore(config_dir)
    gitlog = GitLog.open(config_dir, git)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with suppress(ApiError):
            await run_in_threadpool(store.current)  # learns which files hold the admin tokens
        yield
        if gitlog is not None:
            await run_in_threadpool(gitlog.close)  # push what waits for its quiet period

    editor = Editor(store, publish_dir, gitlog)
    routes = build_routes(store, editor, max_body)
    exposition = Exposition(recorder, None) if metrics_on_main_port else None
    return Starlette(
        routes=routes,
        middleware=[Middleware(AccessLog, writer=access, redact=filtered_params([TOKEN_PARAM])),
                    Middleware(Measure, recorder=recorder, route_of=route_labels(routes), exposition=exposition),
                    *cors(cors_origins, ADMIN_HEADERS, ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")),
                    Middleware(Guard, store=store, max_body=max_body, metrics=metrics_on_main_port)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
