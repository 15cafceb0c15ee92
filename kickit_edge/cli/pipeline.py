"""The pipeline's commands: ``compile``, ``test``, ``rollback`` and ``schema``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigTestFailure, OperatorError
from .console import Subparsers, count, out, progress

__all__ = ["register"]


def cmd_compile(args: argparse.Namespace) -> int:
    from ..compiler.publish import publish_snapshot
    from ..compiler.stream import compile_folder

    seal = None
    if args.sign:
        from functools import partial

        from ..signing import read_signing_key, sign_manifest

        key_file, config = Path(args.sign).resolve(), Path(args.config_dir).resolve()
        if config in key_file.parents:
            raise OperatorError(f"--sign {args.sign} is inside the config folder {args.config_dir}: move the private "
                                "key out of it (it would be committed with the config)")
        seal = partial(sign_manifest, key=read_signing_key(args.sign))
    compiled = compile_folder(args.config_dir, revision=args.revision, progress=progress(), seal=seal)
    snapshot = compiled.snapshot
    if args.dry_run:
        out(f"snapshot {snapshot.id} {snapshot.digest} ({compiled.apps} apps, {snapshot.size} bytes; not published)")
        return 0
    path, changed = publish_snapshot(compiled.data, args.out, keep=args.keep, verified=snapshot)
    state = "published" if changed else "unchanged"
    out(f"snapshot {snapshot.id} {snapshot.digest}")
    out(f"{state}: {args.out}/snapshot.json ({compiled.apps} apps, {snapshot.size} bytes, "
        f"revision {snapshot.revision or 'unknown'}, {len(compiled.results)} config tests passed)")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from ..compiler.compile import compile_config

    try:
        compiled = compile_config(args.config_dir, run_tests=True)
    except ConfigTestFailure as failure:
        for line in failure.lines:
            out(line)
        out(f"{len(failure.failures)} failed")
        return 1
    for result in compiled.results:
        out(f"ok   {result.app}: {result.case.name} -> {result.verdict}" + (f" ({result.rule})" if result.rule else ""))
    out(f"{len(compiled.results)} passed")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from ..compiler.publish import rollback

    path = rollback(args.out, args.snapshot_id)
    out(f"current snapshot is now {path.name}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from ..compiler.schema import SCHEMA_NAMES, schema_text

    if args.out is None:
        sys.stdout.write(schema_text(args.kind or "app"))
        return 0
    folder = Path(args.out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for kind in [args.kind] if args.kind else list(SCHEMA_NAMES):
            (folder / SCHEMA_NAMES[kind]).write_text(schema_text(kind), encoding="utf-8")
            out(f"wrote {folder / SCHEMA_NAMES[kind]}")
    except OSError as exc:
        raise OperatorError(f"cannot write schemas to {args.out}: {exc.strerror}") from None
    return 0


def add_config_dir(parser: argparse.ArgumentParser) -> None:
    """The optional positional config folder most commands read."""
    parser.add_argument("config_dir", nargs="?", default="config", metavar="CONFIG_DIR",
                        help="config folder (default: config)")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("compile", help="check the config, run its tests and publish a snapshot",
                       description="Check the config folder, run its config tests, and publish a snapshot atomically.")
    add_config_dir(p)
    p.add_argument("--out", default="snapshots", metavar="DIR", help="output folder (default: snapshots)")
    p.add_argument("--revision", help="revision to record (default: the git commit of CONFIG_DIR, or $KICKIT_REVISION)")
    p.add_argument("--keep", type=count, default=5, metavar="N",
                   help="published snapshots kept for rollback (default: 5; 0 keeps every one)")
    p.add_argument("--dry-run", action="store_true", help="check and build, but publish nothing")
    p.add_argument("--sign", metavar="KEY", help="sign the snapshot with this signing.key (from `keys signing`); "
                                                 "edges with --verify-key accept only signed snapshots")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("test", help="run the config tests", description="Run the config tests and show each failure.")
    add_config_dir(p)
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("schema", help="print or write the JSON Schemas of the config files",
                       description="Print a JSON Schema (default: the app file's), or write them all into a folder "
                                   "for an editor's YAML language server.")
    p.add_argument("kind", nargs="?", choices=["app", "admin"], help="which schema (default: app; with --out: all)")
    p.add_argument("--out", metavar="DIR", help="write the schemas into this folder instead of printing")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("rollback", help="make an earlier published snapshot current",
                       description="Make an earlier published snapshot current again.")
    p.add_argument("snapshot_id", nargs="?", metavar="ID", help="snapshot id (default: the one before the current)")
    p.add_argument("--out", default="snapshots", metavar="DIR", help="output folder (default: snapshots)")
    p.set_defaults(func=cmd_rollback)
