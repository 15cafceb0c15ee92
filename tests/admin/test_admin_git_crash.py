"""A crash between a write's files and its commit: the next start finishes the commit, or says nothing was written.

The crash is real: ``kickit-edge admin`` runs as its own process with a ``git``
on its PATH that stops at ``git commit`` (every other command is the real git),
and the test kills the process with SIGKILL while it waits there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml

from kickit_edge.admin.app import create_admin_app
from kickit_edge.admin.gitlog import JOURNAL

from ..gitrepo import git, log
from .gitconfig import config_dir, repo  # noqa: F401 (fixtures)
from .kickfolio import basic, new_version

STOP_AT_COMMIT = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = commit ]; then echo $$ > "$KICKIT_TEST_MARK"; exec sleep 120; fi
done
exec {git} "$@"
"""


def _wait_for(condition: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _kill_during_commit(repo: Path, config_dir: Path, token: str, tmp_path: Path) -> None:
    """Start the admin process, send a write, SIGKILL the process while git commit has not run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(STOP_AT_COMMIT.format(git=shutil.which("git")))
    fake.chmod(0o755)
    mark = tmp_path / "commit-started"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "KICKIT_TEST_MARK": str(mark)}
    server = subprocess.Popen([sys.executable, "-m", "kickit_edge.cli", "admin", "--config", str(config_dir),
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/api/apps", headers=basic(token), timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def write() -> None:
        try:
            httpx.post(f"{base}/api/apps/DEMO1234/versions", headers=basic(token), json=new_version(), timeout=60)
        except httpx.TransportError:
            pass  # the server died under it, as intended

    try:
        _wait_for(up, "the admin process did not start")
        writer = threading.Thread(target=write)
        writer.start()
        _wait_for(lambda: mark.exists() and mark.read_text().strip(), "the write never reached git commit")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    os.kill(int(mark.read_text()), signal.SIGKILL)  # the stand-in git, still sleeping
    writer.join(30)


def test_a_crash_before_the_commit_is_finished_at_the_next_start(repo: Path, config_dir: Path, token: str,
                                                                tmp_path: Path, demo_yaml: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    head = log(repo, "%H", "-1")
    _kill_during_commit(repo, config_dir, token, tmp_path)
    # The file holds the write, the commit is missing, the journal says what was under way.
    assert "2.6.0" in [r["version"] for r in yaml.safe_load(demo_yaml.read_text())["versions"]]
    assert log(repo, "%H", "-1") == head
    assert (repo / ".git" / JOURNAL).exists()

    create_admin_app(str(config_dir))
    assert "finished a write cut off before its commit" in caplog.text
    assert log(repo, "%an|%s", "-1") == ["ci|Create version 2.6.0 (ios/production) of demo"]
    assert "versions = 2.6.0: not found -> soft" in git(repo, "log", "-1", "--format=%b")
    assert git(repo, "status", "--porcelain", "--", "config") == ""
    assert not (repo / ".git" / JOURNAL).exists()


def test_a_crash_before_the_files_leaves_nothing_and_says_so(repo: Path, config_dir: Path, demo_yaml: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    # What a process killed after its journal and before its file leaves behind.
    before = demo_yaml.read_text()
    head = log(repo, "%H", "-1")
    journal = {"message": "Create version 9.9.9 (ios/production) of demo\n\n...", "author": ["ci", "ci@x.invalid"],
               "files": {"config/apps/demo.yaml": "0" * 64}}
    (repo / ".git" / JOURNAL).write_text(json.dumps(journal))
    create_admin_app(str(config_dir))
    assert ("a write was cut off before it reached the files; nothing of it was written: "
            "Create version 9.9.9 (ios/production) of demo") in caplog.text
    assert demo_yaml.read_text() == before and log(repo, "%H", "-1") == head
    assert not (repo / ".git" / JOURNAL).exists()


def test_a_crash_after_the_commit_only_drops_the_journal(repo: Path, config_dir: Path, demo_yaml: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    # The process died after its commit and before removing its journal: the files hold what HEAD has.
    head = log(repo, "%H", "-1")
    digest = hashlib.sha256(demo_yaml.read_bytes()).hexdigest()
    journal = {"message": "Update app demo: icon\n\nNo change in verdicts.\n", "author": ["ci", "ci@x.invalid"],
               "files": {"config/apps/demo.yaml": digest}}
    (repo / ".git" / JOURNAL).write_text(json.dumps(journal))
    caplog.set_level(logging.INFO, logger="kickit_edge.admin")
    create_admin_app(str(config_dir))
    assert "the write 'Update app demo: icon' was committed before the last stop" in caplog.text
    assert log(repo, "%H", "-1") == head
    assert not (repo / ".git" / JOURNAL).exists()


def test_a_failed_commit_restores_the_file_and_answers_500(repo: Path, config_dir: Path, demo_yaml: Path,
                                                          headers: dict[str, str],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from starlette.testclient import TestClient

    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = demo_yaml.read_text()
    with TestClient(create_admin_app(str(config_dir)), headers=headers, raise_server_exceptions=False) as client:
        response = client.post("/api/apps/DEMO1234/versions", json=new_version())
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert "policy: no commits today" in caplog.text
    assert demo_yaml.read_text() == before
    assert git(repo, "status", "--porcelain", "--", "config") == ""
