"""The folder source and the snapshot state on real files: what is offered, skipped, rejected and reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kickit_edge.errors import OperatorError
from kickit_edge.runtime.origin import UrlSource, redact_url
from kickit_edge.runtime.sources import FolderSource
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


def test_the_same_bad_file_is_read_again_and_counted_not_logged_again(snapshots: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    state = SnapshotState()
    source = FolderSource(state, snapshots)
    (snapshots / "snapshot.json").write_bytes(b"")
    assert source.refresh() == "rejected"
    assert source.refresh() == "rejected"
    assert not state.ready and state.rejected is not None and state.rejected.error == "snapshot is empty"
    assert state.rejections == 2 and state.rejected.repeats == 2
    assert sum("snapshot is empty" in r.getMessage() for r in caplog.records) == 1


def test_a_rejected_file_rewritten_in_place_with_the_same_first_line_and_size_is_read_again(
        snapshots: Path) -> None:
    path = snapshots / "snapshot.json"
    good = path.read_bytes()
    manifest, rest = good.split(b"\n", 1)
    # The same manifest line and size, one app line altered: the digest no longer matches.
    bad = manifest + b"\n" + rest.replace(b"Please update.", b"Please update!", 1)
    assert len(bad) == len(good) and bad != good
    path.unlink()
    path.write_bytes(bad)
    stat = os.stat(path)
    state = SnapshotState()
    source = FolderSource(state, snapshots)
    assert source.refresh() == "rejected" and "does not match its digest" in state.rejected.error  # type: ignore[union-attr]
    with open(path, "r+b") as handle:  # in place: same inode, same size, same first line, same mtime
        handle.write(good)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source.refresh() == "loaded" and state.ready


def test_url_source_refuses_other_schemes_and_never_shows_a_query() -> None:
    with pytest.raises(OperatorError) as raised:
        UrlSource(SnapshotState(), "file:///etc/passwd")
    assert str(raised.value) == "--snapshot-url: expected an http:// or https:// URL, got 'file:///etc/passwd'"
    assert redact_url("https://user:pw@cdn.example.com:8443/s/snapshot.json?X-Amz-Signature=abc#x") == (
        "https://cdn.example.com:8443/s/snapshot.json")
