"""``admin``: the Kickfolio management API, which edits the YAML."""

from __future__ import annotations

import argparse

from ..settings import AdminSettings
from .console import Subparsers

__all__ = ["register"]


def cmd_admin(args: argparse.Namespace) -> int:
    from ..admin.server import serve_admin

    settings = AdminSettings.resolve(args)
    serve_admin(settings)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("admin", help="serve the Kickfolio management API (edits the YAML)",
                       description="Serve the Kickfolio management API: apps and versions over HTTP, written back "
                                   "to the YAML config, checked as a whole config before every write. "
                                   "Every flag can also be set by its environment variable.")
    AdminSettings.add_arguments(p)
    p.set_defaults(func=cmd_admin)
