"""Settings of the long-lived processes and the commands that read their files, defined once.

Each process has one frozen dataclass (:class:`Settings` for ``serve``,
:class:`AdminSettings` for ``admin``, :class:`EventSettings` and
:class:`UserSettings` for the ``events`` commands); each field is one
:class:`Setting`: a name, a default, an environment variable, a help text and
a parser. The table feeds the command's flags (``--port``), the server (which
reads the environment in each worker process), the README's tables (a test
keeps them in step) and the errors, which name where a bad value came from. A
value comes from, in order: the flag, the environment variable, the default.

Adding a setting is adding a field: ``name: T = setting(default, "help", parse)``.
A setting another process also reads is declared once and borrowed with
:func:`same_as`, so both read the same variable with the same default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any, ClassVar, Literal, Self

from .errors import OperatorError

__all__ = ["Setting", "ProcessSettings", "Settings", "AdminSettings", "EventSettings", "UserSettings",
           "PROCESSES", "LogLevel", "LogFormat", "WatchMode", "setting", "same_as"]

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
WatchMode = Literal["auto", "poll"]
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = ("text", "json")
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


def _seconds_or_zero(text: str) -> float:
    return float(_number(text, float, "a number of seconds, 0 or more, such as 0.5", lambda v: v >= 0))


def _days(text: str) -> int:
    return int(_number(text, int, "a whole number of days, 0 or more", lambda v: v >= 0))


def _several(text: str) -> tuple[str, ...]:
    """A repeatable setting (files, origins): each flag gives one; the variable gives several, comma-separated."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


@dataclass(frozen=True)
class Setting:
    """One row of a table; ``parse`` turns the text of a flag or variable into the value."""

    name: str
    default: Any
    help: str
    env: str
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None

    @property
    def shown_default(self) -> str:
        if self.default is None or self.default == ():
            return ""
        return str(self.default).lower() if isinstance(self.default, bool) else str(self.default)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def read(self, text: str, origin: str) -> Any:
        """Parse ``text``; raise OperatorError naming ``origin`` (the flag or the variable) and the expected form."""
        if self.choices is not None and text not in self.choices:
            raise OperatorError(f"{origin}: expected one of {', '.join(self.choices)}, got {text!r}")
        try:
            return self.parse(text)
        except ValueError as exc:
            raise OperatorError(f"{origin}: {exc}") from None


def setting(default: Any, help: str, parse: Callable[[str], Any] = str, *, env: str | None = None,
            choices: tuple[str, ...] | None = None, metavar: str | None = None) -> Any:
    """Declare a field as a setting; its variable is the class's prefix + the upper-cased name unless ``env``.
    """
    row = {"help": help, "parse": parse, "env": env, "choices": choices, "metavar": metavar}
    return field(default=default, metadata={"setting": row})


def same_as(owner: type[ProcessSettings], name: str, *, help: str | None = None) -> Any:
    """Declare a field that reads ``owner``'s setting ``name``: its variable, default and form; its own flag."""
    row = owner.row(name)
    return setting(row.default, help or row.help, row.parse, env=row.env, choices=row.choices, metavar=row.metavar)


@dataclass(frozen=True)
class ProcessSettings:
    """The settings of one process: subclasses are frozen dataclasses whose fields are declared with :func:`setting`."""

    ENV_PREFIX: ClassVar[str] = "KICKIT_"

    @classmethod
    def rows(cls) -> tuple[Setting, ...]:
        out = []
        for f in fields(cls):
            row = f.metadata["setting"]
            env = row["env"] or cls.ENV_PREFIX + f.name.upper()
            out.append(Setting(f.name, f.default, row["help"], env, row["parse"], row["choices"], row["metavar"]))
        return tuple(out)

    @classmethod
    def row(cls, name: str) -> Setting:
        return next(s for s in cls.rows() if s.name == name)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one flag per setting; an absent flag stays ``None`` so the environment can fill it."""
        for row in cls.rows():
            parser.add_argument(
                row.flag, dest=row.name, type=partial(_argparse_type, row), default=None,
                action="append" if isinstance(row.default, tuple) else "store",  # a tuple: repeatable
                metavar=row.metavar or ("{" + ",".join(row.choices) + "}" if row.choices else "TEXT"),
                help=f"{row.help} [default: {row.shown_default or 'none'}; env: {row.env}]",
            )

    @classmethod
    def resolve(cls, args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None) -> Self:
        """Flags over environment variables over defaults; a bad variable is named in the error."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for row in cls.rows():
            flag_value = getattr(args, row.name, None) if args is not None else None
            if isinstance(flag_value, list):  # a repeatable flag: one tuple per use
                values[row.name] = tuple(item for given in flag_value for item in given)
            elif flag_value is not None:
                values[row.name] = flag_value
            elif environ.get(row.env, "") != "":
                values[row.name] = row.read(environ[row.env], row.env)
            else:
                values[row.name] = row.default
        return cls(**values)

    def to_environ(self) -> dict[str, str]:
        """The variables that make :meth:`resolve` give these values again (for worker processes)."""
        out: dict[str, str] = {}
        for row in self.rows():
            value = getattr(self, row.name)
            if value is None:
                out[row.env] = ""
            elif isinstance(value, bool):
                out[row.env] = "true" if value else "false"
            elif isinstance(value, tuple):
                out[row.env] = ",".join(value)
            else:
                out[row.env] = str(value)
        return out

    @classmethod
    def table(cls) -> str:
        """The README's Markdown table of these settings."""
        lines = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
        for s in cls.rows():
            default = s.shown_default
            meaning = s.help + (f" ({', '.join(s.choices)})" if s.choices else "")
            lines.append(f"| `{s.flag}` | `{s.env}` | {f'`{default}`' if default else '-'} | {meaning} |")
        return "\n".join(lines)


def _argparse_type(row: Setting, text: str) -> Any:
    try:
        return row.read(text, row.flag)
    except OperatorError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(row.flag + ": ")) from None


@dataclass(frozen=True)
class Settings(ProcessSettings):
    """``kickit-edge serve``: the edge server and its workers."""

    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0 for all interfaces)", metavar="ADDR")
    port: int = setting(8000, "port to listen on", _port, metavar="N")
    workers: int = setting(1, "worker processes; each loads the snapshot and writes its own event files",
                           _positive_int, metavar="N")
    config: str = setting("config", "dev mode: compile this YAML folder at start and on every change "
                          "(used when neither --snapshots nor --snapshot-url is given)", metavar="DIR")
    snapshots: str | None = setting(None, "serve the snapshot.json published in this folder and follow its changes",
                                    metavar="DIR")
    snapshot_url: str | None = setting(None, "serve the snapshot at this HTTP(S) URL, polled with If-None-Match",
                                       metavar="URL")
    events_dir: str = setting("var/events", "folder of the event log (created if it is the default)", metavar="DIR")
    event_max_bytes: int = setting(64 * 1024 * 1024, "rotate an event file before it would exceed this size",
                                   _positive_int, metavar="BYTES")
    event_retention_days: int = setting(365, "delete event files older than this many days", _days, metavar="DAYS")
    log_level: LogLevel = setting("info", "log level", choices=LOG_LEVELS)
    access_log: bool = setting(True, "log one line per request (never headers, keys or bodies)", _flag,
                               metavar="BOOL")
    watch: WatchMode = setting("auto", "how to follow --snapshots: file events with polling if they fail, "
                               "or polling only", choices=WATCH_MODES)
    poll_interval: float = setting(1.0, "seconds between polls of --snapshot-url, and of the folder when polling",
                                   _seconds, metavar="S")
    resync_interval: float = setting(30.0, "seconds between full re-reads of the snapshot, whatever the watcher says",
                                     _seconds, metavar="S")
    max_body: int = setting(64 * 1024, "largest request body accepted, in bytes; a larger one gets 413",
                            _positive_int, metavar="BYTES")
    max_header_bytes: int = setting(16384, "largest request head (request line and headers), in bytes; "
                                    "a larger one gets 431 and the connection is closed", _positive_int,
                                    metavar="BYTES")
    header_timeout: float = setting(10.0, "seconds a client has to send a whole request head; then 408 and close",
                                    _seconds, metavar="S")
    body_timeout: float = setting(10.0, "seconds a client has to send a whole request body; then 408 and close",
                                  _seconds, metavar="S")
    keep_alive_timeout: int = setting(5, "seconds an idle keep-alive connection stays open", _positive_int,
                                      metavar="S")
    limit_concurrency: int | None = setting(None, "most open connections (and tasks) at once per worker; beyond it 503",
                                            _positive_int, metavar="N")
    shutdown_timeout: int = setting(10, "seconds a shutdown waits for answers in flight before closing connections "
                                    "(keep drain + shutdown below the orchestrator's grace period)", _positive_int,
                                    metavar="S")
    metrics_port: int | None = setting(None, "serve GET /metrics (Prometheus) on this port of --host instead of the "
                                       "main port; one listener for all workers", _port, metavar="N")
    log_format: LogFormat = setting("text", "log line format: text, or json (one object per line)",
                                    choices=LOG_FORMATS)
    cors_origin: tuple[str, ...] = setting((), "allow browser calls from this origin (repeat the flag, or separate "
                                           "with commas in the variable; * for any); none: no CORS headers",
                                           _several, metavar="ORIGIN")
    drain_seconds: float = setting(0.0, "on SIGTERM, answer /ready with 503 at once but go on serving this many "
                                   "seconds before shutting down (set it behind load balancers)", _seconds_or_zero,
                                   metavar="S")
    max_snapshot_bytes: int = setting(1 << 30, "largest snapshot accepted from --snapshot-url, in bytes after "
                                      "decompression; a larger one is refused while it downloads",
                                      _positive_int, metavar="BYTES")
    download_timeout: float = setting(60.0, "seconds one download of --snapshot-url may take, headers and body; "
                                      "an origin that drips or hangs is cut off", _seconds, metavar="S")
    cache_dir: str = setting("var/cache", "where the last good snapshot from --snapshot-url is kept, to serve it "
                             "after a restart while the origin fails", metavar="DIR")
    verify_key: tuple[str, ...] = setting((), "accept only snapshots signed by the key in this signing.pub "
                                          "(repeatable, for key rotation; the variable takes a comma-separated list)",
                                          _several, metavar="FILE")

    def __post_init__(self) -> None:
        if self.snapshots and self.snapshot_url:
            raise OperatorError("give at most one of --snapshots DIR and --snapshot-url URL")


@dataclass(frozen=True)
class AdminSettings(ProcessSettings):
    """``kickit-edge admin``: the management API."""

    ENV_PREFIX: ClassVar[str] = "KICKIT_ADMIN_"

    config: str = setting("config", "config folder the API edits", env="KICKIT_CONFIG", metavar="DIR")
    publish: str | None = setting(None, "after each successful write, compile and publish a snapshot into DIR "
                                  "(the folder an edge watches)", env="KICKIT_PUBLISH", metavar="DIR")
    git_branch: str | None = setting(None, "review mode: commit each write on branch NAME and push it to "
                                     "--git-remote, for CI to open a pull request; never publishes", metavar="NAME")
    git_remote: str | None = setting(None, "review mode: the remote to push to (a name such as origin, a URL, "
                                     "a path)", metavar="REMOTE")
    git_push_delay: float = setting(0.0, "review mode: push once no write came for this many seconds "
                                    "(0: after each write)", _seconds_or_zero, metavar="S")
    git_email_domain: str = setting("kickit-edge.invalid", "commits are authored by the admin token's name at "
                                    "this e-mail domain (token ci: ci@DOMAIN)", metavar="DOMAIN")
    host: str = setting("127.0.0.1", "address to listen on", metavar="HOST")
    port: int = setting(8001, "port to listen on", _port, metavar="PORT")
    max_header_bytes: int = same_as(Settings, "max_header_bytes")
    header_timeout: float = same_as(Settings, "header_timeout")
    body_timeout: float = same_as(Settings, "body_timeout")
    shutdown_timeout: int = same_as(Settings, "shutdown_timeout")
    metrics_port: int | None = setting(None, "serve GET /metrics (Prometheus) on this port instead of the main port",
                                       _port, metavar="N")
    log_format: LogFormat = same_as(Settings, "log_format")
    cors_origin: tuple[str, ...] = setting((), "allow browser calls from this origin (repeat the flag, or separate "
                                           "with commas in the variable; * for any); none: no CORS headers",
                                           _several, metavar="ORIGIN")


@dataclass(frozen=True)
class EventSettings(ProcessSettings):
    """The ``events`` commands: they read where ``serve`` writes."""

    events_dir: str = same_as(Settings, "events_dir", help="the folder the server writes event files to")


@dataclass(frozen=True)
class UserSettings(EventSettings):
    """``kickit-edge events users``: user records kept within serve's retention."""

    retention_days: int = same_as(Settings, "event_retention_days",
                                  help="ignore authentications and files older than this many days "
                                       "(as serve's --event-retention-days; --prune deletes those files)")


# Each table with the command that reads it; the README shows one table per entry.
PROCESSES: tuple[tuple[str, type[ProcessSettings]], ...] = (
    ("serve", Settings), ("admin", AdminSettings), ("events users", UserSettings),
)
