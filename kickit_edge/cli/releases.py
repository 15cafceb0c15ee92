"""``releases add`` and ``releases sync``: record what users can install from the stores, and from when."""

from __future__ import annotations

import argparse

from ..errors import OperatorError
from .console import Subparsers, out, platform

__all__ = ["register"]


def cmd_releases_add(args: argparse.Namespace) -> int:
    from ..editing.releases import add_release

    record, outcome = add_release(args.config, args.app, args.platform, args.version, args.available_from,
                                  args.min_os, args.note)
    _said(outcome, f"{record.platform} {record.version} of {args.app}", f"available from {record.available_from}"
          + (f", min OS {record.min_os}" if record.min_os else ""))
    return 0


def cmd_releases_sync(args: argparse.Namespace) -> int:
    from ..compiler.builder import read_config
    from ..editing.releases import add_release, lookup_release

    app = read_config(args.config).app(args.app)
    if app is None:
        raise OperatorError(f"no app {args.app!r} in {args.config}")
    bundle = app.raw["app"].get("bundle")
    if not bundle:
        raise OperatorError(f"app {args.app!r} has no bundle id: add app.bundle (e.g. com.example.app) to its file")
    found = lookup_release(bundle, args.country or ["us"], args.lookup_url)
    # A note written by hand stays: the store's is only the first one.
    record, outcome = add_release(args.config, args.app, "ios", found.version, found.available_from, found.min_os,
                                  found.note, keep_note=True)
    _said(outcome, f"ios {record.version} of {args.app}", f"live since {record.available_from}"
          + (f", min OS {record.min_os}" if record.min_os else ""))
    return 0


def _country(text: str) -> str:
    """Argument type of ``--country``: a storefront is named by its two-letter ISO 3166 code."""
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a two-letter country code such as us or de")
    return text.lower()


def _said(outcome: str, release: str, detail: str) -> None:
    out(f"release {release} already recorded: {detail}" if outcome == "unchanged"
        else f"{outcome} release {release}: {detail}")


def register(sub: Subparsers) -> None:
    from ..editing import APP_STORE_LOOKUP  # not .releases: it takes a while to import

    releases = sub.add_parser("releases", help="record store releases: what users can install, from when",
                              description="Write store releases into an app's file (comments kept). A rule asking "
                                          "for a version applies only once a release at or above it is available.")
    releases_sub = releases.add_subparsers(dest="releases_command", required=True, metavar="COMMAND")
    p = releases_sub.add_parser("add", help="record a release (for release pipelines, after publishing)",
                                description="Add a release to the app's file, or update the one with that version.")
    p.add_argument("--app", required=True, metavar="ID")
    p.add_argument("--platform", required=True, type=platform, metavar="{ios,android}")
    p.add_argument("--version", required=True, metavar="V", help="the version users can install")
    p.add_argument("--available-from", metavar="TIME", help="when it is in the store (ISO 8601; default: now)")
    p.add_argument("--min-os", metavar="V", help="the oldest OS version it runs on")
    p.add_argument("--note", help="a note stored beside the release")
    p.add_argument("--config", default="config", metavar="DIR", help="config folder (default: config)")
    p.set_defaults(func=cmd_releases_add)
    p = releases_sub.add_parser("sync", help="record the live iOS version from the App Store lookup API",
                                description="Read the App Store's public lookup API for the app's bundle id and "
                                            "record the live version, its release date and its minimum iOS.")
    p.add_argument("--app", required=True, metavar="ID")
    p.add_argument("--platform", choices=["ios"], default="ios",
                   help="ios (Google Play has no public lookup API: use releases add)")
    p.add_argument("--country", action="append", metavar="CC", type=_country,
                   help="a storefront country such as us or de (repeatable; default: us)")
    p.add_argument("--lookup-url", default=APP_STORE_LOOKUP, metavar="URL",
                   help=f"the lookup API (default: {APP_STORE_LOOKUP})")
    p.add_argument("--config", default="config", metavar="DIR", help="config folder (default: config)")
    p.set_defaults(func=cmd_releases_sync)
