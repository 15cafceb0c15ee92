"""The ``kickit-edge`` command: parse, call, and turn a KickitError into a message and an exit code.

Each command group declares its arguments beside its handler, in its own
module with a ``register(subparsers)``; adding a command is adding a module to
:data:`COMMANDS`.

Exit codes: 0 success, 1 invalid config or failing config tests, 2 usage or
operator error (bad flag, bad environment variable, unwritable folder, unknown
app), 3 ``diff --fail-on`` found what it was told to fail on, 141 the reader of
the output went away (``| head``), as for any tool stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ConfigError, ConfigTestFailure, KickitError
from . import admin, events, keys, pipeline, releases, review, serve
from .console import err

__all__ = ["main", "build_parser"]

COMMANDS = (pipeline, review, keys, releases, serve, admin, events)

EXIT_BROKEN_PIPE = 128 + 13  # the shell's status of a process killed by SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kickit-edge",
        description="Upgrade and maintenance checks for mobile apps, compiled from YAML in git.",
    )
    parser.add_argument("--version", action="version", version=f"kickit-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _run(argv)
        finally:  # flushed here, not at exit, so a reader gone before the last write (or --help) is caught below
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, ConfigTestFailure) as error:
        for line in error.report("nothing published"):
            err(line)
        return error.exit_code
    except KickitError as error:
        err(f"error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush finds no closed pipe to complain about."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in tests): nothing to flush into a pipe
        pass
