"""The event record: one JSON object per line, written by the runtime, read by analytics.

The edge appends one record for each ``POST /v2/authenticate`` and each KickIt
target check. A record is a compact JSON object on one line, keys always in
this order (the first nine in every record, the last five in target checks
only)::

    time          UTC, ISO 8601 with microseconds: "2026-11-22T19:20:52.123456Z"
    type          "authenticate" | "target_check"
    app           app id
    user          string | null   (the AppCockpit user_id; null for target checks)
    platform      string | null
    app_version   string | null
    environment   string | null
    snapshot      string | null   (revision of the snapshot that answered)
    request_id    string
    build_number  string | null
    os_version    string | null
    verdict       "ok" | "soft" | "hard"
    rule          string | null   (the rule that produced the verdict)
    data          object | null   (the client's ``data``, bounded, see below)

A key or secret is never a field: nothing here can carry one.

The client's ``data`` is kept as sent unless its compact JSON is longer than
``data_limit`` bytes (:data:`DATA_LIMIT` by default); then it is replaced by
``{"_truncated": true, "_bytes": N}``. ``NaN`` and ``Infinity`` (which Python
parses but JSON does not allow) are replaced by ``{"_invalid": true}``, so
every line is strict JSON for any reader (jq, DuckDB, ClickHouse).

:func:`decode_event` is the reader's half: it returns the record as a dict or
raises :class:`MalformedEvent` (a :class:`ValueError`), so a reader can count
and report bad lines (a torn last line after a full disk, say) and go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from .keys import KEY_LENGTH, mask_keys
from .vocabulary import UPGRADE_VERDICTS, UpgradeVerdict

__all__ = [
    "DATA_LIMIT",
    "TIME_FORMAT",
    "COMMON_KEYS",
    "TARGET_CHECK_KEYS",
    "EVENT_TYPES",
    "EventType",
    "Event",
    "MalformedEvent",
    "encode_event",
    "decode_event",
]

EventType = Literal["authenticate", "target_check"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

DATA_LIMIT = 4096
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# The key order of a record, and which values may be null: one table for the
# writer's checks and the reader's.
COMMON_KEYS = (
    "time",
    "type",
    "app",
    "user",
    "platform",
    "app_version",
    "environment",
    "snapshot",
    "request_id",
)
TARGET_CHECK_KEYS = ("build_number", "os_version", "verdict", "rule", "data")
_STRINGS = ("app", "request_id")
_NULLABLE_STRINGS = (
    "user",
    "platform",
    "app_version",
    "environment",
    "snapshot",
    "build_number",
    "os_version",
    "rule",
)

_NULLABLE_TYPES = frozenset({str, type(None)})

# Built once: json.dumps with options builds a new encoder on every call.
_string = json.encoder.encode_basestring_ascii  # the C escaper JSONEncoder uses for ensure_ascii
_STRICT_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


class MalformedEvent(ValueError):
    """A line is not an event record; the message says what is wrong with it."""


@dataclass(kw_only=True, slots=True)
class Event:
    """One event. Fields are the record's keys; see the module docstring.

    Target-check fields must stay ``None`` in an ``authenticate`` event, and a
    ``target_check`` event needs a ``verdict``. Checked here, once, so the
    writer never writes a line the reader would reject.
    """

    time: datetime
    type: EventType
    app: str
    request_id: str
    user: str | None = None
    platform: str | None = None
    app_version: str | None = None
    environment: str | None = None
    snapshot: str | None = None
    build_number: str | None = None
    os_version: str | None = None
    verdict: UpgradeVerdict | None = None
    rule: str | None = None
    data: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Events are built per request and the edge's all pass: one expression checks them,
        # and only a failure goes through the checks that say what is wrong.
        if (type(self.app) is str and type(self.request_id) is str  # noqa: E721 - exact types: the quick test
                and {type(self.user), type(self.platform), type(self.app_version), type(self.environment),
                     type(self.snapshot), type(self.build_number), type(self.os_version),
                     type(self.rule)} <= _NULLABLE_TYPES
                and (self.data is None or type(self.data) is dict)  # noqa: E721
                and (self.verdict in UPGRADE_VERDICTS if self.type == "target_check" else
                     self.type == "authenticate" and self.build_number is None and self.os_version is None
                     and self.verdict is None and self.rule is None and self.data is None)
                and self.time.utcoffset() is not None):
            return
        self._explain()

    def _explain(self) -> None:
        """Raise the error that says what is wrong with this event (a subclass of str passes here)."""
        if self.time.utcoffset() is None:
            raise ValueError(f"time: expected an aware datetime, got naive {self.time.isoformat()}")
        if self.type not in EVENT_TYPES:
            raise ValueError(f"type: expected one of {list(EVENT_TYPES)}, got {self.type!r}")
        for name in _STRINGS:
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name}: expected str, got {type(getattr(self, name)).__name__}")
        for name in _NULLABLE_STRINGS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name}: expected str or None, got {type(value).__name__}")
        if self.data is not None and not isinstance(self.data, dict):
            raise TypeError(f"data: expected dict or None, got {type(self.data).__name__}")
        if self.type == "target_check":
            if self.verdict not in UPGRADE_VERDICTS:
                raise ValueError(f"verdict: expected one of {list(UPGRADE_VERDICTS)}, got {self.verdict!r}")
        elif any(getattr(self, name) is not None for name in TARGET_CHECK_KEYS):
            raise ValueError(f"an authenticate event has none of {list(TARGET_CHECK_KEYS)}")


def _utc_text(moment: datetime) -> str:
    """``TIME_FORMAT`` of ``moment`` in UTC; isoformat is several times faster than strftime."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def encode_event(event: Event, *, data_limit: int = DATA_LIMIT) -> bytes:
    """Return ``event`` as one UTF-8 JSON line ending in ``\\n``.

    The line is ASCII (``ensure_ascii``): JSON escapes every control character,
    and escaping non-ASCII too means no byte of it is a line break to any
    reader (``str.splitlines`` also splits on U+2028 and U+0085) and a lone
    surrogate in client data cannot make encoding fail.
    """
    # Joined from strings escaped by json's C encoder: the same bytes as
    # JSONEncoder on a dict in this key order (a test holds them equal), at a
    # fraction of the cost on the request path.
    text = (
        f'{{"time":"{_utc_text(event.time)}","type":"{event.type}","app":{_string(event.app)},'
        f'"user":{_nullable(event.user)},"platform":{_nullable(event.platform)},'
        f'"app_version":{_nullable(event.app_version)},"environment":{_nullable(event.environment)},'
        f'"snapshot":{_nullable(event.snapshot)},"request_id":{_string(event.request_id)}'
    )
    if event.type == "target_check":
        # The data is encoded once, to measure it and to write it.
        text += (
            f',"build_number":{_nullable(event.build_number)},"os_version":{_nullable(event.os_version)},'
            f'"verdict":"{event.verdict}","rule":{_nullable(event.rule)},'
            f'"data":{_bound_data(event.data, data_limit)}'
        )
    return (text + "}\n").encode("ascii")


def _nullable(value: str | None) -> str:
    if value is None:
        return "null"
    # A client's own text (user, versions, headers) never brings a key into the log: it is masked.
    return _string(value if len(value) < KEY_LENGTH else mask_keys(value))


def _bound_data(data: dict[str, Any] | None, limit: int) -> str:
    try:
        text = _STRICT_ENCODER.encode(data)
    except ValueError:
        return '{"_invalid":true}'
    if len(text) >= KEY_LENGTH:
        text = mask_keys(text)  # JSON's escaping leaves a key's characters as they are, and *** needs none
    if len(text) > limit:  # ASCII, so characters are bytes
        return f'{{"_truncated":true,"_bytes":{len(text)}}}'
    return text


def decode_event(line: bytes | str) -> dict[str, Any]:
    """Parse one line written by :func:`encode_event`; raise :class:`MalformedEvent` if it isn't.

    Keys a newer writer may add are kept; missing keys, wrong types and an
    unknown ``type`` or ``verdict`` are errors.
    """
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        record = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise MalformedEvent(f"line is not UTF-8: {exc}") from None
    except ValueError as exc:
        raise MalformedEvent(f"line is not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(record).__name__}")
    kind = record.get("type")
    if kind not in EVENT_TYPES:
        raise MalformedEvent(f"type: expected one of {list(EVENT_TYPES)}, got {kind!r}")
    keys = COMMON_KEYS + TARGET_CHECK_KEYS if kind == "target_check" else COMMON_KEYS
    missing = [key for key in keys if key not in record]
    if missing:
        raise MalformedEvent(f"missing key(s) {missing} for type {kind!r}")
    for key in _STRINGS:
        if not isinstance(record[key], str):
            raise MalformedEvent(f"{key}: expected a string, got {record[key]!r}")
    for key in _NULLABLE_STRINGS:
        if key in keys and record[key] is not None and not isinstance(record[key], str):
            raise MalformedEvent(f"{key}: expected a string or null, got {record[key]!r}")
    try:
        datetime.strptime(record["time"], TIME_FORMAT)
    except (TypeError, ValueError):
        raise MalformedEvent(
            f"time: expected UTC like 2026-11-22T19:20:52.123456Z, got {record['time']!r}"
        ) from None
    if kind == "target_check":
        if record["verdict"] not in UPGRADE_VERDICTS:
            raise MalformedEvent(
                f"verdict: expected one of {list(UPGRADE_VERDICTS)}, got {record['verdict']!r}"
            )
        if record["data"] is not None and not isinstance(record["data"], dict):
            raise MalformedEvent(f"data: expected an object or null, got {record['data']!r}")
    return record


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")
