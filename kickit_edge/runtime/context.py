"""What every endpoint of one worker shares: the snapshot state, the event log, the limits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..evaluation import Grant, authorize
from ..events import Event
from ..keys import Key
from ..snapshot import Answer, Snapshot
from .eventcommit import GroupCommit
from .state import SnapshotState
from .wire import NOT_READY

__all__ = ["Runtime"]

log = logging.getLogger("kickit_edge.runtime")

# Key headers remembered per worker once they authorized (then the memory starts over).
VERIFIED_HEADERS = 10_000

Decode = Callable[[str], Key | None]


@dataclass(slots=True)
class Runtime:
    state: SnapshotState
    events: GroupCommit | None = None  # set by the app's lifespan, after any fork
    max_body: int = 64 * 1024
    clock: Callable[[], float] = field(default=time.time)
    draining: bool = False  # SIGTERM came: /ready says 503 while requests are still served
    # Headers that were granted under ``_verified_for``, by (decoder, header bytes).
    _verified: dict[tuple[Decode, bytes], Grant] = field(default_factory=dict)
    _verified_for: Snapshot | None = None

    def authorize_header(self, snapshot: Snapshot, header: bytes | None, decode: Decode) -> Grant | Answer:
        """Decode and check a key header; remember the headers that succeed, per snapshot.

        Clients send the same key on every call, so a header that authorized
        an app under this snapshot is found again by a dict lookup instead of
        base64, a regex and a SHA-256. Only successes are kept (an unknown
        header can never be cheaper than a known one), expiry is checked on
        every hit, and a new snapshot starts an empty memory, so a revoked key
        stops working with the snapshot that revokes it.
        """
        if header is None:
            return self.authorize(snapshot, None)
        if self._verified_for is not snapshot:
            self._verified.clear()
            self._verified_for = snapshot
        hit = self._verified.get((decode, header))
        if hit is not None:
            expires = hit.record.expires
            if expires is None or self.clock() < expires:
                return hit
            del self._verified[(decode, header)]
        result = self.authorize(snapshot, decode(header.decode("latin-1")))
        if isinstance(result, Grant):
            if len(self._verified) >= VERIFIED_HEADERS:
                self._verified.clear()
            self._verified[(decode, header)] = result
        return result

    def admit(self, header: bytes | None, decode: Decode) -> tuple[Snapshot, Grant] | Answer:
        """The snapshot to answer from and the key header's grant, or the 503/401/402 answer."""
        active = self.state.current
        if active is None:
            return NOT_READY
        grant = self.authorize_header(active.snapshot, header, decode)
        return grant if isinstance(grant, Answer) else (active.snapshot, grant)

    def authorize(self, snapshot: Snapshot, key: Key | None) -> Grant | Answer:
        """The key's grant, or the 401/402 answer."""
        return authorize(snapshot, key, self.clock())

    async def write_event(self, event: Event) -> bool:
        """Append ``event`` before the caller answers (a group commit); False if it was not kept."""
        if self.events is None:
            return False
        return await self.events.append(event)
