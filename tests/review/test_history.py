"""`kickit-edge history`: who changed what and when, from git, with the verdict changes diff computes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.cli import main
from kickit_edge.editing.credentials import add_admin_token
from kickit_edge.errors import OperatorError
from kickit_edge.review.history import read_history, render_history

from ..admin.kickfolio import basic, new_version
from ..gitrepo import commit_all, git, init_repo

ADA = ("Ada", "ada@example.com")


@pytest.fixture
def config_dir(tmp_path: Path, demo_config: Path) -> Path:
    """repo/config with three commits: the demo (by hand), a version through the API, a hand edit by Ada."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.move(demo_config, root / "config")
    config = root / "config"
    init_repo(root)
    token = str(add_admin_token(str(config), "release-bot"))
    (root / "README.md").write_text("not config\n")
    commit_all(root, "The demo config")
    with TestClient(create_admin_app(str(config)), headers=basic(token)) as client:
        assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
    demo = config / "apps" / "demo.yaml"
    demo.write_text(demo.read_text().replace('    version: "2.0.0"', '    version: "2.3.0"'))
    commit_all(root, "Raise the iOS minimum to 2.3.0", author=ADA)
    (root / "README.md").write_text("still not config\n")
    commit_all(root, "Docs only")
    return config


def test_history_lists_api_and_hand_made_commits_with_their_verdict_changes(config_dir: Path) -> None:
    entries = read_history(str(config_dir))
    assert [(e.author, e.subject) for e in entries] == [
        ("Ada", "Raise the iOS minimum to 2.3.0"),
        ("release-bot", "Create version 2.6.0 (ios/production) of demo"),
        ("Hand Editor", "The demo config"),
    ]
    hand, api, first = entries
    assert hand.email == "ada@example.com" and hand.files == ("apps/demo.yaml",)
    assert api.email == "release-bot@kickit-edge.invalid"
    assert first.parent is None and "demo (KickItApp): app added" in render_history([first])
    text = render_history(entries)
    assert text.startswith(f"{hand.commit[:7]}  {hand.time:%Y-%m-%d %H:%M} UTC  Ada <ada@example.com>\n"
                           "    Raise the iOS minimum to 2.3.0\n    files: apps/demo.yaml\n"
                           f"    kickit-edge diff {api.commit[:7]} -> {hand.commit[:7]}\n")
    assert ("ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard (no rule -> minimum:ios/production)"
            in text)
    assert "ios/production: versions = 2.6.0: not found -> soft (no rule -> exact:ios/production/2.6.0)" in text


def test_history_as_json_and_markdown(config_dir: Path) -> None:
    entries = read_history(str(config_dir))
    rows = json.loads(render_history(entries, "json"))["history"]
    assert [r["author"] for r in rows][:2] == [{"name": "Ada", "email": "ada@example.com"},
                                               {"name": "release-bot", "email": "release-bot@kickit-edge.invalid"}]
    assert rows[0]["changed"] is True and rows[0]["problem"] is None
    (forcing,) = rows[0]["verdicts"]["forces"]  # diff's own words, which may say since when
    assert forcing.startswith("demo: ")
    assert forcing.endswith("ios/production versions >= 2.0.0, < 2.3.0: not found -> hard")
    assert rows[0]["commit"] == entries[0].commit and rows[0]["parent"] == entries[1].commit
    markdown = render_history(entries, "markdown")
    assert markdown.startswith(f"## `{entries[0].commit[:7]}` Raise the iOS minimum to 2.3.0\n\n"
                               f"Ada <ada@example.com>, {entries[0].time:%Y-%m-%d %H:%M} UTC; `apps/demo.yaml`\n\n"
                               f"### kickit-edge impact: `{entries[1].commit[:7]}` → `{entries[0].commit[:7]}`")


def test_history_of_one_app_and_since_a_date(config_dir: Path, write_config) -> None:
    root = config_dir.parent
    (config_dir / "apps" / "shop.yaml").write_text((write_config() / "apps" / "shop.yaml").read_text())
    commit_all(root, "Add the shop", author=ADA)
    assert [e.subject for e in read_history(str(config_dir), app="shop")] == ["Add the shop"]
    demo = read_history(str(config_dir), app="demo")
    assert [e.subject for e in demo] == ["Raise the iOS minimum to 2.3.0",
                                         "Create version 2.6.0 (ios/production) of demo", "The demo config"]
    assert all(a.id == "demo" for e in demo for a in e.diff.apps)  # type: ignore[union-attr]
    assert read_history(str(config_dir), since=datetime.now(UTC) + timedelta(days=1)) == []
    assert len(read_history(str(config_dir), since=datetime.now(UTC) - timedelta(days=1))) == 4
    # A known app nothing changed lately has no entries; an app the config does not know is a typo.
    assert read_history(str(config_dir), app="shop", since=datetime.now(UTC) + timedelta(days=1)) == []
    with pytest.raises(OperatorError, match=r"^no app 'nosuch' in .* \(apps: demo, shop\)$"):
        read_history(str(config_dir), app="nosuch")
    with pytest.raises(OperatorError, match=r"^config folder '/nonexistent' not found"):
        read_history("/nonexistent")


def test_a_commit_with_an_invalid_config_is_listed_with_the_reason(config_dir: Path) -> None:
    demo = config_dir / "apps" / "demo.yaml"
    demo.write_text(demo.read_text().replace("platform: ios", "platform: windows", 1))
    commit_all(config_dir.parent, "Broken by hand")
    entry = read_history(str(config_dir))[0]
    assert entry.diff is None
    assert entry.problem is not None and entry.problem.startswith(
        f"the config at {entry.commit[:7]} is invalid: {entry.commit[:7]}:config/apps/demo.yaml:")
    assert "'windows' is not one of ['android', 'ios']" in entry.problem
    assert entry.problem in render_history([entry])


def test_a_config_folder_at_the_top_of_its_repository_created_after_the_first_commit(
        tmp_path: Path, demo_config: Path) -> None:
    init_repo(demo_config)
    apps = demo_config / "apps"
    shutil.move(apps, tmp_path / "apps-aside")
    (demo_config / "README.md").write_text("the config of our apps\n")
    commit_all(demo_config, "Start")
    shutil.move(tmp_path / "apps-aside", apps)
    commit_all(demo_config, "The demo app")
    entries = read_history(str(demo_config))
    assert [e.subject for e in entries] == ["The demo app", "Start"]
    assert entries[0].files == ("apps/demo.yaml",)
    assert "demo (KickItApp): app added" in render_history(entries[:1])
    assert entries[1].diff is not None and not entries[1].diff.changed  # no app yet: nothing changed


def test_the_history_command(config_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["history", "--config", str(config_dir), "--app", "demo", "--since", "30d",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["history"]
    assert [r["subject"] for r in rows][0] == "Raise the iOS minimum to 2.3.0"
    assert main(["history", "--config", str(tmp_path / "nowhere")]) == 2
    assert "config folder" in capsys.readouterr().err
    (tmp_path / "outside").mkdir()
    assert main(["history", "--config", str(tmp_path / "outside")]) == 2
    assert "is not inside a git repository" in capsys.readouterr().err
    with pytest.raises(OperatorError):
        read_history(str(tmp_path))
    assert git(config_dir.parent, "status", "--porcelain") == ""  # reading history left the work tree alone


def test_history_shows_what_a_commit_changed_from_its_own_time(config_dir: Path) -> None:
    """The demo's iOS 2.0.0 release is long available: raising the minimum changes answers at once,
    so the change is reported as of the commit, not as of the start of the releases' timeline."""
    hand = read_history(str(config_dir))[0]
    assert hand.diff is not None
    text = render_history([hand])
    assert "ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard (no rule -> minimum:ios/production)" in text
    assert "from 2024-03-01" not in text
