"""Scanning: the engine's check agrees with decode_event; any file order and any split give the same records."""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kickit_edge.analytics.engine import connect
from kickit_edge.analytics.scan import _CLASSIFY, Scan, decode_line
from kickit_edge.analytics.users import UserRecord, fold_users
from kickit_edge.events import Event, MalformedEvent, decode_event, encode_event

from .fleet import NOW, append, oracle, rotate, write

AUTH = json.loads(encode_event(Event(
    time=datetime(2026, 11, 22, 19, 20, 52, 123456, tzinfo=UTC), type="authenticate", app="shop", user="u1",
    platform="ios", app_version="2.5.0", environment="production", snapshot="abc", request_id="r1")))
CHECK_EVENT = Event(
    time=datetime(2026, 11, 22, 9, tzinfo=UTC), type="target_check", app="shop", platform="ios",
    app_version="1.0.1-production", environment="production", request_id="c1", build_number="1000",
    os_version="10.5", verdict="soft", data={"k": 1})
CHECK = json.loads(encode_event(Event(
    time=datetime(2026, 11, 22, 19, 20, 52, 123456, tzinfo=UTC), type="target_check", app="shop",
    platform="ios", app_version="1.0.1-production", environment="production", request_id="r2",
    build_number="1000", os_version="10.5", verdict="ok", data={"k": 1})))
ODD_VALUES: list[Any] = [None, 1, 1.5, True, "x", "", [], {}, {"a": 1}]
ODD_TIMES = ["2026-11-22T19:20:52Z", "2026-02-30T10:00:00.000000Z", "2026-11-22T24:00:00.000000Z",
             "2026-11-22T9:05:00.5Z", "2026-11-22T19:20:60.000000Z", " 2026-11-22T19:20:52.123456Z",
             "2026-1-2T3:04:05.000001Z", "2026-11-22 19:20:52.123456Z", "2026-11-22T19:20:52.1234567Z"]


def mutations() -> list[bytes]:
    """Lines the writer would never write, and some it would: each a small change to a good record."""
    out: list[bytes] = []
    for base in (AUTH, CHECK):
        out.append(json.dumps(base).encode())
        for key in base:
            out.append(json.dumps({k: v for k, v in base.items() if k != key}).encode())
            out += [json.dumps(dict(base, **{key: value})).encode() for value in ODD_VALUES]
        out += [json.dumps(dict(base, time=t)).encode() for t in ODD_TIMES]
        # ... and laid out as the writer lays a line out, so that only the odd value tells it from a good one
        out += [json.dumps(dict(base, time=t), separators=(",", ":")).encode() for t in ODD_TIMES]
        out += [json.dumps(dict(base, **{key: value}), separators=(",", ":")).encode()
                for key in base for value in ODD_VALUES]
        out += [json.dumps(dict(base, type=t)).encode() for t in ("login", "Authenticate")]
        out += [json.dumps(dict(base, verdict=v)).encode() for v in ("soft", "hard", "maybe")]
        out.append(json.dumps(dict(base, extra="kept")).encode())
        out.append(json.dumps(base).encode().replace(b'"r', b'NaN, "r', 1))
    out += [b"", b"   ", b"[]", b"null", b'"text"', b"\xff\xfe", "\ufeff{}".encode(), b'{"a":Infinity}',
            json.dumps(AUTH).encode() + b"  ", b"  " + json.dumps(AUTH).encode()]
    return out


def engine_passes(lines: list[bytes]) -> list[bool]:
    """Which lines the engine's check passes without asking decode_event."""
    connection = connect()
    connection.execute("CREATE TEMP TABLE lines (file INTEGER, n BIGINT, line VARCHAR)")
    texts = [line.decode("utf-8", "replace") for line in lines]
    connection.execute("INSERT INTO lines SELECT 0, generate_subscripts($t, 1), unnest($t)", {"t": texts})
    connection.execute(_CLASSIFY, {"fmt": "%Y-%m-%dT%H:%M:%S.%fZ"})
    passes = [fast for (fast,) in connection.execute("SELECT fast FROM parsed ORDER BY n").fetchall()]
    assert None not in passes, "a line neither passed nor left to decode_event would be lost"
    return passes


def _fast(line: bytes) -> bool:
    return engine_passes([line])[0]


@pytest.mark.parametrize("line", mutations())
def test_the_fast_decoder_answers_as_decode_event(line):
    try:
        expected: dict[str, Any] | str = decode_event(line)
    except MalformedEvent as exc:
        expected = str(exc)
    try:
        got: dict[str, Any] | str = decode_line(line)
    except MalformedEvent as exc:
        got = str(exc)
    if isinstance(expected, dict) and isinstance(got, dict):
        # The one difference allowed: the time is made canonical.
        canonical = datetime.strptime(expected["time"], "%Y-%m-%dT%H:%M:%S.%fZ").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        expected = dict(expected, time=canonical)
    assert got == expected
    if _fast(line):
        assert isinstance(expected, dict), "the engine passed a line decode_event rejects"


texts = st.text(min_size=1, max_size=12)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(moments, texts, st.none() | texts, st.none() | texts, st.none() | texts,
       st.dictionaries(texts, st.integers() | texts, max_size=3) | st.none())
def test_every_line_the_writer_writes_takes_the_fast_path(moment, app, user, version, environment, data):
    for event in (
        Event(time=moment, type="authenticate", app=app, user=user, platform="ios", app_version=version,
              environment=environment, request_id="r"),
        Event(time=moment, type="target_check", app=app, app_version=version, environment=environment,
              request_id="r", verdict="hard", data=data),
    ):
        line = encode_event(event)
        decode_event(line)
        # Lines with escapes (the engine writes non-ASCII unescaped) or the words NaN or Infinity
        # in a target check go to decode_event.
        if b"\\u" not in line and b"NaN" not in line and b"Infinity" not in line:
            assert _fast(line.rstrip(b"\n")), line


# --- order and splits --------------------------------------------------------------

BASE_TIME = datetime(2026, 11, 22, 8, tzinfo=UTC)
auth_events = st.builds(
    lambda minute, user, platform, version, env, rid: Event(
        time=BASE_TIME + timedelta(minutes=minute), type="authenticate", app="shop", user=user, platform=platform,
        app_version=version, environment=env, request_id=rid),
    st.integers(0, 5), st.sampled_from(["u1", "u2", "u3"]), st.sampled_from(["ios", "android"]),
    st.sampled_from(["1.0", "1.1", "2.0"]), st.sampled_from(["production", "staging", None]),
    st.sampled_from(["a", "b", "c"]))


def spread(folder: Path, events: list[Event], cuts: list[int], gz: list[bool], prefix: str) -> list[Path]:
    """Write ``events`` into files cut at ``cuts``, some compressed."""
    bounds = [0, *sorted(c % (len(events) + 1) for c in cuts), len(events)]
    paths = []
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        paths.append(write(folder, f"events-20261122-{prefix}-{i}", events[lo:hi], gz=gz[i % len(gz)]))
    return paths


@settings(max_examples=100, deadline=None)
@given(st.lists(auth_events, min_size=1, max_size=25), st.lists(st.integers(0, 30), max_size=4),
       st.lists(st.booleans(), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_any_order_and_any_split_gives_the_records_of_the_seed(events, cuts, gz, rng):
    shuffled = list(events)
    rng.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        spread(Path(tmp), shuffled, cuts, gz, "web1-1")
        assert fold_users(tmp, now=NOW).records == oracle(events)


@settings(max_examples=100, deadline=None)
@given(st.lists(auth_events, min_size=2, max_size=30), st.integers(1, 29), st.lists(st.integers(0, 30), max_size=3),
       st.sampled_from(["append", "rotate", "new file"]))
def test_a_run_after_each_batch_equals_one_run_over_all(events, split, cuts, how):
    split = split % len(events)
    old, new = events[:split], events[split:]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = spread(folder, old, cuts, [False], "web1-1")
        first = fold_users(folder, now=NOW)
        if how == "append":
            append(paths[-1], new)
        elif how == "rotate":
            rotate(paths[-1], new)
        else:
            write(folder, "events-20261122-web2-2-0", new, gz=True)
        incremental = fold_users(folder, first.checkpoint, now=NOW)
        assert incremental.incremental
        assert incremental.scan.lines == len(new)  # the old lines are not read again
        assert incremental.records == fold_users(folder, now=NOW).records == oracle(events)


# --- rotated files read whole --------------------------------------------------------


def _expected(line: bytes) -> tuple[int, list[tuple[str, ...]]]:
    """(malformed lines, user records) that decode_event makes of ``line``."""
    try:
        record = decode_event(line)
    except MalformedEvent:
        return 1, []
    if record["type"] != "authenticate":
        return 0, []
    if None in (record["user"], record["platform"], record["app_version"]):
        return 1, []
    return 0, [(record["app"], record["user"], record["platform"], record["app_version"], record["environment"])]


@pytest.mark.parametrize("line", mutations())
def test_a_rotated_file_with_any_line_gives_what_decode_event_gives(tmp_path, line):
    (tmp_path / "events-20261122-web1-1-0.jsonl.gz").write_bytes(gzip.compress(line + b"\n", mtime=0))
    result = fold_users(tmp_path, now=datetime(2026, 11, 23, tzinfo=UTC))
    malformed, records = _expected(line)
    assert result.scan.malformed == malformed
    assert [(r.app, r.user_id, r.platform, r.app_version, r.environment) for r in result.records] == records


def test_clean_rotated_files_are_taken_whole(tmp_path, monkeypatch):
    events = [Event(time=NOW - timedelta(minutes=i), type="authenticate", app="shop", user=f"u{i}",
                    platform="ios", app_version="1.0", environment="production", request_id=f"r{i}")
              for i in range(50)]
    write(tmp_path, "events-20261122-web1-1-0", events[:25], gz=True)
    write(tmp_path, "events-20261122-web1-1-1", [*events[25:], CHECK_EVENT], gz=True)

    def careful(*args: object) -> None:
        raise AssertionError("a clean rotated file went line by line")

    monkeypatch.setattr(Scan, "_take", careful)
    result = fold_users(tmp_path, now=NOW)
    assert result.records == oracle(events) and result.scan.lines == 51
    assert {stem: (m.lines, m.complete) for stem, m in result.checkpoint.marks.items()} == {
        "events-20261122-web1-1-0": (25, True), "events-20261122-web1-1-1": (26, True)}


def test_a_rotated_file_of_good_lines_still_reports_an_authentication_without_a_user(tmp_path):
    events = [Event(time=NOW - timedelta(minutes=i), type="authenticate", app="shop", user=f"u{i}" if i != 2 else None,
                    platform="ios", app_version="1.0", environment="production", request_id=f"r{i}")
              for i in range(4)]
    path = write(tmp_path, "events-20261122-web1-1-0", events, gz=True)
    result = fold_users(tmp_path, now=NOW)
    assert result.scan.problems == [f"{path}:3: authenticate event without user"]
    assert result.records == oracle([e for e in events if e.user is not None])
