"""Running the edge under uvicorn.

Worker processes do not inherit Python objects from the CLI, so the settings
travel as the ``KICKIT_*`` environment variables of :mod:`kickit_edge.settings`
and each worker builds its app with :func:`app_from_environ` (a uvicorn
factory). uvicorn's own access log is off: :mod:`.accesslog` writes one that
never records a header. uvicorn's ``http`` class is :mod:`.fastpath`'s: requests
are bounded by :mod:`.limits` and the check routes answered inside the
protocol; keep-alive, concurrency and shutdown follow uvicorn's own settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from starlette.applications import Starlette

from ..errors import OperatorError
from ..settings import Settings
from .app import create_app
from .fastpath import PROTOCOL
from .logformat import log_config
from .metrics import FOLDER_ENV, Exposition, serve_metrics

__all__ = ["APP_FACTORY", "app_from_environ", "log_config", "serve", "prepare_events_dir"]

APP_FACTORY = "kickit_edge.runtime.server:app_from_environ"


def app_from_environ() -> Starlette:
    """The uvicorn factory each worker calls: settings from ``KICKIT_*`` variables."""
    return create_app(Settings.resolve(environ=os.environ))


def prepare_events_dir(settings: Settings) -> None:
    """Create the default events folder; insist that an explicitly chosen one exists.

    A chosen folder is usually a mounted volume: creating it when the mount is
    missing would silently fill the wrong disk.
    """
    folder = Path(settings.events_dir)
    if folder.is_dir():
        return
    if settings.events_dir == Settings().events_dir:
        folder.mkdir(parents=True, exist_ok=True)
        return
    raise OperatorError(f"--events-dir {settings.events_dir!r} is not a folder: create it (or mount the volume) first")


def serve(settings: Settings) -> None:
    """Run uvicorn with ``settings`` until interrupted."""
    if not settings.snapshots and not settings.snapshot_url:
        raise OperatorError("no snapshot source: give --snapshots DIR or --snapshot-url URL")
    # A folder that does not exist yet is waited for (a volume mounted later); a file is a mistake.
    if settings.snapshots and os.path.exists(settings.snapshots) and not os.path.isdir(settings.snapshots):
        raise OperatorError(f"--snapshots {settings.snapshots!r} is not a folder: give the folder that holds "
                            "snapshot.json (as written by kickit-edge compile --out DIR)")
    prepare_events_dir(settings)
    os.environ.update(settings.to_environ())
    # The workers' metrics meet in a folder made fresh for this start (counts of an earlier run never add up).
    metrics_dir = tempfile.mkdtemp(prefix="kickit-edge-metrics-")
    os.environ[FOLDER_ENV] = metrics_dir
    if settings.metrics_port is not None:
        serve_metrics(Exposition(None, metrics_dir), settings.host, settings.metrics_port)
    try:
        _run(settings)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _run(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        APP_FACTORY, factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        log_config=log_config(settings.log_level, settings.log_format), log_level=settings.log_level,
        access_log=False, server_header=False, lifespan="on", http=PROTOCOL, timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.limit_concurrency, timeout_graceful_shutdown=settings.shutdown_timeout,
    )
