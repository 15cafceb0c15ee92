"""Real git repositories for tests: a config folder committed in a work tree in tmp_path, a bare remote beside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

HAND = ("Hand Editor", "hand@example.com")


def git(cwd: Path, *args: str, author: tuple[str, str] = HAND) -> str:
    """``git ARGS`` in ``cwd``; its stdout, stripped. Fails the test, with git's words, if git fails.

    Commits are made as ``author`` (committer too) unless ``GIT_AUTHOR_*`` variables say otherwise.
    """
    name, email = author
    done = subprocess.run(["git", "-c", f"user.name={name}", "-c", f"user.email={email}",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def commit_all(root: Path, message: str, author: tuple[str, str] = HAND) -> str:
    """Commit everything in the work tree; the new commit's id."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, author=author)
    return git(root, "rev-parse", "HEAD").strip()


def init_repo(root: Path) -> Path:
    """Make ``root`` a git work tree on branch main (its files not committed yet)."""
    git(root, "init", "-q", "-b", "main")
    return root


def bare_remote(path: Path) -> Path:
    git(path.parent, "init", "-q", "--bare", path.name)
    return path


def log(root: Path, fmt: str, *args: str) -> list[str]:
    """``git log --format=FMT`` lines, newest first."""
    return git(root, "log", f"--format={fmt}", *args).splitlines()
