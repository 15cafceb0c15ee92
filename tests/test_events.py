"""The event record: exact bytes, bounded client data, and the reader's errors."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kickit_edge.keys import mint_key
from kickit_edge.events import (
    COMMON_KEYS,
    TARGET_CHECK_KEYS,
    Event,
    MalformedEvent,
    decode_event,
    encode_event,
)

TIME = datetime(2026, 11, 22, 19, 20, 52, 123456, tzinfo=UTC)


def target_check(**changes: object) -> Event:
    fields: dict[str, object] = {
        "time": TIME,
        "type": "target_check",
        "app": "demo",
        "platform": "ios",
        "app_version": "1.0.1-production",
        "environment": "production",
        "snapshot": "3f2a9c1",
        "request_id": "63c973ab-f4dd-4a79-8fff-892ae1b49d3f",
        "build_number": "1000",
        "os_version": "10.5",
        "verdict": "soft",
        "rule": "rules[0]",
        "data": {"client": "My custome client data point"},
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def test_target_check_line_is_exact() -> None:
    assert encode_event(target_check()) == (
        b'{"time":"2026-11-22T19:20:52.123456Z","type":"target_check","app":"demo",'
        b'"user":null,"platform":"ios","app_version":"1.0.1-production",'
        b'"environment":"production","snapshot":"3f2a9c1",'
        b'"request_id":"63c973ab-f4dd-4a79-8fff-892ae1b49d3f","build_number":"1000",'
        b'"os_version":"10.5","verdict":"soft","rule":"rules[0]",'
        b'"data":{"client":"My custome client data point"}}\n'
    )


def test_authenticate_line_is_exact_and_time_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    event = Event(
        time=datetime(2026, 11, 22, 20, 20, 52, 5, tzinfo=paris),
        type="authenticate",
        app="demo",
        user="user_12345",
        platform="ios",
        app_version="2.5.0",
        environment=None,
        snapshot=None,
        request_id="r-1",
    )
    assert encode_event(event) == (
        b'{"time":"2026-11-22T19:20:52.000005Z","type":"authenticate","app":"demo",'
        b'"user":"user_12345","platform":"ios","app_version":"2.5.0","environment":null,'
        b'"snapshot":null,"request_id":"r-1"}\n'
    )


def test_no_field_can_carry_a_key() -> None:
    names = [f.name for f in dataclasses.fields(Event)]
    assert sorted(names) == sorted(COMMON_KEYS + TARGET_CHECK_KEYS)
    assert not any("key" in name or "token" in name or "secret" in name for name in names)


def test_a_key_a_client_sends_as_data_is_masked() -> None:
    key = mint_key()
    token = base64.b64encode(str(key).upper().encode()).decode()
    uuid = "550e8400e29b41d4a716446655440000550e8400e29b41d4a716446655440000"  # long, but not key-shaped
    blob = base64.b64encode(b"x" * 81).decode()  # as long as a token, but not one
    event = Event(time=datetime(2026, 11, 22, tzinfo=UTC), type="target_check", app="shop", user=str(key),
                  platform="ios", app_version=f"1.0+{key}", environment="production", snapshot="s", request_id="r",
                  build_number="1", os_version="17.0", verdict="ok", rule=None,
                  data={"k": str(key), "t": token, "in": f"x {token} y", "id": uuid, "blob": blob,
                        "nl": base64.b64encode(f"{key}\n".encode()).decode()})
    line = encode_event(event)
    assert key.secret.encode() not in line and key.secret.upper().encode() not in line and token.encode() not in line
    record = decode_event(line)
    assert record["user"] == f"{key.prefix}.***" and record["app_version"] == f"1.0+{key.prefix}.***"
    assert record["data"] == {"k": f"{key.prefix}.***", "t": "***", "in": "x *** y", "id": uuid, "blob": blob,
                              "nl": "***"}


def test_big_data_is_replaced_by_its_size() -> None:
    data = {"blob": "x" * 5000}
    size = len(json.dumps(data, separators=(",", ":")))
    record = decode_event(encode_event(target_check(data=data)))
    assert record["data"] == {"_truncated": True, "_bytes": size}


def test_data_limit_is_inclusive_and_configurable() -> None:
    data = {"k": "v" * 10}  # {"k":"vvvvvvvvvv"} is 18 bytes
    assert decode_event(encode_event(target_check(data=data), data_limit=18))["data"] == data
    small = decode_event(encode_event(target_check(data=data), data_limit=17))
    assert small["data"] == {"_truncated": True, "_bytes": 18}


def test_nan_in_client_data_still_gives_strict_json() -> None:
    line = encode_event(target_check(data={"x": float("nan")}))
    assert decode_event(line)["data"] == {"_invalid": True}


def test_newlines_and_line_separators_never_break_the_line() -> None:
    text = "a\nb\r\u2028\u2029\x85\x00 é \ud800"  # a lone surrogate too, as json.loads allows
    line = encode_event(target_check(rule=text, data={"note": text}))
    assert line.endswith(b"\n")
    assert len(line.decode("ascii").splitlines()) == 1
    record = decode_event(line)
    assert record["rule"] == text and record["data"] == {"note": text}


@given(
    text=st.none() | st.text(),
    data=st.none() | st.dictionaries(st.text(), st.text() | st.integers() | st.booleans()),
)
def test_every_encoded_event_decodes_to_its_fields(
    text: str | None, data: dict[str, object] | None
) -> None:
    event = target_check(rule=text, data=data)
    line = encode_event(event, data_limit=10**9)
    assert line.count(b"\n") == 1
    record = decode_event(line)
    assert list(record) == list(COMMON_KEYS + TARGET_CHECK_KEYS)
    assert record["rule"] == text and record["data"] == data


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"", "line is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b'{"time": "2026-', "line is not JSON: Unterminated string"),
        (b"\xff{}", "line is not UTF-8: 'utf-8' codec can't decode byte 0xff"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (
            b'{"type": "login"}',
            "type: expected one of ['authenticate', 'target_check'], got 'login'",
        ),
        (
            b'{"type": "authenticate", "time": "2026-11-22T19:20:52.123456Z"}',
            "missing key(s) ['app', 'user', 'platform', 'app_version', 'environment', "
            "'snapshot', 'request_id'] for type 'authenticate'",
        ),
        (
            b'{"type":"authenticate","time":"2026-11-22 19:20","app":"a","user":null,'
            b'"platform":null,"app_version":null,"environment":null,"snapshot":null,'
            b'"request_id":"r"}',
            "time: expected UTC like 2026-11-22T19:20:52.123456Z, got '2026-11-22 19:20'",
        ),
        (
            b'{"type":"authenticate","time":"2026-11-22T19:20:52.123456Z","app":"a","user":7,'
            b'"platform":null,"app_version":null,"environment":null,"snapshot":null,'
            b'"request_id":"r"}',
            "user: expected a string or null, got 7",
        ),
        (b'{"x": NaN}', "line is not JSON: NaN is not allowed in JSON"),
    ],
)
def test_malformed_lines_raise_a_clear_value_error(line: bytes, message: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        decode_event(line)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(message)


def test_a_torn_line_and_two_glued_lines_are_malformed() -> None:
    line = encode_event(target_check())
    with pytest.raises(MalformedEvent, match="Unterminated string|Expecting"):
        decode_event(line[: len(line) // 2])
    with pytest.raises(MalformedEvent, match="Extra data"):
        decode_event(line[:-1] + line)


def test_wrong_verdict_and_data_are_malformed() -> None:
    record = json.loads(encode_event(target_check()))
    with pytest.raises(MalformedEvent, match=r"verdict: expected one of \['ok', 'soft', 'hard'\]"):
        decode_event(json.dumps({**record, "verdict": "maybe"}))
    with pytest.raises(MalformedEvent, match=r"data: expected an object or null, got \[1\]"):
        decode_event(json.dumps({**record, "data": [1]}))


def test_unknown_keys_from_a_newer_writer_are_kept() -> None:
    record = json.loads(encode_event(target_check()))
    assert decode_event(json.dumps({**record, "region": "eu"}))["region"] == "eu"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"time": datetime(2026, 11, 22)}, ValueError, "time: expected an aware datetime"),
        (
            {"verdict": None},
            ValueError,
            "verdict: expected one of ['ok', 'soft', 'hard'], got None",
        ),
        ({"build_number": 1000}, TypeError, "build_number: expected str or None, got int"),
        ({"data": [1]}, TypeError, "data: expected dict or None, got list"),
        ({"type": "authenticate"}, ValueError, "an authenticate event has none of"),
    ],
)
def test_an_event_the_reader_would_reject_cannot_be_built(
    changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        target_check(**changes)
    assert str(caught.value).startswith(message)


_text = st.one_of(st.none(), st.text(max_size=12))


@settings(max_examples=150, deadline=None)
@given(app=st.text(min_size=1, max_size=10), request_id=st.text(max_size=10), user=_text, platform=_text,
       app_version=_text, environment=_text, snapshot=_text, build=_text, os_version=_text, rule=_text,
       target=st.booleans(), data=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.integers())))
def test_joined_line_equals_the_json_encoder(app: str, request_id: str, user: str | None, platform: str | None,
                                             app_version: str | None, environment: str | None,
                                             snapshot: str | None, build: str | None, os_version: str | None,
                                             rule: str | None, target: bool, data: dict[str, int] | None) -> None:
    moment = datetime(2026, 11, 22, 19, 20, 52, 123456, tzinfo=UTC)
    common = dict(time=moment, app=app, request_id=request_id, user=user, platform=platform,
                  app_version=app_version, environment=environment, snapshot=snapshot)
    record = {"time": "2026-11-22T19:20:52.123456Z", "type": "target_check" if target else "authenticate",
              "app": app, "user": user, "platform": platform, "app_version": app_version,
              "environment": environment, "snapshot": snapshot, "request_id": request_id}
    if target:
        event = Event(type="target_check", build_number=build, os_version=os_version, verdict="soft", rule=rule,
                      data=data, **common)  # type: ignore[arg-type]
        record.update(build_number=build, os_version=os_version, verdict="soft", rule=rule, data=data)
    else:
        event = Event(type="authenticate", **common)  # type: ignore[arg-type]
    expected = json.dumps(record, separators=(",", ":"), ensure_ascii=True) + "\n"
    assert encode_event(event) == expected.encode("ascii")
