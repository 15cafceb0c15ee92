"""The config model: validated YAML as typed records that know where they were written.

The records are built (and checked) by :mod:`.builder`; everything that reads
a config (the checks, the renderer, config tests, editing, review) reads these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import Diagnostic
from ..vocabulary import exact_rule, minimum_rule, target_rule
from .schedule import NO_SCHEDULE, Schedule
from .source import DataPath, SourceFile

__all__ = [
    "Where", "Notice", "ExactVersion", "MinimumVersion", "ConditionSpec", "TargetRule", "Window",
    "Maintenance", "KeySpec", "TestCase", "AppConfig", "AdminToken", "Config", "parse_instant", "Release",
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
    available_from: datetime | None  # UTC; None when the text could not be read (reported)
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
        return exact_rule(self.platform, self.environment, self.version)


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
        return minimum_rule(self.platform, self.environment)


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
        return target_rule(self.id)


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
    os_message: str | None = None  # the message name for clients whose OS is too old to comply


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
