"""Atomic file replacement: a reader sees the old file or the new one, never half of one.

Every writer that replaces a file others read (published snapshots, edited
YAML, compressed event files, user records and their checkpoints) goes through
:func:`atomic_file`: the bytes go to a temporary file in the same folder, are
flushed and fsynced, and the temporary file is renamed over the target with
``os.replace`` (atomic within one file system); then the folder is fsynced, so
the rename itself survives a crash. If anything fails, the temporary file is
removed and the target is untouched.

Only the standard library's file calls: shared by the compiler, the runtime,
editing and analytics, it stays at the package root.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file", "write_atomic", "sync_folder"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: changing the umask to read it is not safe while other threads create files.
_UMASK = _umask()


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """fsync a folder, so that a rename or a new file in it is on disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: int = 0o644, *,
                temporary: str | os.PathLike[str] | None = None) -> Iterator[BinaryIO]:
    """A binary file to write; when the block ends without an error, it replaces ``path`` whole.

    The file gets ``mode`` less the umask (not mkstemp's 0600): an edge or a
    web server running as another user must be able to read a snapshot.
    ``temporary`` names the temporary file where readers must recognize it
    (a compression in progress); by default it is a fresh hidden ``.tmp-*``.
    """
    target = Path(path)
    if temporary is None:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    else:
        name = os.fspath(temporary)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(fd, mode & ~_UMASK)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    sync_folder(target.parent)


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path, mode) as handle:
        handle.write(data)
