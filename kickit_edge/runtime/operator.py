"""Endpoints for operators and orchestrators, beside the seeds' ones.

``GET /health``  liveness, as the AppCockpit seed says: 200, empty body, no auth
``GET /ready``   readiness: 200 once a good snapshot is active, 503 before, and
                 503 again from the moment SIGTERM arrives (see :func:`drain_on_sigterm`)
``GET /status``  this worker's state: the active snapshot (revision, digest,
                 when and where it was loaded), the last rejected snapshot and
                 why, the source, and event log failures. No key, secret or
                 client data is ever part of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from starlette.types import Receive, Scope, Send

from .. import __version__
from ..signing import signer_of
from ..snapshot import Answer, etag_of, render_body
from .context import Runtime
from .sources import Source
from .wire import OPERATOR, headers_of, request_id, send_answer

__all__ = ["HealthEndpoint", "ReadyEndpoint", "StatusEndpoint", "status_of", "drain_on_sigterm"]

log = logging.getLogger("kickit_edge.runtime")


def _instant(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(status: int, value: Any) -> Answer:
    body = render_body(value)
    return Answer(status, body, etag_of(body), "ok", None)


class HealthEndpoint:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


class ReadyEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        active = self.runtime.state.current
        if self.runtime.draining:
            answer = _json(503, {"ready": False, "draining": True, "snapshot": active and active.snapshot.id})
        elif active is None:
            answer = _json(503, {"ready": False, "snapshot": None})
        else:
            answer = _json(200, {"ready": True, "snapshot": active.snapshot.id})
        await send_answer(send, answer, OPERATOR, request_id(headers_of(scope)), head=scope["method"] == "HEAD")


def status_of(runtime: Runtime, source: Source | None, started_at: float) -> dict[str, Any]:
    state = runtime.state
    active, rejected = state.current, state.rejected
    snapshot = None
    if active is not None:
        s = active.snapshot
        snapshot = {
            "id": s.id, "digest": s.digest, "revision": s.revision, "created": s.manifest.get("created"),
            "generator": s.manifest.get("generator"), "apps": len(s.apps), "bytes": s.size,
            "loaded_at": _instant(active.loaded_at), "source": active.source, "cached": active.cached,
            "signed_by": signer_of(s.manifest),
        }
    commit = runtime.events
    failure = commit.last_failure if commit is not None else None
    return {
        "ready": active is not None,
        "version": __version__,
        "pid": os.getpid(),
        "started_at": _instant(started_at),
        "snapshot": snapshot,
        "rejected": None if rejected is None else {
            "at": _instant(rejected.at), "error": rejected.error, "source": rejected.source,
            "repeats": rejected.repeats,
        },
        "loads": state.loads,
        "rejections": state.rejections,
        "source": None if source is None else {
            "kind": source.kind, "location": source.location, "mode": source.mode,
            # Staleness: how long since the source last answered; it never fails a check.
            "last_success": _instant(source.last_success),
            "stale_seconds": None if source.last_success is None else round(time.time() - source.last_success, 3),
        },
        "events": {
            "failures": commit.failures if commit is not None else 0,
            "last_failure": None if failure is None else {"at": _instant(failure[0]), "error": failure[1]},
        },
    }


class StatusEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.source: Source | None = None  # set when the app starts
        self.started_at = time.time()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = _json(200, status_of(self.runtime, self.source, self.started_at))
        await send_answer(send, answer, OPERATOR, request_id(headers_of(scope)), head=scope["method"] == "HEAD")


def drain_on_sigterm(runtime: Runtime, seconds: float) -> Callable[[], None]:
    """From the first SIGTERM, ``/ready`` answers 503; the server hears the signal ``seconds`` later.

    A load balancer needs a few seconds to see a pod leave: meanwhile requests
    are served as before. Call in the serving process's main thread, after the
    server installed its own handler (uvicorn's, which starts the graceful
    shutdown); a second SIGTERM goes straight to it. Returns a function that
    puts the server's handler back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return lambda: None
    server_handler = previous
    loop = asyncio.get_running_loop()

    def handler(sig: int, frame: FrameType | None) -> None:
        if runtime.draining or seconds <= 0:
            runtime.draining = True
            server_handler(sig, frame)
            return
        runtime.draining = True
        log.info("SIGTERM: /ready answers 503; serving %g s more before shutting down", seconds)
        loop.call_soon_threadsafe(loop.call_later, seconds, server_handler, sig, None)

    def restore() -> None:
        signal.signal(signal.SIGTERM, server_handler)

    signal.signal(signal.SIGTERM, handler)
    return restore
