"""The review commands: ``explain``, ``diff``, ``matrix`` and ``history`` show what a config answers and what a change does."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from ..analytics.window import SINCE_DEFAULT
from ..errors import OperatorError
from ..vocabulary import REPORT_FORMATS
from .console import Subparsers, count, err, instant, now, out, platform, progress, since
from .pipeline import add_config_dir

__all__ = ["register", "EXIT_FAIL_ON"]

EXIT_FAIL_ON = 3


def cmd_explain(args: argparse.Namespace) -> int:
    from ..compiler.compile import compile_config
    from ..review.explain import explain

    compiled = compile_config(args.config_dir, run_tests=False)
    app = compiled.snapshot.apps.get(args.app)
    if app is None:
        known = ", ".join(sorted(compiled.snapshot.apps)) or "none"
        raise OperatorError(f"no app {args.app!r} in {args.config_dir} (apps: {known})")
    at = args.at or now()
    out(f"{app.id} ({app.name}) {args.platform}/{args.environment} version {args.version}"
        f" build {args.build or '-'} os {args.os_version or '-'} at {at.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if app.disabled:
        out("app is disabled: every authenticated check answers 402 {\"error\":\"Payment Required\"}")
        return 0
    for row in explain(compiled.config, compiled.snapshot, args.app, args.platform, args.environment,
                       args.version, args.build, args.os_version, at):
        out()
        out(row.render())
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from ..review.diff import diff_sides
    from ..review.report import render_diff
    from ..review.side import open_side

    base = open_side(args.base, args.config_path)
    head = open_side(args.head if args.head is not None else args.config_path, args.config_path)
    at = (args.at or now()).timestamp()
    diff = diff_sides(base, head, at)
    reach = None
    if (args.max_forced is not None or args.max_forced_share is not None) and args.events is None:
        raise OperatorError("--max-forced and --max-forced-share count users: give the event files with --events DIR")
    if args.events is not None:
        from ..analytics.active import scan_active
        from ..analytics.reach import reach_of
        from .events import report_scan

        active = scan_active(args.events, args.since, now(), progress=progress())
        report_scan(active.report)
        reach = reach_of(diff, active, args.events, at)
        if not reach.users:
            err(f"warning: {reach.nobody()}")
        reach = replace(reach, overruns=tuple(reach.over_budget(args.max_forced, args.max_forced_share)))
    sys.stdout.write(render_diff(diff, args.format, reach))
    if args.fail_on == "hard" and diff.forcing or args.fail_on == "any" and diff.changed:
        return EXIT_FAIL_ON
    if reach is not None and reach.overruns:
        for line in reach.overruns:
            err(f"over budget: {line}")
        return EXIT_FAIL_ON
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from ..review.matrix import app_matrix
    from ..review.report import render_matrix
    from ..review.side import open_side

    from ..review.timeline import timeline_of

    side = open_side(args.source, args.config_path)
    at = (args.at or now()).timestamp()
    matrix = app_matrix(side, args.app, at)
    timeline = None
    if args.timeline is not None:
        timeline = (timeline_of(side, args.app, at, at + args.timeline * 86400), args.timeline)
    sys.stdout.write(render_matrix(matrix, args.format, timeline))
    return 0


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage: expected a number from 0 to 100, e.g. 2.5")
    return value


def cmd_history(args: argparse.Namespace) -> int:
    from ..review.history import read_history, render_history

    sys.stdout.write(render_history(read_history(args.config, args.app, args.since), args.format))
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("explain", help="show the verdict, the rule and the bodies for one client",
                       description="Show, for one client, the verdict of each endpoint, the rule behind it and the exact body.")
    add_config_dir(p)
    p.add_argument("--app", required=True, metavar="ID")
    p.add_argument("--platform", required=True, type=platform, metavar="{ios,android}")
    p.add_argument("--environment", required=True, metavar="E")
    p.add_argument("--version", required=True, metavar="V", help="the client's app version")
    p.add_argument("--build", metavar="N", help="the client's build number (KickIt)")
    p.add_argument("--os-version", metavar="V", help="the client's OS version (KickIt header, AppCockpit os_version)")
    p.add_argument("--at", type=instant, metavar="TIME",
                   help="answer as at this instant: releases, deadlines, schedules, windows (default: now)")
    p.set_defaults(func=cmd_explain)
    _register_diff(sub)

    p = sub.add_parser("matrix", help="show an app's whole version policy as a table",
                       description="Show, per platform and environment, the version ranges of an app with their "
                                   "verdicts and rules, then its targets and maintenance.")
    p.add_argument("source", nargs="?", default="config", metavar="CONFIG_DIR",
                   help="config folder, snapshot, or git revision (default: config)")
    p.add_argument("--app", required=True, metavar="ID")
    p.add_argument("--config-path", default="config", metavar="PATH",
                   help="the config folder when CONFIG_DIR is a git revision (default: config)")
    p.add_argument("--format", choices=REPORT_FORMATS, default="text", help="output (default: text)")
    p.add_argument("--at", type=instant, metavar="TIME", help="the policy as it answers at TIME (default: now)")
    p.add_argument("--timeline", type=count, nargs="?", const=90, metavar="DAYS",
                   help="then list when verdicts change over the next DAYS days, and by which rule (default: 90)")
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser("history", help="show who changed the config, what and when, from git",
                       description="List the commits that changed the config folder, newest first: author, time, "
                                   "subject, files, and the verdict changes of each against its parent (as diff "
                                   "computes them), whether made through the management API or by hand.")
    p.add_argument("--config", default="config", metavar="DIR", help="config folder (default: config)")
    p.add_argument("--app", metavar="ID", help="only the commits that change this app, and only its changes")
    p.add_argument("--since", type=since, metavar="WHEN",
                   help="only commits since WHEN: a date (2026-11-01), an instant, or a duration (30d, 12h)")
    p.add_argument("--format", choices=REPORT_FORMATS, default="text", help="output (default: text)")
    p.set_defaults(func=cmd_history)


def _register_diff(sub: Subparsers) -> None:
    p = sub.add_parser("diff", help="show what a config change does to clients' verdicts",
                       description="Compare two configs by what clients are answered: version ranges whose verdict "
                                   "changes, targets, messages, maintenance and keys. Each side is a config folder, "
                                   "a snapshot (file or folder), or a git revision of the config folder.",
                       epilog="Exit codes: 0 compared, 1 a side's config is invalid, 2 bad argument, "
                              "3 --fail-on matched or the change is over its --max-forced/--max-forced-share budget.")
    p.add_argument("base", metavar="BASE", help="config folder, snapshot, or git revision (e.g. main, HEAD~1)")
    p.add_argument("head", nargs="?", metavar="HEAD", help="the same kinds (default: the config folder on disk)")
    p.add_argument("--config-path", default="config", metavar="PATH",
                   help="the config folder, read at git revisions too (default: config)")
    p.add_argument("--format", choices=REPORT_FORMATS, default="text", help="output (default: text)")
    p.add_argument("--fail-on", choices=["hard", "any"],
                   help="exit 3 when the change forces users (a new hard verdict, maintenance turned on, an app "
                        "disabled), or on any change")
    p.add_argument("--events", metavar="DIR",
                   help="count, from the event files in DIR, the active users each verdict change touches")
    p.add_argument("--since", type=since, default=SINCE_DEFAULT, metavar="WHEN",
                   help=f"with --events: active means authenticated since WHEN (default: {SINCE_DEFAULT})")
    p.add_argument("--max-forced", type=count, metavar="N",
                   help="with --events: exit 3 when the change newly forces more than N active users (now or later)")
    p.add_argument("--max-forced-share", type=_percent, metavar="P",
                   help="with --events: exit 3 when it newly forces more than P percent of an app/platform's "
                        "active users")
    p.add_argument("--at", type=instant, metavar="TIME",
                   help="compare as at TIME, then at each later change (default: now)")
    p.set_defaults(func=cmd_diff)
