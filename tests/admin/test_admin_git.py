"""Writes through git: one commit per write with the token as author, 409 on others' changes, review mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.admin.gitlog import GitOptions, commit_message
from kickit_edge.compiler import repository
from kickit_edge.errors import OperatorError

from ..gitrepo import bare_remote, commit_all, git, log
from .gitconfig import config_dir, repo  # noqa: F401 (fixtures)
from .kickfolio import DEMO_UUID, new_version
from .test_admin_input import NUL, invalid
from .test_admin_server import _serve

COMMITTER = "kickit-edge admin"


@pytest.fixture
def client(repo: Path, config_dir: Path, headers: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_admin_app(str(config_dir)), headers=headers) as test_client:
        yield test_client


def last_commit(repo: Path) -> dict[str, str]:
    author, email, committer, subject = log(repo, "%an%n%ae%n%cn%n%s", "-1")
    body = git(repo, "log", "-1", "--format=%b")
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    return {"author": author, "email": email, "committer": committer, "subject": subject, "body": body,
            "files": " ".join(files)}


def test_each_kind_of_write_is_one_commit_by_the_token(client: TestClient, repo: Path) -> None:
    start = len(log(repo, "%H"))
    created = client.post("/api/apps/DEMO1234/versions", json=new_version(force_update=True)).json()["version"]
    commit = last_commit(repo)
    assert commit["author"] == "ci" and commit["email"] == "ci@kickit-edge.invalid"
    assert commit["committer"].startswith(COMMITTER)
    assert commit["subject"] == "Create version 2.6.0 (ios/production) of demo"
    assert commit["files"] == "config/apps/demo.yaml"
    assert ("ios/production: versions = 2.6.0: not found -> hard (no rule -> exact:ios/production/2.6.0)"
            in commit["body"])
    assert "Forces users" in commit["body"]

    client.put(f"/api/versions/{created['id']}", json={"version": {"force_update": False}})
    commit = last_commit(repo)
    assert commit["subject"] == "Update version 2.6.0 (ios/production) of demo: force_update"
    assert "versions = 2.6.0: hard -> soft" in commit["body"]

    client.delete(f"/api/versions/{created['id']}")
    assert last_commit(repo)["subject"] == "Delete version 2.6.0 (ios/production) of demo"
    assert "versions = 2.6.0: soft -> not found" in last_commit(repo)["body"]

    client.put("/api/apps/DEMO1234", json={"app": {"name": "KickIt"}})
    commit = last_commit(repo)
    assert commit["subject"] == "Rename app demo to KickIt"
    assert 'name: "KickItApp" -> "KickIt"' in commit["body"]

    client.put("/api/apps/DEMO1234", json={"app": {"name": "KickIt 2", "bundle": "com.example.kickit.beta"}})
    assert last_commit(repo)["subject"] == "Rename app demo to KickIt 2; update bundle"
    client.put("/api/apps/DEMO1234", json={"app": {"icon": "https://example.com/icon.png"}})
    commit = last_commit(repo)
    assert commit["subject"] == "Update app demo: icon"
    assert commit["body"].strip() == "No change in verdicts."

    app = client.post("/api/apps", json={"app": {"name": "Kickfolio"}}).json()["app"]
    commit = last_commit(repo)
    assert commit["subject"] == "Create app kickfolio (Kickfolio)"
    assert commit["files"] == "config/apps/kickfolio.yaml"
    assert "kickfolio (Kickfolio): app added" in commit["body"]

    client.delete(f"/api/apps/{app['id']}")
    commit = last_commit(repo)
    assert commit["subject"] == "Delete app kickfolio" and commit["files"] == "config/apps/kickfolio.yaml"
    assert "kickfolio (Kickfolio): app removed" in commit["body"]

    assert len(log(repo, "%H")) == start + 8
    assert set(log(repo, "%an", f"HEAD~8..HEAD")) == {"ci"}
    assert git(repo, "status", "--porcelain", "--", "config") == ""


def test_the_email_domain_is_a_setting(repo: Path, config_dir: Path, headers: dict[str, str]) -> None:
    with TestClient(create_admin_app(str(config_dir), git=GitOptions("example.org")), headers=headers) as client:
        assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
    assert last_commit(repo)["email"] == "ci@example.org"


def test_a_write_that_fails_validation_commits_nothing(client: TestClient, repo: Path) -> None:
    head = log(repo, "%H", "-1")
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(platform="windows"))
    assert response.status_code == 422
    assert log(repo, "%H", "-1") == head
    assert git(repo, "status", "--porcelain", "--", "config") == ""


def test_a_file_with_uncommitted_changes_answers_409_and_nothing_is_written(client: TestClient, repo: Path,
                                                                            demo_yaml: Path) -> None:
    edited = demo_yaml.read_text() + "# a hand edit in progress\n"
    demo_yaml.write_text(edited)
    head = log(repo, "%H", "-1")
    response = client.post("/api/apps/DEMO1234/versions", json=new_version())
    assert response.status_code == 409
    assert response.json() == {
        "message": "apps/demo.yaml has uncommitted changes made outside the API; commit or discard them "
                   "(git status shows them), then write again",
        "code": "conflict"}
    assert demo_yaml.read_text() == edited
    assert log(repo, "%H", "-1") == head

    git(repo, "add", "config/apps/demo.yaml")  # staged but not committed is still someone else's change
    assert client.delete("/api/apps/DEMO1234").status_code == 409
    assert demo_yaml.read_text() == edited

    git(repo, "commit", "-q", "-m", "A comment")
    assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201


def test_only_the_files_of_the_write_are_committed(client: TestClient, repo: Path, config_dir: Path) -> None:
    admin_yaml = config_dir / "admin.yaml"
    admin_yaml.write_text(admin_yaml.read_text() + "# someone's unfinished edit\n")
    git(repo, "add", "config/admin.yaml")
    notes = repo / "NOTES.md"
    notes.write_text("not config\n")
    assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
    assert last_commit(repo)["files"] == "config/apps/demo.yaml"
    status = git(repo, "status", "--porcelain")
    assert "M  config/admin.yaml" in status and "?? NOTES.md" in status  # still staged, still theirs


def test_parallel_writes_give_one_commit_each_in_order(repo: Path, config_dir: Path, headers: dict[str, str],
                                                       demo_yaml: Path) -> None:
    wanted = [f"3.0.{i}" for i in range(12)]
    start = log(repo, "%H", "-1")[0]

    def create(version: str) -> int:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            return http.post(f"/api/apps/{DEMO_UUID}/versions", json=new_version(version_string=version)).status_code

    for base in _serve(create_admin_app(str(config_dir))):
        with ThreadPoolExecutor(len(wanted)) as pool:
            assert list(pool.map(create, wanted)) == [201] * len(wanted)
    subjects = log(repo, "%s", "--reverse", f"{start}..HEAD")
    assert len(subjects) == len(wanted)
    # The commits are in the order the records were appended, each adding exactly its own version.
    records = [r["version"] for r in yaml.safe_load(demo_yaml.read_text())["versions"]][-len(wanted):]
    assert sorted(records) == sorted(wanted)
    assert subjects == [f"Create version {v} (ios/production) of demo" for v in records]
    for n, commit in enumerate(log(repo, "%H", "--reverse", f"{start}..HEAD")):
        at = yaml.safe_load(git(repo, "show", f"{commit}:config/apps/demo.yaml"))["versions"]
        assert [r["version"] for r in at][-(n + 1):] == records[: n + 1]


# --- review mode -------------------------------------------------------------------------


def test_review_mode_commits_on_the_branch_and_pushes_it(repo: Path, config_dir: Path, tmp_path: Path,
                                                          headers: dict[str, str]) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    main = log(repo, "%H", "-1", "main")
    options = GitOptions(branch="kickit/releases", remote=str(remote))
    with TestClient(create_admin_app(str(config_dir), git=options), headers=headers) as client:
        assert git(repo, "branch", "--show-current").strip() == "kickit/releases"
        assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
        pushed = log(remote, "%an|%s", "-1", "kickit/releases")
        assert pushed == ["ci|Create version 2.6.0 (ios/production) of demo"]
        assert client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.6.1")).status_code == 201
    assert log(remote, "%s", "-2", "kickit/releases") == [
        "Create version 2.6.1 (ios/production) of demo", "Create version 2.6.0 (ios/production) of demo"]
    assert log(remote, "%H", "-1", "kickit/releases~2") == main  # the branch starts where main was
    assert log(repo, "%H", "-1", "main") == main  # main itself is untouched

    # Started again, the API goes on with the branch as it is.
    git(repo, "switch", "-q", "main")
    with TestClient(create_admin_app(str(config_dir), git=options), headers=headers) as client:
        assert client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.6.2")).status_code == 201
        git(repo, "switch", "-q", "main")  # someone moved the work tree off the branch
        response = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.6.3"))
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert "not on the review branch kickit/releases" in response.json()["message"]
    assert len(log(remote, "%H", f"{main[0]}..kickit/releases")) == 3


def _two_versions(client: TestClient) -> None:
    for version in ("2.6.0", "2.6.1"):
        body = new_version(app_id="DEMO1234", version_string=version)
        assert client.post("/api/versions", json=body).status_code == 201


def test_review_mode_with_a_push_delay_pushes_what_is_left_at_shutdown(repo: Path, config_dir: Path,
                                                                       tmp_path: Path, headers: dict[str, str]) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    options = GitOptions(branch="kickit/releases", remote=str(remote), push_delay=600)
    with TestClient(create_admin_app(str(config_dir), git=options), headers=headers) as client:
        _two_versions(client)
        assert git(remote, "branch", "--list").strip() == ""  # quiet period not over: nothing pushed yet
    assert log(remote, "%s", "-1", "kickit/releases") == ["Create version 2.6.1 (ios/production) of demo"]


def test_review_mode_pushes_once_writes_are_quiet(repo: Path, config_dir: Path, tmp_path: Path,
                                                 headers: dict[str, str]) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    options = GitOptions(branch="kickit/releases", remote=str(remote), push_delay=0.2)
    with TestClient(create_admin_app(str(config_dir), git=options), headers=headers) as client:
        _two_versions(client)
        local = log(repo, "%H", "-1", "kickit/releases")

        def pushed() -> list[str]:
            return log(remote, "%H", "-1", "kickit/releases") if git(remote, "branch", "--list") else []

        deadline = time.monotonic() + 30
        while pushed() != local:
            assert time.monotonic() < deadline, "the branch never caught up with the last write"
            time.sleep(0.05)
        assert log(remote, "%s", "-1", "kickit/releases") == ["Create version 2.6.1 (ios/production) of demo"]


def test_a_failed_push_keeps_the_write_and_says_why(repo: Path, config_dir: Path, tmp_path: Path,
                                                    headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    options = GitOptions(branch="kickit/releases", remote=str(tmp_path / "no-such-remote.git"))
    with TestClient(create_admin_app(str(config_dir), git=options), headers=headers) as client:
        assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
    assert log(repo, "%s", "-1") == ["Create version 2.6.0 (ios/production) of demo"]
    assert f"pushing kickit/releases to {tmp_path / 'no-such-remote.git'} failed" in caplog.text


def test_review_mode_setups_that_cannot_work(repo: Path, config_dir: Path, demo_config: Path,
                                             tmp_path: Path) -> None:
    remote = str(tmp_path / "remote.git")
    with pytest.raises(OperatorError, match="--publish and --git-branch do not go together"):
        create_admin_app(str(config_dir), str(tmp_path / "out"), git=GitOptions(branch="b", remote=remote))
    with pytest.raises(OperatorError, match="needs both --git-branch NAME and --git-remote REMOTE"):
        create_admin_app(str(config_dir), git=GitOptions(branch="b"))
    with pytest.raises(OperatorError, match="not a valid branch name"):
        create_admin_app(str(config_dir), git=GitOptions(branch="no..dots", remote=remote))
    outside = tmp_path / "outside"
    shutil.copytree(config_dir, outside)
    with pytest.raises(OperatorError, match="--git-branch needs a git repository"):
        create_admin_app(str(outside), git=GitOptions(branch="b", remote=remote))


def test_the_admin_command_refuses_publish_in_review_mode(repo: Path, config_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "kickit_edge.cli", "admin", "--config", str(config_dir),
                           "--publish", str(tmp_path / "out"), "--git-branch", "kickit/releases"],
                          capture_output=True, text=True, env={**os.environ, "KICKIT_ADMIN_GIT_REMOTE": "origin"})
    assert done.returncode == 2
    assert done.stderr.strip().endswith("--publish and --git-branch do not go together: review mode publishes "
                                        "nothing directly, CI publishes once the pull request is merged")
    assert not (tmp_path / "out").exists()


def test_every_commit_body_compares_the_parent_with_this_commit(client: TestClient, repo: Path) -> None:
    for version in ("2.6.0", "2.6.1", "2.6.2"):  # the later writes reuse the earlier write's side as their base
        assert client.post("/api/apps/DEMO1234/versions", json=new_version(version_string=version)).status_code == 201
        body = last_commit(repo)["body"]
        assert body.startswith("kickit-edge diff parent -> this commit\n"), body
        assert f"versions = {version}: not found -> soft" in body


def test_the_commit_subject_is_one_line_whatever_reaches_it() -> None:
    message = commit_message("Create version 9.0.0\nSigned-off-by: evil\r\x00\x1b[31m\u2028x", "a\n\tb\x00c\x85")
    subject, blank, body = message.split("\n", 2)
    assert subject == "Create version 9.0.0\\nSigned-off-by: evil\\r\\x00\\x1b[31m\\u2028x"
    assert blank == "" and body == "a\n\tb\\x00c\\x85\n"


def test_review_mode_says_where_writes_go_at_every_start(repo: Path, config_dir: Path, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    said = f"writes are committed on branch kickit/releases and pushed to {remote}"
    options = GitOptions(branch="kickit/releases", remote=str(remote))
    for start in ("first start, switching to the branch", "restart, already on the branch"):
        caplog.clear()
        with caplog.at_level("INFO", logger="kickit_edge.admin"):
            create_admin_app(str(config_dir), git=options)
        assert git(repo, "branch", "--show-current").strip() == "kickit/releases"
        assert said in caplog.text, start


def test_a_nul_through_git_is_record_invalid_not_a_500(repo: Path, config_dir: Path,
                                                       headers: dict[str, str]) -> None:
    head = log(repo, "%H", "-1")
    for base in _serve(create_admin_app(str(config_dir))):  # the real server the audit found it on
        with httpx.Client(base_url=base, headers=headers) as http:
            response = http.post("/api/apps/DEMO1234/versions", json={"version": {"version_string": "8.0.9\x00"}})
            assert invalid(response) == {"version_string": NUL + "5"}
            response = http.post("/api/apps", json={"app": {"name": "Nul\x00App"}})
            assert invalid(response) == {"name": NUL + "3"}
    assert log(repo, "%H", "-1") == head
    assert git(repo, "status", "--porcelain", "--", "config") == ""


def test_a_line_break_never_reaches_a_commit(client: TestClient, repo: Path) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="9.0.0\nSigned-off-by: evil"))
    assert response.status_code == 422
    assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
    message = git(repo, "log", "-1", "--format=%B")
    assert "Signed-off-by" not in message and message.startswith("Create version 2.6.0 (ios/production) of demo\n\n")
    assert git(repo, "log", "-1", "--format=%(trailers)").strip() == ""


def _commit_time(repo: Path, revision: str = "HEAD") -> str:
    seconds = int(git(repo, "log", "-1", "--format=%ct", revision))
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%SZ}"


def test_hand_written_records_are_dated_from_git(client: TestClient, repo: Path, demo_yaml: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    added = _commit_time(repo)
    app = client.get("/api/apps/DEMO1234").json()["app"]
    assert (app["user_id"], app["created_at"], app["updated_at"]) == ("Hand Editor", added, added)
    versions = client.get("/api/apps/DEMO1234/versions").json()["versions"]
    assert {(v["version_string"], v["created_at"], v["updated_at"]) for v in versions} == {
        ("2.5.0", added, added), ("2.4.0", added, added)}

    # A later hand-made commit changes the 2.4.0 record only: its updated_at moves, nothing else does.
    text = demo_yaml.read_text()
    old = "    enabled: false            # disabled records never match; 2.4.0 falls through\n    force_update: false\n"
    assert old in text
    demo_yaml.write_text(text.replace(old, old + '    comments: ["checked by hand"]\n'))
    versions = {v["version_string"]: v for v in client.get("/api/apps/DEMO1234/versions").json()["versions"]}
    assert versions["2.4.0"]["updated_at"] == added  # a line not committed yet does not count
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2031-05-06T07:08:09Z")
    commit_all(repo, "A comment on 2.4.0", author=("Reviewer", "reviewer@example.com"))
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    versions = {v["version_string"]: v for v in client.get("/api/apps/DEMO1234/versions").json()["versions"]}
    assert (versions["2.4.0"]["created_at"], versions["2.4.0"]["updated_at"]) == (added, "2031-05-06T07:08:09Z")
    assert versions["2.4.0"]["comments"] == ["checked by hand"]
    assert (versions["2.5.0"]["created_at"], versions["2.5.0"]["updated_at"]) == (added, added)
    assert client.get("/api/apps/DEMO1234").json()["app"]["updated_at"] == added

    # Computed when the config is read again, never per request.
    calls: list[tuple[str, ...]] = []
    real = repository.run_git
    monkeypatch.setattr(repository, "run_git", lambda args, *rest, **kw: calls.append(tuple(args)) or real(args, *rest, **kw))
    for _ in range(3):
        assert client.get("/api/apps").status_code == client.get("/api/versions").status_code == 200
    assert calls == []

    # A record the API writes carries its own times and owner.
    created = client.post("/api/apps/DEMO1234/versions", json=new_version()).json()["version"]
    written = yaml.safe_load(demo_yaml.read_text())["versions"][-1]
    assert created["created_at"] == written["created_at"] and created["updated_at"] == written["updated_at"]


def test_outside_git_nothing_is_known_of_hand_written_records(config_dir: Path, headers: dict[str, str],
                                                             tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(config_dir, outside)
    with TestClient(create_admin_app(str(outside)), headers=headers) as client:
        app = client.get("/api/apps/DEMO1234").json()["app"]
        assert (app["user_id"], app["created_at"], app["updated_at"]) == (None, None, None)
        assert {v["created_at"] for v in client.get("/api/versions").json()["versions"]} == {None}
