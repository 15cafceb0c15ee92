"""An app's exact-version answers, held compactly: memory proportional to the policy.

A 10,000-app policy has about a million exact version records, each with a v1
and a v2 body and their ETags. As a dict of :class:`~kickit_edge.snapshot.Answer`
per record that is ~1.1 KB a record (1.5 GiB a worker), most of it object
headers around 300 bytes of body. Here one app's bodies are one ``bytes``, the
ETags one ``bytes`` of raw MD5 digests, the body boundaries one ``array``, and
the lookup a dict per (platform, environment) from the version string to a row:
about the size of the bodies themselves.

A lookup of a record not asked for lately rebuilds its :class:`Answer` from
the row (a slice of the bodies, the ETag's hex, the rule's name), about a
microsecond; nothing is parsed or hashed per request, and the answers asked
for lately are found with one dict lookup. The table is immutable once built.

:class:`ExactAnswers` is the read-only view for one API version, a
``Mapping[(platform, environment, version), Answer]`` like the dicts it
replaces.
"""

from __future__ import annotations

import re
import sys
from array import array
from itertools import accumulate
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from .snapshot import Answer
from .vocabulary import exact_rule

__all__ = ["ExactTable", "ExactAnswers", "build_exact"]

_ETAGS = re.compile(r'(?:"[0-9a-f]{32}")*')

Key = tuple[str, str, str]

# Built answers an ExactAnswers view keeps (per app and API version).
RECENT = 16


class ExactTable:
    """The rows of one app: per row a force flag, a v1 and a v2 body, and their ETags."""

    __slots__ = ("_rows", "_bodies", "_bounds", "_tags", "_force")

    def __init__(self, rows: dict[str, dict[str, dict[str, int]]], bodies: bytes, bounds: array[int],
                 tags: bytes, force: bytes) -> None:
        self._rows = rows  # platform -> environment -> version -> row
        self._bodies = bodies
        self._bounds = bounds  # per row: start of v1, start of v2 (= end of v1); then the end of the last
        self._tags = tags  # per row: MD5 of v1, MD5 of v2 (16 bytes each)
        self._force = force

    def row(self, platform: str, environment: str, version: str) -> int:
        """The row of a record, or -1."""
        by_env = self._rows.get(platform)
        if by_env is None:
            return -1
        by_version = by_env.get(environment)
        if by_version is None:
            return -1
        return by_version.get(version, -1)

    def answer(self, row: int, api: Literal[1, 2], platform: str, environment: str, version: str) -> Answer:
        at = 2 * row + api - 1
        bounds, tag = self._bounds, 16 * at
        body = self._bodies[bounds[at]:bounds[at + 1]]
        etag = '"' + self._tags[tag:tag + 16].hex() + '"'
        verdict: Literal["hard", "soft"] = "hard" if self._force[row] else "soft"
        return Answer(200, body, etag, verdict, exact_rule(platform, environment, version))

    def keys(self) -> Iterator[Key]:
        for platform, by_env in self._rows.items():
            for environment, by_version in by_env.items():
                for version in by_version:
                    yield platform, environment, version

    def __len__(self) -> int:
        return len(self._force)


class ExactAnswers(Mapping[Key, Answer]):
    """``(platform, environment, version) -> Answer`` for API version 1 or 2, read from an :class:`ExactTable`.

    The answers asked for last are kept, up to :data:`RECENT` per view (then
    the memory starts over): clients of an app run a handful of versions, so a
    request usually finds its answer with one dict lookup, and memory stays
    bounded by the policy's size, not by the traffic.
    """

    __slots__ = ("_table", "_api", "_recent")

    def __init__(self, table: ExactTable, api: Literal[1, 2]) -> None:
        self._table = table
        self._api: Literal[1, 2] = api
        self._recent: dict[Key, Answer] = {}

    def get(self, key: Key, default: Any = None) -> Any:
        answer = self._recent.get(key)
        if answer is not None:
            return answer
        platform, environment, version = key
        row = self._table.row(platform, environment, version)
        if row < 0:
            return default
        answer = self._table.answer(row, self._api, platform, environment, version)
        if len(self._recent) >= RECENT:
            self._recent.clear()
        self._recent[key] = answer  # a race between threads at worst builds the same answer twice
        return answer

    def __getitem__(self, key: Key) -> Answer:
        answer: Answer | None = self.get(key)
        if answer is None:
            raise KeyError(key)
        return answer

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        return self._table.row(*key) >= 0

    def __iter__(self) -> Iterator[Key]:
        return self._table.keys()

    def __len__(self) -> int:
        return len(self._table)


def _digests(etags: list[str]) -> bytes:
    """The raw MD5s of quoted-hex ETags, checked all at once (one regex over the joined text)."""
    joined = "".join(etags)
    if len(joined) != 34 * len(etags) or _ETAGS.fullmatch(joined) is None:
        bad = next((e for e in etags if _ETAGS.fullmatch(e) is None or len(e) != 34), joined[:40])
        raise ValueError(f"an exact answer's ETag is not a quoted MD5: {bad!r}")
    return bytes.fromhex(joined.replace('"', ""))


def build_exact(raw: dict[str, Any]) -> ExactTable:
    """The table of a snapshot app line's ``exact`` object: platform -> environment -> version -> record.

    A record is ``[force, v1 body, v1 ETag, v2 body, v2 ETag]``. Raises
    ValueError, TypeError or AttributeError on anything else.
    """
    rows: dict[str, dict[str, dict[str, int]]] = {}
    bodies: list[str] = []
    etags: list[str] = []
    force = bytearray()
    for platform, by_env in raw.items():
        platform_rows = rows.setdefault(sys.intern(platform), {})
        for environment, by_version in by_env.items():
            env_rows = platform_rows.setdefault(sys.intern(environment), {})
            for version, (forced, v1, v1_etag, v2, v2_etag) in by_version.items():
                if type(forced) is not bool or type(v1) is not str or type(v2) is not str:
                    raise TypeError(f"exact record {version!r} is not [force, v1, etag, v2, etag]")
                env_rows[version] = len(force)
                force.append(forced)
                bodies += (v1, v2)
                etags += (v1_etag, v2_etag)
    text = "".join(bodies)
    # str.isascii() reads a flag: then a body's length in characters is its length in bytes.
    lengths = map(len, bodies) if text.isascii() else (len(body.encode("utf-8")) for body in bodies)
    bounds = array("I", accumulate(lengths, initial=0))
    return ExactTable(rows, text.encode("utf-8"), bounds, _digests(etags), bytes(force))
