"""The URL source: a snapshot published on any HTTP(S) server, object store or CDN.

Polled every ``poll_interval`` seconds with the last ``ETag`` in
``If-None-Match`` (a ``304`` costs one round trip), ``Accept-Encoding: gzip``
and one kept-alive connection (httpx). The source never stops and never
trusts the origin:

* **Any failure is a rejected poll**: a refused connection, a bad status line,
  too many headers, a truncated body, a redirect loop, a bad snapshot. It is
  recorded on ``/status`` (logged once per distinct error, then counted) and
  the current snapshot keeps serving. After a failure the next poll comes
  sooner, then later: exponential backoff from an eighth of the poll interval,
  capped at the poll interval, with jitter so that replicas do not poll in step.
* **Bounded**: a body larger than ``max_bytes`` (after decompression) is
  refused as soon as it passes the bound, never held; one deadline
  (``deadline`` seconds) covers the whole exchange, headers and body, so an
  origin that drips or hangs is cut off. The download runs on the source's own
  event loop in a worker thread, where ``asyncio.timeout`` can interrupt any read.
* **Spooled, then verified**: the body is written to a file in ``cache_dir``
  and read from there by the loader, so a snapshot is never in memory twice.
* **The last good policy survives restarts**: a snapshot that loaded is kept
  as ``cache_dir/snapshot-<hash of the URL>.json`` (an atomic rename of the
  verified download). At cold start, if the origin fails, that copy is loaded,
  verified like any other (signature included), and served; ``/status`` says
  so (``cached``) and shows how long ago the origin last answered.

The URL's query string (often a signature) is never logged or shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import tempfile
import time
import urllib.parse
from pathlib import Path
from collections.abc import AsyncIterator
from typing import IO

import httpx2 as httpx

from ..atomicfile import sync_folder
from ..errors import OperatorError
from .sources import Mode, sleep_or_stop
from .state import Outcome, SnapshotState

__all__ = ["UrlSource", "redact_url", "backoff"]

log = logging.getLogger("kickit_edge.runtime")

CHUNK = 1 << 20
# The first download of a worker holds up its start (the server accepts no
# connection before it): it gets at most this long, so a hanging origin leaves
# the worker up (and not ready, or serving the cached copy); later polls get the full deadline.
FIRST_DEADLINE = 10.0


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: what may be logged."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


_JITTER = random.Random()


def backoff(failures: int, poll_interval: float) -> float:
    """Seconds to wait after ``failures`` failed polls in a row: poll_interval/8, /4, /2, then the interval; ±20%."""
    base = min(poll_interval, poll_interval / 8 * 2 ** max(failures - 1, 0))
    return float(base * _JITTER.uniform(0.8, 1.2))


class _Failed(Exception):
    """A poll that fetched nothing usable; the message says why (no secret in it)."""


class UrlSource:
    kind = "url"
    mode: Mode = "http"

    def __init__(self, state: SnapshotState, url: str, *, poll_interval: float = 1.0, deadline: float = 60.0,
                 max_bytes: int = 1 << 30, cache_dir: str | os.PathLike[str] | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OperatorError(f"--snapshot-url: expected an http:// or https:// URL, got {redact_url(url)!r}")
        self.state = state
        self.url = url
        self.location = redact_url(url)
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        name = "snapshot-" + hashlib.sha256(self.location.encode()).hexdigest()[:16] + ".json"
        self.cache_file = self.cache_dir / name if self.cache_dir is not None else None
        self.last_success: float | None = None
        self.failures = 0  # failed polls in a row
        self.failed_polls = 0  # every failed poll since start (the metrics' counter)
        self._etag: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    # --- one poll ---------------------------------------------------------------------

    def refresh(self) -> Outcome:
        """Poll once (blocking: call it in a thread). Never raises; at cold start falls back to the cache."""
        try:
            outcome = self._poll()
        except Exception as exc:  # noqa: BLE001 - whatever goes wrong, the source lives on
            outcome = self._failed(exc)
        if outcome == "rejected":
            self.failures += 1
            self.failed_polls += 1
            if self.state.current is None:
                self._load_cached()
        else:
            self.failures = 0
            self.last_success = time.time()
        return outcome

    def _poll(self) -> Outcome:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        spool, etag = self._loop.run_until_complete(self._download())
        if spool is None:
            return "unchanged"  # 304
        with spool:
            # Remember the ETag even when the snapshot is bad: the same bad bytes
            # are not downloaded and rejected again at every poll.
            self._etag = etag
            spool.seek(0)
            outcome = self.state.offer(spool, self.location)
            if outcome == "loaded":
                self._keep(spool)
        return outcome

    async def _download(self) -> tuple[IO[bytes] | None, str | None]:
        """GET the snapshot into a spool file, within one deadline; (None, None) on 304."""
        if self._client is None:
            limits = httpx.Limits(max_connections=1, keepalive_expiry=max(30.0, 2 * self.poll_interval))
            self._client = httpx.AsyncClient(timeout=self.deadline, limits=limits, follow_redirects=True,
                                             max_redirects=5)
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if self._etag is not None:
            headers["If-None-Match"] = self._etag
        deadline = self.deadline if self.state.current is not None else min(self.deadline, FIRST_DEADLINE)
        try:
            async with asyncio.timeout(deadline):
                async with self._open(headers) as response:
                    if response.status_code == 304:
                        return None, None
                    if response.status_code != 200:
                        raise _Failed(f"HTTP {response.status_code} {response.reason_phrase}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and "content-encoding" not in response.headers \
                            and int(declared) > self.max_bytes:
                        raise _Failed(self._too_big())
                    spool = self._spool()
                    try:
                        size = 0
                        async for chunk in response.aiter_bytes(CHUNK):
                            size += len(chunk)
                            if size > self.max_bytes:
                                raise _Failed(self._too_big())
                            spool.write(chunk)
                    except BaseException:
                        spool.close()
                        raise
                    return spool, response.headers.get("etag")
        except TimeoutError:
            raise _Failed(f"no complete answer within {deadline:g} s") from None

    @contextlib.asynccontextmanager
    async def _open(self, headers: dict[str, str]) -> AsyncIterator[httpx.Response]:
        """Send the GET; once more on a fresh connection if the kept-alive one was closed before any answer.

        An origin may close an idle keep-alive connection just as a poll reuses
        it: the request then meets a closed socket. HTTP clients retry an
        idempotent request once for this; a second failure is the origin's.
        """
        assert self._client is not None
        request = self._client.build_request("GET", self.url, headers=headers)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.RemoteProtocolError:
            response = await self._client.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    def _too_big(self) -> str:
        return f"the snapshot is larger than --max-snapshot-bytes ({self.max_bytes} bytes)"

    def _failed(self, exc: Exception) -> Outcome:
        if isinstance(exc, _Failed):
            reason = str(exc)
        else:
            text = str(exc).replace(self.url, self.location)
            reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        self.state.reject(f"cannot fetch {self.location}: {reason}", self.location)
        return "rejected"

    # --- the spool and the cached copy ------------------------------------------------

    def _spool(self) -> IO[bytes]:
        """A temporary file for a download: in the cache folder (so keeping it is a rename), else anywhere."""
        if self.cache_dir is not None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                return tempfile.NamedTemporaryFile(dir=self.cache_dir, prefix=".download-", suffix=".json")
            except OSError as exc:
                log.warning("cannot write into --cache-dir %s (%s); the last good snapshot will not "
                            "survive a restart", self.cache_dir, exc.strerror or exc)
                self.cache_dir = None
        return tempfile.TemporaryFile(prefix="kickit-download-")

    def _keep(self, spool: IO[bytes]) -> None:
        """Make the verified download the cached copy: fsync, then one rename over the old copy."""
        if self.cache_file is None or not hasattr(spool, "name") or not isinstance(spool.name, str):
            return
        try:
            spool.flush()
            os.fsync(spool.fileno())
            os.link(spool.name, tmp := f"{spool.name}.keep")
            os.replace(tmp, self.cache_file)  # the spool file itself is removed when it is closed
            sync_folder(self.cache_file.parent)
        except OSError as exc:
            log.warning("cannot keep the snapshot in %s: %s", self.cache_file, exc.strerror or exc)

    def _load_cached(self) -> None:
        """At cold start with a failing origin: serve the last good snapshot kept by an earlier run."""
        if self.cache_file is None:
            return
        try:
            handle = open(self.cache_file, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return
        except OSError as exc:
            self.state.reject(f"cannot read {self.cache_file}: {exc.strerror or exc}", str(self.cache_file))
            return
        with handle:
            source = f"{self.cache_file} (the last good snapshot from {self.location})"
            if self.state.offer(handle, source, cached=True) == "loaded":
                log.warning("the origin failed at start: serving the last good snapshot kept in %s",
                            self.cache_file)

    # --- following the origin -----------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while True:
                delay = self.poll_interval if self.failures == 0 else backoff(self.failures, self.poll_interval)
                if await sleep_or_stop(stop, delay):
                    return
                await asyncio.to_thread(self.refresh)
        finally:
            await asyncio.to_thread(self.close)

    def close(self) -> None:
        if self._loop is not None:
            if self._client is not None:
                self._loop.run_until_complete(self._client.aclose())
            self._loop.close()
            self._loop = None
            self._client = None
