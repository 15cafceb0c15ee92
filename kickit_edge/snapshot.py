"""The snapshot: the contract between the compiler and the runtime.

A snapshot file is two lines of canonical JSON (sorted keys, compact, UTF-8)::

    {"manifest": {...}}      schema version, revision, content digest, counts
    {...content...}          apps, keys: every answer pre-rendered with its ETag

The digest is the SHA-256 of the content line's exact bytes, so a reader
verifies integrity without re-serializing anything, and the same config gives
the same bytes. :func:`load_snapshot` turns the bytes into immutable indexes in
which every check is a dict lookup returning a prebuilt :class:`Answer`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from .errors import SnapshotError
from .versions import InvalidVersion, VersionKey, version_key

__all__ = [
    "SCHEMA_VERSION", "Answer", "Verdict", "Condition", "Target", "MaintenancePlan", "Minimum",
    "KeyRecord", "AppIndex", "Snapshot", "canonical_json", "render_body", "etag_of",
    "encode_snapshot", "load_snapshot", "error_answer",
]

SCHEMA_VERSION = 1

Verdict = Literal["ok", "soft", "hard", "not_found", "maintenance", "app_disabled", "error"]


class Answer(NamedTuple):
    """A complete HTTP answer: status, exact body bytes and their ETag, and why."""

    status: int
    body: bytes
    etag: str
    verdict: Verdict
    rule: str | None


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


def encode_snapshot(content: dict[str, Any], manifest: dict[str, Any]) -> bytes:
    """Write the two lines; the manifest gains the schema version and the digest."""
    body = canonical_json(content)
    head = dict(manifest, schema_version=SCHEMA_VERSION, digest="sha256:" + hashlib.sha256(body).hexdigest())
    return canonical_json({"manifest": head}) + b"\n" + body + b"\n"


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
        try:
            key = version_key(value)
        except InvalidVersion:
            return False  # a value that has no order is outside every range
        return (self.min is None or key >= self.min) and (self.below is None or key < self.below)  # type: ignore[operator]


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


class Minimum(NamedTuple):
    key: VersionKey
    v1: Answer
    v2: Answer


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
    exact_v1: dict[tuple[str, str, str], Answer]
    exact_v2: dict[tuple[str, str, str], Answer]
    minimum: dict[tuple[str, str], Minimum]
    targets: tuple[Target, ...]
    maintenance: dict[str, MaintenancePlan]


@dataclass(frozen=True, slots=True)
class Snapshot:
    manifest: dict[str, Any]
    apps: dict[str, AppIndex]
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


def _answer(entry: list[Any], status: int, verdict: Verdict, rule: str | None) -> Answer:
    body, etag = entry
    return Answer(status, body.encode("utf-8"), etag, verdict, rule)


def _condition(raw: dict[str, Any] | None) -> Condition | None:
    if raw is None:
        return None
    values = frozenset(raw["in"]) if raw.get("in") is not None else None
    low = version_key(raw["min"]) if raw.get("min") is not None else None
    high = version_key(raw["below"]) if raw.get("below") is not None else None
    return Condition(values, low, high)


def _optional_set(raw: list[str] | None) -> frozenset[str] | None:
    return frozenset(raw) if raw is not None else None


def _app_index(app_id: str, raw: dict[str, Any]) -> AppIndex:
    exact_v1: dict[tuple[str, str, str], Answer] = {}
    exact_v2: dict[tuple[str, str, str], Answer] = {}
    for platform, by_env in raw["exact"].items():
        for environment, by_version in by_env.items():
            for version, record in by_version.items():
                verdict: Verdict = "hard" if record["force"] else "soft"
                key = (platform, environment, version)
                exact_v1[key] = _answer(record["v1"], 200, verdict, record["rule"])
                exact_v2[key] = _answer(record["v2"], 200, verdict, record["rule"])
    minimum: dict[tuple[str, str], Minimum] = {}
    for platform, by_env in raw["minimum"].items():
        for environment, record in by_env.items():
            verdict = "hard" if record["force"] else "soft"
            minimum[(platform, environment)] = Minimum(
                version_key(record["version"]),
                _answer(record["v1"], 200, verdict, record["rule"]),
                _answer(record["v2"], 200, verdict, record["rule"]),
            )
    targets = tuple(
        Target(
            t["id"], t["rule"], t["hard"], t["message"],
            _optional_set(t["platforms"]), _optional_set(t["environments"]),
            _condition(t["version"]), _condition(t["build"]), _condition(t["os_version"]),
            tuple(sorted(t["pinned"].items())),
        )
        for t in raw["targets"]
    )
    maintenance = {}
    for environment, plan in raw["maintenance"].items():
        switch = plan["switch"]
        maintenance[environment] = MaintenancePlan(
            _answer(switch["body"], 200, "maintenance", switch["rule"]) if switch else None,
            tuple((w["start"], w["end"], _answer(w["body"], 200, "maintenance", w["rule"])) for w in plan["windows"]),
        )
    return AppIndex(
        app_id, raw["name"], raw["uuid"], raw["disabled"], tuple(raw["platforms"]), tuple(raw["environments"]),
        exact_v1, exact_v2, minimum, targets, maintenance,
    )


def load_snapshot(data: bytes) -> Snapshot:
    """Parse and verify a snapshot; raise :class:`SnapshotError` saying what is wrong.

    Everything is checked before anything is returned, so a caller that swaps
    only on success can never serve half of a snapshot.
    """
    if not data:
        raise SnapshotError("snapshot is empty")
    head, sep, rest = data.partition(b"\n")
    body = rest[:-1] if rest.endswith(b"\n") else rest
    if not sep or not body:
        raise SnapshotError("snapshot is truncated: expected a manifest line and a content line")
    try:
        manifest = json.loads(head)["manifest"]
        if not isinstance(manifest, dict):
            raise TypeError("manifest is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"snapshot manifest is not valid: {exc}") from None
    schema = manifest.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise SnapshotError(f"snapshot schema version is {schema!r}; this build reads version {SCHEMA_VERSION}")
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if manifest.get("digest") != digest:
        raise SnapshotError(f"snapshot content does not match its digest (expected {manifest.get('digest')}, got {digest})")
    try:
        content = json.loads(body)
        apps = {app_id: _app_index(app_id, raw) for app_id, raw in content["apps"].items()}
        keys = {
            prefix: KeyRecord(k["app"], k["sha256"], _optional_set(k["environments"]), k["expires"])
            for prefix, k in content["keys"].items()
        }
        off = _answer(content["maintenance_off"], 200, "ok", None)
    except (ValueError, KeyError, TypeError, AttributeError, InvalidVersion) as exc:
        raise SnapshotError(f"snapshot content is not valid: {type(exc).__name__}: {exc}") from None
    for prefix, record in keys.items():
        if record.app not in apps:
            raise SnapshotError(f"snapshot key {prefix} names unknown app {record.app!r}")
    return Snapshot(manifest, apps, keys, off, len(data))
