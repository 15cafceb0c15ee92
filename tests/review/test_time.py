"""Time in the review tools: diff over time, matrix --timeline, and the blast-radius budget of a pull request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kickit_edge.cli import main

from ..analytics.conftest import frozen_now  # noqa: F401  (a fixture: the CLI's clock stopped)
from ..analytics.fleet import auth, write
from ..compiler.configpairs import BASE, edited, write_config

DEADLINE = edited("    version: \"3.1.0\"\n    force_update: false\n",
                  "    version: \"3.1.0\"\n    force_update: false\n    hard_from: \"2026-12-15T10:00:00Z\"\n")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    return str(write_config(tmp_path / "base", BASE)), str(write_config(tmp_path / "head", DEADLINE))


def test_diff_reports_when_a_deadline_turns_soft_into_hard(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", *pair, "--at", "2026-11-22T12:00:00Z", "--fail-on", "hard"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "shop (Shop)",
        "  over time",
        "    from 2026-12-15 10:00 UTC (minimum:android/production turns hard): android/production: versions < 3.1.0: soft -> hard "
        "(minimum:android/production)",
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        "  shop: from 2026-12-15 10:00 UTC: android/production versions < 3.1.0: soft -> hard",
    ]
    # After the deadline the change is in effect at once: an ordinary verdict change.
    assert main(["diff", *pair, "--at", "2026-12-15T10:00:00Z", "--format", "json"]) == 0
    [app] = json.loads(capsys.readouterr().out)["apps"]
    assert [(v["range"], v["base"]["verdict"], v["head"]["verdict"]) for v in app["versions"]] == [
        ("< 3.1.0", "soft", "hard")]
    assert app["later"] == []


def test_matrix_timeline_lists_each_change_and_its_rule(pair: tuple[str, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    head = pair[1]
    assert main(["matrix", head, "--app", "shop", "--at", "2026-11-22T12:00:00Z", "--timeline", "30"]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "\nChanges over the 30 days from 2026-11-22 12:00 UTC\n"
        "  from 2026-12-15 10:00 UTC (minimum:android/production turns hard): android/production: versions < 3.1.0: soft -> hard "
        "(minimum:android/production apps/shop.yaml:41)\n")
    assert "  < 3.1.0   soft (hard from 2026-12-15T10:00:00Z)  minimum:android/production  apps/shop.yaml:41" in out
    assert main(["matrix", head, "--app", "shop", "--at", "2026-11-22T12:00:00Z", "--timeline", "7"]) == 0
    assert capsys.readouterr().out.endswith("  none: every answer stays as above\n")
    assert main(["matrix", head, "--app", "shop", "--at", "2026-11-22T12:00:00Z", "--timeline", "30",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["timeline"] == {"days": 30, "changes": [
        "from 2026-12-15 10:00 UTC (minimum:android/production turns hard): android/production: versions < 3.1.0: soft -> hard "
        "(minimum:android/production apps/shop.yaml:41)"]}


@pytest.fixture
def events(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261122-web1-1-0", [
        auth("11-22 08:00:00.000000", "a1", "3.0.0", "android"),   # below 3.1.0: forced from the deadline
        auth("11-22 08:01:00.000000", "a2", "2.0.0", "android"),   # the same
        auth("11-22 08:02:00.000000", "a3", "3.1.0", "android"),   # current
        auth("11-22 08:03:00.000000", "a4", "3.2.0", "android"),
        auth("11-22 08:04:00.000000", "i1", "2.1.0"),              # iOS: untouched
    ])
    return folder


def budget(pair: tuple[str, str], events: Path, *limits: str) -> list[str]:
    return ["diff", *pair, "--events", str(events), "--at", "2026-11-22T12:00:00Z", *limits]


def test_the_budget_counts_users_forced_later_and_exits_3_over_it(
        pair: tuple[str, str], events: Path, capsys: pytest.CaptureFixture[str], frozen_now: object) -> None:
    assert main(budget(pair, events, "--max-forced", "2")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "2 users newly forced to update, 0 newly prompted, 0 newly locked out by maintenance."
    assert main(budget(pair, events, "--max-forced", "1")) == 3
    captured = capsys.readouterr()
    assert captured.err == "over budget: newly forces 2 users, more than --max-forced 1\n"
    assert main(budget(pair, events, "--max-forced-share", "50")) == 0
    capsys.readouterr()
    assert main(budget(pair, events, "--max-forced-share", "49.9", "--format", "markdown")) == 3
    captured = capsys.readouterr()
    assert captured.err == ("over budget: newly forces 50.0% of shop/android (2 of 4 active users), "
                            "more than --max-forced-share 49.9%\n")
    lines = captured.out.splitlines()
    assert lines[2] == "**2 users newly forced to update, 0 newly prompted, 0 newly locked out by maintenance.**"
    assert lines[6:10] == [
        "> [!CAUTION]", "> **Over the blast-radius budget**:", ">",
        "> - newly forces 50.0% of shop/android (2 of 4 active users), more than --max-forced-share 49.9%"]


def test_prompted_and_locked_out_users_are_counted(tmp_path: Path, events: Path,
                                                   capsys: pytest.CaptureFixture[str], frozen_now: object) -> None:
    base = write_config(tmp_path / "b", BASE)
    head = write_config(tmp_path / "h", edited('    version: "3.1.0"', '    version: "3.5.0"', edited(
        "  production:\n    active: false", "  production:\n    active: true")))
    assert main(["diff", str(base), str(head), "--events", str(events), "--max-forced", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[2] == (
        "0 users newly forced to update, 2 newly prompted, 5 newly locked out by maintenance.")


def test_the_budget_needs_events(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", *pair, "--max-forced", "10"]) == 2
    assert capsys.readouterr().err == (
        "error: --max-forced and --max-forced-share count users: give the event files with --events DIR\n")


def test_matrix_notes_the_os_a_client_needs_to_comply(capsys: pytest.CaptureFixture[str]) -> None:
    demo = str(Path(__file__).resolve().parents[2] / "config")
    assert main(["matrix", demo, "--app", "demo", "--at", "2027-01-20T00:00:00Z"]) == 0
    assert "  < 3.0.0   hard (soft for OS < 16.0)  minimum:ios/staging  apps/demo.yaml:78" in capsys.readouterr().out
