"""Writes of the management API as git commits: the audit log of the config is git itself.

When the config folder is inside a git work tree, every successful write is
one commit of exactly the files it wrote: the author is the admin token's
name (``ci <ci@DOMAIN>``), the committer the admin process, the message says
what changed in words and then which verdicts change, as ``kickit-edge diff``
computes them. A file with uncommitted changes that are not ours is never
written over: the write answers 409 ``conflict`` and writes nothing.

A write records a journal in the git directory (what it is about to write,
the message, the author) before it touches a file, and drops it after the
commit. A process killed in between leaves the journal, and the next start
finishes the job: the files hold the write, so it commits them with the
journaled author and message; the files do not, so nothing was written and
it says so. Either way it logs what it found.

In review mode (``--git-branch NAME --git-remote REMOTE``) the commits go on
branch NAME, which is pushed to REMOTE after each write or, with a push
delay, once writes have been quiet that long; CI turns the branch into a
pull request with the impact diff.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..atomicfile import write_atomic
from ..compiler.model import Config
from ..editing.edit import write_edits
from ..errors import OperatorError
from ..review.diff import diff_sides
from ..review.report import NO_CHANGE, render_diff
from ..compiler.repository import Repository
from ..review.side import Side, config_side
from ..settings import AdminSettings
from ..snapshot import Snapshot
from .errors import Conflict

__all__ = ["Author", "GitOptions", "GitLog", "Pusher", "DEFAULT_EMAIL_DOMAIN", "JOURNAL", "commit_message"]

log = logging.getLogger("kickit_edge.admin")

DEFAULT_EMAIL_DOMAIN: str = AdminSettings.git_email_domain
JOURNAL = "kickit-edge-write.json"
RETRY_SECONDS = 30.0
MAX_BODY_LINES = 200  # a commit message stays readable; `kickit-edge history` shows every line
BASE_LABEL, HEAD_LABEL = "parent", "this commit"
# What may not stand in a subject as it is: control characters (line breaks, NUL, ESC...) and the
# Unicode line and paragraph separators. Only a body's line feeds and tabs are kept.
_SUBJECT_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BODY_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape").decode("ascii")


def commit_message(subject: str, body: str) -> str:
    """The message of a write's commit: ``subject``, a blank line, ``body``.

    The subject is always one line: any line break or control character in it is written escaped
    (``\\n``, ``\\x00``), so no text that reaches it can add a line, a trailer such as
    ``Signed-off-by:``, or a NUL that git refuses. The body keeps its line feeds and tabs only.
    """
    return f"{_SUBJECT_UNSAFE.sub(_escaped, subject)}\n\n{_BODY_UNSAFE.sub(_escaped, body)}\n"


class GitOptions(NamedTuple):
    """How writes become commits: the authors' e-mail domain, and review mode (branch, remote, push delay).

    The defaults are the admin settings' (:class:`~kickit_edge.settings.AdminSettings`).
    """

    email_domain: str = DEFAULT_EMAIL_DOMAIN
    branch: str | None = AdminSettings.git_branch
    remote: str | None = AdminSettings.git_remote
    push_delay: float = AdminSettings.git_push_delay


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def env(self, role: str) -> dict[str, str]:
        return {f"GIT_{role}_NAME": self.name, f"GIT_{role}_EMAIL": self.email}


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, UnicodeDecodeError):
        return None


class Pusher:
    """Pushes the review branch: at once (delay 0), or once no write came for ``delay`` seconds."""

    def __init__(self, repo: Repository, remote: str, branch: str, delay: float) -> None:
        self.repo, self.remote, self.branch, self.delay = repo, remote, branch, delay
        self._cond = threading.Condition()
        self._due: float | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def push(self) -> bool:
        ref = f"refs/heads/{self.branch}"
        done = self.repo.git("push", "--quiet", self.remote, f"{ref}:{ref}")
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip()[:500]
            log.error("pushing %s to %s failed (the commits stay on the branch for the next push): %s",
                      self.branch, self.remote, said)
            return False
        log.info("pushed %s to %s", self.branch, self.remote)
        return True

    def request(self) -> None:
        """A write was committed: push now, or after the quiet period."""
        if self.delay <= 0:
            self.push()
            return
        with self._cond:
            self._due = time.monotonic() + self.delay
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kickit-push", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._due is None:
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)  # a new write moves the deadline: wait again
                    continue
                self._due = None
                self._cond.release()
                try:
                    pushed = self.push()
                finally:
                    self._cond.acquire()
                if not pushed and self._due is None:
                    self._due = time.monotonic() + max(self.delay, RETRY_SECONDS)

    def close(self) -> None:
        """Stop the thread; push what is still waiting for its quiet period."""
        with self._cond:
            self._closed = True
            pending = self._due is not None
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if pending:
            self.push()


class GitLog:
    """Commits the management API's writes in the repository that holds the config folder."""

    def __init__(self, repo: Repository, email_domain: str = DEFAULT_EMAIL_DOMAIN,
                 pusher: Pusher | None = None) -> None:
        self.repo = repo
        self.email_domain = email_domain
        self.pusher = pusher
        self.committer = Author(f"kickit-edge admin ({socket.gethostname()})", f"kickit-edge-admin@{email_domain}")
        self._sides: tuple[Config, Side] | None = None  # the last "after", the next write's "before"
        self.journal = repo.git_path(JOURNAL)

    @classmethod
    def open(cls, config_dir: str, options: GitOptions = GitOptions()) -> GitLog | None:
        """The git log of ``config_dir``, or None outside git; in review mode, on the review branch.

        Finishes or reports a write a crash interrupted. Raise OperatorError for an unusable review setup.
        """
        email_domain, branch, remote, push_delay = options
        repo = Repository.find(config_dir)
        if (branch is None) != (remote is None):
            raise OperatorError("review mode needs both --git-branch NAME and --git-remote REMOTE")
        if repo is None:
            if branch is not None:
                raise OperatorError(f"--git-branch needs a git repository, and {config_dir} is in none")
            return None
        pusher = None
        if branch is not None and remote is not None:
            _switch(repo, branch, remote)
            pusher = Pusher(repo, remote, branch, push_delay)
        gitlog = cls(repo, email_domain, pusher)
        gitlog.recover()
        gitlog.report_dirty()
        return gitlog

    def author(self, token_name: str) -> Author:
        return Author(token_name, f"{token_name}@{self.email_domain}")

    def _name(self, path: Path) -> str:
        """``path`` as git names it from the top of the work tree."""
        return path.resolve().relative_to(self.repo.root).as_posix()

    # --- before a write ------------------------------------------------------------

    def check_clean(self, paths: list[Path]) -> None:
        """Raise Conflict (409) when a file to write has uncommitted changes, or when review mode lost its branch."""
        if self.pusher is not None and self.repo.branch() != self.pusher.branch:
            raise Conflict(f"the repository of the config is on {self.repo.branch() or 'a detached HEAD'}, not on "
                           f"the review branch {self.pusher.branch}; switch back before writing through the API")
        names = [self._name(p) for p in paths]
        status = self.repo.output("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *names)
        dirty = [entry[3:] for entry in status.split("\0") if entry[3:] in names]
        if dirty:
            shown = ", ".join(str(Path(name).relative_to(self.repo.inside)) if self.repo.inside != "." else name
                              for name in dirty)
            raise Conflict(f"{shown} has uncommitted changes made outside the API; commit or discard them "
                           "(git status shows them), then write again")

    def verdict_changes(self, before: Config, after: Config, built: tuple[bytes, Snapshot] | None = None) -> str:
        """What ``after`` answers differently from ``before``: ``kickit-edge diff``'s text, or its no-change line.

        ``built`` is ``after``'s snapshot when the caller has it already.
        """
        if self._sides and self._sides[0] is before:  # the last write's "after", seen now as the parent
            base = dataclasses.replace(self._sides[1], label=BASE_LABEL)
        else:
            base = config_side(BASE_LABEL, before)
        head = config_side(HEAD_LABEL, after, built)
        self._sides = (after, head)
        diff = diff_sides(base, head, time.time())  # from now on: what this write changes for clients
        if not diff.changed:
            return NO_CHANGE
        lines = render_diff(diff, "text").rstrip("\n").split("\n")
        if len(lines) > MAX_BODY_LINES:
            more = len(lines) - MAX_BODY_LINES
            lines = lines[:MAX_BODY_LINES] + [f"... and {more} more lines: kickit-edge history shows them all"]
        return "\n".join(lines)

    # --- the write -----------------------------------------------------------------

    def write(self, changes: dict[Path, str | None], message: str, author: Author) -> None:
        """Write ``changes`` (checked, to files without uncommitted changes) and commit them.

        If the commit fails, the files get back what they held and OperatorError is raised.
        """
        names = {self._name(path): path for path in changes}
        journal = self.journal
        record = {"message": message, "author": [author.name, author.email],
                  "files": {name: _digest(changes[path]) for name, path in names.items()}}
        write_atomic(journal, json.dumps(record, indent=1).encode("utf-8"))
        previous = {path: path.read_bytes() if path.exists() else None for path in changes}
        try:
            write_edits(changes)
            self._commit(list(names), message, author)
        except BaseException:
            self._restore(previous)
            self.repo.git("reset", "--quiet", "--", *names)  # unstage what `git add` took in
            journal.unlink(missing_ok=True)
            raise
        journal.unlink(missing_ok=True)
        if self.pusher is not None:
            self.pusher.request()

    def _commit(self, names: list[str], message: str, author: Author) -> None:
        self.repo.output("add", "--all", "--", *names)
        env = {**author.env("AUTHOR"), **self.committer.env("COMMITTER")}
        # --only: the commit holds these paths and nothing someone else staged.
        self.repo.output("commit", "--quiet", "--only", "--file=-", "--", *names, env=env,
                         stdin=message.encode("utf-8"))

    @staticmethod
    def _restore(previous: dict[Path, bytes | None]) -> None:
        for path, data in previous.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, data)

    # --- at start --------------------------------------------------------------------

    def recover(self) -> str | None:
        """Finish or report a write that a crash cut off between its files and its commit.

        Returns the commit made to finish it, if one was.
        """
        journal = self.journal
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
            files: dict[str, str | None] = record["files"]
            message: str = record["message"]
            name, email = record["author"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            log.error("%s is not a write journal this version can read (%s); removed it", journal, exc)
            journal.unlink(missing_ok=True)
            return None
        subject = message.split("\n", 1)[0]
        landed = [_file_digest(self.repo.root / n) == digest for n, digest in files.items()]
        commit = None
        if all(landed) and not self.repo.output("status", "--porcelain", "--", *files).strip():
            log.info("the write %r was committed before the last stop", subject)
        elif all(landed):
            self._commit(list(files), message, Author(name, email))
            commit = self.repo.output("rev-parse", "HEAD").strip()
            log.warning("finished a write cut off before its commit: %s %s", commit[:7], subject)
            if self.pusher is not None:
                self.pusher.request()
        elif not any(landed):
            log.warning("a write was cut off before it reached the files; nothing of it was written: %s", subject)
        else:
            log.error("a write was cut off halfway (%s); check those files with git status and git diff: %s",
                      ", ".join(n for n, ok in zip(files, landed) if ok), subject)
        journal.unlink(missing_ok=True)
        return commit

    def report_dirty(self) -> None:
        """Warn about uncommitted changes in the config folder: writes to those files answer 409."""
        status = self.repo.output("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", self.repo.inside)
        dirty = [entry[3:] for entry in status.split("\0") if entry and not entry[3:].endswith(".kickit-edit.lock")]
        if dirty:
            log.warning("uncommitted changes in %s: %s; writes to those files answer 409 until they are "
                        "committed or discarded", self.repo.inside, ", ".join(dirty[:10]))

    def close(self) -> None:
        if self.pusher is not None:
            self.pusher.close()


def _switch(repo: Repository, branch: str, remote: str) -> None:
    """Put the work tree on ``branch``: as it is, else as ``remote`` has it, else a new one from HEAD."""
    if repo.git("check-ref-format", "--branch", branch).returncode != 0:
        raise OperatorError(f"--git-branch {branch!r} is not a valid branch name")
    if repo.branch() != branch:
        if repo.commit_of(f"refs/heads/{branch}") is None:
            fetched = repo.git("fetch", "--quiet", remote, f"refs/heads/{branch}")
            start = "FETCH_HEAD" if fetched.returncode == 0 else "HEAD"
            repo.output("branch", branch, start)
        repo.output("switch", "--quiet", branch)
    log.info("writes are committed on branch %s and pushed to %s", branch, remote)
