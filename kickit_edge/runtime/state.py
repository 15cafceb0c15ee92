"""The one active snapshot of a worker, and the last one it rejected.

Every source (a watched folder, a polled URL, the cached copy at cold start)
hands a snapshot to :meth:`SnapshotState.offer`, as bytes or as an open file.
It is read and verified in full by :func:`~kickit_edge.loader.read_snapshot`
(and its signature checked, when the state was given verification keys)
before anything changes; only then is the single reference
:attr:`SnapshotState.current` replaced, in one assignment. A request reads
that reference once and keeps the snapshot it got for its whole life, so it
never sees half of two snapshots, and a bad snapshot (truncated, corrupt,
malformed, unsigned, of another schema) changes nothing but
:attr:`SnapshotState.rejected`: the last good one keeps serving. While a new
snapshot is built the old one serves, so a reload holds at most the two.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import IO, Literal

from ..errors import SnapshotError
from ..loader import ManifestCheck, load_snapshot, read_snapshot
from ..snapshot import Snapshot

__all__ = ["Active", "Rejection", "Outcome", "SnapshotState"]

log = logging.getLogger("kickit_edge.runtime")

Outcome = Literal["loaded", "unchanged", "rejected"]


@dataclass(frozen=True, slots=True)
class Active:
    """The snapshot being served, when it was loaded (epoch seconds), where it came from, and whether
    that was the cached copy of the last good snapshot (a cold start while the origin failed)."""

    snapshot: Snapshot
    loaded_at: float
    source: str
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    """A snapshot that was refused (or could not be fetched), why, and how many times in a row."""

    at: float
    error: str
    source: str
    repeats: int = 1


class SnapshotState:
    """Holds :attr:`current` (``None`` until the first good snapshot: not ready).

    ``verify`` checks a manifest before the rest of a snapshot is read (the
    signature check of ``serve --verify-key``); what it refuses is rejected
    like any other bad snapshot, from every source and at cold start too.
    """

    def __init__(self, verify: ManifestCheck | None = None) -> None:
        self.current: Active | None = None
        self.rejected: Rejection | None = None
        self.loads = 0
        self.rejections = 0
        self.unchanged = 0
        self.verify = verify

    @property
    def ready(self) -> bool:
        return self.current is not None

    def offer(self, data: bytes | IO[bytes], source: str, *, cached: bool = False) -> Outcome:
        """Load and verify ``data``; make it current if it is good and differs from the current one.

        Safe to call from a worker thread: the swap is one reference assignment.
        """
        try:
            if isinstance(data, bytes):
                snapshot = load_snapshot(data, self.verify)
            else:
                snapshot = read_snapshot(data, self.verify)
        except SnapshotError as exc:
            self.reject(str(exc), source)
            return "rejected"
        current = self.current
        # The content digest decides: a rewritten file with the same content
        # (a resync, a ConfigMap remount) is not a reload.
        if current is not None and current.snapshot.digest == snapshot.digest:
            self.unchanged += 1
            if current.cached and not cached:
                self.current = replace(current, source=source, cached=False)  # the origin confirms the copy
            return "unchanged"
        self.current = Active(snapshot, time.time(), source, cached)
        self.loads += 1
        log.info("snapshot %s loaded from %s (revision %s, %d apps, %d bytes)",
                 snapshot.id, source, snapshot.revision or "unknown", len(snapshot.apps), snapshot.size)
        return "loaded"

    def reject(self, error: str, source: str) -> None:
        """Record that the snapshot at ``source`` was refused; the current one stays.

        The same error from the same source again is counted, not logged again:
        a source that fails every second must not flood the log.
        """
        self.rejections += 1
        previous = self.rejected
        if previous is not None and previous.error == error and previous.source == source:
            self.rejected = replace(previous, at=time.time(), repeats=previous.repeats + 1)
            return
        self.rejected = Rejection(time.time(), error, source)
        keeping = f"keeping snapshot {self.current.snapshot.id}" if self.current else "no snapshot loaded yet"
        log.error("snapshot rejected from %s: %s (%s)", source, error, keeping)
