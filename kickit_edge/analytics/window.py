"""The time window of "active" users: ``--since 30d``, ``12h``, ``2w``, a date, or an instant.

A duration counts back from now; a date is its UTC midnight; an instant is
ISO 8601 with an offset (``2026-11-01T08:00:00Z``). Times compare as the
events spell them (:data:`~kickit_edge.events.TIME_FORMAT`), so the window's
start is turned into that form once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from ..events import TIME_FORMAT

__all__ = ["SINCE_DEFAULT", "parse_since", "event_time"]

SINCE_DEFAULT = "30d"
_DURATION = re.compile(r"(\d+)([wdh])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours"}


def parse_since(text: str, now: datetime) -> datetime:
    """The start of the window; ValueError with the expected forms if ``text`` is none of them."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        instant = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise ValueError(f"{text!r}: expected a duration like 30d or 12h (w, d, h), "
                         "or a date like 2026-11-01 or an instant like 2026-11-01T08:00:00Z")
    return instant.astimezone(UTC)


def event_time(instant: datetime) -> str:
    """``instant`` as events write times, so that it compares with them as a string."""
    return instant.astimezone(UTC).strftime(TIME_FORMAT)
