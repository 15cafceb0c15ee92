"""What every endpoint of one worker shares: the snapshot state, the event log, the limits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import SnapshotError
from ..evaluation import authorize
from ..events import Event
from ..keys import Key
from ..snapshot import Answer, AppIndex, Snapshot, error_answer
from .state import SnapshotState

__all__ = ["EventSink", "Runtime"]

log = logging.getLogger("kickit_edge.runtime")

# An app's line is parsed on its first use; one that does not parse (a
# publisher bug: the digest matched) answers this instead of a 500.
APP_NOT_LOADABLE = error_answer(503, "Service Unavailable: this app's snapshot entry cannot be read")

# During a full disk every request fails the same way: log it this often at most.
FAILURE_LOG_INTERVAL = 10.0


class EventSink(Protocol):
    """Where events go: :class:`~kickit_edge.runtime.eventlog.EventLog` in a server.

    ``write`` raises :class:`~kickit_edge.runtime.eventlog.EventWriteError`
    when the event cannot be kept.
    """

    def write(self, event: Event) -> None: ...


@dataclass(slots=True)
class Runtime:
    state: SnapshotState
    events: EventSink | None = None  # set by the app's lifespan, after any fork
    max_body: int = 64 * 1024
    clock: Callable[[], float] = field(default=time.time)
    event_failures: int = 0
    last_event_failure: tuple[float, str] | None = None

    def authorize(self, snapshot: Snapshot, key: Key | None) -> AppIndex | Answer:
        """The key's app, or the 401/402 answer (or 503 if the app's entry cannot be read)."""
        try:
            return authorize(snapshot, key, self.clock())
        except SnapshotError as exc:
            self.state.reject(str(exc), "the active snapshot")
            return APP_NOT_LOADABLE

    def write_event(self, event: Event) -> bool:
        """Append ``event``; on failure count it, log it (rate-limited) and return False."""
        from .eventlog import EventWriteError

        if self.events is None:
            error = "no event log is open"
        else:
            try:
                self.events.write(event)
                return True
            except EventWriteError as exc:
                error = str(exc)
        now = time.time()
        previous = self.last_event_failure
        self.event_failures += 1
        self.last_event_failure = (now, error)
        if previous is None or now - previous[0] >= FAILURE_LOG_INTERVAL or previous[1] != error:
            log.error("event not written (%d so far): %s", self.event_failures, error)
        return False
