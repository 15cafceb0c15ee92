"""The event log's group commit: requests handled together share one write, and the write leaves the event loop.

An endpoint awaits :meth:`GroupCommit.append` and answers only once its event
is kept: no client hears "done" for a line that was not written. The events
appended during one turn of the event loop form a batch, written with one
call of the sink's ``write_many`` (one ``os.write`` in
:class:`~kickit_edge.runtime.eventlog.EventLog`) on a thread of its own, so
the loop goes on serving while the disk works. Events appended while a batch
is being written form the next batch: under load batches grow instead of
writes queueing up.

A failed batch answers every request of it with the failure. Failures are
counted (for ``/status``) and logged at most once per
:data:`FAILURE_LOG_INTERVAL`, with the number of events lost since the last
line: a full disk under load is one line every ten seconds, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from ..events import Event
from .eventlog import EventWriteError

__all__ = ["BatchSink", "GroupCommit", "FAILURE_LOG_INTERVAL"]

log = logging.getLogger("kickit_edge.runtime")

FAILURE_LOG_INTERVAL = 10.0

_Waiter = tuple[Event, "asyncio.Future[None]"]


class BatchSink(Protocol):
    """Where batches go: :class:`~kickit_edge.runtime.eventlog.EventLog` in a server.

    ``write_many`` keeps all the events or raises :class:`EventWriteError`.
    """

    def write_many(self, events: Sequence[Event]) -> None: ...


class GroupCommit:
    """Batches the events of each event-loop turn into one write on a writer thread; see the module docstring."""

    def __init__(self, sink: BatchSink, clock: Callable[[], float] = time.time) -> None:
        self.sink = sink
        self.clock = clock
        self.failures = 0
        self.last_failure: tuple[float, str] | None = None
        self._waiting: list[_Waiter] = []
        self._writing = False
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kickit-events")
        self._unreported = 0
        self._reported_at: float | None = None

    async def append(self, event: Event) -> bool:
        """Keep ``event`` with the others of this turn; True once written, False (counted, logged) if not."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((event, done))
        if len(self._waiting) == 1 and not self._writing:
            loop.call_soon(self._start)  # at the end of this turn, with whatever else arrived in it
        try:
            await done
        except EventWriteError:
            return False
        return True

    def close(self) -> None:
        """Wait for the batch being written; later appends fail."""
        self._writer.shutdown(wait=True)

    def _start(self) -> None:
        if self._writing or not self._waiting:
            return
        batch, self._waiting = self._waiting, []
        self._writing = True
        loop = asyncio.get_running_loop()
        try:
            written = loop.run_in_executor(self._writer, self.sink.write_many, [event for event, _ in batch])
        except RuntimeError as exc:  # the writer is shut down
            self._writing = False
            self._settle(batch, EventWriteError(f"cannot write event: {exc}"))
            return
        written.add_done_callback(lambda future: self._finished(batch, future))

    def _finished(self, batch: list[_Waiter], future: asyncio.Future[None]) -> None:
        self._writing = False
        error = future.exception()
        if error is not None and not isinstance(error, EventWriteError):
            log.error("event write failed unexpectedly", exc_info=error)
            error = EventWriteError(f"cannot write event: {error}")
        self._settle(batch, error)
        self._start()  # what arrived while this batch was being written

    def _settle(self, batch: list[_Waiter], error: BaseException | None) -> None:
        for _, done in batch:
            if done.done():  # a request whose client went away was cancelled
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)
        if error is not None:
            self._failed(str(error), len(batch))

    def _failed(self, error: str, count: int) -> None:
        now = self.clock()
        self.failures += count
        self.last_failure = (now, error)
        self._unreported += count
        if self._reported_at is None or now - self._reported_at >= FAILURE_LOG_INTERVAL:
            log.error("%d event(s) not written since the last report (%d in all): %s",
                      self._unreported, self.failures, error)
            self._reported_at, self._unreported = now, 0
