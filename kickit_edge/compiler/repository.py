"""The git repository that holds a config folder, read and written through the git CLI.

Review reads it (a side at a revision, the history of the folder); the
management API writes it (one commit per write). Every call goes through
:func:`run_git`, so a missing git binary or a hung command is one
:class:`~kickit_edge.errors.OperatorError`, never a traceback. Nothing here
prompts: credentials come from the environment git already has.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import OperatorError

__all__ = ["GIT_TIMEOUT", "run_git", "Repository"]

GIT_TIMEOUT = 60

# A push or fetch that would ask for a password fails at once instead of hanging the process.
_QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


def run_git(args: list[str], cwd: str | os.PathLike[str], env: dict[str, str] | None = None,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd``; the caller reads ``returncode``. Raise OperatorError if git cannot run."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, input=stdin,
                              env={**os.environ, **_QUIET, **(env or {})})
    except OSError as exc:
        raise OperatorError(f"cannot run git: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise OperatorError(f"git {args[0]} did not finish within {GIT_TIMEOUT} s in {cwd}") from None


@dataclass(frozen=True)
class Repository:
    """A work tree and the config folder inside it (``inside``: its path from the top, posix, ``.`` at the top)."""

    root: Path
    inside: str

    @classmethod
    def find(cls, config_dir: str | os.PathLike[str]) -> Repository | None:
        """The repository whose work tree holds ``config_dir``, or None when it is in none."""
        folder = Path(config_dir).resolve()
        if not folder.is_dir():
            return None
        top = run_git(["rev-parse", "--show-toplevel"], folder)
        if top.returncode != 0:
            return None
        root = Path(top.stdout.decode().strip()).resolve()
        return cls(root, folder.relative_to(root).as_posix())

    def git(self, *args: str, env: dict[str, str] | None = None,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return run_git(list(args), self.root, env, stdin)

    def output(self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> str:
        """The stdout of a git command that must succeed; OperatorError with git's own words if it fails."""
        done = self.git(*args, env=env, stdin=stdin)
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip() or done.stdout.decode(errors="replace").strip()
            raise OperatorError(f"git {' '.join(args[:2])} failed in {self.root}: {said[:500]}")
        return done.stdout.decode(errors="replace")

    def commit_of(self, revision: str) -> str | None:
        """The full id of the commit ``revision`` names, or None."""
        found = self.git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
        return found.stdout.decode().strip() if found.returncode == 0 else None

    def branch(self) -> str | None:
        """The branch checked out, or None when HEAD is detached."""
        found = self.git("symbolic-ref", "--quiet", "--short", "HEAD")
        return found.stdout.decode().strip() if found.returncode == 0 else None

    def path(self, relative: str) -> str:
        """A path of the config folder (``apps/demo.yaml``) as git names it from the top."""
        return relative if self.inside == "." else f"{self.inside}/{relative}"

    def git_path(self, name: str) -> Path:
        """A file inside the repository's git directory (kept out of the work tree and of every commit)."""
        return self.root / self.output("rev-parse", "--git-path", name).strip()
