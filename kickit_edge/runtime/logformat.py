"""The log formats of every process (edge and admin): ``text`` or ``json``, one line per record, on stderr.

``text``: ``2026-11-30 19:35:17,123 INFO kickit_edge.runtime [4711] message``.
``json``: one object per line with ``time`` (UTC, ISO 8601, milliseconds),
``level``, ``logger``, ``pid``, ``message`` (and ``exception`` when there is
one). Access lines (:mod:`.accesslog`) use the same fields, plus the request's.

No log line ever makes the event loop wait for stderr (:class:`BackgroundHandler`):
a record is formatted where it is logged and written at once only when
nothing is queued and the destination has room for it (``poll``); otherwise
it is handed to a :class:`BackgroundWriter`, a thread that writes it. When the
destination is slow or blocked (a full pipe, a stuck terminal), up to
:data:`MAX_PENDING_BYTES` wait in memory; beyond that lines are dropped and
counted, and the count is written as a warning of its own as soon as the
destination takes lines again.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from ..settings import LogFormat

__all__ = ["BackgroundHandler", "BackgroundWriter", "JsonFormatter", "log_config", "MAX_PENDING_BYTES", "TEXT_FORMAT"]

MAX_PENDING_BYTES = 4 * 1024 * 1024

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the time in UTC."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z", "level": record.levelname, "logger": record.name,
            "pid": record.process, "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class BackgroundWriter:
    """Bytes written to ``fd`` with ``os.write`` by a thread of its own, so that whoever offers them never waits.

    :meth:`offer` refuses (returns False) what would take the bytes waiting
    past ``max_pending``. ``failed`` is called on the thread with the bytes a
    write error lost. Calls to :meth:`offer` must not overlap (one thread, or
    under a lock). The thread starts with the first bytes.
    """

    def __init__(self, fd: int, name: str, failed: Callable[[bytes, OSError], None],
                 max_pending: int = MAX_PENDING_BYTES) -> None:
        self.fd = fd
        self.name = name
        self.failed = failed
        self.max_pending = max_pending
        self._queued = 0  # bytes offered and taken (counted by the offering side)
        self._written = 0  # bytes the thread is done with (counted by the thread)
        self._jobs: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def offer(self, data: bytes) -> bool:
        if self._queued - self._written + len(data) > self.max_pending:
            return False
        self._queued += len(data)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
            self._thread.start()
        self._jobs.put(data)
        return True

    def idle(self) -> bool:
        """Whether everything offered is written."""
        return self._written == self._queued

    def wait(self, timeout: float) -> None:
        """Wait until what was offered is written, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._written < self._queued and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds) and stop the thread."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _work(self) -> None:
        while (data := self._jobs.get()) is not None:
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self.fd, view):]
            except OSError as exc:
                self.failed(data[len(data) - len(view):], exc)
            self._written += len(data)


class BackgroundHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A log handler that never waits for its stream: see the module docstring.

    A stream without a file descriptor (an in-memory one, as a test's capture)
    is written as :class:`logging.StreamHandler` does.
    """

    def __init__(self, stream: IO[str] | None = None, max_pending: int = MAX_PENDING_BYTES) -> None:
        super().__init__(stream)
        self.max_pending = max_pending
        self.dropped = 0
        self._reported = 0  # of ``dropped``, written out as a warning
        self._writer: BackgroundWriter | None = None
        self._pid = 0
        try:
            self.fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = -1
            return
        # A line goes straight out (in order, before the process may be killed) when the destination
        # has room for it: a pipe or socket with space, a file, a terminal; else to the writer thread.
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLOUT)

    def emit(self, record: logging.LogRecord) -> None:
        if self.fd < 0:
            logging.StreamHandler.emit(self, record)
            return
        try:
            line = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
        except Exception:  # noqa: BLE001 - as logging's own handlers: reported, never raised
            self.handleError(record)
            return
        if self._pid != os.getpid():  # a thread does not survive a fork
            self._writer = BackgroundWriter(self.fd, "kickit-log", self._failed, self.max_pending)
            self._pid = os.getpid()
        if self.dropped > self._reported and self._put(self._dropped_line()):
            self._reported = self.dropped
        if not self._put(line):
            self.dropped += 1

    def _put(self, data: bytes) -> bool:
        """Write ``data`` now if that cannot wait (nothing queued, room for it), else queue it; False: dropped."""
        writer = self._writer
        assert writer is not None
        if writer.idle() and len(data) <= select.PIPE_BUF and self._poll.poll(0) == [(self.fd, select.POLLOUT)]:
            try:
                data = data[os.write(self.fd, data):]
            except OSError:
                return False
            if not data:
                return True
        return writer.offer(data)

    def _dropped_line(self) -> bytes:
        record = logging.LogRecord("kickit_edge.log", logging.WARNING, __file__, 0,
                                   "%d log lines dropped so far: the log destination was too slow", (self.dropped,),
                                   None)
        return (self.format(record) + "\n").encode("utf-8", "backslashreplace")

    def _failed(self, lost: bytes, exc: OSError) -> None:
        self.dropped += lost.count(b"\n")  # reported with the next line that can be written

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.wait(2.0)
        elif self.fd < 0:
            super().flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()  # a later line starts the thread again
        super().close()


def log_config(level: str, form: LogFormat = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's and our loggers, on stderr (never waited for), in ``form``."""
    upper = level.upper()
    formatter = {"()": JsonFormatter} if form == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"()": BackgroundHandler, "formatter": "main", "stream": "ext://sys.stderr"}},
        "loggers": {
            "kickit_edge": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
