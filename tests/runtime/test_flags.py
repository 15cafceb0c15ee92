"""The memory behind the OFREP flags: per snapshot, and bounded."""

from __future__ import annotations

from kickit_edge.runtime.flags import SnapshotMemory
from kickit_edge.loader import load_snapshot
from kickit_edge.snapshot import Snapshot


def test_a_new_snapshot_starts_an_empty_memory(snapshot_bytes: bytes) -> None:
    first, second = load_snapshot(snapshot_bytes), load_snapshot(snapshot_bytes)
    memory: SnapshotMemory[str] = SnapshotMemory(10)
    assert memory.get(first, "k") is None
    memory.put("k", "v")
    assert memory.get(first, "k") == "v"
    assert memory.get(second, "k") is None  # equal content, but another snapshot object: forgotten
    assert memory.get(first, "k") is None


def test_the_memory_starts_over_when_full(snapshot_bytes: bytes) -> None:
    snapshot: Snapshot = load_snapshot(snapshot_bytes)
    memory: SnapshotMemory[int] = SnapshotMemory(3)
    for n in range(3):
        memory.get(snapshot, n)
        memory.put(n, n)
    assert [memory.get(snapshot, n) for n in range(3)] == [0, 1, 2]
    memory.put(3, 3)
    assert [memory.get(snapshot, n) for n in range(4)] == [None, None, None, 3]
