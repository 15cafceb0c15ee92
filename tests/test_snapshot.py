"""Snapshot verification: every kind of damaged snapshot is refused with a reason."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from kickit_edge.compiler.compile import compile_config
from kickit_edge.errors import SnapshotError
from kickit_edge.loader import MANIFEST_LIMIT, load_snapshot, read_snapshot
from kickit_edge.snapshot import etag_of
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
    assert list(snapshot.apps) == ["demo"] and "demo" in snapshot.apps and len(snapshot.apps) == 1
    assert snapshot.revision == "r" and snapshot.size == len(good)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: b"", "snapshot is empty"),
    (lambda d: d.split(b"\n")[0], "snapshot is truncated: expected a manifest line and a header line"),
    (lambda d: d[: len(d) // 2], "snapshot content does not match its digest"),
    (lambda d: b"{not json\n" + d.split(b"\n", 1)[1], "snapshot manifest is not valid: "),
    (lambda d: d.replace(b'"schema_version":1', b'"schema_version":2', 1),
     "snapshot schema version is 2; this build reads version 1"),
    (lambda d: d.replace(b'"schema_version":1', b'"schema_version":true', 1),
     "snapshot schema version is true; this build reads version 1"),
    (lambda d: d.replace(b'"schema_version":1', b'"schema_version":1.0', 1),
     "snapshot schema version is 1.0; this build reads version 1"),
    (lambda d: b"{" * (MANIFEST_LIMIT + 1), "snapshot manifest line is longer than 65536 bytes: not a snapshot"),
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


@pytest.mark.parametrize(("damage", "message"), [
    (lambda app: app[:-5], "snapshot app 'demo' is not valid: JSONDecodeError"),
    (lambda app: app.replace(b'"disabled":false', b'"disabled":"no"'),
     "snapshot app 'demo' is not valid: TypeError: name, uuid or disabled has the wrong type"),
    (lambda app: app.replace(b'"min":null', b'"min":"not a version"', 1),
     "snapshot app 'demo' is not valid: InvalidVersion"),
    (lambda app: app.replace(b'[false,', b'[0,', 1), "snapshot app 'demo' is not valid: TypeError: exact record"),
])
def test_an_app_line_that_does_not_parse_rejects_the_whole_snapshot(good: bytes, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    manifest, header, app = good.split(b"\n")[:3]
    damaged = damage(app)
    assert damaged != app
    with pytest.raises(SnapshotError) as error:
        load_snapshot(reseal(manifest, header + b"\n" + damaged + b"\n"))
    assert str(error.value).startswith(message)


def test_the_digest_is_the_reason_when_an_altered_line_also_does_not_parse(good: bytes) -> None:
    manifest, header, app = good.split(b"\n")[:3]
    with pytest.raises(SnapshotError, match="^snapshot content does not match its digest"):
        load_snapshot(b"\n".join([manifest, header, app[:-5], b""]))


def test_a_stream_is_read_line_by_line_with_the_same_result(good: bytes) -> None:
    from_bytes = load_snapshot(good)
    from_stream = read_snapshot(io.BufferedReader(io.BytesIO(good), 64))  # type: ignore[arg-type]
    assert from_stream.digest == from_bytes.digest and from_stream.size == len(good)
    assert dict(from_stream.apps["demo"].exact_v2) == dict(from_bytes.apps["demo"].exact_v2)


def test_exact_answers_are_the_bodies_and_etags_of_the_snapshot(good: bytes) -> None:
    app_line = json.loads(good.split(b"\n")[2])
    app = load_snapshot(good).apps["demo"]
    expected = {}
    for platform, by_env in app_line["exact"].items():
        for environment, by_version in by_env.items():
            for version, (force, v1, v1_etag, v2, v2_etag) in by_version.items():
                expected[(platform, environment, version)] = (force, v1, v1_etag, v2, v2_etag)
    assert expected and set(app.exact_v1) == set(expected) == set(app.exact_v2)
    assert len(app.exact_v1) == len(expected)
    for key, (force, v1, v1_etag, v2, v2_etag) in expected.items():
        one, two = app.exact_v1[key], app.exact_v2[key]
        assert (one.body.decode(), one.etag, two.body.decode(), two.etag) == (v1, v1_etag, v2, v2_etag)
        assert one.etag == etag_of(one.body) and one.verdict == two.verdict == ("hard" if force else "soft")
        assert one.rule == two.rule == f"exact:{key[0]}/{key[1]}/{key[2]}" and one.status == 200
    assert app.exact_v1.get(("ios", "production", "0.0.0-none")) is None
    assert ("ios", "nowhere", "1.0.0") not in app.exact_v1 and "ios" not in app.exact_v1


def test_recently_asked_exact_answers_are_kept_within_a_bound(good: bytes) -> None:
    from kickit_edge.exact import RECENT

    app = load_snapshot(good).apps["demo"]
    keys = list(app.exact_v2)
    first = app.exact_v2.get(keys[0])
    assert app.exact_v2.get(keys[0]) is first  # kept: the next request is one dict lookup
    for _ in range(RECENT + 1):
        for key in keys:
            assert app.exact_v2.get(key) == app.exact_v2[key]
    assert len(app.exact_v2._recent) <= RECENT  # type: ignore[attr-defined]
