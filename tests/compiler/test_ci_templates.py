"""The CI templates, tested by running the commands they contain.

The GitHub Actions workflows in ``ci/github/`` are read as YAML and their
``run:`` steps executed in order with bash, as a runner would: ``${{ ... }}``
expressions filled from a small context, ``$GITHUB_OUTPUT`` and
``$GITHUB_STEP_SUMMARY`` provided, ``if:`` conditions evaluated. Steps that
``uses:`` an action (checkout, setup-python, upload-artifact) are the runner's
business and are skipped; the install step is run on its own by
:func:`test_the_install_step_installs_kickit_edge_from_a_git_clone` (a fresh
venv, the template's package spec pointed at a local clone), and the other
tests use the kickit-edge already on the PATH. ``gh`` and ``aws`` are stubs that record how they were called.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kickit_edge.events import Event, encode_event

from .configpairs import BASE, edited, git, init_repo, write_config

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "ci" / "github"
BIN = str(Path(sys.executable).parent)  # where pip put the kickit-edge script
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass
class StepRun:
    name: str
    code: int | None  # None: skipped by its `if:`
    output: str


def evaluate(expression: str, context: dict[str, str], env: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """The few expression forms the templates use: a name, `a || 'b'`, `a == 'b'`, `a != ''`."""
    if "||" in expression:
        left, right = (part.strip() for part in expression.split("||", 1))
        return evaluate(left, context, env, outputs) or right.strip("'")
    for op in ("==", "!="):
        if op in expression:
            left, right = (part.strip() for part in expression.split(op, 1))
            equal = evaluate(left, context, env, outputs) == right.strip("'")
            return "true" if equal == (op == "==") else ""
    if expression.startswith("env."):
        return env.get(expression[4:], "")
    if expression.startswith("steps."):
        _, step, _, name = expression.split(".")
        return outputs.get(step, {}).get(name, "")
    assert expression in context, f"the test gives no value for ${{{{ {expression} }}}}"
    return context[expression]


def run_job(workflow: str, job: str, cwd: Path, context: dict[str, str], stubs: Path,
            only: str | None = None, env_override: dict[str, str] | None = None) -> list[StepRun]:
    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("KICKIT_")}
    env["PATH"] = f"{stubs}{os.pathsep}{BIN}{os.pathsep}{env['PATH']}"
    env["GITHUB_STEP_SUMMARY"] = str(cwd / ".summary.md")
    outputs: dict[str, dict[str, str]] = {}

    def fill(text: str) -> str:
        return EXPRESSION.sub(lambda m: evaluate(m[1], context, env, outputs), str(text))

    env.update({k: fill(v) for k, v in spec.get("env", {}).items()})
    env.update(env_override or {})
    runs = []
    for step in spec["jobs"][job]["steps"]:
        if "uses" in step or (step.get("id") == "install") != (only == "install"):
            continue
        if "if" in step and not evaluate(step["if"], context, env, outputs):
            runs.append(StepRun(step["name"], None, ""))
            continue
        out_file = cwd / ".github-output"
        out_file.write_text("")
        step_env = dict(env, GITHUB_OUTPUT=str(out_file), **{k: fill(v) for k, v in step.get("env", {}).items()})
        # GitHub's default shell on Linux runners.
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", fill(step["run"])],
                              cwd=cwd, env=step_env, capture_output=True, text=True, timeout=300)
        outputs[step.get("id", "")] = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
        runs.append(StepRun(step["name"], done.returncode, done.stdout + done.stderr))
        if done.returncode != 0 and not step.get("continue-on-error"):
            break
    return runs


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    """`gh` and `aws` that log their arguments (and the comment body) to calls.log."""
    folder = tmp_path / "stubs"
    folder.mkdir()
    for tool in ("gh", "aws"):
        stub = folder / tool
        stub.write_text(f'#!/usr/bin/env bash\necho "{tool} $*" >> "{folder}/calls.log"\n'
                        'if [ "$1 $2" = "pr comment" ]; then cat "$5" > "' + str(folder) + '/comment.md"; fi\n')
        stub.chmod(0o755)
    return folder


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config repository: the base config on main."""
    return init_repo(tmp_path, monkeypatch)


def pull_request(repo: Path, text: str, stubs: Path, **variables: str) -> list[StepRun]:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-qb", "change")
    write_config(repo / "config", text)
    git(repo, "commit", "-qam", "change")
    context = {"github.event.pull_request.base.sha": base, "github.event.pull_request.number": "42",
               "github.token": "t0ken", "vars.KICKIT_EVENTS": "", "vars.KICKIT_MAX_FORCED": "",
               "vars.KICKIT_MAX_FORCED_SHARE": ""}
    context.update({f"vars.{name}": value for name, value in variables.items()})
    return run_job("kickit-review.yml", "review", repo, context, stubs)


def test_a_forcing_pull_request_is_commented_and_needs_a_second_reviewer(repo, stubs):
    runs = pull_request(repo, edited('version: "2.0.0"', 'version: "2.3.0"'), stubs)
    assert [(r.name, r.code) for r in runs] == [
        ("Validate the config", 0), ("Run the config tests", 0), ("Impact diff against the base branch", 0),
        ("Post the diff on the pull request", 0), ("Blast-radius budget", None), ("Second reviewer needed", 1),
    ]  # without events there is no budget to check
    comment = (stubs / "comment.md").read_text()
    assert "| ios/production | `>= 2.0.0, < 2.3.0` | not found | **hard** | `no rule -> minimum:ios/production` |" \
        in comment.splitlines()
    assert comment.startswith("### kickit-edge impact: `")
    assert (stubs / "calls.log").read_text() == "gh pr comment 42 --body-file kickit-diff.md --edit-last\n"
    assert (repo / ".summary.md").read_text() == comment
    assert "Ask a second reviewer to approve it." in runs[-1].output


def test_a_harmless_pull_request_passes(repo, stubs):
    runs = pull_request(repo, edited("    de: Bitte aktualisieren.\n", "    de: Bitte jetzt aktualisieren.\n"), stubs)
    assert [r.code for r in runs] == [0, 0, 0, 0, None, None]
    assert '- [de] "Bitte aktualisieren." -> "Bitte jetzt aktualisieren."' in (stubs / "comment.md").read_text()


def test_with_events_the_comment_leads_with_users_and_the_budget_can_fail(repo, stubs, tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    recent = datetime.now(UTC) - timedelta(hours=1)
    lines = [Event(time=recent, type="authenticate", app="shop", user=user, platform="ios", app_version=version,
                   environment="production", snapshot="s", request_id=user) for user, version in
             (("u1", "2.1.0"), ("u2", "2.2.0"), ("u3", "2.4.0"), ("u4", "2.6.0"))]
    (events / f"events-{recent:%Y%m%d}-ci-1-0.jsonl").write_bytes(b"".join(encode_event(e) for e in lines))
    # A soft change (asked, not forced) within a budget of one user: only prompted users.
    runs = pull_request(repo, edited('version: "3.1.0"', 'version: "3.2.0"'), stubs, KICKIT_EVENTS=str(events),
                        KICKIT_MAX_FORCED="1")
    assert [(r.name, r.code) for r in runs][-2:] == [("Blast-radius budget", 0), ("Second reviewer needed", None)]
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-qD", "change")
    runs = pull_request(repo, edited('version: "2.0.0"', 'version: "2.3.0"'), stubs, KICKIT_EVENTS=str(events),
                        KICKIT_MAX_FORCED_SHARE="25")
    # Over the budget the job fails there, before the second-reviewer step.
    assert [(r.name, r.code) for r in runs][-2:] == [("Post the diff on the pull request", 0), ("Blast-radius budget", 3)]
    comment = (stubs / "comment.md").read_text().splitlines()
    assert comment[2] == "**2 users newly forced to update, 0 newly prompted, 0 newly locked out by maintenance.**"
    assert "over budget: newly forces 50.0% of shop/ios (2 of 4 active users), more than --max-forced-share 25%" \
        in runs[-1].output
    assert "This change newly forces more users than the budget allows." in runs[-1].output


def test_an_invalid_pull_request_fails_validation(repo, stubs):
    runs = pull_request(repo, edited("message: hard_msg", "message: nope"), stubs)
    assert [(r.name, r.code) for r in runs] == [("Validate the config", 1)]
    assert "config/apps/shop.yaml:40:14: minimum_versions[0].message: unknown message 'nope'" in runs[0].output


def test_main_branch_publishes_a_snapshot_with_its_revision(repo, stubs, monkeypatch):
    sha = git(repo, "rev-parse", "HEAD")
    context = {"vars.KICKIT_SNAPSHOT_BUCKET": "edge-bucket", "vars.KICKIT_SNAPSHOT_KEY": "",
               "vars.AWS_DEFAULT_REGION": "", "secrets.AWS_ACCESS_KEY_ID": "id",
               "secrets.AWS_SECRET_ACCESS_KEY": "secret"}
    monkeypatch.setenv("GITHUB_SHA", sha)  # the runner sets it for every step
    runs = run_job("kickit-publish.yml", "publish", repo, context, stubs)
    assert [(r.name, r.code) for r in runs] == [("Compile and publish the snapshot", 0), ("Upload to the object store", 0)]
    manifest = json.loads((repo / "snapshots" / "snapshot.json").read_bytes().split(b"\n")[0])["manifest"]
    assert manifest["revision"] == sha
    assert (stubs / "calls.log").read_text() == (
        "aws s3 cp snapshots/snapshot.json s3://edge-bucket/kickit/snapshot.json "
        "--content-type application/json --cache-control no-cache\n")
    # Without a bucket, the snapshot is only published into the folder.
    context["vars.KICKIT_SNAPSHOT_BUCKET"] = ""
    runs = run_job("kickit-publish.yml", "publish", repo, context, stubs)
    assert [r.code for r in runs] == [0, None]


def test_the_pre_commit_hook_validates_the_config(repo):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    example = yaml.safe_load((ROOT / "ci" / "pre-commit-config.yaml").read_text())
    assert [h["id"] for r in example["repos"] for h in r["hooks"]] == [hook["id"]]
    assert re.search(hook["files"], "config/apps/shop.yaml") and not re.search(hook["files"], "README.md")
    assert hook["pass_filenames"] is False
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    command = shlex.split(hook["entry"]) + hook.get("args", [])
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    write_config(repo / "config", edited("message: hard_msg", "message: nope"))
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("config/apps/shop.yaml:40:14: minimum_versions[0].message: unknown message 'nope'")


PACKAGE_SPEC = re.compile(r"^kickit-edge @ git\+(?P<url>https://\S+)@(?P<ref>[\w.-]+)$")


@pytest.mark.parametrize("workflow", ["kickit-review.yml", "kickit-publish.yml"])
def test_the_install_step_installs_kickit_edge_from_a_git_clone(workflow, tmp_path, stubs):
    """The template's package spec names something that exists: this repository at a ref.

    The step runs as written, in a fresh venv, with the spec's URL and ref
    swapped for a local clone and its HEAD (the test has no network to
    GitHub). Dependencies are the runner's downloads, so they are left out
    (PIP_NO_DEPS): what is proven is that pip resolves the spec, builds
    kickit-edge from the clone and installs its command.
    """
    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    match = PACKAGE_SPEC.match(spec["env"]["KICKIT_EDGE_PACKAGE"])
    assert match, spec["env"]["KICKIT_EDGE_PACKAGE"]
    pre_commit = yaml.safe_load((ROOT / "ci" / "pre-commit-config.yaml").read_text())
    assert pre_commit["repos"][0]["repo"] == match["url"]
    clone = tmp_path / "kickit-edge"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    head = git(clone, "rev-parse", "HEAD")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    local = f"kickit-edge @ git+file://localhost{clone}@{head}"
    context = {"vars.KICKIT_SNAPSHOT_BUCKET": "", "vars.KICKIT_SNAPSHOT_KEY": "", "vars.AWS_DEFAULT_REGION": "",
               "secrets.AWS_ACCESS_KEY_ID": "", "secrets.AWS_SECRET_ACCESS_KEY": "", "vars.KICKIT_EVENTS": "",
               "vars.KICKIT_MAX_FORCED": "", "vars.KICKIT_MAX_FORCED_SHARE": ""}
    runs = run_job(workflow, "review" if "review" in workflow else "publish", tmp_path, context, stubs, only="install",
                   env_override={"KICKIT_EDGE_PACKAGE": local, "PIP_NO_DEPS": "1",
                                 "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"})
    assert [(r.name, r.code) for r in runs] == [("Install kickit-edge", 0)], runs
    assert (venv / "bin" / "kickit-edge").exists()
    direct = next((venv / "lib").glob("python3*/site-packages/kickit_edge-*.dist-info/direct_url.json"))
    assert json.loads(direct.read_text())["vcs_info"]["commit_id"] == head
