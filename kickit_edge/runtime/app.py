"""The edge application: routes, the snapshot source, the event log, and their lifetimes.

:func:`create_app` builds everything at construction; the lifespan (run in
each worker process, after the fork) opens the event log, loads the first
snapshot before the first request is accepted (if it is bad, the worker
starts anyway and is not ready), and follows the source until shutdown.

Routes::

    GET  /health                           liveness (AppCockpit seed)
    GET  /v1/versions, /versions           AppCockpit versions, v1 body
    GET  /v2/versions                      AppCockpit versions, localized
    GET  /v1/maintenance, /maintenance, /v2/maintenance
    POST /v2/authenticate                  AppCockpit user event
    POST /api/v1/target-checks             KickIt target check
    POST /ofrep/v1/evaluate/flags[/{key}]  OpenFeature (OFREP): all flags, or one
    GET  /ready, /status                   for operators
    GET  /metrics, /openapi.json           Prometheus metrics (see .metrics), the OpenAPI document

Unknown paths answer 404 and wrong methods 405, as JSON; an unexpected
exception is logged and answers a JSON 500 without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import OperatorError
from ..settings import Settings
from ..signing import Verifier, read_verify_key
from ..snapshot import Answer
from .accesslog import LOGGED_PARAMS, AccessLog, AccessLogWriter, RequestLog, shown_params
from .appcockpit import AuthenticateEndpoint, MaintenanceEndpoint, VersionsEndpoint
from .checks import CheckRoute
from .context import Runtime
from .cors import CHECK_HEADERS, cors
from .eventcommit import BatchSink, GroupCommit
from .eventlog import EventLog
from .fastpath import FastPath
from .kickit import TargetChecksEndpoint
from .metrics import FOLDER_ENV, Exposition, Measure, MetricsEndpoint, Recorder, edge_figures, route_labels
from .openapi import OpenApiEndpoint, edge_document
from .ofrep import ofrep_routes
from .operator import HealthEndpoint, ReadyEndpoint, StatusEndpoint, drain_on_sigterm
from .origin import UrlSource
from .sources import FolderSource, Source
from .state import SnapshotState
from .wire import INTERNAL_ERROR, METHOD_NOT_ALLOWED, NOT_FOUND, OPERATOR, request_id

__all__ = ["create_app", "make_source", "trusted_signers"]

log = logging.getLogger("kickit_edge.runtime")

# How long shutdown waits for a source to notice its stop event.
STOP_TIMEOUT = 5.0


def trusted_signers(files: tuple[str, ...]) -> Verifier | None:
    """The signature check of ``--verify-key``: ``None`` when no key is given (snapshots need no signature)."""
    return Verifier([read_verify_key(path) for path in files]) if files else None


def make_source(state: SnapshotState, settings: Settings) -> Source:
    if settings.snapshot_url:
        return UrlSource(state, settings.snapshot_url, poll_interval=settings.poll_interval,
                         deadline=settings.download_timeout, max_bytes=settings.max_snapshot_bytes,
                         cache_dir=settings.cache_dir)
    if settings.snapshots:
        return FolderSource(state, settings.snapshots, watch=settings.watch, poll_interval=settings.poll_interval,
                            resync_interval=settings.resync_interval)
    raise OperatorError("no snapshot source: give --snapshots DIR or --snapshot-url URL")


def _response(answer: Answer, request: Request, headers: Mapping[str, str] | None = None) -> Response:
    rid = request_id(dict(request.scope["headers"])).decode("ascii")
    fixed = {name.decode(): value.decode() for name, value in OPERATOR.fixed}
    return Response(answer.body, answer.status, {**fixed, "etag": answer.etag, "x-request-id": rid, **(headers or {})})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _response(METHOD_NOT_ALLOWED, request, exc.headers)
    return _response(NOT_FOUND, request)


async def _server_error(request: Request, exc: Exception) -> Response:
    # ServerErrorMiddleware has logged the traceback; the client gets no detail.
    return _response(INTERNAL_ERROR, request)


class ExactRoutes:
    """Dispatch the routes' exact paths with one dict lookup, before Starlette's router.

    Starlette's router tries each route's regex in turn; every path here is a
    constant, so a dict finds the endpoint at once. Anything else (an unknown
    path, a wrong method) goes on to the router, which answers 404 or 405.
    It sits inside Starlette's error middleware, so a bug is still a JSON 500.
    Worth keeping: a check dispatched by the router took about twice the CPU
    of one dispatched here (measured in process on /v1/versions and
    /v2/maintenance, far beyond run-to-run noise).
    """

    def __init__(self, app: ASGIApp, routes: list[Route]) -> None:
        self.app = app
        self.table = {route.path: (frozenset(route.methods or ()), route.app) for route in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            entry = self.table.get(scope["path"])
            if entry is not None and scope["method"] in entry[0]:
                await entry[1](scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _stop_following(stop: asyncio.Event, follower: asyncio.Task[None]) -> None:
    """Tell the snapshot source to stop, and wait a while for it."""
    stop.set()
    try:
        await asyncio.wait_for(follower, STOP_TIMEOUT)
    except (TimeoutError, asyncio.CancelledError):
        pass
    except Exception:  # noqa: BLE001 - a dying watcher must not block shutdown
        log.exception("snapshot source stopped with an error")


def _middleware(settings: Settings, routes: list[Route], access: AccessLogWriter,
                exposition: Exposition) -> list[Middleware]:
    """Outermost first: the access log (which also counts the metrics) or the metrics alone, CORS, the exact routes."""
    assert exposition.recorder is not None
    labels = route_labels(routes)
    if settings.access_log:
        middleware = [Middleware(AccessLog, writer=access, redact=shown_params(LOGGED_PARAMS),
                                 observe=exposition.recorder.observe, route_of=labels)]
    else:
        middleware = [Middleware(Measure, recorder=exposition.recorder, route_of=labels)]
    middleware += cors(settings.cors_origin, CHECK_HEADERS, ("GET", "HEAD", "POST"))
    middleware.append(Middleware(ExactRoutes, routes=routes))
    return middleware


def _fast_path(settings: Settings, runtime: Runtime, routes: list[Route], access: AccessLogWriter,
               exposition: Exposition) -> FastPath | None:
    """The check routes answered inside the protocol (see .fastpath); none when CORS must see every request."""
    if settings.cors_origin:
        return None
    assert exposition.recorder is not None
    checks: dict[tuple[str, str], CheckRoute] = {}
    for route in routes:
        if isinstance(route.app, CheckRoute) and "{" not in route.path:  # exact paths only
            checks.update({(method, route.path): route.app for method in ("GET", "POST") if method in route.methods})
    writer = access if settings.access_log else None
    return FastPath(runtime, checks, RequestLog(writer, shown_params(LOGGED_PARAMS), exposition.recorder.observe,
                                                route_labels(routes)))


def _routes(runtime: Runtime, source: Source, *, metrics: bool) -> list[Route]:
    status = StatusEndpoint(runtime)
    status.source = source
    versions_v1 = VersionsEndpoint(runtime, 1)
    maintenance = MaintenanceEndpoint(runtime)
    return [
        Route("/health", HealthEndpoint(), methods=["GET"]),
        Route("/v1/versions", versions_v1, methods=["GET"]),
        Route("/versions", versions_v1, methods=["GET"]),
        Route("/v2/versions", VersionsEndpoint(runtime, 2), methods=["GET"]),
        Route("/v1/maintenance", maintenance, methods=["GET"]),
        Route("/maintenance", maintenance, methods=["GET"]),
        Route("/v2/maintenance", maintenance, methods=["GET"]),
        Route("/v2/authenticate", AuthenticateEndpoint(runtime), methods=["POST"]),
        Route("/api/v1/target-checks", TargetChecksEndpoint(runtime), methods=["POST"]),
        Route("/ready", ReadyEndpoint(runtime), methods=["GET"]),
        Route("/status", status, methods=["GET"]),
        *ofrep_routes(runtime),
        Route("/openapi.json", OpenApiEndpoint(edge_document(metrics=metrics)), methods=["GET"]),
    ]


def create_app(settings: Settings, *, events: BatchSink | None = None) -> Starlette:
    """The ASGI app for ``settings``; ``events`` replaces the event log built from the settings."""
    state = SnapshotState(trusted_signers(settings.verify_key))
    runtime = Runtime(state, max_body=settings.max_body)
    source = make_source(state, settings)
    routes = _routes(runtime, source, metrics=settings.metrics_port is None)
    exposition = Exposition(Recorder(edge_figures(runtime, source)), os.environ.get(FOLDER_ENV))
    if settings.metrics_port is None:
        routes.append(Route("/metrics", MetricsEndpoint(exposition), methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = None
        sink = events
        if sink is None:
            sink = owned = EventLog(settings.events_dir, max_bytes=settings.event_max_bytes,
                                    retention_days=settings.event_retention_days)
        runtime.events = commit = GroupCommit(sink, runtime.clock)
        await asyncio.to_thread(source.refresh)
        stop = asyncio.Event()
        follower = asyncio.create_task(source.run(stop), name="kickit-snapshot-source")
        undrain = drain_on_sigterm(runtime, settings.drain_seconds)
        publisher = asyncio.create_task(exposition.follow(stop), name="kickit-metrics")
        try:
            yield
        finally:
            undrain()
            await _stop_following(stop, follower)
            await publisher
            commit.close()
            if owned is not None:
                owned.close()
            access.close()

    access = AccessLogWriter(json=settings.log_format == "json")
    app = Starlette(
        routes=routes, middleware=_middleware(settings, routes, access, exposition), lifespan=lifespan,
        exception_handlers={404: _http_error, 405: _http_error, Exception: _server_error},
    )
    app.router.redirect_slashes = False
    app.state.fastpath = _fast_path(settings, runtime, routes, access, exposition)
    app.state.access = access
    app.state.runtime = runtime
    app.state.source = source
    return app

