"""What a diff says about later instants: only what changes then, never the changes already in effect.

And the rest of time in the review tools: maintenance windows in ``matrix
--timeline``, and a blast-radius budget that will not pass on unreadable events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kickit_edge.cli import main

from ..analytics.conftest import frozen_now  # noqa: F401  (a fixture: the CLI's clock stopped)
from ..analytics.fleet import auth, write
from ..compiler.configpairs import BASE, edited, write_config

NOW = "2026-11-22T12:00:00Z"
SOFT_ANDROID = '    version: "3.1.0"\n    force_update: false\n'
DEADLINE = SOFT_ANDROID + '    hard_from: "2026-12-15T10:00:00Z"\n'
# The case from the README: the iOS minimum raised now, a deadline on the Android one later.
RAISED = edited(SOFT_ANDROID, DEADLINE, edited('    version: "2.0.0"', '    version: "2.3.0"'))
NEW_TARGET = "targets:\n  - id: new-one\n    message: soft_msg\n    platforms: [android]\n"
LATER = ("from 2026-12-15 10:00 UTC (minimum:android/production turns hard): android/production: versions < 3.1.0: "
         "soft -> hard (minimum:android/production)")


def sides(tmp_path: Path, head: str, base: str = BASE) -> list[str]:
    return [str(write_config(tmp_path / "base", base)), str(write_config(tmp_path / "head", head))]


def test_a_change_in_effect_now_is_not_repeated_under_a_later_instant(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pair = sides(tmp_path, edited("targets:\n", NEW_TARGET, RAISED))
    assert main(["diff", *pair, "--at", NOW, "--fail-on", "hard"]) == 3
    assert capsys.readouterr().out.splitlines()[2:] == [
        "shop (Shop)",
        "  upgrade verdicts",
        "    ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard (no rule -> minimum:ios/production)",
        "  KickIt targets",
        '    added new-one: soft; platforms android; "Please update."',
        "  over time",
        f"    {LATER}",
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        "  shop: ios/production versions >= 2.0.0, < 2.3.0: not found -> hard",
        "  shop: from 2026-12-15 10:00 UTC: android/production versions < 3.1.0: soft -> hard",
    ]
    assert main(["diff", *pair, "--at", NOW, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert f"**Over time**\n\n- {LATER}\n\n<sub>" in markdown
    assert markdown.count("2.3.0") == 2  # the forcing line and the table row, nothing under the later instant
    assert main(["diff", *pair, "--at", NOW, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["apps"][0]["later"] == [{
        "at": "2026-12-15T10:00:00Z", "why": ["minimum:android/production turns hard"],
        "versions": [{"platform": "android", "environment": "production", "range": "< 3.1.0",
                      "base": {"verdict": "soft", "rule": "minimum:android/production"},
                      "head": {"verdict": "hard", "rule": "minimum:android/production"}, "forces": True,
                      "until": {"base": {"verdict": "soft", "rule": "minimum:android/production"},
                                "head": {"verdict": "soft", "rule": "minimum:android/production"}}}],
        "targets": []}]
    assert len(report["forces"]) == 2


def test_a_difference_that_ends_later_says_so_and_forces_nobody_then(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The base has a deadline; the head makes the rule hard at once: the change only brings the deadline forward.
    hard_now = edited(SOFT_ANDROID, SOFT_ANDROID.replace("false", "true"))
    assert main(["diff", *sides(tmp_path, hard_now, edited(SOFT_ANDROID, DEADLINE)), "--at", NOW]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        "shop (Shop)",
        "  upgrade verdicts",
        "    android/production: versions < 3.1.0: soft -> hard (minimum:android/production)",
        "  over time",
        "    from 2026-12-15 10:00 UTC (minimum:android/production turns hard): android/production: versions < 3.1.0: "
        "alike again: hard (minimum:android/production; until then soft -> hard)",
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        "  shop: android/production versions < 3.1.0: soft -> hard",
    ]


def test_a_target_that_turns_hard_later_is_shown_once_then(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deadline = NEW_TARGET + '    hard_from: "2026-12-15T10:00:00Z"\n'
    assert main(["diff", *sides(tmp_path, edited("targets:\n", deadline)), "--at", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "shop (Shop)",
        "  KickIt targets",
        '    added new-one: soft; platforms android; "Please update."',
        "  over time",
        '    from 2026-12-15 10:00 UTC (target:new-one turns hard): target new-one: (none) -> hard; platforms android; '
        '"Please update." (until then (none) -> soft; platforms android; "Please update.")',
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        '  shop: from 2026-12-15 10:00 UTC: target new-one added: hard; platforms android; "Please update."',
    ]


@pytest.fixture
def events(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261122-web1-1-0", [
        auth("11-22 08:00:00.000000", "a1", "3.0.0", "android"),   # forced from the deadline
        auth("11-22 08:01:00.000000", "a2", "3.2.0", "android"),   # current
        auth("11-22 08:02:00.000000", "i1", "2.1.0"),              # forced now by the raised minimum
        auth("11-22 08:03:00.000000", "i2", "2.4.0"),              # above it
    ])
    return folder


def test_a_user_forced_now_is_counted_once(tmp_path: Path, events: Path, capsys: pytest.CaptureFixture[str],
                                            frozen_now: object) -> None:
    pair = sides(tmp_path, RAISED)
    assert main(["diff", *pair, "--events", str(events), "--at", NOW, "--max-forced", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "2 users newly forced to update, 0 newly prompted, 0 newly locked out by maintenance."
    # Each change counts the users on its range, the later one too, and once.
    assert out[5:10] == [
        "shop (Shop): 4 active users",
        "  upgrade verdicts",
        "    ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard (no rule -> minimum:ios/production): 1 user",
        "  over time",
        f"    {LATER}: 1 user",
    ]
    assert main(["diff", *pair, "--events", str(events), "--at", NOW, "--format", "json"]) == 0
    [later] = json.loads(capsys.readouterr().out)["apps"][0]["later"]
    assert [v["users"] for v in later["versions"]] == [1]
    assert main(["diff", *pair, "--events", str(events), "--at", NOW, "--max-forced", "1"]) == 3
    assert capsys.readouterr().err == "over budget: newly forces 2 users, more than --max-forced 1\n"


def test_matrix_timeline_shows_when_maintenance_starts_and_ends(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path / "c", BASE))
    window = 'maintenance:production:windows[0] "Database upgrade"'
    expected = [
        f"from 2027-03-14 02:00 UTC ({window} starts): production: maintenance: ok -> maintenance "
        "(no rule -> maintenance:production:windows[0] apps/shop.yaml:64)",
        f"from 2027-03-14 04:00 UTC ({window} ends): production: maintenance: maintenance -> ok "
        "(maintenance:production:windows[0] -> no rule apps/shop.yaml:64)",
    ]
    command = ["matrix", config, "--app", "shop", "--at", "2027-03-01T00:00:00Z", "--timeline", "30"]
    assert main(command) == 0
    assert capsys.readouterr().out.endswith(
        "\nChanges over the 30 days from 2027-03-01 00:00 UTC\n" + "".join(f"  {line}\n" for line in expected))
    assert main([*command, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.endswith(
        "**Changes over the 30 days from 2027-03-01 00:00 UTC**\n\n" + "".join(f"- {line}\n" for line in expected))
    assert main([*command, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["timeline"] == {"days": 30, "changes": expected}
    # Inside the window only its end is ahead; past it, nothing.
    assert main(["matrix", config, "--app", "shop", "--at", "2027-03-14T03:00:00Z", "--timeline", "1"]) == 0
    assert capsys.readouterr().out.endswith(f"  {expected[1]}\n")
    assert main(["matrix", config, "--app", "shop", "--at", "2027-03-14T04:00:00Z", "--timeline", "30"]) == 0
    assert capsys.readouterr().out.endswith("  none: every answer stays as above\n")


def test_a_window_under_the_switch_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "c", edited("  production:\n    active: false", "  production:\n    active: true"))
    assert main(["matrix", str(config), "--app", "shop", "--at", "2027-03-01T00:00:00Z", "--timeline", "30"]) == 0
    assert capsys.readouterr().out.endswith("  none: every answer stays as above\n")


def test_unreadable_events_are_reported_and_do_not_pass_a_budget(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], frozen_now: object) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    bad = write(folder, "events-20261122-web1-1-0", [b"not json\n"])
    pair = sides(tmp_path, RAISED)
    nobody = (f"no authentication since 2026-10-23 12:00 UTC was read from {folder} (1 malformed line skipped), "
              "so every count of users is 0")
    assert main(["diff", *pair, "--events", str(folder), "--max-forced", "1"]) == 3
    captured = capsys.readouterr()
    assert captured.err == (
        "1 malformed line skipped:\n"
        f"  {bad}:1: line is not JSON: Expecting value: line 1 column 1 (char 0)\n"
        f"warning: {nobody}\n"
        "over budget: no active users were read, so nothing shows the change stays within the budget\n")
    assert captured.out.splitlines()[2:6] == [
        f"No active users counted: {nobody}.",
        f"Active users: 0 since 2026-10-23 12:00 UTC in {folder}; this change touches 0 of them and forces 0; "
        "1 malformed line skipped.",
        "",
        "Over the budget:",
    ]
    # Without a budget the counts are only reported, with the same warning.
    assert main(["diff", *pair, "--events", str(folder), "--format", "markdown"]) == 0
    captured = capsys.readouterr()
    assert captured.err.endswith(f"warning: {nobody}\n")
    assert captured.out.splitlines()[2] == f"**No active users counted: {nobody}.**"


def test_an_empty_events_folder_does_not_pass_a_budget(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], frozen_now: object) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    assert main(["diff", *sides(tmp_path, BASE), "--events", str(folder), "--max-forced-share", "5"]) == 3
    assert capsys.readouterr().err == (
        f"warning: no authentication since 2026-10-23 12:00 UTC was read from {folder}, so every count of users is 0\n"
        "over budget: no active users were read, so nothing shows the change stays within the budget\n")
