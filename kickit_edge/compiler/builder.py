"""The compiler's front half: load every file, validate it against its schema, build the model, check it.

:func:`read_config` raises one :class:`~kickit_edge.errors.ConfigError`
listing every problem at once; :func:`build_config` does the same work on
files already loaded (editing checks a config with some files changed in
memory) and returns the problems instead.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, Diagnostic
from .checks import check_config
from .model import (
    AdminToken,
    AppConfig,
    ConditionSpec,
    Config,
    ExactVersion,
    KeySpec,
    Maintenance,
    MinimumVersion,
    Notice,
    Release,
    TargetRule,
    TestCase,
    Where,
    Window,
    parse_instant,
)
from .schedule import NO_SCHEDULE, Schedule, parse_duration
from .schema import validate_file
from .source import PROGRESS_FILES, Progress, SourceFile, load_config_dir, load_file

__all__ = ["build_config", "read_config", "read_admin_tokens", "build_file"]


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
        maintenance = [self.maintenance(top.at("maintenance", env), env, m)
                       for env, m in data.get("maintenance", {}).items()]
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

    def maintenance(self, w: Where, environment: str, raw: dict[str, Any]) -> Maintenance:
        windows = []
        for i, win in enumerate(raw.get("windows", [])):
            ww = w.at("windows", i)
            zone = self.zone(ww, win)
            start = self.instant(ww.at("start"), win["start"], zone) if zone else None
            end = self.instant(ww.at("end"), win["end"], zone) if zone else None
            windows.append(Window(start, end, self.notice(win), i, ww))
        return Maintenance(environment, raw.get("active", False), self.notice(raw), tuple(windows), w)

    def admin_tokens(self, source: SourceFile) -> list[AdminToken]:
        top = Where(source, ())
        tokens = []
        for i, t in enumerate(source.data["admin_tokens"]):
            w = top.at("admin_tokens", i)
            tokens.append(AdminToken(t["name"], t["prefix"], t["sha256"],
                                     self.instant(w.at("expires"), t.get("expires")), w))
        return tokens


def build_file(source: SourceFile) -> tuple[AppConfig | list[AdminToken] | None, list[Diagnostic]]:
    """One file alone, validated and modelled, with the problems found in it
    (:func:`build_config` also checks across files); None for a file that is neither kind."""
    kind, problems = validate_file(source)
    if problems or kind is None:
        return None, problems
    builder = _Builder()
    built = builder.app(source) if kind == "app" else builder.admin_tokens(source)
    return built, builder.diagnostics


def build_config(root: str, files: list[SourceFile]) -> tuple[Config, list[Diagnostic]]:
    """Validate and model already-loaded files; return the model and every problem found."""
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


def read_admin_tokens(config_dir: str | os.PathLike[str], files: Collection[Path]) -> list[AdminToken]:
    """The admin tokens held by ``files`` of ``config_dir``, reading no other file.

    The admin API authenticates a request with these before it reads any app
    file. Raise ConfigError listing every problem of those files.
    """
    root = Path(config_dir)
    builder = _Builder()
    tokens: list[AdminToken] = []
    diagnostics: list[Diagnostic] = []
    for file in sorted(files):
        source, problems = load_file(file, str(root / file.relative_to(root)))
        diagnostics.extend(problems)
        if source is None:
            continue
        kind, problems = validate_file(source)
        diagnostics.extend(problems)
        if kind == "admin" and not problems:
            tokens.extend(builder.admin_tokens(source))
    diagnostics.extend(builder.diagnostics)
    if diagnostics:
        raise ConfigError(diagnostics)
    return tokens
