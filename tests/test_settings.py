"""The settings tables: one per process, feeding flags, environment variables, errors and the README."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kickit_edge.cli import main
from kickit_edge.errors import OperatorError
from kickit_edge.events import Event
from kickit_edge.settings import PROCESSES, AdminSettings, Settings, UserSettings

from .analytics.fleet import write
from .conftest import REPO

Capture = pytest.CaptureFixture[str]


def test_readme_tables_are_generated_from_the_settings() -> None:
    readme = (REPO / "README.md").read_text()
    for command, table in PROCESSES:
        assert table.table() in readme, f"README's {command} table is stale: paste {table.__name__}.table()"


def test_flags_override_environment_over_defaults() -> None:
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    args = parser.parse_args(["--port", "9001", "--access-log", "off"])
    settings = Settings.resolve(args, {"KICKIT_PORT": "9002", "KICKIT_WORKERS": "3", "KICKIT_HOST": ""})
    assert (settings.port, settings.workers, settings.host, settings.access_log) == (9001, 3, "127.0.0.1", False)
    assert Settings.resolve(None, settings.to_environ()) == settings  # what the worker processes rebuild


@pytest.mark.parametrize(("table", "environ", "error"), [
    (Settings, {"KICKIT_PORT": "eighty"}, "KICKIT_PORT: expected a port from 0 to 65535, got 'eighty'"),
    (Settings, {"KICKIT_WORKERS": "0"}, "KICKIT_WORKERS: expected a whole number of at least 1, got '0'"),
    (Settings, {"KICKIT_ACCESS_LOG": "maybe"}, "KICKIT_ACCESS_LOG: expected true or false, got 'maybe'"),
    (Settings, {"KICKIT_LOG_LEVEL": "loud"},
     "KICKIT_LOG_LEVEL: expected one of critical, error, warning, info, debug, got 'loud'"),
    (Settings, {"KICKIT_SNAPSHOTS": "a", "KICKIT_SNAPSHOT_URL": "http://x/"},
     "give at most one of --snapshots DIR and --snapshot-url URL"),
    (AdminSettings, {"KICKIT_ADMIN_PORT": "abc"}, "KICKIT_ADMIN_PORT: expected a port from 0 to 65535, got 'abc'"),
    (UserSettings, {"KICKIT_EVENT_RETENTION_DAYS": "-1"},
     "KICKIT_EVENT_RETENTION_DAYS: expected a whole number of days, 0 or more, got '-1'"),
])
def test_bad_settings_say_what_was_expected(table: type[Settings], environ: dict[str, str], error: str) -> None:
    with pytest.raises(OperatorError) as raised:
        table.resolve(None, environ)
    assert str(raised.value) == error


@pytest.mark.parametrize("command", [command for command, _ in PROCESSES])
def test_every_setting_is_a_flag_of_its_command(command: str, capsys: Capture) -> None:
    with pytest.raises(SystemExit):
        main([*command.split(), "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps long help lines
    for row in dict(PROCESSES)[command].rows():
        assert f"{row.flag} " in out and f"env: {row.env}]" in out, row.name


def test_a_bad_admin_variable_is_named_not_a_flag(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setenv("KICKIT_ADMIN_PORT", "abc")
    assert main(["admin"]) == 2
    assert capsys.readouterr().err == "error: KICKIT_ADMIN_PORT: expected a port from 0 to 65535, got 'abc'\n"


def test_admin_flags_win_over_variables(monkeypatch: pytest.MonkeyPatch, capsys: Capture, tmp_path: Path) -> None:
    monkeypatch.setenv("KICKIT_ADMIN_PORT", "abc")  # never read: the flag is given
    monkeypatch.setenv("KICKIT_CONFIG", str(tmp_path / "from-env"))
    assert main(["admin", "--port", "0", "--config", str(tmp_path / "from-flag")]) == 1
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'from-flag'}:1:1: config folder not found")


def test_events_users_keeps_the_servers_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: Capture) -> None:
    now = datetime.now(UTC)
    lines = [Event(time=now - timedelta(days=age), type="authenticate", app="shop", user=user, platform="ios",
                   app_version="1.0.0", environment="production", request_id=user)
             for user, age in (("old", 10), ("new", 1))]
    write(tmp_path, f"events-{now:%Y%m%d}-web1-1-0", lines)
    monkeypatch.setenv("KICKIT_EVENTS_DIR", str(tmp_path))

    monkeypatch.setenv("KICKIT_EVENT_RETENTION_DAYS", "5")
    assert main(["events", "users"]) == 0
    assert [json.loads(line)["user_id"] for line in capsys.readouterr().out.splitlines()] == ["new"]

    assert main(["events", "users", "--retention-days", "30"]) == 0  # the flag wins
    assert sorted(json.loads(line)["user_id"] for line in capsys.readouterr().out.splitlines()) == ["new", "old"]
