"""The ``events`` commands: user records, version adoption and policy impact from the server's event files."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..analytics.window import SINCE_DEFAULT
from ..settings import EventSettings, UserSettings
from ..vocabulary import ADOPTION_FORMATS, IMPACT_FORMATS, RECORD_FORMATS
from .console import Subparsers, err, now, progress, since, write_text

if TYPE_CHECKING:
    from ..analytics.scan import ScanReport

__all__ = ["register"]


def cmd_events_users(args: argparse.Namespace) -> int:
    from ..analytics.destination import Destination, update_users
    from ..analytics.report import users_summary

    settings = UserSettings.resolve(args)
    destination = Destination(args.format, args.out, args.db, args.checkpoint)
    result, unusable = update_users(settings.events_dir, destination, now=now(), full=args.full,
                                    retention_days=settings.retention_days, progress=progress())
    for line in users_summary(result, destination.where(), unusable):
        err(line)
    return 0


def _report_scan(scan: ScanReport) -> None:
    if scan.malformed:
        err(f"{scan.malformed:,} malformed line{'s' if scan.malformed != 1 else ''} skipped:")
        for problem in scan.problems:
            err(f"  {problem}")
    for damaged in scan.damaged:
        err(f"warning: {damaged}")


def cmd_events_adoption(args: argparse.Namespace) -> int:
    from ..analytics.active import scan_active
    from ..analytics.adoption import adoption_of
    from ..analytics.page import render_adoption_html
    from ..analytics.report import render_adoption_json, render_adoption_text

    settings = EventSettings.resolve(args)
    active = scan_active(settings.events_dir, args.since, now(), app=args.app,
                         daily=args.format != "table", progress=progress())
    _report_scan(active.report)
    adoption = adoption_of(active)
    render = {"table": render_adoption_text, "json": render_adoption_json, "html": render_adoption_html}
    write_text(render[args.format](adoption), args.out)
    return 0


def cmd_events_impact(args: argparse.Namespace) -> int:
    from ..analytics.active import scan_active
    from ..analytics.impact import impact_of, load_snapshot_at
    from ..analytics.report import render_impact_json, render_impact_text

    settings = EventSettings.resolve(args)
    snapshot = load_snapshot_at(args.snapshot)
    active = scan_active(settings.events_dir, args.since, now(), app=args.app, progress=progress())
    _report_scan(active.report)
    impact = impact_of(active, snapshot, args.snapshot, now().timestamp())
    render = render_impact_json if args.format == "json" else render_impact_text
    sys.stdout.write(render(impact, args.since))
    return 0


def add_window(parser: argparse.ArgumentParser) -> None:
    """``--since`` and ``--app``: which users count as active."""
    parser.add_argument("--since", type=since, default=SINCE_DEFAULT, metavar="WHEN",
                        help=f"active means authenticated since WHEN: 30d, 12h, 2w, a date or an instant "
                             f"(default: {SINCE_DEFAULT})")
    parser.add_argument("--app", metavar="ID", help="only this app")


def register(sub: Subparsers) -> None:
    events = sub.add_parser("events", help="user records, version adoption and policy impact from event files",
                            description="Read the event files the server writes (current and rotated, plain and "
                                        "compressed) into user records, version adoption and policy impact.")
    events_sub = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)

    p = events_sub.add_parser(
        "users", help="one record per user and platform: first and last authentication, latest version and environment",
        description="Fold every authentication into one record per app, user and platform, as the AppCockpit "
                    "seed keeps it. With --out or --db a checkpoint is kept, and a re-run reads only what is new. "
                    "Files past the retention are removed.")
    UserSettings.add_arguments(p)
    p.add_argument("--format", choices=RECORD_FORMATS, default="jsonl", help="output format (default: jsonl)")
    p.add_argument("--out", metavar="FILE", help="write the records to FILE (default: stdout), the checkpoint "
                                                 "to FILE.checkpoint")
    p.add_argument("--db", metavar="FILE", help="write the records and the checkpoint into a SQLite database")
    p.add_argument("--checkpoint", metavar="FILE", help="keep the checkpoint in FILE")
    p.add_argument("--full", action="store_true", help="ignore the checkpoint and read everything again")
    p.set_defaults(func=cmd_events_users)

    p = events_sub.add_parser(
        "adoption", help="active users per app version, newest first",
        description="Count active users per app, platform, environment and app version (each user once per app "
                    "and platform, on their latest version), newest version first; html adds a chart of version "
                    "share per day.")
    EventSettings.add_arguments(p)
    add_window(p)
    p.add_argument("--format", choices=ADOPTION_FORMATS, default="table", help="output (default: table)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_events_adoption)

    p = events_sub.add_parser(
        "impact", help="active users per verdict under a snapshot",
        description="Evaluate each active user's latest version against a snapshot, as the AppCockpit version "
                    "check answers it, and count users per verdict.")
    EventSettings.add_arguments(p)
    add_window(p)
    p.add_argument("--snapshot", required=True, metavar="S",
                   help="a published snapshot: a file, or a folder holding snapshot.json")
    p.add_argument("--format", choices=IMPACT_FORMATS, default="table", help="output (default: table)")
    p.set_defaults(func=cmd_events_impact)
