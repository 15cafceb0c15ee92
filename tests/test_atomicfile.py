"""Atomic replacement: the target holds the old bytes or the new ones, and no temporary file is left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kickit_edge.atomicfile import _umask, atomic_file, write_atomic


def test_write_replaces_the_whole_file_with_the_mode_less_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new bytes", 0o640)
    assert target.read_bytes() == b"new bytes"
    assert target.stat().st_mode & 0o777 == 0o640 & ~_umask()
    assert os.listdir(tmp_path) == ["snapshot.json"]


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "admin.yaml"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="half way"):
        with atomic_file(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("half way")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["admin.yaml"]


def test_a_named_temporary_is_where_the_bytes_wait_until_the_end(tmp_path: Path) -> None:
    target = tmp_path / "events-20261122-h-1-0.jsonl.gz"
    temporary = tmp_path / "events-20261122-h-1-0.jsonl.gz.tmp"
    with atomic_file(target, temporary=temporary) as handle:
        handle.write(b"compressed")
        assert temporary.exists() and not target.exists()
    assert target.read_bytes() == b"compressed"
    assert not temporary.exists()


def test_a_folder_that_cannot_hold_the_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "snapshot.json", b"x")
