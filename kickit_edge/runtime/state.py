"""The one active snapshot of a worker, and the last one it rejected.

Every source (a watched folder, a polled URL) hands bytes to
:meth:`SnapshotState.offer`. The bytes are loaded and verified in full by
:func:`~kickit_edge.snapshot.load_snapshot` before anything changes; only then
is the single reference :attr:`SnapshotState.current` replaced, in one
assignment. A request reads that reference once and keeps the snapshot it got
for its whole life, so it never sees half of two snapshots, and a bad snapshot
(truncated, corrupt, empty, missing, of another schema) changes nothing but
:attr:`SnapshotState.rejected`: the last good one keeps serving.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from ..errors import SnapshotError
from ..snapshot import Snapshot, load_snapshot

__all__ = ["Active", "Rejection", "Outcome", "SnapshotState"]

log = logging.getLogger("kickit_edge.runtime")

Outcome = Literal["loaded", "unchanged", "rejected"]


@dataclass(frozen=True, slots=True)
class Active:
    """The snapshot being served, when it was loaded (epoch seconds) and where it came from."""

    snapshot: Snapshot
    loaded_at: float
    source: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A snapshot that was refused (or could not be read), and why."""

    at: float
    error: str
    source: str


class SnapshotState:
    """Holds :attr:`current` (``None`` until the first good snapshot: not ready)."""

    def __init__(self) -> None:
        self.current: Active | None = None
        self.rejected: Rejection | None = None
        self.loads = 0
        self.rejections = 0
        self.unchanged = 0

    @property
    def ready(self) -> bool:
        return self.current is not None

    def offer(self, data: bytes, source: str) -> Outcome:
        """Load and verify ``data``; make it current if it is good and differs from the current one.

        Safe to call from a worker thread: the swap is one reference assignment.
        """
        try:
            snapshot = load_snapshot(data)
        except SnapshotError as exc:
            self.reject(str(exc), source)
            return "rejected"
        current = self.current
        # The content digest decides: a rewritten file with the same content
        # (a resync, a ConfigMap remount) is not a reload.
        if current is not None and current.snapshot.digest == snapshot.digest:
            self.unchanged += 1
            return "unchanged"
        self.current = Active(snapshot, time.time(), source)
        self.loads += 1
        log.info("snapshot %s loaded from %s (revision %s, %d apps, %d bytes)",
                 snapshot.id, source, snapshot.revision or "unknown", len(snapshot.apps), snapshot.size)
        return "loaded"

    def reject(self, error: str, source: str) -> None:
        """Record that the snapshot at ``source`` was refused; the current one stays."""
        self.rejected = Rejection(time.time(), error, source)
        self.rejections += 1
        keeping = f"keeping snapshot {self.current.snapshot.id}" if self.current else "no snapshot loaded yet"
        log.error("snapshot rejected from %s: %s (%s)", source, error, keeping)
