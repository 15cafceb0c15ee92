"""The folder source and the snapshot state on real files: what is offered, skipped, rejected and reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kickit_edge.errors import OperatorError
from kickit_edge.runtime.sources import FolderSource, UrlSource, redact_url
from kickit_edge.runtime.state import SnapshotState


def test_refresh_loads_once_and_skips_the_same_file(snapshots: Path) -> None:
    state = SnapshotState()
    source = FolderSource(state, snapshots)
    assert source.refresh() == "loaded"
    assert source.refresh() == "unchanged"  # same manifest line and size: not read again
    # The same bytes under a new inode (a republish of the same config) change nothing either.
    data = (snapshots / "snapshot.json").read_bytes()
    (snapshots / ".staged").write_bytes(data)
    os.replace(snapshots / ".staged", snapshots / "snapshot.json")
    assert source.refresh() == "unchanged"
    assert state.loads == 1 and state.rejections == 0


def test_a_missing_file_is_reported_once_and_the_snapshot_stays(snapshots: Path) -> None:
    state = SnapshotState()
    source = FolderSource(state, snapshots)
    source.refresh()
    good = state.current
    data = (snapshots / "snapshot.json").read_bytes()
    (snapshots / "snapshot.json").unlink()
    assert source.refresh() == "rejected"
    assert source.refresh() == "unchanged"
    assert state.rejections == 1
    assert state.rejected is not None and "No such file or directory" in state.rejected.error
    assert state.current is good
    (snapshots / "snapshot.json").write_bytes(data)
    assert source.refresh() == "unchanged"  # the digest decides: it is the snapshot being served


def test_the_same_bad_file_is_rejected_once(snapshots: Path) -> None:
    state = SnapshotState()
    source = FolderSource(state, snapshots)
    (snapshots / "snapshot.json").write_bytes(b"")
    assert source.refresh() == "rejected"
    assert source.refresh() == "unchanged"
    assert not state.ready and state.rejected is not None and state.rejected.error == "snapshot is empty"


def test_url_source_refuses_other_schemes_and_never_shows_a_query() -> None:
    with pytest.raises(OperatorError) as raised:
        UrlSource(SnapshotState(), "file:///etc/passwd")
    assert str(raised.value) == "--snapshot-url: expected an http:// or https:// URL, got 'file:///etc/passwd'"
    assert redact_url("https://user:pw@cdn.example.com:8443/s/snapshot.json?X-Amz-Signature=abc#x") == (
        "https://cdn.example.com:8443/s/snapshot.json")
