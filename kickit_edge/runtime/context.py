"""What every endpoint of one worker shares: the snapshot state, the event log, the limits."""

from __future__ import annotations

import asyncio

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..evaluation import authorize
from ..events import Event
from ..keys import Key
from ..snapshot import Answer, AppIndex, Snapshot
from .state import SnapshotState

__all__ = ["EventSink", "Runtime"]

log = logging.getLogger("kickit_edge.runtime")

# Key headers remembered per worker once they authorized (then the memory starts over).
VERIFIED_HEADERS = 10_000

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
    _pending: list[tuple[Event, asyncio.Future[str | None]]] = field(default_factory=list)
    # Headers that authorized an app under ``_verified_for``: (key, app, expiry) by header bytes.
    _verified: dict[tuple[Callable[[str], Key | None], bytes], tuple[Key, AppIndex, float | None]] = field(
        default_factory=dict)
    _verified_for: Snapshot | None = None

    def authorize_header(self, snapshot: Snapshot, header: bytes | None,
                         decode: Callable[[str], Key | None]) -> tuple[Key | None, AppIndex | Answer]:
        """Decode and check a key header; remember the headers that succeed, per snapshot.

        Clients send the same key on every call, so a header that authorized
        an app under this snapshot is found again by a dict lookup instead of
        base64, a regex and a SHA-256. Only successes are kept (an unknown
        header can never be cheaper than a known one), expiry is checked on
        every hit, and a new snapshot starts an empty memory, so a revoked key
        stops working with the snapshot that revokes it.
        """
        if header is None:
            return None, self.authorize(snapshot, None)
        if self._verified_for is not snapshot:
            self._verified.clear()
            self._verified_for = snapshot
        hit = self._verified.get((decode, header))
        if hit is not None:
            known, app, expires = hit
            if expires is None or self.clock() < expires:
                return known, app
            del self._verified[(decode, header)]
        key = decode(header.decode("latin-1"))
        result = self.authorize(snapshot, key)
        if key is not None and isinstance(result, AppIndex):
            if len(self._verified) >= VERIFIED_HEADERS:
                self._verified.clear()
            self._verified[(decode, header)] = (key, result, snapshot.keys[key.prefix].expires)
        return key, result

    def authorize(self, snapshot: Snapshot, key: Key | None) -> AppIndex | Answer:
        """The key's app, or the 401/402 answer."""
        return authorize(snapshot, key, self.clock())

    async def write_event(self, event: Event) -> bool:
        """Append ``event`` before the caller answers; False (counted, logged) if it is not kept.

        A group commit: the events of the requests handled in one turn of the
        event loop are written together, with one write, at the end of that
        turn, and each request resumes only then. One system call for many
        lines, and still no answer goes out for a line that was not written.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        self._pending.append((event, done))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        error = await done
        if error is None:
            return True
        self._failed(error)
        return False

    def _flush(self) -> None:
        from .eventlog import EventWriteError

        batch, self._pending = self._pending, []
        error: str | None = None
        sink = self.events
        if sink is None:
            error = "no event log is open"
        else:
            try:
                events = [event for event, _ in batch]
                write_many = getattr(sink, "write_many", None)  # EventLog: one write for the batch
                if write_many is not None:
                    write_many(events)
                else:
                    for event in events:
                        sink.write(event)
            except EventWriteError as exc:
                error = str(exc)
        for _, done in batch:
            if not done.done():  # a request whose client went away was cancelled
                done.set_result(error)

    def _failed(self, error: str) -> None:
        now = time.time()
        previous = self.last_event_failure
        self.event_failures += 1
        self.last_event_failure = (now, error)
        if previous is None or now - previous[0] >= FAILURE_LOG_INTERVAL or previous[1] != error:
            log.error("event not written (%d so far): %s", self.event_failures, error)
