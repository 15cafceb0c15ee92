"""The ``kickit-edge`` command: parse, call, and turn a KickitError into a message and an exit code.

Exit codes: 0 success, 1 invalid config or failing config tests, 2 usage or
operator error (bad flag, unwritable folder, unknown app), 3 ``diff --fail-on``
found what it was told to fail on.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .analytics.window import SINCE_DEFAULT

from .errors import ConfigError, ConfigTestFailure, KickitError, OperatorError
from .settings import add_arguments, setting

# `events` reads where `serve` writes: its setting, its default and its variable.
EVENTS_DIR, RETENTION = setting("events_dir"), setting("event_retention_days")

if TYPE_CHECKING:
    from .analytics.scan import ScanReport

__all__ = ["main", "build_parser"]

Command = Callable[[argparse.Namespace], int]

EXIT_FAIL_ON = 3


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _instant(text: str) -> datetime:
    from .compiler.model import parse_instant

    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: expected ISO 8601 such as 2027-03-14T01:30:00Z") from None


def _since(text: str) -> datetime:
    from .analytics.window import parse_since

    try:
        return parse_since(text, datetime.now(UTC))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _days(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days: expected 0 or more, e.g. 365")
    return int(text)


def _progress() -> Callable[[str], None]:
    """Progress lines on stderr, each with the seconds since the command started."""
    import time

    started = time.monotonic()
    return lambda message: _err(f"[{time.monotonic() - started:6.1f}s] {message}")


# --- commands ----------------------------------------------------------------


def cmd_compile(args: argparse.Namespace) -> int:
    from .compiler.compile import compile_config
    from .compiler.publish import publish_snapshot

    compiled = compile_config(args.config_dir, revision=args.revision, progress=_progress())
    snapshot = compiled.snapshot
    if args.dry_run:
        _out(f"snapshot {snapshot.id} {snapshot.digest} ({len(compiled.config.apps)} apps, {snapshot.size} bytes; not published)")
        return 0
    path, changed = publish_snapshot(compiled.data, args.out, keep=args.keep)
    state = "published" if changed else "unchanged"
    _out(f"snapshot {snapshot.id} {snapshot.digest}")
    _out(f"{state}: {args.out}/snapshot.json ({len(compiled.config.apps)} apps, {snapshot.size} bytes, "
         f"revision {snapshot.revision or 'unknown'}, {len(compiled.results)} config tests passed)")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from .compiler.compile import compile_config

    try:
        compiled = compile_config(args.config_dir, run_tests=True)
    except ConfigTestFailure as failure:
        for line in failure.failures:
            _out(f"FAIL {line}")
        _out(f"{len(failure.failures)} failed")
        return 1
    for result in compiled.results:
        _out(f"ok   {result.app}: {result.case.name} -> {result.verdict}" + (f" ({result.rule})" if result.rule else ""))
    _out(f"{len(compiled.results)} passed")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .compiler.compile import compile_config
    from .review.explain import explain

    compiled = compile_config(args.config_dir, run_tests=False)
    app = compiled.snapshot.apps.get(args.app)
    if app is None:
        known = ", ".join(sorted(compiled.snapshot.apps)) or "none"
        raise OperatorError(f"no app {args.app!r} in {args.config_dir} (apps: {known})")
    _out(f"{app.id} ({app.name}) {args.platform}/{args.environment} version {args.version}"
         f" build {args.build or '-'} os {args.os_version or '-'}")
    if app.disabled:
        _out("app is disabled: every authenticated check answers 402 {\"error\":\"Payment Required\"}")
        return 0
    for row in explain(compiled.config, compiled.snapshot, args.app, args.platform, args.environment,
                       args.version, args.build, args.os_version, args.at):
        _out()
        _out(row.render())
    return 0


def cmd_keys_new(args: argparse.Namespace) -> int:
    from .editing.credentials import add_admin_token, add_app_key

    if (args.app is None) == (args.admin is None):
        raise OperatorError("give exactly one of --app ID (an app key) or --admin NAME (a management API token)")
    if args.admin is not None:
        if args.environment:
            raise OperatorError("--environment applies to app keys only")
        key = add_admin_token(args.config, args.admin, args.expires, args.note)
        _err(f"Admin token {args.admin!r} added to {args.config} (prefix {key.prefix}). Store it now; it is not shown again:")
    else:
        key = add_app_key(args.config, args.app, args.environment or None, args.expires, args.note)
        _err(f"Key for app {args.app!r} added to {args.config} (prefix {key.prefix}). Store it now; it is not shown again.")
        _err(f"AppCockpit clients send it base64-encoded: x-api-token: $(printf %s KEY | base64 -w0)")
    _out(str(key))
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    from .admin.server import serve_admin

    serve_admin(args.config, args.publish, args.host, args.port)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .review.diff import diff_sides
    from .review.report import render_diff
    from .review.side import open_side

    base = open_side(args.base, args.config_path)
    head = open_side(args.head if args.head is not None else args.config_path, args.config_path)
    diff = diff_sides(base, head)
    reach = None
    if args.events is not None:
        from .analytics.active import scan_active
        from .analytics.reach import reach_of

        active = scan_active(args.events, args.since, datetime.now(UTC), progress=_progress())
        reach = reach_of(diff, active, args.events)
    sys.stdout.write(render_diff(diff, args.format, reach))
    if args.fail_on == "hard" and diff.forcing or args.fail_on == "any" and diff.changed:
        return EXIT_FAIL_ON
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from .review.matrix import app_matrix
    from .review.report import render_matrix
    from .review.side import open_side

    sys.stdout.write(render_matrix(app_matrix(open_side(args.source, args.config_path), args.app), args.format))
    return 0


def cmd_events_users(args: argparse.Namespace) -> int:
    from .analytics.destination import Destination, update_users
    from .analytics.report import users_summary

    destination = Destination(args.format, args.out, args.db, args.checkpoint)
    result, unusable = update_users(args.events_dir, destination, now=datetime.now(UTC), full=args.full,
                                    retention_days=args.retention_days, prune=args.prune, progress=_progress())
    for line in users_summary(result, destination.where(), unusable):
        _err(line)
    return 0


def _write(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    from .analytics.checkpoint import write_atomically

    write_atomically(out, lambda file: file.write(text))
    _err(f"wrote {out}")


def _report_scan(scan: ScanReport) -> None:
    if scan.malformed:
        _err(f"{scan.malformed:,} malformed line{'s' if scan.malformed != 1 else ''} skipped:")
        for problem in scan.problems:
            _err(f"  {problem}")
    for damaged in scan.damaged:
        _err(f"warning: {damaged}")


def cmd_events_adoption(args: argparse.Namespace) -> int:
    from .analytics.active import scan_active
    from .analytics.adoption import adoption_of
    from .analytics.page import render_adoption_html
    from .analytics.report import render_adoption_json, render_adoption_text

    active = scan_active(args.events_dir, args.since, datetime.now(UTC), app=args.app, progress=_progress())
    _report_scan(active.report)
    adoption = adoption_of(active, daily=args.format != "table")
    render = {"table": render_adoption_text, "json": render_adoption_json, "html": render_adoption_html}
    _write(render[args.format](adoption), args.out)
    return 0


def cmd_events_impact(args: argparse.Namespace) -> int:
    from .analytics.active import scan_active
    from .analytics.impact import impact_of, load_snapshot_at
    from .analytics.report import render_impact_json, render_impact_text

    snapshot = load_snapshot_at(args.snapshot)
    active = scan_active(args.events_dir, args.since, datetime.now(UTC), app=args.app, progress=_progress())
    _report_scan(active.report)
    impact = impact_of(active, snapshot, args.snapshot)
    render = render_impact_json if args.format == "json" else render_impact_text
    sys.stdout.write(render(impact, args.since))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from .compiler.schema import SCHEMA_NAMES, schema_text

    if args.out is None:
        sys.stdout.write(schema_text(args.kind or "app"))
        return 0
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for kind in [args.kind] if args.kind else list(SCHEMA_NAMES):
            (out / SCHEMA_NAMES[kind]).write_text(schema_text(kind), encoding="utf-8")
            _out(f"wrote {out / SCHEMA_NAMES[kind]}")
    except OSError as exc:
        raise OperatorError(f"cannot write schemas to {args.out}: {exc.strerror}") from None
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from .compiler.publish import rollback

    path = rollback(args.out, args.snapshot_id)
    _out(f"current snapshot is now {path.name}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .runtime.server import serve
    from .settings import Settings

    settings = Settings.resolve(args)
    if settings.snapshots or settings.snapshot_url:
        serve(settings)
        return 0
    # Dev mode: the compiler follows the YAML and publishes into a private
    # folder; the ordinary runtime follows that folder.
    import dataclasses
    import shutil
    import tempfile

    from .compiler.watch import ConfigWatcher

    out = tempfile.mkdtemp(prefix="kickit-edge-dev-")
    try:
        watcher = ConfigWatcher(settings.config, out, report=_err)
        watcher.compile()
        watcher.start()
        _err(f"dev mode: serving {settings.config}/ (recompiled on every change) on "
             f"http://{settings.host}:{settings.port}")
        try:
            serve(dataclasses.replace(settings, snapshots=out))
        finally:
            watcher.stop()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


# --- parser ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kickit-edge",
        description="Upgrade and maintenance checks for mobile apps, compiled from YAML in git.",
    )
    parser.add_argument("--version", action="version", version=f"kickit-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("compile", help="check the config, run its tests and publish a snapshot",
                       description="Check the config folder, run its config tests, and publish a snapshot atomically.")
    p.add_argument("config_dir", nargs="?", default="config", metavar="CONFIG_DIR", help="config folder (default: config)")
    p.add_argument("--out", default="snapshots", metavar="DIR", help="output folder (default: snapshots)")
    p.add_argument("--revision", help="revision to record (default: the git commit of CONFIG_DIR, or $KICKIT_REVISION)")
    p.add_argument("--keep", type=int, default=5, metavar="N", help="published snapshots kept for rollback (default: 5)")
    p.add_argument("--dry-run", action="store_true", help="check and build, but publish nothing")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("test", help="run the config tests", description="Run the config tests and show each failure.")
    p.add_argument("config_dir", nargs="?", default="config", metavar="CONFIG_DIR", help="config folder (default: config)")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("explain", help="show the verdict, the rule and the bodies for one client",
                       description="Show, for one client, the verdict of each endpoint, the rule behind it and the exact body.")
    p.add_argument("config_dir", nargs="?", default="config", metavar="CONFIG_DIR", help="config folder (default: config)")
    p.add_argument("--app", required=True, metavar="ID")
    p.add_argument("--platform", required=True, choices=["ios", "android"])
    p.add_argument("--environment", required=True, metavar="E")
    p.add_argument("--version", required=True, metavar="V", help="the client's app version")
    p.add_argument("--build", metavar="N", help="the client's build number (KickIt)")
    p.add_argument("--os-version", metavar="V", help="the client's OS version (KickIt)")
    p.add_argument("--at", type=_instant, metavar="TIME", help="evaluate maintenance at this instant (default: now)")
    p.set_defaults(func=cmd_explain)

    keys = sub.add_parser("keys", help="manage keys", description="Manage app keys and admin tokens.")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    p = keys_sub.add_parser("new", help="mint a key and write its hash into the config",
                            description="Mint a key, write its prefix and SHA-256 into the config, and print the key "
                                        "once, alone, as the last line of stdout.")
    p.add_argument("--app", metavar="ID", help="the app the key belongs to")
    p.add_argument("--admin", metavar="NAME", help="mint a management API token with this name instead")
    p.add_argument("--config", default="config", metavar="DIR", help="config folder (default: config)")
    p.add_argument("--environment", action="append", metavar="E", help="limit the key to this environment (repeatable)")
    p.add_argument("--expires", metavar="DATE", help="expiry, e.g. 2027-01-31 or 2027-01-31T12:00:00Z")
    p.add_argument("--note", help="a note stored beside the key (never the secret)")
    p.set_defaults(func=cmd_keys_new)

    p = sub.add_parser("serve", help="serve the check APIs", description=(
        "Serve the AppCockpit and KickIt check APIs. With --snapshots DIR or --snapshot-url URL, serve the "
        "published snapshot and follow it; otherwise (dev mode) compile --config DIR and recompile on every change. "
        "Every flag can also be set by its environment variable."))
    add_arguments(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("diff", help="show what a config change does to clients' verdicts",
                       description="Compare two configs by what clients are answered: version ranges whose verdict "
                                   "changes, targets, messages, maintenance and keys. Each side is a config folder, "
                                   "a snapshot (file or folder), or a git revision of the config folder.",
                       epilog="Exit codes: 0 compared, 1 a side's config is invalid, 2 bad argument, "
                              "3 --fail-on matched.")
    p.add_argument("base", metavar="BASE", help="config folder, snapshot, or git revision (e.g. main, HEAD~1)")
    p.add_argument("head", nargs="?", metavar="HEAD", help="the same kinds (default: the config folder on disk)")
    p.add_argument("--config-path", default="config", metavar="PATH",
                   help="the config folder, read at git revisions too (default: config)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text", help="output (default: text)")
    p.add_argument("--fail-on", choices=["hard", "any"],
                   help="exit 3 when the change forces users (a new hard verdict, maintenance turned on, an app "
                        "disabled), or on any change")
    p.add_argument("--events", metavar="DIR",
                   help="count, from the event files in DIR, the active users each verdict change touches")
    p.add_argument("--since", type=_since, default=SINCE_DEFAULT, metavar="WHEN",
                   help=f"with --events: active means authenticated since WHEN (default: {SINCE_DEFAULT})")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("matrix", help="show an app's whole version policy as a table",
                       description="Show, per platform and environment, the version ranges of an app with their "
                                   "verdicts and rules, then its targets and maintenance.")
    p.add_argument("source", nargs="?", default="config", metavar="CONFIG_DIR",
                   help="config folder, snapshot, or git revision (default: config)")
    p.add_argument("--app", required=True, metavar="ID")
    p.add_argument("--config-path", default="config", metavar="PATH",
                   help="the config folder when CONFIG_DIR is a git revision (default: config)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text", help="output (default: text)")
    p.set_defaults(func=cmd_matrix)

    _add_events(sub)

    p = sub.add_parser("schema", help="print or write the JSON Schemas of the config files",
                       description="Print a JSON Schema (default: the app file's), or write them all into a folder "
                                   "for an editor's YAML language server.")
    p.add_argument("kind", nargs="?", choices=["app", "admin"], help="which schema (default: app; with --out: all)")
    p.add_argument("--out", metavar="DIR", help="write the schemas into this folder instead of printing")
    p.set_defaults(func=cmd_schema)

    from .admin.settings import SETTINGS, setting_default

    p = sub.add_parser("admin", help="serve the Kickfolio management API (edits the YAML)",
                       description="Serve the Kickfolio management API: apps and versions over HTTP, written back "
                                   "to the YAML config, checked as a whole config before every write.")
    for setting in SETTINGS:
        p.add_argument(f"--{setting.name}", default=setting_default(setting), metavar=setting.metavar,
                       type=int if isinstance(setting.default, int) else str,
                       help=f"{setting.help} (default: {setting.default}; env {setting.env})")
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser("rollback", help="make an earlier published snapshot current",
                       description="Make an earlier published snapshot current again.")
    p.add_argument("snapshot_id", nargs="?", metavar="ID", help="snapshot id (default: the one before the current)")
    p.add_argument("--out", default="snapshots", metavar="DIR", help="output folder (default: snapshots)")
    p.set_defaults(func=cmd_rollback)
    return parser


def _add_events(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = sub.add_parser("events", help="user records, version adoption and policy impact from event files",
                            description="Read the event files the server writes (current and rotated, plain and "
                                        "compressed) into user records, version adoption and policy impact.")
    events_sub = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument("--events-dir", default=os.environ.get(EVENTS_DIR.env) or EVENTS_DIR.default, metavar="DIR",
                        help=f"the folder the server writes event files to (default: ${EVENTS_DIR.env}, "
                             f"else {EVENTS_DIR.default})")
    window = argparse.ArgumentParser(add_help=False)
    window.add_argument("--since", type=_since, default=SINCE_DEFAULT, metavar="WHEN",
                        help=f"active means authenticated since WHEN: 30d, 12h, 2w, a date or an instant "
                             f"(default: {SINCE_DEFAULT})")
    window.add_argument("--app", metavar="ID", help="only this app")

    p = events_sub.add_parser(
        "users", parents=[folder], help="one record per user and platform: first and last authentication, "
                                        "latest version and environment",
        description="Fold every authentication into one record per app, user and platform, as the AppCockpit "
                    "seed keeps it. With --out or --db a checkpoint is kept, and a re-run reads only what is new. "
                    "Files past the retention are not read; --prune deletes them.")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="output format (default: jsonl)")
    p.add_argument("--out", metavar="FILE", help="write the records to FILE (default: stdout), the checkpoint "
                                                 "to FILE.checkpoint")
    p.add_argument("--db", metavar="FILE", help="write the records and the checkpoint into a SQLite database")
    p.add_argument("--checkpoint", metavar="FILE", help="keep the checkpoint in FILE")
    p.add_argument("--full", action="store_true", help="ignore the checkpoint and read everything again")
    p.add_argument("--retention-days", type=_days, default=RETENTION.default, metavar="N",
                   help=f"ignore authentications and files older than N days (default: {RETENTION.default}, "
                        "as serve's --event-retention-days)")
    p.add_argument("--prune", action="store_true",
                   help="also delete the files past the retention (the server's own sweep does this; a report "
                        "deletes nothing without --prune)")
    p.set_defaults(func=cmd_events_users)

    p = events_sub.add_parser(
        "adoption", parents=[folder, window], help="active users per app version, newest first",
        description="Count active users per app, platform, environment and app version (each user once per app "
                    "and platform, on their latest version), newest version first; html adds a chart of version "
                    "share per day.")
    p.add_argument("--format", choices=["table", "json", "html"], default="table", help="output (default: table)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_events_adoption)

    p = events_sub.add_parser(
        "impact", parents=[folder, window], help="active users per verdict under a snapshot",
        description="Evaluate each active user's latest version against a snapshot, as the AppCockpit version "
                    "check answers it, and count users per verdict.")
    p.add_argument("--snapshot", required=True, metavar="S",
                   help="a published snapshot: a file, or a folder holding snapshot.json")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output (default: table)")
    p.set_defaults(func=cmd_events_impact)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as error:
        for diagnostic in error.diagnostics:
            _err(str(diagnostic))
        _err(f"{len(error.diagnostics)} problem{'s' if len(error.diagnostics) != 1 else ''} found; nothing published")
        return error.exit_code
    except ConfigTestFailure as failure:
        for line in failure.failures:
            _err(f"FAIL {line}")
        _err(f"{len(failure.failures)} config test{'s' if len(failure.failures) != 1 else ''} failed; nothing published")
        return failure.exit_code
    except KickitError as error:
        _err(f"error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
