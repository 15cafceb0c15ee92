"""Review mode end to end: the API pushes its branch, and CI's template opens the pull request for it."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.admin.gitlog import GitOptions

from ..compiler.test_ci_templates import run_job, stubs  # noqa: F401 (a fixture)
from ..gitrepo import bare_remote, git
from .gitconfig import config_dir, repo  # noqa: F401 (fixtures)
from .kickfolio import new_version

BRANCH = "kickit/releases"


def _pushed_branch(repo: Path, config_dir: Path, tmp_path: Path, headers: dict[str, str]) -> Path:
    """The API writes one version in review mode; CI's checkout of the pushed branch."""
    remote = bare_remote(tmp_path / "remote.git")
    git(repo, "push", "-q", str(remote), "main")
    options = GitOptions(branch=BRANCH, remote=str(remote))
    with TestClient(create_admin_app(str(config_dir), git=options), headers=headers) as client:
        assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201
    checkout = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--branch", BRANCH, str(remote), str(checkout))
    return checkout


def test_the_first_push_of_the_review_branch_opens_a_pull_request(repo: Path, config_dir: Path, tmp_path: Path,
                                                                  headers: dict[str, str], stubs: Path) -> None:
    checkout = _pushed_branch(repo, config_dir, tmp_path, headers)
    context = {"secrets.KICKIT_PR_TOKEN": "", "github.token": "t0ken", "github.ref_name": BRANCH}
    runs = run_job("kickit-admin-pr.yml", "open", checkout, context, stubs)
    assert [(r.name, r.code) for r in runs] == [("Open the pull request", 0)], runs
    assert (stubs / "calls.log").read_text() == (
        f"gh pr list --head {BRANCH} --state open --json number --jq .[].number\n"
        f"gh pr create --base main --head {BRANCH} --body-file kickit-pr.md "
        f"--title kickit-edge: changes from the management API ({BRANCH})\n")
    body = (checkout / "kickit-pr.md").read_text().splitlines()
    assert body[0] == "Changes written through the kickit-edge management API, one commit per write:"
    assert body[2].startswith("- Create version 2.6.0 (ios/production) of demo (ci, ") and len(body) == 3


def test_a_later_push_updates_the_open_pull_request(repo: Path, config_dir: Path, tmp_path: Path,
                                                    headers: dict[str, str], stubs: Path) -> None:
    checkout = _pushed_branch(repo, config_dir, tmp_path, headers)
    (stubs / "gh").write_text(f'#!/usr/bin/env bash\necho "gh $*" >> "{stubs}/calls.log"\n'
                              'if [ "$1 $2" = "pr list" ]; then echo 7; fi\n')
    context = {"secrets.KICKIT_PR_TOKEN": "bot-token", "github.token": "t0ken", "github.ref_name": BRANCH}
    runs = run_job("kickit-admin-pr.yml", "open", checkout, context, stubs)
    assert [(r.name, r.code) for r in runs] == [("Open the pull request", 0)]
    assert f"pull request #7 is open for {BRANCH}: this push updates it" in runs[0].output
    assert "pr create" not in (stubs / "calls.log").read_text()
