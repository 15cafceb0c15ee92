"""``serve``: the edge server, on a published snapshot or (dev mode) on a YAML folder recompiled on change."""

from __future__ import annotations

import argparse

from ..settings import Settings
from .console import Subparsers, err

__all__ = ["register"]


def cmd_serve(args: argparse.Namespace) -> int:
    from ..runtime.server import serve

    settings = Settings.resolve(args)
    if settings.snapshots or settings.snapshot_url:
        serve(settings)
        return 0
    # Dev mode: the compiler follows the YAML and publishes into a private
    # folder; the ordinary runtime follows that folder.
    import dataclasses
    import shutil
    import tempfile

    from ..compiler.watch import ConfigWatcher

    folder = tempfile.mkdtemp(prefix="kickit-edge-dev-")
    try:
        watcher = ConfigWatcher(settings.config, folder, report=err)
        watcher.compile()
        watcher.start()
        err(f"dev mode: serving {settings.config}/ (recompiled on every change) on "
            f"http://{settings.host}:{settings.port}")
        try:
            serve(dataclasses.replace(settings, snapshots=folder))
        finally:
            watcher.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="serve the check APIs", description=(
        "Serve the AppCockpit and KickIt check APIs. With --snapshots DIR or --snapshot-url URL, serve the "
        "published snapshot and follow it; otherwise (dev mode) compile --config DIR and recompile on every change. "
        "Every flag can also be set by its environment variable."))
    Settings.add_arguments(p)
    p.set_defaults(func=cmd_serve)
