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
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from ..events import Event
from .eventlog import EventWriteError

__all__ = ["BatchSink", "GroupCommit", "FAILURE_LOG_INTERVAL"]

log = logging.getLogger("kickit_edge.runtime")

FAILURE_LOG_INTERVAL = 10.0

# Told, on the event loop, that its event was written (None) or why it was not.
Settle = Callable[["EventWriteError | None"], None]
_Waiter = tuple[Event, Settle]


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
        self.written = 0
        self.last_failure: tuple[float, str] | None = None
        self._waiting: list[_Waiter] = []
        self._writing = False
        self._closed = False
        # A thread of its own and a plain queue: cheaper per batch than an executor's futures.
        self._jobs: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, list[_Waiter]] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._work, name="kickit-events", daemon=True)
        self._writer.start()
        self._unreported = 0
        self._reported_at: float | None = None

    async def append(self, event: Event) -> bool:
        """Keep ``event`` with the others of this turn; True once written, False (counted, logged) if not."""
        done: asyncio.Future[EventWriteError | None] = asyncio.get_running_loop().create_future()

        def settle(error: EventWriteError | None) -> None:
            if not done.done():  # a request whose client went away was cancelled
                done.set_result(error)

        self.submit(event, settle)
        return await done is None

    def submit(self, event: Event, settle: Settle) -> None:
        """Keep ``event`` with the others of this turn and call ``settle`` when its batch is done (for
        callers that answer from a callback, not a task)."""
        self._waiting.append((event, settle))
        if len(self._waiting) == 1 and not self._writing:
            asyncio.get_running_loop().call_soon(self._start)  # at the end of this turn, with whatever else came

    def close(self) -> None:
        """Wait for the batch being written; later appends fail."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
            self._writer.join()

    def _start(self) -> None:
        if self._writing or not self._waiting:
            return
        batch, self._waiting = self._waiting, []
        if self._closed:
            self._settle(batch, EventWriteError("cannot write event: the event log is closed"))
            return
        self._writing = True
        self._jobs.put((asyncio.get_running_loop(), batch))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, batch = job
            error: EventWriteError | None = None
            try:
                self.sink.write_many([event for event, _ in batch])
            except EventWriteError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - a bug must fail the batch, not kill the writer
                log.exception("event write failed unexpectedly")
                error = EventWriteError(f"cannot write event: {exc}")
            try:
                loop.call_soon_threadsafe(self._finished, batch, error)
            except RuntimeError:  # the loop is closed: nobody waits for these answers any more
                pass

    def _finished(self, batch: list[_Waiter], error: EventWriteError | None) -> None:
        self._writing = False
        self._settle(batch, error)
        self._start()  # what arrived while this batch was being written

    def _settle(self, batch: list[_Waiter], error: EventWriteError | None) -> None:
        for _, settle in batch:
            try:
                settle(error)
            except Exception:  # noqa: BLE001 - one waiter's bug must not leave the others unanswered
                log.exception("answering a request of an event batch failed")
        if error is None:
            self.written += len(batch)
        else:
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
