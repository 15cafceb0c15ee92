"""The event log: each worker process appends event lines to files of its own.

Files live in one folder, named as :mod:`kickit_edge.eventnames` says::

    events-<UTC yyyymmdd>-<host>-<pid>-<n>.jsonl        being written, or left by a crash
    events-<UTC yyyymmdd>-<host>-<pid>-<n>.jsonl.gz     closed and compressed
    events-<UTC yyyymmdd>-<host>-<pid>-<n>.jsonl.gz.tmp being compressed; readers skip it

A reader reads every ``.jsonl`` and ``.jsonl.gz`` file, in any order, and
decodes each line with :func:`kickit_edge.events.decode_event`.

How lines stay whole, with several uvicorn workers and threads:

- Each process writes only its own files: host and pid are in the name, and a
  name is claimed with ``O_CREAT | O_EXCL`` and never reused (a restarted
  container with the same host name and pid takes the next ``n``).
- Each line, or each batch of whole lines (:meth:`EventLog.write_many`), is
  written with one ``os.write`` on an ``O_APPEND`` descriptor, so even two
  writers that somehow share a file (two hosts with one name on a shared
  volume) cannot interleave inside a line. There is no user-space buffer: a
  line is in the kernel when :meth:`EventLog.write` returns.
- A lock serializes rotation and write within the process, so no line is lost
  or split across a rotation.

A file is closed when its UTC day ends or when the next line would take it past
``max_bytes``; the next line goes to a new name. Closed files are gzipped by a
background thread at the lowest CPU priority (zlib releases the GIL while it
compresses), never on the serving event loop, crash-safely: the ``.gz.tmp`` is
written and fsynced, renamed over ``.gz`` with ``os.replace``, and only then is
the plain file removed, so a reader sees the plain file or the whole ``.gz``.
At start and at every rotation the same thread deletes files whose day is more
than ``retention_days`` before today, and a plain file whose ``.gz`` exists (a
crash came between the rename and the removal). At start it also compresses
what a killed process left (``kill -9``, an OOM kill): the plain files of this
host whose process is gone, and any plain file more than a day old.

A failed write (disk full, read-only file system, no permission, folder
missing) raises :class:`EventWriteError`, cuts the file back to its last whole
line (a write the disk filled half-way leaves no torn line) and drops the
current file; the next write opens a new one, so the log recovers by itself
once the folder is writable again.
The folder is not created here: if a volume is not mounted, writing into the
empty mount point would fill the wrong disk.

Create one :class:`EventLog` per process, after any fork (in the app's
lifespan), and :meth:`~EventLog.close` it at shutdown.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import logging
import os
import queue
import shutil
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self

from ..atomicfile import atomic_file
from ..errors import OperatorError
from ..eventnames import event_file_name, origin_of, parse_event_file_name, retention_cutoff
from ..events import DATA_LIMIT, Event, encode_event

__all__ = ["MAX_BYTES", "RETENTION_DAYS", "EventLog", "EventWriteError"]

MAX_BYTES = 64 * 1024 * 1024
RETENTION_DAYS = 365

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
_FILE_MODE = 0o640
_COMPRESS_LEVEL = 6  # gzip's own default: 9 costs twice the CPU for a few percent

log = logging.getLogger(__name__)


class EventWriteError(OperatorError):
    """An event could not be appended: disk full, read-only, no permission, no folder.

    The operator must act; the client is told ``500`` in its API's error shape
    (AppCockpit: ``{"error": "Failed to update user version data"}``).
    """


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventLog:
    """Appends events to rotating JSON Lines files in ``folder``; see the module docstring."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        max_bytes: int = MAX_BYTES,
        retention_days: int = RETENTION_DAYS,
        data_limit: int = DATA_LIMIT,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes: expected a positive number of bytes, got {max_bytes}")
        if retention_days < 0:
            raise ValueError(f"retention_days: expected 0 or more days, got {retention_days}")
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.retention_days = retention_days
        self.data_limit = data_limit
        self._now = now
        self._origin = origin_of(socket.gethostname(), os.getpid())
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._day = self._today()
        self._seq = 0
        self._closed = False
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="kickit-eventlog", daemon=True)
        self._worker.start()
        # Listed now, before this process opens a file: a name of ours listed later is our own.
        self._jobs.put(partial(self._recover, self._day, self._names()))
        self._jobs.put(partial(self._sweep, self._day))

    @property
    def path(self) -> Path | None:
        """The file being written, or ``None`` before the first write or after a failure."""
        return self._path

    def write(self, event: Event) -> None:
        """Append ``event`` as one line; raise :class:`EventWriteError` if it cannot be written."""
        self.write_many([event])

    def write_many(self, events: Sequence[Event]) -> None:
        """Append ``events`` with one ``write``: all of them are kept, or :class:`EventWriteError`.

        The server gathers the events of the requests that arrive together and
        answers none of them before this returns (a group commit): one system
        call for many lines, and still no answer for a line that was not written.
        """
        lines = b"".join(encode_event(event, data_limit=self.data_limit) for event in events)
        with self._lock:
            if self._closed:
                raise EventWriteError(
                    f"cannot write event: the event log in {self.folder} is closed"
                )
            whole: int | None = None  # the file's size before this batch
            try:
                day = self._today()
                if (
                    self._fd is None
                    or day != self._day
                    or (self._size and self._size + len(lines) > self.max_bytes)
                ):
                    self._rotate(day)
                whole = self._size
                self._append(lines)
            except OSError as exc:
                if whole is not None:
                    self._cut_back(whole)
                with contextlib.suppress(OSError):
                    self._retire()
                raise EventWriteError(f"cannot write event to {self.folder}: {exc}") from exc

    def close(self) -> None:
        """Close the current file, compress it, and wait for all compression to finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._retire()
            finally:
                self._jobs.put(None)
        self._worker.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _today(self) -> date:
        return self._now().astimezone(UTC).date()

    def _rotate(self, day: date) -> None:
        self._retire()
        if day != self._day:
            self._day, self._seq = day, 0
        while True:
            path = self.folder / event_file_name(day, self._origin, self._seq)
            self._seq += 1
            # Never reuse a name that was already compressed: its .gz would be replaced.
            if path.with_name(path.name + ".gz").exists():
                continue
            try:
                self._fd = os.open(path, _OPEN_FLAGS, _FILE_MODE)
            except FileExistsError:
                continue
            self._path, self._size = path, 0
            self._jobs.put(partial(self._sweep, day))
            return

    def _append(self, line: bytes) -> None:
        assert self._fd is not None
        view = memoryview(line)
        while view:
            # One write per line or batch: on an O_APPEND descriptor the kernel places it
            # at the end as a whole. A short write only happens on a full disk
            # or a file size limit, and then the next call reports the error.
            written = os.write(self._fd, view)
            if written == 0:
                raise OSError(errno.EIO, "write made no progress", str(self._path))
            self._size += written
            view = view[written:]

    def _cut_back(self, whole: int) -> None:
        """Truncate the current file to ``whole`` bytes: a batch the disk filled half-way leaves no torn line."""
        if self._fd is None or self._size == whole:
            return
        try:
            os.ftruncate(self._fd, whole)
            self._size = whole
        except OSError as exc:
            log.error("cannot cut %s back to its last whole line: %s", self._path, exc)

    def _retire(self) -> None:
        """Close the current file and queue it for compression (an empty one is removed)."""
        fd, path, size = self._fd, self._path, self._size
        self._fd, self._path, self._size = None, None, 0
        if fd is None or path is None:
            return
        try:
            os.close(fd)
        finally:
            # An empty file is what a failed first write leaves; during a full
            # disk there could be many, and they hold nothing worth a .gz.
            job = partial(self._compress, path) if size else partial(_remove, path)
            self._jobs.put(job)

    def _work(self) -> None:
        # Compression must not take CPU from requests: this thread (only) gets the lowest priority.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # keep the thread alive: the next rotation may succeed
                log.exception("event log housekeeping failed in %s", self.folder)

    def _compress(self, path: Path) -> None:
        # The rename is on disk before the plain file is removed, or a crash could keep neither.
        target = path.with_name(path.name + ".gz")
        try:
            with atomic_file(target, _FILE_MODE, temporary=path.with_name(path.name + ".gz.tmp")) as raw, \
                    open(path, "rb") as source:
                with gzip.GzipFile(path.name, "wb", _COMPRESS_LEVEL, raw) as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
        except OSError as exc:
            log.error("cannot compress %s, it stays uncompressed: %s", path, exc)
            return
        _remove(path)

    def _names(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except OSError as exc:
            log.error("cannot list %s: %s", self.folder, exc)
            return []

    def _sweep(self, today: date) -> None:
        cutoff = retention_cutoff(today, self.retention_days)
        names = self._names()
        present = set(names)
        for name in names:
            parsed = parse_event_file_name(name)
            if parsed is None:
                continue
            if parsed.day < cutoff or (name.endswith(".jsonl") and name + ".gz" in present):
                _remove(self.folder / name)

    def _recover(self, today: date, names: list[str]) -> None:
        """Compress the plain files a killed process left: this host's dead pids', and any of a past day."""
        host = self._origin.rsplit("-", 1)[0]
        present = set(names)
        for name in sorted(names):
            parsed = parse_event_file_name(name)
            if parsed is None or parsed.compressed or name + ".gz" in present:
                continue
            ours = parsed.host == host and (parsed.pid == os.getpid() or not _alive(parsed.pid))
            if ours or parsed.day < today - timedelta(days=1):
                self._compress(self.folder / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.error("cannot remove %s: %s", path, exc)
