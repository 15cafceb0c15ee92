"""Atomic publishing of snapshots into a folder, with a short history for rollback.

Layout of the output folder::

    snapshot.json                   the current snapshot (what the runtime reads)
    history/<UTC time>-<id>.json    the last few published snapshots

A snapshot is written to a temporary file in ``history/``, fsynced and
renamed; then a hard link to it replaces ``snapshot.json`` with ``os.replace``.
A reader therefore sees the old snapshot or the new one, never half of one,
and the bytes are written once.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ..errors import OperatorError
from ..loader import load_snapshot

__all__ = ["CURRENT", "publish_snapshot", "history", "rollback", "write_atomic"]

CURRENT = "snapshot.json"
HISTORY = "history"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once: changing the umask to read it is not safe while other threads create files.
_UMASK = _umask()


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see all of it or none of it.

    The file gets ``mode`` (less the umask), not mkstemp's 0600: an edge or a
    web server running as another user must be able to read a snapshot.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        os.fchmod(fd, mode & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _point_current(out: Path, target: Path) -> None:
    tmp = out / f".tmp-current-{os.getpid()}"
    try:
        if tmp.exists():
            tmp.unlink()
        os.link(target, tmp)
    except OSError:
        # No hard links here (some network and container file systems): copy instead.
        write_atomic(out / CURRENT, target.read_bytes())
        return
    os.replace(tmp, out / CURRENT)
    _fsync_dir(out)


def history(out: str | os.PathLike[str]) -> list[Path]:
    """Published snapshots, oldest first."""
    folder = Path(out) / HISTORY
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def publish_snapshot(data: bytes, out: str | os.PathLike[str], keep: int = 5) -> tuple[Path, bool]:
    """Publish ``data`` as the current snapshot; return its history path and whether it changed.

    Publishing the snapshot that is already current changes nothing.
    """
    snapshot = load_snapshot(data)  # never publish what the runtime would reject
    root = Path(out)
    try:
        (root / HISTORY).mkdir(parents=True, exist_ok=True)
        current = root / CURRENT
        if current.exists() and current.read_bytes() == data:
            existing = [p for p in history(root) if p.name.endswith(f"-{snapshot.id}.json")]
            return (existing[-1] if existing else current), False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = root / HISTORY / f"{stamp}-{snapshot.id}.json"
        write_atomic(target, data)
        _point_current(root, target)
        for old in history(root)[:-keep] if keep > 0 else []:
            old.unlink(missing_ok=True)
    except OSError as exc:
        raise OperatorError(f"cannot publish into {root}: {exc.strerror or exc}") from None
    return target, True


def rollback(out: str | os.PathLike[str], snapshot_id: str | None = None) -> Path:
    """Make an earlier published snapshot current again (the one before the current by default)."""
    root = Path(out)
    entries = history(root)
    current = (root / CURRENT).read_bytes() if (root / CURRENT).exists() else b""
    if snapshot_id:
        chosen = [p for p in entries if p.stem.endswith(f"-{snapshot_id}")]
        if not chosen:
            known = ", ".join(p.stem.rsplit("-", 1)[-1] for p in entries) or "none"
            raise OperatorError(f"no snapshot {snapshot_id!r} in {root / HISTORY} (known: {known})")
        target = chosen[-1]
    else:
        older = [p for p in entries if p.read_bytes() != current]
        if not older:
            raise OperatorError(f"nothing to roll back to in {root / HISTORY}")
        target = older[-1]
    load_snapshot(target.read_bytes())
    _point_current(root, target)
    return target
