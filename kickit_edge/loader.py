"""Loading a snapshot: read line by line, hash every line, build every app, then hand it over.

:func:`read_snapshot` reads from a file or any binary stream (a download
spooled to disk), a MiB at a time; :func:`load_snapshot` reads bytes already
in memory, in place. Each line is hashed as it is read and each app line is
turned at once into its immutable indexes (:func:`kickit_edge.appline.app_index`),
then dropped.
So a load holds the indexes it built plus one line, never the raw file and a
copy of it, and nothing is returned until the manifest (schema version, and a
signature when the caller checks one), the digest, the header, every app line
and every index have been checked: one bad line rejects the whole snapshot.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

from .appline import MALFORMED, answer_of, app_index, strings
from .errors import SnapshotError
from .snapshot import SCHEMA_VERSION, Answer, AppIndex, KeyRecord, Snapshot

__all__ = ["MANIFEST_LIMIT", "ManifestCheck", "read_snapshot", "load_snapshot", "read_head"]

# A manifest line is a few hundred bytes; a file without a line break this early is not a snapshot.
MANIFEST_LIMIT = 64 * 1024


ManifestCheck = Callable[[dict[str, Any]], None]


def _manifest(head: bytes) -> dict[str, Any]:
    if not head.endswith(b"\n"):
        if len(head) >= MANIFEST_LIMIT:
            raise SnapshotError(f"snapshot manifest line is longer than {MANIFEST_LIMIT} bytes: not a snapshot")
        raise SnapshotError("snapshot is truncated: expected a manifest line and a header line")
    try:
        manifest = json.loads(head)["manifest"]
        if not isinstance(manifest, dict):
            raise TypeError("manifest is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"snapshot manifest is not valid: {exc}") from None
    schema = manifest.get("schema_version")
    if type(schema) is not int or schema != SCHEMA_VERSION:  # `true == 1` in Python, not here
        raise SnapshotError(f"snapshot schema version is {json.dumps(schema)}; this build reads version {SCHEMA_VERSION}")
    if not isinstance(manifest.get("digest"), str):
        raise SnapshotError("snapshot manifest has no digest")
    return manifest


def _key_record(raw: dict[str, Any]) -> KeyRecord:
    app, sha256, expires = raw["app"], raw["sha256"], raw["expires"]
    if type(app) is not str or type(sha256) is not str or len(sha256) != 64:
        raise TypeError("a key needs an app and a SHA-256")
    if expires is not None and type(expires) not in (int, float):
        raise TypeError("a key's expiry is not a number")
    environments = raw["environments"]
    return KeyRecord(app, sha256, None if environments is None else frozenset(strings(environments, "environments")),
                     expires)


def _header(line: bytes) -> tuple[list[str], dict[str, KeyRecord], Answer]:
    try:
        header = json.loads(line)
        ids = header["apps"]
        strings(ids, "apps")
        keys = {prefix: _key_record(k) for prefix, k in header["keys"].items()}
        return ids, keys, answer_of(header["maintenance_off"], 200, "ok", None)
    except MALFORMED as exc:
        raise SnapshotError(f"snapshot header is not valid: {type(exc).__name__}: {exc}") from None


class _Lines:
    """The lines of a stream, read in chunks of a MiB (``readline`` of a buffered file is slow on long lines)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = b""
        self._at = 0

    def readline(self, limit: int | None = None) -> bytes:
        """The next line with its line break; at the end, what is left (no line break); ``b""`` after that."""
        while True:
            end = self._buffer.find(b"\n", self._at)
            if end >= 0 and (limit is None or end - self._at < limit):
                line, self._at = self._buffer[self._at:end + 1], end + 1
                return line
            if limit is not None and len(self._buffer) - self._at >= limit:
                return self._buffer[self._at:self._at + limit]
            chunk = self._stream.read(1 << 20)
            if not chunk:
                line, self._buffer, self._at = self._buffer[self._at:], b"", 0
                return line
            self._buffer, self._at = self._buffer[self._at:] + chunk, 0

    def rest(self) -> Iterator[bytes]:
        """Whatever has not been read yet, in chunks."""
        if self._at < len(self._buffer):
            yield self._buffer[self._at:]
        self._buffer, self._at = b"", 0
        while chunk := self._stream.read(1 << 20):
            yield chunk


def _apps(stream: _Lines, ids: list[str], digest: Any) -> tuple[dict[str, AppIndex], int, str | None]:
    """Build every app from its line; (apps, bytes read, the first problem). Hashes every line it reads."""
    apps: dict[str, AppIndex] = {}
    size = 0
    for app_id in ids:
        line = stream.readline()
        digest.update(line)
        size += len(line)
        if not line.endswith(b"\n"):
            return apps, size, f"snapshot is truncated: {len(ids)} apps announced, {len(apps)} found"
        try:
            apps[sys.intern(app_id)] = app_index(app_id, json.loads(line))
        except MALFORMED as exc:
            return apps, size, f"snapshot app {app_id!r} is not valid: {type(exc).__name__}: {exc}"
    return apps, size, None


def read_snapshot(source: IO[bytes], check_manifest: ManifestCheck | None = None) -> Snapshot:
    """Read, parse and verify a snapshot from ``stream``; raise :class:`SnapshotError` saying what is wrong.

    ``check_manifest`` (a signature check) sees the manifest before the rest
    is read. A digest that does not match is the reason given whatever else is
    wrong: the bytes are not what was published. A caller that swaps only on
    success never serves a truncated, altered or malformed snapshot.
    """
    stream = _Lines(source)
    head = stream.readline(MANIFEST_LIMIT)
    if not head:
        raise SnapshotError("snapshot is empty")
    manifest = _manifest(head)
    if check_manifest is not None:
        check_manifest(manifest)
    digest = hashlib.sha256()
    line = stream.readline()
    if not line:
        raise SnapshotError("snapshot is truncated: expected a manifest line and a header line")
    digest.update(line)
    size = len(head) + len(line)
    apps: dict[str, AppIndex] = {}
    keys: dict[str, KeyRecord] = {}
    off: Answer | None = None
    try:
        ids, keys, off = _header(line)
    except SnapshotError as exc:
        problem: str | None = str(exc)
    else:
        apps, read, problem = _apps(stream, ids, digest)
        size += read
    extra = False
    for chunk in stream.rest():  # the rest still counts for the digest
        digest.update(chunk)
        size += len(chunk)
        extra = True
    actual = "sha256:" + digest.hexdigest()
    if manifest["digest"] != actual:
        raise SnapshotError(f"snapshot content does not match its digest (expected {manifest['digest']}, got {actual})")
    if problem is not None or off is None:
        raise SnapshotError(problem)
    if extra:
        raise SnapshotError("snapshot has data after its last app")
    for prefix, record in keys.items():
        if record.app not in apps:
            raise SnapshotError(f"snapshot key {prefix} names unknown app {record.app!r}")
    return Snapshot(manifest, apps, keys, off, size)


def load_snapshot(data: bytes, check_manifest: ManifestCheck | None = None) -> Snapshot:
    """:func:`read_snapshot` of bytes in memory (read in place, not copied)."""
    return read_snapshot(io.BytesIO(data), check_manifest)


def read_head(data: bytes) -> tuple[dict[str, Any], list[str], dict[str, KeyRecord], Answer]:
    """The manifest and the header of snapshot bytes, checked as :func:`read_snapshot` checks them:
    (manifest, app ids, keys, the answer of no maintenance). The apps and the digest are the caller's."""
    stream = _Lines(io.BytesIO(data))
    manifest = _manifest(stream.readline(MANIFEST_LIMIT))
    ids, keys, off = _header(stream.readline())
    return manifest, ids, keys, off
