"""Atomic publishing of snapshots into a folder, with a short history for rollback.

Layout of the output folder::

    snapshot.json                   the current snapshot (what the runtime reads)
    history/<UTC time>-<id>.json    the last few published snapshots

A snapshot is written to ``history/`` atomically (:mod:`kickit_edge.atomicfile`);
then a hard link to it replaces ``snapshot.json`` with ``os.replace``.
A reader therefore sees the old snapshot or the new one, never half of one,
and the bytes are written once.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from ..atomicfile import sync_folder, write_atomic
from ..errors import OperatorError
from ..loader import load_snapshot
from ..snapshot import SNAPSHOT_FILE, Snapshot

__all__ = ["publish_snapshot", "history", "rollback"]

HISTORY = "history"


def _point_current(out: Path, target: Path) -> None:
    tmp = out / f".tmp-current-{os.getpid()}"
    try:
        if tmp.exists():
            tmp.unlink()
        os.link(target, tmp)
    except OSError:
        # No hard links here (some network and container file systems): copy instead.
        write_atomic(out / SNAPSHOT_FILE, target.read_bytes())
        return
    os.replace(tmp, out / SNAPSHOT_FILE)
    sync_folder(out)


def history(out: str | os.PathLike[str]) -> list[Path]:
    """Published snapshots, oldest first."""
    folder = Path(out) / HISTORY
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _same_file(path: Path, data: bytes) -> bool:
    """Whether ``path`` holds ``data``: the same size and manifest line (which carries the content digest)."""
    try:
        with open(path, "rb") as handle:
            return os.fstat(handle.fileno()).st_size == len(data) and \
                handle.readline(len(data)) == data[:data.find(b"\n") + 1]
    except OSError:
        return False


def publish_snapshot(data: bytes, out: str | os.PathLike[str], keep: int = 5,
                     verified: Snapshot | None = None) -> tuple[Path, bool]:
    """Publish ``data`` as the current snapshot; return its history path and whether it changed.

    ``verified`` is ``data`` already loaded by the caller (the compiler loads
    its own output), so a big snapshot is not verified twice. Publishing the
    snapshot that is already current changes nothing.
    """
    snapshot = verified if verified is not None else load_snapshot(data)  # never publish what the runtime would reject
    root = Path(out)
    try:
        (root / HISTORY).mkdir(parents=True, exist_ok=True)
        current = root / SNAPSHOT_FILE
        if _same_file(current, data):
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
    current = (root / SNAPSHOT_FILE).read_bytes() if (root / SNAPSHOT_FILE).exists() else b""
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
