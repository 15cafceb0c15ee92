"""The event folder as a reader sees it: which files hold what, and their lines from an offset.

The runtime's event log writes, per process, files named
``events-<yyyymmdd>-<host>-<pid>-<n>.jsonl`` and compresses each closed one to
``.jsonl.gz`` (the names are spelled in :mod:`kickit_edge.eventnames`). A reader names the
*content* of a file by its stem, the name without ``.jsonl`` or ``.jsonl.gz``:
the plain file and its ``.gz`` hold the same bytes, so an offset into the
uncompressed content stays valid when the file is compressed, and a checkpoint
that read 10 MB of ``X.jsonl`` goes on at 10 MB of ``X.jsonl.gz``.

- ``.gz.tmp`` is a compression in progress: skipped.
- A plain file whose ``.gz`` exists is a crash leftover with the same content:
  skipped, the ``.gz`` is read.
- Bytes after the last newline of a plain file are a line still being written:
  left for the next read. In a ``.gz``, closed for good, they are a torn line
  and are handed on as such, so the caller can count it as malformed.

A file holds the events of the UTC day in its name: the writer starts a new
file when the day changes.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from ..errors import OperatorError
from ..eventnames import parse_event_file_name

__all__ = ["EventFile", "Block", "DamagedFile", "ContentChanged", "list_event_files", "read_blocks",
           "remove_expired"]

_CHUNK = 8 << 20  # a block per 8 MiB: few enough handovers to the engine, bounded memory


class DamagedFile(OperatorError):
    """A compressed file ends early or is corrupt; the lines before the damage were read."""


class ContentChanged(Exception):
    """A file holds less than an earlier read consumed: its content is not what the offset measured."""


@dataclass(frozen=True, slots=True)
class EventFile:
    path: Path
    stem: str
    day: date
    compressed: bool


class Block(NamedTuple):
    """Complete lines (joined by newlines, without the last one) and the content offset just after them."""

    data: bytes
    end: int
    torn: bool = False  # the one line is the unterminated end of a closed file

    @property
    def line_count(self) -> int:
        """How many lines the block holds."""
        return self.data.count(b"\n") + 1

    def lines(self) -> list[bytes]:
        return self.data.split(b"\n")


def _folder_names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        raise OperatorError(
            f"events folder {str(folder)!r} does not exist: expected the folder the server writes "
            "its event files to (--events-dir)") from None
    except NotADirectoryError:
        raise OperatorError(f"events folder {str(folder)!r} is not a folder") from None
    except OSError as exc:
        raise OperatorError(f"cannot list events folder {str(folder)!r}: {exc.strerror}") from None


def list_event_files(folder: str | os.PathLike[str]) -> list[EventFile]:
    """The files to read, one per stem, in name order; OperatorError if the folder cannot be listed."""
    folder = Path(folder)
    names = _folder_names(folder)
    present = set(names)
    out = []
    for name in sorted(names):
        parsed = parse_event_file_name(name)
        if parsed is None or parsed.temporary:
            continue
        if not parsed.compressed and name + ".gz" in present:
            continue
        out.append(EventFile(folder / name, parsed.stem, parsed.day, parsed.compressed))
    return out


def remove_expired(folder: str | os.PathLike[str], cutoff: date) -> tuple[list[str], list[str]]:
    """Remove the event files of days before ``cutoff``: (names removed, errors)."""
    folder = Path(folder)
    removed, errors = [], []
    for name in sorted(_folder_names(folder)):
        parsed = parse_event_file_name(name)
        if parsed is None or parsed.day >= cutoff:
            continue
        try:
            (folder / name).unlink()
            removed.append(name)
        except FileNotFoundError:
            pass  # the writer's own sweep got there first
        except OSError as exc:
            errors.append(f"cannot remove {folder / name}: {exc.strerror}")
    return removed, errors


def read_blocks(file: EventFile, start: int = 0) -> Iterator[Block]:
    """The lines of ``file`` from content offset ``start``, a block at a time.

    Raises OperatorError if the file cannot be opened or read, :class:`ContentChanged`
    if it holds fewer than ``start`` bytes, and :class:`DamagedFile` after the last
    good block of a corrupt ``.gz``. A plain file that was compressed since it was
    listed is read from its ``.gz``.
    """
    path = file.path
    raw: io.BufferedIOBase
    try:
        if file.compressed:
            raw = gzip.open(path, "rb")
        else:
            try:
                raw = open(path, "rb")
            except FileNotFoundError:
                path = path.with_name(path.name + ".gz")
                file = EventFile(path, file.stem, file.day, True)
                raw = gzip.open(path, "rb")
    except OSError as exc:
        raise OperatorError(f"cannot read {path}: {exc.strerror or exc}") from None
    with raw:
        try:
            yield from _blocks(raw, file, start)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise DamagedFile(f"{path}: damaged compressed file ({exc}); the lines before the damage were read") \
                from None
        except OSError as exc:
            raise OperatorError(f"cannot read {path}: {exc.strerror or exc}") from None


def _blocks(raw: io.BufferedIOBase, file: EventFile, start: int) -> Iterator[Block]:
    read = raw.read
    if start:
        # A plain file seeks past its end without complaint; a .gz stops at its end.
        short = os.fstat(raw.fileno()).st_size < start if not file.compressed else raw.seek(start) != start
        if short:
            raise ContentChanged(f"{file.path} holds fewer than the {start} bytes read before")
        raw.seek(start)
    offset = start
    tail = b""
    while chunk := read(_CHUNK):
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        tail = data[cut + 1:]
        offset += cut + 1
        yield Block(data[:cut], offset)
    if tail and file.compressed:
        yield Block(tail, offset + len(tail), torn=True)
