"""`events impact` and `diff --events`: how many active users a policy, or a change of it, reaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kickit_edge.analytics.reach import in_range
from kickit_edge.cli import main
from kickit_edge.review.matrix import VersionRange

from ..compiler.configpairs import BASE, edited, write_config
from .fleet import auth, write


@pytest.fixture
def snapshot(write_config, tmp_path, capsys) -> Path:  # type: ignore[no-untyped-def]
    """The shop of tests/conftest.py: ios/production exact 3.0.0 (soft), minimum 2.0.0 (hard)."""
    config = write_config()
    assert main(["compile", str(config), "--out", str(tmp_path / "published")]) == 0
    capsys.readouterr()
    return tmp_path / "published"


@pytest.fixture
def events(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261122-web1-1-0", [
        auth("11-22 08:00:00.000000", "u1", "1.5.0"),
        auth("11-22 08:01:00.000000", "u2", "1.9.9"),
        auth("11-22 08:02:00.000000", "u3", "3.0.0"),
        auth("11-22 08:03:00.000000", "u4", "2.5.0"),
        auth("11-22 08:04:00.000000", "u4", "1.0.0", "android"),
        auth("11-22 08:05:00.000000", "u5", "1.0.0", environment="staging"),
        auth("11-22 08:06:00.000000", "u6", "1.0.0", app="kiosk"),
        auth("11-22 08:07:00.000000", "u7", "1.0.0", environment=None),
        auth("11-22 08:08:00.000000", "u8", "not a version"),
    ])
    return folder


def test_users_per_verdict_under_a_snapshot(events, snapshot, capsys, frozen_now):
    assert main(["events", "impact", "--events-dir", str(events), "--snapshot", str(snapshot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Users per verdict under snapshot ") and lines[0].endswith(f"from {snapshot}")
    assert lines[1:] == [
        "Active users since 2026-10-23 12:00 UTC: 9, each on the version of their latest authentication, as the "
        "AppCockpit version check answers it",
        "",
        "APP    PLATFORM  ENVIRONMENT  USERS  SOFT  HARD  NOT FOUND  UNKNOWN APP  NO ENVIRONMENT",
        "kiosk  ios       production       1     0     0          0            1               0",
        "shop   android   production       1     0     0          1            0               0",
        "shop   ios       production       5     1     2          2            0               0",
        "shop   ios       staging          1     0     0          1            0               0",
        "shop   ios       -                1     0     0          0            0               1",
        "total                             9     1     2          4            1               1",
        "",
        "soft: asked to update, may dismiss; hard: must update; not found: no rule names the version "
        "(nothing to do)",
    ]


def test_impact_as_json(events, snapshot, capsys, frozen_now):
    assert main(["events", "impact", "--events-dir", str(events), "--snapshot", str(snapshot / "snapshot.json"),
                 "--app", "shop", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["active_users"] == 8
    assert report["totals"] == {"ok": 0, "soft": 1, "hard": 2, "not_found": 4, "app_disabled": 0,
                                "unknown_app": 0, "no_environment": 1}
    assert report["rows"][1] == {"app": "shop", "platform": "ios", "environment": "production", "users": 5,
                                 "verdicts": {"ok": 0, "soft": 1, "hard": 2, "not_found": 2, "app_disabled": 0,
                                              "unknown_app": 0, "no_environment": 0}}


def test_ranges_place_versions_as_the_check_does():
    span = VersionRange("2.0.0", "2.3.0", excepts=("2.1.0",))
    assert [v for v in ["1.9", "2.0", "v2.0.0", "2.1.0", "2.1", "2.2.9", "2.3", "x"] if in_range(v, span)] == [
        "2.0", "v2.0.0", "2.1", "2.2.9"]
    assert [in_range(v, VersionRange(exact="2.1.0")) for v in ["2.1.0", "2.1"]] == [True, False]
    assert in_range("0.1", VersionRange(None, "1.0")) and in_range("9", VersionRange("1.0", None))


def test_diff_counts_the_users_each_change_touches(events, tmp_path, capsys, frozen_now):
    base = write_config(tmp_path / "base", BASE)
    head = write_config(tmp_path / "head", edited('version: "2.0.0"', 'version: "2.6.0"'))
    write(events, "events-20261122-web1-1-1", [
        auth("11-22 09:00:00.000000", "u9", "2.1.0"),
        auth("11-22 09:01:00.000000", "u10", "2.5.0"),  # an exact record: keeps its soft answer
        auth("11-22 09:02:00.000000", "u11", "2.2"),
        auth("11-22 09:03:00.000000", "u12", "v2.5.9"),
    ])
    assert main(["diff", str(base), str(head), "--events", str(events)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "3 users newly forced to update, 0 newly prompted, 0 newly locked out by maintenance.",
        f"Active users: 13 since 2026-10-23 12:00 UTC in {events}; this change touches 3 of them and forces 3.",
        "",
        "shop (Shop): 12 active users",
        "  upgrade verdicts",
        "    ios/production: versions >= 2.0.0, < 2.6.0 except 2.5.0: not found -> hard "
        "(no rule -> minimum:ios/production): 3 users",
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        "  shop: ios/production versions >= 2.0.0, < 2.6.0 except 2.5.0: not found -> hard",
    ]
    assert main(["diff", str(base), str(head), "--events", str(events), "--since", "1h", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reach"] == {"source": str(events), "since": "2026-11-22T11:00:00Z", "active_users": 0,
                               "touched": 0, "forced": 0, "prompted": 0, "locked_out": 0, "over_budget": []}
    assert report["apps"][0]["versions"][0]["users"] == 0
    assert main(["diff", str(base), str(head), "--events", str(events), "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| Platform / environment | Versions | Before | After | Rule | Users |" in markdown
    assert "| `no rule -> minimum:ios/production` | 3 |" in markdown


def test_diff_without_events_is_unchanged(tmp_path, capsys):
    base = write_config(tmp_path / "base", BASE)
    head = write_config(tmp_path / "head", edited('version: "2.0.0"', 'version: "2.6.0"'))
    assert main(["diff", str(base), str(head)]) == 0
    out = capsys.readouterr().out
    assert "active users" not in out.lower() and out.splitlines()[2] == "shop (Shop)"
