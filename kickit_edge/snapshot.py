"""The snapshot: the contract between the compiler and the runtime.

A snapshot file is lines of canonical JSON (sorted keys, compact, UTF-8)::

    {"manifest": {...}}                     schema version, revision, digest, counts
    {"apps": [ids], "keys": {...}, ...}     the header: app ids in line order, keys
    {...app...}                             one line per app, in the header's order
    ...

Every answer an app can give that does not echo the client is pre-rendered in
its line with its ETag. The digest is the SHA-256 of everything after the
manifest line, so a reader verifies integrity without re-serializing, and the
same config gives the same bytes.

:mod:`kickit_edge.loader` reads a snapshot back into the loaded form below,
verifying all of it first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .versions import VersionKey, orderable_key
from .vocabulary import Verdict

__all__ = [
    "SCHEMA_VERSION", "SNAPSHOT_FILE", "Answer", "Condition", "condition_covers", "TargetRequest", "Target",
    "MaintenancePlan", "Minimum", "AppView", "KeyRecord", "AppIndex", "Snapshot", "canonical_json", "render_body",
    "etag_of", "encode_snapshot", "error_answer",
]

SCHEMA_VERSION = 1
# The name of the current snapshot in a published folder: the compiler publishes it, the edge follows it.
SNAPSHOT_FILE = "snapshot.json"


class Answer(NamedTuple):
    """A complete HTTP answer: status, exact body bytes and their ETag, and why."""

    status: int
    body: bytes
    etag: str
    verdict: Verdict
    rule: str | None
    hard_from: str | None = None  # a soft answer's deadline (ISO 8601), sent as X-Kickit-Hard-From


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the snapshot's byte-stable encoding."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def render_body(value: Any) -> bytes:
    """A wire body: compact JSON in the field order of the seed (not sorted)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def etag_of(body: bytes) -> str:
    """Strong ETag: the quoted MD5 of the exact body bytes, as the AppCockpit seed says."""
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def error_answer(status: int, text: str, verdict: Verdict = "error") -> Answer:
    body = render_body({"error": text})
    return Answer(status, body, etag_of(body), verdict, None)


def encode_snapshot(header: dict[str, Any], apps: Iterable[tuple[str, dict[str, Any]]],
                    manifest: dict[str, Any], seal: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> bytes:
    """Write the snapshot; the manifest gains the schema version and the digest (then ``seal``: a signature).

    ``apps`` yields (id, app content) sorted by id; it is consumed one app at a
    time, so a big config never holds every rendered app at once.
    """
    return encode_lines(header, ((app_id, canonical_json(content)) for app_id, content in apps), manifest, seal)


def encode_lines(header: dict[str, Any], apps: Iterable[tuple[str, bytes]], manifest: dict[str, Any],
                 seal: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> bytes:
    """:func:`encode_snapshot` of apps already encoded, each as its :func:`canonical_json`."""
    ids: list[str] = []
    lines: list[bytes] = [b""]  # the header goes first, once every id is known
    for app_id, line in apps:
        if ids and app_id <= ids[-1]:
            raise ValueError(f"apps must come sorted by id: {app_id!r} after {ids[-1]!r}")
        ids.append(app_id)
        lines.append(line)
    lines[0] = canonical_json(dict(header, apps=ids))
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
    head = dict(manifest, schema_version=SCHEMA_VERSION, digest="sha256:" + digest.hexdigest())
    if seal is not None:
        head = seal(head)
    lines.insert(0, canonical_json({"manifest": head}))
    lines.append(b"")
    return b"\n".join(lines)  # one copy of a possibly large body, not three


# --- the loaded form -------------------------------------------------------


class Condition(NamedTuple):
    """One target condition: exact strings and/or a ``[min, below)`` version range."""

    values: frozenset[str] | None
    min: VersionKey | None
    below: VersionKey | None

    def accepts(self, value: str) -> bool:
        if self.values is not None and value not in self.values:
            return False
        if self.min is None and self.below is None:
            return True
        key = orderable_key(value)
        if key is None:
            return False  # a value that has no order is outside every range
        return (self.min is None or key >= self.min) and (self.below is None or key < self.below)


def condition_covers(wide: Condition | None, narrow: Condition | None) -> bool:
    """Whether ``wide`` accepts every value ``narrow`` accepts; False when that is not certain.

    ``None`` is no condition: it accepts everything. The compiler asks this to
    find targets that can never match; review, to find targets that force more
    clients than before.
    """
    if wide is None:
        return True
    if narrow is None:
        return False
    if narrow.values is not None:
        return all(wide.accepts(v) or not narrow.accepts(v) for v in narrow.values)
    if wide.values is not None:
        return False
    low_ok = wide.min is None or (narrow.min is not None and narrow.min >= wide.min)
    high_ok = wide.below is None or (narrow.below is not None and narrow.below <= wide.below)
    return low_ok and high_ok


class TargetRequest(NamedTuple):
    """What a KickIt client told us; ``None`` where it sent nothing."""

    version: str | None = None
    build: str | None = None
    platform: str | None = None
    os_version: str | None = None
    environment: str | None = None


# A target's conditions, compiled for the hot path: (index in TargetRequest, test),
# the test being a set of allowed strings or a Condition.
TargetCheck = tuple[int, "frozenset[str] | Condition"]


class Target(NamedTuple):
    id: str
    rule: str
    hard: bool
    message: str
    platforms: frozenset[str] | None
    environments: frozenset[str] | None
    version: Condition | None
    build: Condition | None
    os_version: Condition | None
    # Values the target pins to one choice, as sorted pairs; they complete target_meta.
    pinned: tuple[tuple[str, str], ...]
    checks: tuple[TargetCheck, ...]
    # Releases: the OS a client needs (per platform) to comply; the text (soft) for one on an older OS.
    os_gates: dict[str, VersionKey] | None = None
    os_message: str | None = None
    hard_from: str | None = None  # soft until then
    # The message in every locale it has, as sorted (locale, text) pairs (OFREP picks the client's).
    texts: tuple[tuple[str, str], ...] = ()


class Minimum(NamedTuple):
    key: VersionKey
    v1: Answer
    v2: Answer
    os_gate: VersionKey | None = None  # an older OS cannot install a satisfying release: os_v1/os_v2 (soft)
    os_v1: Answer | None = None
    os_v2: Answer | None = None


class AppView(NamedTuple):  # an app's upgrade rules in one interval of time (see AppIndex.changes)
    minimum: dict[tuple[str, str], Minimum]
    targets: tuple[Target, ...]
    base: int  # where this view's target answers start in the answer cache's slot numbers


class MaintenancePlan(NamedTuple):
    switch: Answer | None
    # (start, end, answer), sorted by start; epoch seconds, end exclusive.
    windows: tuple[tuple[float, float, Answer], ...]


class KeyRecord(NamedTuple):
    app: str
    sha256: str
    environments: frozenset[str] | None
    expires: float | None


@dataclass(frozen=True, slots=True)
class AppIndex:
    id: str
    name: str
    uuid: str
    disabled: bool
    platforms: tuple[str, ...]
    environments: tuple[str, ...]
    exact_v1: Mapping[tuple[str, str, str], Answer]  # compact: see kickit_edge.exact
    exact_v2: Mapping[tuple[str, str, str], Answer]
    minimum: dict[tuple[str, str], Minimum]
    targets: tuple[Target, ...]
    maintenance: dict[str, MaintenancePlan]
    # Target answers echo the client, so they are rendered on first use and
    # kept here (bounded by the evaluation module); clients repeat themselves.
    target_answers: dict[tuple[int, tuple[str | None, ...]], Answer] = field(default_factory=dict)
    # Rules that change with time: views[0] before changes[0], views[i] from changes[i-1] on (epoch seconds).
    changes: tuple[float, ...] = ()
    views: tuple[AppView, ...] = ()
    default_locale: str = ""
    # Platform -> the app's store page (OFREP hands it to clients with an upgrade).
    store_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    manifest: dict[str, Any]
    apps: Mapping[str, AppIndex]
    keys: dict[str, KeyRecord]
    maintenance_off: Answer
    size: int

    @property
    def digest(self) -> str:
        return str(self.manifest["digest"])

    @property
    def id(self) -> str:
        return self.digest.removeprefix("sha256:")[:16]

    @property
    def revision(self) -> str | None:
        revision = self.manifest.get("revision")
        return str(revision) if revision is not None else None
