"""Where snapshots come from: a watched folder (here) or an HTTP(S) URL (:mod:`.origin`).

A source only fetches a snapshot and hands it to
:meth:`~kickit_edge.runtime.state.SnapshotState.offer`, which verifies it and
decides. Every source has the contract:

``refresh()``     read once now (blocking; run it in a thread), return the outcome; never raises
``run()``         follow changes until the stop event is set; never ends on an error
``last_success``  when (epoch seconds) the source was last read successfully, for staleness on /status

**Folder.** The file is ``<folder>/snapshot.json``. The *folder* is watched
(watchfiles), not the file: a publisher's ``os.replace`` and a Kubernetes
ConfigMap's ``..data`` symlink swap both replace the file rather than write
into it, so a watch on the old file would go quiet. A folder deleted and made
again is a new folder to the kernel: the watch is started again on it. Any
event triggers a look at the file: its first line (the manifest, which
carries the content digest), size, mtime and inode are compared with those of
the file last read successfully, so an unchanged snapshot of hundreds of
megabytes is not read again; a file that was rejected is read again on the
next look, whatever it looks like. When file events are unavailable (no
inotify, network file systems) or ``watch="poll"``, the file's ``stat`` is
polled instead. Either way the file is re-read every ``resync_interval``
seconds, because events and ``stat`` can both lie on network and container
file systems.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Literal, Protocol

from ..loader import MANIFEST_LIMIT
from ..snapshot import SNAPSHOT_FILE
from .state import Outcome, SnapshotState

__all__ = ["Source", "FolderSource", "sleep_or_stop"]

log = logging.getLogger("kickit_edge.runtime")


Mode = Literal["watchfiles", "polling", "http"]


class Source(Protocol):
    kind: str
    location: str
    mode: Mode
    last_success: float | None

    def refresh(self) -> Outcome: ...

    async def run(self, stop: asyncio.Event) -> None: ...


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
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
        self.last_success: float | None = None
        # (manifest line, size, mtime, inode) of the file last read successfully, or the last read error.
        self._seen: tuple[bytes, int, int, int] | str | None = None

    def refresh(self) -> Outcome:
        """Read the file and offer it, unless it is the same as last time."""
        try:
            with open(self.path, "rb") as handle:
                st = os.fstat(handle.fileno())
                seen = (handle.readline(MANIFEST_LIMIT), st.st_size, st.st_mtime_ns, st.st_ino)
                if seen == self._seen:
                    self.last_success = time.time()
                    return "unchanged"
                handle.seek(0)
                outcome = self.state.offer(handle, self.location)
        except OSError as exc:
            error = f"cannot read {self.path}: {exc.strerror or exc}"
            if self._seen == error:
                return "unchanged"  # report a missing file once, not on every poll
            self._seen = error
            self.state.reject(error, self.location)
            return "rejected"
        # A rejected file is looked at again next time, even if it seems not to have changed.
        self._seen = None if outcome == "rejected" else seen
        if outcome != "rejected":
            self.last_success = time.time()
        return outcome

    async def run(self, stop: asyncio.Event) -> None:
        while self.mode == "watchfiles" and not stop.is_set():
            try:
                await self._watch(stop)
            except Exception as exc:  # noqa: BLE001 - any failure of the watcher means: poll instead
                if stop.is_set():
                    return
                if not self.folder.is_dir():
                    await self._refresh()  # reports the missing file
                    await self._poll(stop, until_folder=True)
                    continue  # the folder is back: watch it again
                log.warning("file events unavailable for %s (%s: %s); polling every %ss",
                            self.folder, type(exc).__name__, exc, self.poll_interval)
                self.mode = "polling"
        await self._poll(stop)

    async def _refresh(self) -> None:
        await asyncio.to_thread(self.refresh)

    def _folder_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.folder)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    async def _watch(self, stop: asyncio.Event) -> None:
        """Follow file events until the folder is replaced (then return) or the stop event is set."""
        from watchfiles import awatch

        folder = self._folder_id()
        if folder is None:
            raise FileNotFoundError(self.folder)
        await self._refresh()  # what changed before the watch began (a recreated folder's new file)
        last_read = time.monotonic()
        # rust_timeout + yield_on_timeout: an empty batch every poll interval lets
        # us notice a replaced folder and do the periodic re-read in this loop.
        async for changes in awatch(self.folder, stop_event=stop, debounce=200, step=20,
                                    rust_timeout=int(self.poll_interval * 1000), yield_on_timeout=True):
            if self._folder_id() != folder:
                log.warning("%s was deleted or replaced; watching it again", self.folder)
                await self._refresh()
                return
            if changes or time.monotonic() - last_read >= self.resync_interval:
                last_read = time.monotonic()
                await self._refresh()

    def _signature(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)  # follows the ..data symlink of a ConfigMap
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    async def _poll(self, stop: asyncio.Event, until_folder: bool = False) -> None:
        """Poll the file's ``stat`` (or, with ``until_folder``, wait for the folder to exist again)."""
        signature = self._signature()
        last_read = time.monotonic()
        while not await sleep_or_stop(stop, self.poll_interval):
            if until_folder:
                if self.folder.is_dir():
                    return
                continue
            now = self._signature()
            if now != signature or time.monotonic() - last_read >= self.resync_interval:
                signature, last_read = now, time.monotonic()
                await self._refresh()
