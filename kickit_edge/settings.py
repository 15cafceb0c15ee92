"""Settings of ``kickit-edge serve``, defined once.

Each field of :class:`Settings` is one row of :data:`SETTINGS`: a name, a
default, an environment variable (``KICKIT_`` + the name) and a help text. The
one table feeds the CLI flags (``--port``), the
server (which reads the environment in each worker process) and the README's
table, which a test keeps in step. A value comes from, in order: the CLI flag,
the environment variable, the default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any, Literal

from .errors import OperatorError

__all__ = ["Setting", "SETTINGS", "Settings", "LogLevel", "WatchMode", "add_arguments", "settings_table"]

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
WatchMode = Literal["auto", "poll"]
LOG_LEVELS: tuple[str, ...] = ("critical", "error", "warning", "info", "debug")
WATCH_MODES: tuple[str, ...] = ("auto", "poll")


def _number(text: str, kind: Callable[[str], Any], expected: str, ok: Callable[[Any], bool]) -> Any:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise ValueError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return int(_number(text, int, "a whole number of at least 1", lambda v: v >= 1))


def _port(text: str) -> int:
    return int(_number(text, int, "a port from 0 to 65535", lambda v: 0 <= v <= 65535))


def _seconds(text: str) -> float:
    return float(_number(text, float, "a number of seconds above 0, such as 0.5", lambda v: v > 0))


def _days(text: str) -> int:
    return int(_number(text, int, "a whole number of days, 0 or more", lambda v: v >= 0))


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


@dataclass(frozen=True)
class Setting:
    """One row of the table; ``parse`` turns the text of a flag or variable into the value."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None

    @property
    def env(self) -> str:
        return "KICKIT_" + self.name.upper()

    @property
    def shown_default(self) -> str:
        if self.default is None:
            return ""
        return str(self.default).lower() if isinstance(self.default, bool) else str(self.default)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def read(self, text: str, origin: str) -> Any:
        """Parse ``text``; raise OperatorError naming ``origin`` and the expected form."""
        if self.choices is not None and text not in self.choices:
            raise OperatorError(f"{origin}: expected one of {', '.join(self.choices)}, got {text!r}")
        try:
            return self.parse(text)
        except ValueError as exc:
            raise OperatorError(f"{origin}: {exc}") from None


def _setting(default: Any, help: str, parse: Callable[[str], Any] = str, *,
             choices: tuple[str, ...] | None = None, metavar: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "parse": parse, "choices": choices, "metavar": metavar})


@dataclass(frozen=True)
class Settings:
    """The resolved values; each field, with its metadata, is one row of :data:`SETTINGS`."""

    host: str = _setting("127.0.0.1", "address to listen on (0.0.0.0 for all interfaces)", metavar="ADDR")
    port: int = _setting(8000, "port to listen on", _port, metavar="N")
    workers: int = _setting(1, "worker processes; each loads the snapshot and writes its own event files",
                            _positive_int, metavar="N")
    config: str = _setting("config", "dev mode: compile this YAML folder at start and on every change "
                           "(used when neither --snapshots nor --snapshot-url is given)", metavar="DIR")
    snapshots: str | None = _setting(None, "serve the snapshot.json published in this folder and follow its changes",
                                     metavar="DIR")
    snapshot_url: str | None = _setting(None, "serve the snapshot at this HTTP(S) URL, polled with If-None-Match",
                                        metavar="URL")
    events_dir: str = _setting("var/events", "folder of the event log (created if it is the default)", metavar="DIR")
    event_max_bytes: int = _setting(64 * 1024 * 1024, "rotate an event file before it would exceed this size",
                                    _positive_int, metavar="BYTES")
    event_retention_days: int = _setting(365, "delete event files older than this many days", _days, metavar="DAYS")
    log_level: LogLevel = _setting("info", "log level", choices=LOG_LEVELS)
    access_log: bool = _setting(True, "log one line per request (never headers, keys or bodies)", _flag,
                                metavar="BOOL")
    watch: WatchMode = _setting("auto", "how to follow --snapshots: file events with polling if they fail, "
                                "or polling only", choices=WATCH_MODES)
    poll_interval: float = _setting(1.0, "seconds between polls of --snapshot-url, and of the folder when polling",
                                    _seconds, metavar="S")
    resync_interval: float = _setting(30.0, "seconds between full re-reads of the snapshot, whatever the watcher says",
                                      _seconds, metavar="S")
    max_body: int = _setting(64 * 1024, "largest request body accepted, in bytes; a larger one gets 413",
                             _positive_int, metavar="BYTES")

    @classmethod
    def resolve(cls, args: argparse.Namespace | None = None,
                environ: Mapping[str, str] | None = None) -> Settings:
        """Flags over environment variables over defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            flag_value = getattr(args, setting.name, None) if args is not None else None
            if flag_value is not None:
                values[setting.name] = flag_value
            elif environ.get(setting.env, "") != "":
                values[setting.name] = setting.read(environ[setting.env], setting.env)
            else:
                values[setting.name] = setting.default
        if values["snapshots"] and values["snapshot_url"]:
            raise OperatorError("give at most one of --snapshots DIR and --snapshot-url URL")
        return cls(**values)

    def to_environ(self) -> dict[str, str]:
        """The variables that make :meth:`resolve` give these values again (for worker processes)."""
        out: dict[str, str] = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is None:
                out[setting.env] = ""
            elif isinstance(value, bool):
                out[setting.env] = "true" if value else "false"
            else:
                out[setting.env] = str(value)
        return out


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], f.metadata["parse"], f.metadata["choices"], f.metadata["metavar"])
    for f in fields(Settings)
)


def setting(name: str) -> Setting:
    """The row named ``name`` (other commands read serve's defaults from here, never a copy)."""
    return next(s for s in SETTINGS if s.name == name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; an absent flag stays ``None`` so the environment can fill it."""
    for setting in SETTINGS:
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            type=partial(_argparse_type, setting),
            default=None,
            metavar=setting.metavar or ("{" + ",".join(setting.choices) + "}" if setting.choices else "TEXT"),
            choices=None,
            help=f"{setting.help} [default: {setting.shown_default or 'none'}; env: {setting.env}]",
        )


def _argparse_type(setting: Setting, text: str) -> Any:
    try:
        return setting.read(text, setting.flag)
    except OperatorError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(setting.flag + ": ")) from None


def settings_table(settings: Sequence[Setting] = SETTINGS) -> str:
    """The README's Markdown table of the settings."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for s in settings:
        default = s.shown_default
        meaning = s.help + (f" ({', '.join(s.choices)})" if s.choices else "")
        rows.append(f"| `{s.flag}` | `{s.env}` | {f'`{default}`' if default else '-'} | {meaning} |")
    return "\n".join(rows)
