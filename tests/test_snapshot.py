"""Snapshot verification: every kind of damaged snapshot is refused with a reason."""

from __future__ import annotations

import hashlib
import json

import pytest

from kickit_edge.compiler.compile import compile_config
from kickit_edge.errors import SnapshotError
from kickit_edge.snapshot import load_snapshot
from tests.conftest import DEMO_CONFIG


@pytest.fixture(scope="module")
def good() -> bytes:
    return compile_config(str(DEMO_CONFIG), revision="r").data


def reseal(manifest_line: bytes, body: bytes) -> bytes:
    """A snapshot whose digest matches a changed body (to reach the checks after the digest)."""
    manifest = json.loads(manifest_line)["manifest"]
    manifest["digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
    return json.dumps({"manifest": manifest}).encode() + b"\n" + body


def test_good_snapshot_loads_and_builds_every_app(good: bytes) -> None:
    snapshot = load_snapshot(good)
    snapshot.apps.build_all()
    assert list(snapshot.apps) == ["demo"] and "demo" in snapshot.apps and len(snapshot.apps) == 1
    assert snapshot.revision == "r" and snapshot.size == len(good)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: b"", "snapshot is empty"),
    (lambda d: d.split(b"\n")[0], "snapshot is truncated: expected a manifest line and a header line"),
    (lambda d: d[: len(d) // 2], "snapshot content does not match its digest"),
    (lambda d: b"{not json\n" + d.split(b"\n", 1)[1], "snapshot manifest is not valid: "),
    (lambda d: d.replace(b'"schema_version":1', b'"schema_version":2', 1),
     "snapshot schema version is 2; this build reads version 1"),
    (lambda d: d.replace(b"A new version is available.", b"A new version is available!"),
     "snapshot content does not match its digest"),
    (lambda d: reseal(d.split(b"\n")[0], b"\n".join(d.split(b"\n")[1:2]) + b"\n"),
     "snapshot is truncated: 1 apps announced, 0 found"),
    (lambda d: reseal(d.split(b"\n")[0], d.split(b"\n", 1)[1] + b"{}\n"), "snapshot has data after its last app"),
    (lambda d: reseal(d.split(b"\n")[0], b'{"apps":[]}\n'), "snapshot header is not valid: KeyError: 'keys'"),
])
def test_damaged_snapshots_are_refused(good: bytes, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SnapshotError) as error:
        load_snapshot(damage(good))
    assert str(error.value).startswith(message)


def test_an_app_line_that_does_not_parse_is_reported_on_use(good: bytes) -> None:
    manifest, header, app = good.split(b"\n")[:3]
    snapshot = load_snapshot(reseal(manifest, header + b"\n" + app[:-5] + b"\n"))
    with pytest.raises(SnapshotError, match="snapshot app 'demo' is not valid: JSONDecodeError"):
        snapshot.apps["demo"]
