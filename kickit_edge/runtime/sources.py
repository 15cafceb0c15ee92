"""Where snapshots come from: a watched folder, or an HTTP(S) URL polled with ``If-None-Match``.

A source only fetches bytes and hands them to
:meth:`~kickit_edge.runtime.state.SnapshotState.offer`, which verifies them
and decides. Both sources share the contract:

``refresh()``  read once now (blocking; run it in a thread), return the outcome
``run()``      follow changes until the stop event is set

**Folder.** The file is ``<folder>/snapshot.json``. The *folder* is watched
(watchfiles), not the file: a publisher's ``os.replace`` and a Kubernetes
ConfigMap's ``..data`` symlink swap both replace the file rather than write
into it, so a watch on the old file would go quiet. Any event in the folder
triggers a look at the file: its first line (the manifest, which carries the
content digest) and its size are compared with those of the file last
offered, so an unchanged snapshot of hundreds of megabytes is not read again;
otherwise the whole file is read and offered, and the digest decides whether
the snapshot changed. When file events are
unavailable (no inotify, network file systems) or ``watch="poll"``, the file's
``stat`` is polled instead. Either way the file is re-read every
``resync_interval`` seconds, because events and ``stat`` can both lie on
network and container file systems.

**URL.** Polled every ``poll_interval`` seconds with the last ``ETag`` in
``If-None-Match``; a ``304`` costs one round trip. Fetch failures are
reported like rejections and the current snapshot keeps serving. The URL's
query string (often a signature) is never logged or shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Literal, Protocol

from ..snapshot import SNAPSHOT_FILE
from .state import Outcome, SnapshotState

__all__ = ["Source", "FolderSource", "UrlSource", "SNAPSHOT_FILE", "redact_url"]

log = logging.getLogger("kickit_edge.runtime")

# A manifest line is a few hundred bytes; a file without a line break this early is not a snapshot.
MANIFEST_LIMIT = 64 * 1024

Mode = Literal["watchfiles", "polling", "http"]


class Source(Protocol):
    kind: str
    location: str
    mode: Mode

    def refresh(self) -> Outcome: ...

    async def run(self, stop: asyncio.Event) -> None: ...


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True if the stop event was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


class FolderSource:
    kind = "folder"

    def __init__(self, state: SnapshotState, folder: str | os.PathLike[str], *,
                 watch: Literal["auto", "poll"] = "auto", poll_interval: float = 1.0,
                 resync_interval: float = 30.0) -> None:
        self.state = state
        self.folder = Path(folder)
        self.path = self.folder / SNAPSHOT_FILE
        self.location = str(self.path)
        self.mode: Mode = "watchfiles" if watch == "auto" else "polling"
        self.poll_interval = poll_interval
        self.resync_interval = resync_interval
        # (manifest line, size) of the file last offered, or the last read error.
        self._seen: tuple[bytes, int] | str | None = None

    def refresh(self) -> Outcome:
        """Read the file and offer it, unless it is the same as last time."""
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                seen = (handle.readline(MANIFEST_LIMIT), size)
                if seen == self._seen:
                    return "unchanged"
                data = seen[0] + handle.read()
        except OSError as exc:
            error = f"cannot read {self.path}: {exc.strerror or exc}"
            if self._seen == error:
                return "unchanged"  # report a missing file once, not on every poll
            self._seen = error
            self.state.reject(error, self.location)
            return "rejected"
        self._seen = seen
        return self.state.offer(data, self.location)

    async def run(self, stop: asyncio.Event) -> None:
        if self.mode == "watchfiles":
            try:
                await self._watch(stop)
                return
            except Exception as exc:  # noqa: BLE001 - any failure of the watcher means: poll instead
                if stop.is_set():
                    return
                log.warning("file events unavailable for %s (%s: %s); polling every %ss",
                            self.folder, type(exc).__name__, exc, self.poll_interval)
                self.mode = "polling"
        await self._poll(stop)

    async def _watch(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        # rust_timeout + yield_on_timeout: an empty batch every resync_interval
        # is the periodic re-read, in the same loop as the events.
        async for _changes in awatch(self.folder, stop_event=stop, debounce=200, step=20,
                                     rust_timeout=int(self.resync_interval * 1000), yield_on_timeout=True):
            await asyncio.to_thread(self.refresh)

    def _signature(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)  # follows the ..data symlink of a ConfigMap
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    async def _poll(self, stop: asyncio.Event) -> None:
        signature = self._signature()
        last_read = time.monotonic()
        while not await _sleep_or_stop(stop, self.poll_interval):
            now = self._signature()
            if now != signature or time.monotonic() - last_read >= self.resync_interval:
                signature, last_read = now, time.monotonic()
                await asyncio.to_thread(self.refresh)


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: what may be logged."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class UrlSource:
    kind = "url"
    mode: Mode = "http"

    def __init__(self, state: SnapshotState, url: str, *, poll_interval: float = 1.0, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            from ..errors import OperatorError

            raise OperatorError(f"--snapshot-url: expected an http:// or https:// URL, got {redact_url(url)!r}")
        self.state = state
        self.url = url
        self.location = redact_url(url)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._etag: str | None = None
        self._error: str | None = None
        self.failures = 0  # fetches that failed, each counted (the log reports a new error once)

    def refresh(self) -> Outcome:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        if self._etag is not None:
            request.add_header("If-None-Match", self._etag)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked
                data = response.read()
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return "unchanged"
            return self._failed(f"cannot fetch {self.location}: HTTP {exc.code} {exc.reason}")
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets, bad chunking
            reason = getattr(exc, "reason", exc)
            return self._failed(f"cannot fetch {self.location}: {reason}")
        self._error = None
        # Remember the ETag even when the snapshot is bad: the same bad bytes
        # are not downloaded and rejected again every second.
        self._etag = etag
        return self.state.offer(data, self.location)

    def _failed(self, error: str) -> Outcome:
        self.failures += 1
        if error == self._error:
            return "unchanged"
        self._error = error
        self.state.reject(error, self.location)
        return "rejected"

    async def run(self, stop: asyncio.Event) -> None:
        while not await _sleep_or_stop(stop, self.poll_interval):
            await asyncio.to_thread(self.refresh)
