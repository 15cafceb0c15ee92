"""The ``events`` commands: user records, version adoption and policy impact from the server's event files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..analytics.queries import DIALECTS, QUERY_NAMES
from ..analytics.window import SINCE_DEFAULT
from ..errors import counted
from ..settings import EventSettings, UserSettings
from ..vocabulary import ADOPTION_FORMATS, IMPACT_FORMATS, RECORD_FORMATS
from .console import Subparsers, err, now, progress, since, write_text

if TYPE_CHECKING:
    from ..analytics.active import Active
    from ..analytics.scan import ScanReport
    from ..snapshot import Snapshot

__all__ = ["register", "report_scan"]


def cmd_events_users(args: argparse.Namespace) -> int:
    from ..analytics.destination import Destination, update_users
    from ..analytics.report import users_summary

    settings = UserSettings.resolve(args)
    destination = Destination(args.format, args.out, args.db, args.checkpoint)
    result, unusable = update_users(settings.events_dir, destination, now=now(), full=args.full,
                                    retention_days=settings.retention_days, prune=args.prune, progress=progress())
    for line in users_summary(result, destination.where(), unusable):
        err(line)
    return 0


def report_scan(scan: ScanReport) -> None:
    """On stderr: the malformed lines skipped (the first few, by file and line) and the damaged files."""
    if scan.malformed:
        err(f"{counted(scan.malformed, 'malformed line')} skipped:")
        for problem in scan.problems:
            err(f"  {problem}")
    for damaged in scan.damaged:
        err(f"warning: {damaged}")


def cmd_events_adoption(args: argparse.Namespace) -> int:
    from ..analytics.active import scan_active
    from ..analytics.adoption import adoption_of
    from ..analytics.conversion import conversion_of
    from ..analytics.impact import load_snapshot_at
    from ..analytics.page import render_adoption_html
    from ..analytics.report import render_adoption_json, render_adoption_text

    settings = EventSettings.resolve(args)
    snapshot = load_snapshot_at(args.snapshot) if args.snapshot else None
    active = scan_active(settings.events_dir, args.since, now(), app=args.app, progress=progress())
    report_scan(active.report)
    adoption = adoption_of(active, daily=args.format != "table", snapshot=snapshot, at=now().timestamp())
    if args.format == "html":  # the page also tells whether the snapshot's prompts worked
        conversion = conversion_of(active, snapshot, args.snapshot, at=now().timestamp()) if snapshot else None
        write_text(render_adoption_html(adoption, conversion), args.out)
        return 0
    render = {"table": render_adoption_text, "json": render_adoption_json}
    write_text(render[args.format](adoption), args.out)
    return 0


def cmd_events_impact(args: argparse.Namespace) -> int:
    from ..analytics.impact import impact_of
    from ..analytics.report import render_impact_json, render_impact_text

    active, snapshot = _active_and_snapshot(args)
    impact = impact_of(active, snapshot, args.snapshot, now().timestamp())
    render = render_impact_json if args.format == "json" else render_impact_text
    sys.stdout.write(render(impact, args.since))
    return 0


def cmd_events_conversion(args: argparse.Namespace) -> int:
    from ..analytics.conversion import conversion_of, render_conversion_json, render_conversion_text

    active, snapshot = _active_and_snapshot(args)
    conversion = conversion_of(active, snapshot, args.snapshot, args.days, now().timestamp())
    render = render_conversion_json if args.format == "json" else render_conversion_text
    sys.stdout.write(render(conversion))
    return 0


def _horizons(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: expected days as positive whole numbers, like 1,7,30")
    return tuple(sorted({int(part) for part in parts}))


def cmd_events_export(args: argparse.Namespace) -> int:
    from ..analytics.parquet import export_events

    settings = EventSettings.resolve(args)
    report, days, count = export_events(settings.events_dir, args.out, args.since, progress=progress())
    report_scan(report)
    span = f"{days[0]} .. {days[-1]}" if days else "no day"
    err(f"exported {counted(count, 'event')} ({counted(len(days), 'day')}: {span}) -> {args.out}")
    return 0


def cmd_events_sql(args: argparse.Namespace) -> int:
    from ..analytics.queries import QUERY_NAMES, translate
    from ..analytics.users import RETENTION_DAYS, cutoff_of
    from ..analytics.window import event_time

    parameters = {"since": event_time(args.since), "app": args.app or "",
                  "cutoff": cutoff_of(now(), RETENTION_DAYS)[0]}
    names = [args.query] if args.query else list(QUERY_NAMES)
    out = []
    for name in names:
        out.append(f"-- {name} ({args.dialect}), over the table events"
                   + (" and verdicts (app, platform, environment, app_version, verdict)"
                      if name in ("users_per_verdict", "prompted_users") else "")
                   + f"\n{translate(name, args.dialect, parameters)};\n")
    sys.stdout.write("\n".join(out))
    return 0


def add_window(parser: argparse.ArgumentParser) -> None:
    """``--since`` and ``--app``: which users count as active."""
    parser.add_argument("--since", type=since, default=SINCE_DEFAULT, metavar="WHEN",
                        help=f"active means authenticated since WHEN: 30d, 12h, 2w, a date or an instant "
                             f"(default: {SINCE_DEFAULT})")
    parser.add_argument("--app", metavar="ID", help="only this app")


def _add_snapshot_report(events_sub: Subparsers, name: str, func: Callable[[argparse.Namespace], int], *,
                         help: str, description: str) -> argparse.ArgumentParser:
    """A command over the active users and a snapshot: the window, --snapshot and --format."""
    p = events_sub.add_parser(name, help=help, description=description)
    EventSettings.add_arguments(p)
    add_window(p)
    p.add_argument("--snapshot", required=True, metavar="S",
                   help="a published snapshot: a file, or a folder holding snapshot.json")
    p.add_argument("--format", choices=IMPACT_FORMATS, default="table", help="output (default: table)")
    p.set_defaults(func=func)
    return p


def _active_and_snapshot(args: argparse.Namespace) -> tuple[Active, Snapshot]:
    from ..analytics.active import scan_active
    from ..analytics.impact import load_snapshot_at

    settings = EventSettings.resolve(args)
    snapshot = load_snapshot_at(args.snapshot)
    active = scan_active(settings.events_dir, args.since, now(), app=args.app, progress=progress())
    report_scan(active.report)
    return active, snapshot


def register(sub: Subparsers) -> None:
    events = sub.add_parser("events", help="user records, version adoption and policy impact from event files",
                            description="Read the event files the server writes (current and rotated, plain and "
                                        "compressed) into user records, version adoption and policy impact.")
    events_sub = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)

    p = events_sub.add_parser(
        "users", help="one record per user and platform: first and last authentication, latest version and environment",
        description="Fold every authentication into one record per app, user and platform, as the AppCockpit "
                    "seed keeps it. With --out or --db a checkpoint is kept, and a re-run reads only what is new. "
                    "Files past the retention are not read, and deleted only with --prune.")
    UserSettings.add_arguments(p)
    p.add_argument("--format", choices=RECORD_FORMATS, default="jsonl", help="output format (default: jsonl)")
    p.add_argument("--out", metavar="FILE", help="write the records to FILE (default: stdout), the checkpoint "
                                                 "to FILE.checkpoint")
    p.add_argument("--db", metavar="FILE", help="write the records and the checkpoint into a SQLite database")
    p.add_argument("--checkpoint", metavar="FILE", help="keep the checkpoint in FILE")
    p.add_argument("--full", action="store_true", help="ignore the checkpoint and read everything again")
    p.add_argument("--prune", action="store_true",
                   help="also delete the event files past the retention (the server's own sweep does this; "
                        "a report deletes nothing without --prune)")
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
    p.add_argument("--snapshot", metavar="S", help="also give each version's verdict under this snapshot "
                                                   "(a file, or a folder holding snapshot.json)")
    p.set_defaults(func=cmd_events_adoption)

    _add_snapshot_report(
        events_sub, "impact", cmd_events_impact, help="active users per verdict under a snapshot",
        description="Evaluate each active user's latest version against a snapshot, as the AppCockpit version "
                    "check answers it, and count users per verdict.")
    p = _add_snapshot_report(
        events_sub, "conversion", cmd_events_conversion,
        help="of the users a snapshot prompted, how many updated, within 1, 7 and 30 days",
        description="Of the active users a snapshot prompted (soft) or forced (hard) on each app and platform, "
                    "count those who later authenticated on a version it no longer prompts, within each horizon.")
    p.add_argument("--days", type=_horizons, default=(1, 7, 30), metavar="N,N",
                   help="the horizons, in days (default: 1,7,30)")

    _register_export_and_sql(events_sub)


def _register_export_and_sql(events_sub: Subparsers) -> None:
    p = events_sub.add_parser(
        "export", help="the valid events as Parquet, a folder per day",
        description="Check every event line and write the valid events as Parquet files partitioned by day "
                    "(OUT/day=2026-11-22/...), ready for object storage; the days written are replaced, the "
                    "others kept. Every events command reads such a folder as --events-dir.")
    EventSettings.add_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR", help="the export folder")
    p.add_argument("--since", type=since, metavar="WHEN", help="only events since WHEN (default: all)")
    p.set_defaults(func=cmd_events_export)

    p = events_sub.add_parser(
        "sql", help="the analytics queries, in the SQL of another engine",
        description="Print the queries the events commands run (one definition, in DuckDB's SQL), translated "
                    "to another engine's dialect, with --since and --app written in: run them where the "
                    "events are (a ClickHouse table events, Parquet in Spark or Trino).")
    p.add_argument("--dialect", choices=DIALECTS, default="duckdb", help="the engine (default: duckdb)")
    p.add_argument("--query", choices=QUERY_NAMES, help="only this query (default: all)")
    add_window(p)
    p.set_defaults(func=cmd_events_sql)
