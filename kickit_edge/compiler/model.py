"""The config model: validated YAML turned into typed records that know where they were written.

:func:`read_config` is the compiler's front half: load every file, validate it
against its schema, build the model, run the semantic checks, and raise one
:class:`~kickit_edge.errors.ConfigError` listing every problem at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, Diagnostic
from .schedule import NO_SCHEDULE, Schedule, parse_duration
from .schema import validate_file
from .source import PROGRESS_FILES, DataPath, Progress, SourceFile, load_config_dir

__all__ = [
    "Where", "Notice", "ExactVersion", "MinimumVersion", "ConditionSpec", "TargetRule", "Window",
    "Maintenance", "KeySpec", "TestCase", "AppConfig", "AdminToken", "Config", "read_config",
    "parse_instant", "Release",
]


@dataclass(frozen=True)
class Where:
    """The place a record was written: a file and the path to it inside the file."""

    source: SourceFile
    path: DataPath

    def at(self, *more: str | int) -> Where:
        return Where(self.source, self.path + more)

    def diagnostic(self, message: str) -> Diagnostic:
        return self.source.diagnostic(self.path, message)

    @property
    def line(self) -> int:
        return self.source.where(self.path)[0]

    def short(self, root: str) -> str:
        """``apps/demo.yaml:14``: relative to the config folder, so snapshots do not depend on it."""
        return f"{os.path.relpath(self.source.path, root)}:{self.line}"


@dataclass(frozen=True)
class Notice:
    title: str | None
    description: str | None
    links: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Release:
    """A version users can install from the store from ``available_from`` on (on an OS of ``min_os`` or later)."""

    platform: str
    version: str
    available_from: datetime | None
    min_os: str | None
    note: str | None
    where: Where


@dataclass(frozen=True)
class ExactVersion:
    version: str
    platform: str
    environment: str
    enabled: bool
    force_update: bool
    message: str | None
    where: Where

    @property
    def rule(self) -> str:
        return f"exact:{self.platform}/{self.environment}/{self.version}"


@dataclass(frozen=True)
class MinimumVersion:
    version: str
    platform: str
    environment: str
    force_update: bool
    message: str | None
    where: Where
    schedule: Schedule = NO_SCHEDULE

    @property
    def rule(self) -> str:
        return f"minimum:{self.platform}/{self.environment}"


@dataclass(frozen=True)
class ConditionSpec:
    values: tuple[str, ...] | None
    min: str | None
    below: str | None
    where: Where


@dataclass(frozen=True)
class TargetRule:
    id: str
    hard: bool
    message: str
    platforms: tuple[str, ...] | None
    environments: tuple[str, ...] | None
    version: ConditionSpec | None
    build: ConditionSpec | None
    os_version: ConditionSpec | None
    where: Where
    schedule: Schedule = NO_SCHEDULE

    @property
    def rule(self) -> str:
        return f"target:{self.id}"


@dataclass(frozen=True)
class Window:
    start: datetime | None  # UTC; None when the text could not be read (reported)
    end: datetime | None
    notice: Notice
    index: int
    where: Where


@dataclass(frozen=True)
class Maintenance:
    environment: str
    active: bool
    notice: Notice
    windows: tuple[Window, ...]
    where: Where


@dataclass(frozen=True)
class KeySpec:
    prefix: str
    sha256: str
    environments: tuple[str, ...] | None
    expires: datetime | None
    where: Where


@dataclass(frozen=True)
class TestCase:
    name: str
    check: str
    platform: str | None
    environment: str | None
    version: str | None
    build: str | None
    os_version: str | None
    at: datetime | None
    expect: dict[str, Any]
    where: Where


@dataclass
class AppConfig:
    id: str
    name: str
    uuid: str
    public_key: str
    platforms: tuple[str, ...]
    environments: tuple[str, ...]
    default_locale: str
    disabled: bool
    store_urls: dict[str, str]
    keys: list[KeySpec]
    messages: dict[str, dict[str, str]]
    versions: list[ExactVersion]
    minimums: list[MinimumVersion]
    targets: list[TargetRule]
    maintenance: list[Maintenance]
    tests: list[TestCase]
    where: Where
    raw: dict[str, Any] = field(repr=False)
    releases: list[Release] = field(default_factory=list)
    os_message: str | None = None


@dataclass(frozen=True)
class AdminToken:
    name: str
    prefix: str
    sha256: str
    expires: datetime | None
    where: Where


@dataclass
class Config:
    root: str
    apps: list[AppConfig]
    admin_tokens: list[AdminToken]

    def app(self, app_id: str) -> AppConfig | None:
        return next((a for a in self.apps if a.id == app_id), None)


def parse_instant(text: str, zone: str = "UTC") -> datetime:
    """Read an ISO 8601 date or date-time; without an offset it is wall-clock time in ``zone``.

    Raises ``ValueError`` (bad text) or ``ZoneInfoNotFoundError`` (unknown zone).
    """
    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    text = text.strip()
    if len(text) == 10:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    else:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


class _Builder:
    """Builds records from validated data, collecting diagnostics instead of stopping."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def instant(self, where: Where, text: str | None, zone: str = "UTC") -> datetime | None:
        if text is None:
            return None
        try:
            return parse_instant(text, zone)
        except ValueError as exc:
            self.diagnostics.append(where.diagnostic(f"{text!r} is not a valid date or date-time: {exc}"))
        except ZoneInfoNotFoundError:
            pass  # reported once, on the timezone field
        return None

    def zone(self, where: Where, raw: dict[str, Any]) -> str | None:
        """The ``timezone`` of a record (default UTC), or None (reported) when it is unknown."""
        zone = raw.get("timezone", "UTC")
        try:
            if zone != "UTC":
                ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.diagnostics.append(where.at("timezone").diagnostic(
                f"unknown time zone {zone!r}: expected an IANA name such as 'Europe/Berlin' or 'UTC'"))
            return None
        return str(zone)

    def schedule(self, where: Where, raw: dict[str, Any]) -> Schedule:
        names = ("active_from", "active_until", "hard_from")
        if not any(name in raw for name in (*names, "grace")):
            return NO_SCHEDULE
        zone = self.zone(where, raw)
        at = {name: self.instant(where.at(name), raw.get(name), zone) if zone else None for name in names}
        return Schedule(at["active_from"], at["active_until"], at["hard_from"], parse_duration(raw.get("grace", "0m")))

    def releases(self, top: Where, data: dict[str, Any]) -> list[Release]:
        out = []
        for i, r in enumerate(data.get("releases", [])):
            w = top.at("releases", i)
            zone = self.zone(w, r)
            available = self.instant(w.at("available_from"), r["available_from"], zone) if zone else None
            out.append(Release(r["platform"], str(r["version"]), available, r.get("min_os"), r.get("note"), w))
        return out

    def notice(self, raw: dict[str, Any]) -> Notice:
        links = tuple((link["title"], link["url"]) for link in raw.get("links", []))
        return Notice(raw.get("title"), raw.get("description"), links)

    def condition(self, where: Where, raw: dict[str, Any] | None) -> ConditionSpec | None:
        if raw is None:
            return None
        values = tuple(raw["in"]) if "in" in raw else None
        return ConditionSpec(values, raw.get("min"), raw.get("below"), where)

    def app(self, source: SourceFile) -> AppConfig:
        data = source.data
        top = Where(source, ())
        info = data["app"]
        keys = []
        for i, k in enumerate(data.get("keys", [])):
            w = top.at("keys", i)
            envs = tuple(k["environments"]) if "environments" in k else None
            keys.append(KeySpec(k["prefix"], k["sha256"], envs, self.instant(w.at("expires"), k.get("expires")), w))
        versions = [
            ExactVersion(str(v["version"]), v["platform"], v["environment"], v.get("enabled", True),
                         v.get("force_update", False), v.get("message"), top.at("versions", i))
            for i, v in enumerate(data.get("versions", []))
        ]
        minimums = [
            MinimumVersion(str(m["version"]), m["platform"], m["environment"], m.get("force_update", False),
                           m.get("message"), top.at("minimum_versions", i),
                           self.schedule(top.at("minimum_versions", i), m))
            for i, m in enumerate(data.get("minimum_versions", []))
        ]
        targets = []
        for i, t in enumerate(data.get("targets", [])):
            w = top.at("targets", i)
            targets.append(TargetRule(
                t["id"], t.get("hard", False), t["message"],
                tuple(t["platforms"]) if "platforms" in t else None,
                tuple(t["environments"]) if "environments" in t else None,
                self.condition(w.at("version"), t.get("version")),
                self.condition(w.at("build"), t.get("build")),
                self.condition(w.at("os_version"), t.get("os_version")),
                w, self.schedule(w, t),
            ))
        maintenance = []
        for env, m in data.get("maintenance", {}).items():
            w = top.at("maintenance", env)
            windows = []
            for i, win in enumerate(m.get("windows", [])):
                ww = w.at("windows", i)
                zone = self.zone(ww, win)
                start = self.instant(ww.at("start"), win["start"], zone) if zone else None
                end = self.instant(ww.at("end"), win["end"], zone) if zone else None
                windows.append(Window(start, end, self.notice(win), i, ww))
            maintenance.append(Maintenance(env, m.get("active", False), self.notice(m), tuple(windows), w))
        tests = [
            TestCase(c["name"], c["check"], c.get("platform"), c.get("environment"),
                     c.get("version"), c.get("build"), c.get("os_version"),
                     self.instant(top.at("tests", i, "at"), c.get("at")), c["expect"], top.at("tests", i))
            for i, c in enumerate(data.get("tests", []))
        ]
        return AppConfig(
            info["id"], info["name"], info["uuid"], info["public_key"], tuple(info["platforms"]),
            tuple(info["environments"]), info["default_locale"], info.get("disabled", False),
            dict(info.get("store_urls", {})), keys, dict(data.get("messages", {})), versions, minimums,
            targets, maintenance, tests, top.at("app"), data, self.releases(top, data), info.get("os_message"),
        )

    def admin_tokens(self, source: SourceFile) -> list[AdminToken]:
        top = Where(source, ())
        tokens = []
        for i, t in enumerate(source.data["admin_tokens"]):
            w = top.at("admin_tokens", i)
            tokens.append(AdminToken(t["name"], t["prefix"], t["sha256"],
                                     self.instant(w.at("expires"), t.get("expires")), w))
        return tokens


def build_config(root: str, files: list[SourceFile]) -> tuple[Config, list[Diagnostic]]:
    """Validate and model already-loaded files; return the model and every problem found."""
    from .checks import check_config  # the checks read the model defined above

    builder = _Builder()
    diagnostics: list[Diagnostic] = []
    apps: list[AppConfig] = []
    tokens: list[AdminToken] = []
    for source in files:
        kind, problems = validate_file(source)
        diagnostics.extend(problems)
        if problems or kind is None:
            continue
        if kind == "app":
            apps.append(builder.app(source))
        else:
            tokens.extend(builder.admin_tokens(source))
    diagnostics.extend(builder.diagnostics)
    config = Config(root, apps, tokens)
    diagnostics.extend(check_config(config))
    return config, diagnostics


def read_config(config_dir: str | os.PathLike[str], progress: Progress | None = None) -> Config:
    """Load, validate and check the config folder; raise ConfigError listing every problem."""
    root = str(config_dir)
    if not os.path.isdir(root):
        raise ConfigError([Diagnostic(root, 1, 1, "", "config folder not found: expected a folder of YAML files")])
    files, diagnostics = load_config_dir(root, progress)
    config, more = build_config(root, files)
    if progress is not None and len(files) >= PROGRESS_FILES:
        progress(f"checked {len(config.apps)} apps")
    diagnostics.extend(more)
    if not files and not diagnostics:
        diagnostics.append(Diagnostic(root, 1, 1, "", "no YAML files found: expected at least one app file (*.yaml)"))
    if diagnostics:
        raise ConfigError(diagnostics)
    return config
