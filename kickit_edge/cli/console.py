"""What every command shares: output lines, progress, the wall clock and the argument types of times."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

__all__ = ["Subparsers", "out", "err", "progress", "write_text", "now", "instant", "since", "platform", "count"]

# The object ``add_subparsers`` returns: each command module's ``register`` adds its parsers to it.
# (argparse gives it no public name).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress() -> Callable[[str], None]:
    """Progress lines on stderr, each with the seconds since the command started."""
    import time

    started = time.monotonic()
    return lambda message: err(f"[{time.monotonic() - started:6.1f}s] {message}")


def write_text(text: str, path: str | None) -> None:
    """Write ``text`` to stdout, or atomically to ``path`` and say so on stderr."""
    if path is None:
        sys.stdout.write(text)
        return
    from ..analytics.checkpoint import write_atomically

    write_atomically(path, lambda file: file.write(text))
    err(f"wrote {path}")


def now() -> datetime:
    """The wall clock, read here only, so tests can stop it."""
    return datetime.now(UTC)


def instant(text: str) -> datetime:
    """Argument type of an instant such as ``--at``."""
    from ..compiler.model import parse_instant

    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: expected ISO 8601 such as 2027-03-14T01:30:00Z") from None


def since(text: str) -> datetime:
    """Argument type of ``--since``: 30d, 12h, 2w, a date or an instant."""
    from ..analytics.window import parse_since

    try:
        return parse_since(text, now())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def platform(text: str) -> str:
    """Argument type of ``--platform``: as every endpoint reads it (``iOS``, ``Android``), or an error naming both."""
    from ..vocabulary import PLATFORMS, platform_of

    found = platform_of(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected one of {', '.join(PLATFORMS)}")
    return found


def count(text: str) -> int:
    """Argument type of a count: a whole number, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: expected 0 or more, e.g. 500")
    return int(text)
