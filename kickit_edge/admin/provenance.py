"""When a hand-written record was written, and by whom: from git, for the records the YAML does not date.

The API writes ``created_at``/``updated_at`` into every record it creates or
changes, and ``owner`` into every app it creates. A record written by hand has
none of them, but when the config folder is in a git work tree its history
knows: ``git blame`` of the app file names the commit of each line as it is
now. For the lines of one record (the ``app:`` block, one ``versions:`` item):

- ``created_at``: the time of the oldest of those commits (when the record was
  added, unless every one of its lines has changed since);
- ``updated_at``: the time of the newest (its last committed change);
- ``user_id`` of an app: the author of the oldest (who added it).

Times are commit times, in UTC. Lines not committed yet do not count; a record
none of whose lines is committed, or a config outside git, stays without them
(``null``). A file is blamed again only when it changes or a commit changes
it, when the config is read again; never per request.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from ..compiler.model import Where
from ..compiler.repository import Repository

__all__ = ["Stamp", "Provenance", "History"]

_UNCOMMITTED = "0" * 40


class Stamp(NamedTuple):
    """What git says of one record: its first and last commit times, and who made the first."""

    created_at: str
    updated_at: str
    author: str


class _Commit(NamedTuple):
    time: int
    author: str


def _blame(repo: Repository, path: Path) -> dict[int, _Commit]:
    """Line number -> the commit that last changed that line, for the committed lines of ``path``."""
    done = repo.git("blame", "--porcelain", "--", str(path))
    if done.returncode != 0:  # not tracked (yet): nothing is known
        return {}
    commits: dict[str, dict[str, str]] = {}
    lines: dict[int, str] = {}
    current: dict[str, str] = {}
    for line in done.stdout.decode("utf-8", errors="replace").split("\n"):
        if not line or line.startswith("\t"):
            continue
        head, _, rest = line.partition(" ")
        if len(head) == 40 and rest[:1].isdigit():
            current = commits.setdefault(head, {})
            lines[int(rest.split(" ")[1])] = head
        elif head in ("author", "committer-time"):
            current[head] = rest
    return {number: _Commit(int(commits[sha].get("committer-time", "0")), commits[sha].get("author", ""))
            for number, sha in lines.items() if sha != _UNCOMMITTED}


def _utc(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%SZ}"


class History:
    """What git says of the records of one read of the config."""

    def __init__(self, provenance: Provenance) -> None:
        self._provenance = provenance
        self._blobs: dict[Path, str] | None = None

    def stamp(self, where: Where) -> Stamp | None:
        """What git says of the record at ``where``; None when none of its lines is committed."""
        if self._blobs is None:
            self._blobs = self._provenance.committed_blobs()
        return self._provenance.stamp(where, self._blobs)


class _Blamed(NamedTuple):
    key: tuple[int, int, int, str]  # the file as it is (inode, size, mtime) and as HEAD has it (its blob)
    lines: dict[int, _Commit]
    stamps: dict[tuple[str | int, ...], Stamp | None]  # by record path, as asked


class Provenance:
    """The git history of a config folder's files: each file blamed again only when it or its committed
    version changes (a commit of other files changes nothing here)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._lock = threading.Lock()
        self._cache: dict[Path, _Blamed] = {}

    @classmethod
    def find(cls, config_dir: str | os.PathLike[str]) -> Provenance | None:
        repo = Repository.find(config_dir)
        return None if repo is None else cls(repo)

    def history(self) -> History:
        return History(self)

    def committed_blobs(self) -> dict[Path, str]:
        """Each file of the config folder as HEAD has it: path -> blob id (one git call)."""
        done = self.repo.git("ls-tree", "-r", "-z", "HEAD", "--", self.repo.inside)
        blobs: dict[Path, str] = {}
        for entry in done.stdout.decode("utf-8", errors="replace").split("\0") if done.returncode == 0 else ():
            meta, _, name = entry.partition("\t")
            if name:
                blobs[(self.repo.root / name).resolve()] = meta.split(" ")[-1]
        return blobs

    def stamp(self, where: Where, blobs: dict[Path, str]) -> Stamp | None:
        path = Path(where.source.path).resolve()
        try:
            st = path.stat()
        except OSError:
            return None
        key = (st.st_ino, st.st_size, st.st_mtime_ns, blobs.get(path, ""))
        with self._lock:
            blamed = self._cache.get(path)
        if blamed is None or blamed.key != key:
            blamed = _Blamed(key, _blame(self.repo, path), {})
            with self._lock:
                self._cache[path] = blamed
        if where.path not in blamed.stamps:
            depth = len(where.path)
            commits = [blamed.lines[line] for p, (line, _) in where.source.positions.items()
                       if p[:depth] == where.path and line in blamed.lines]
            first = min(commits, default=None)
            blamed.stamps[where.path] = None if first is None else Stamp(
                _utc(first.time), _utc(max(c.time for c in commits)), first.author)
        return blamed.stamps[where.path]
