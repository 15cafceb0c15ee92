"""When a rule applies: its schedule (active window, deadline, grace) as written in the YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Schedule", "NO_SCHEDULE", "parse_duration"]


@dataclass(frozen=True)
class Schedule:
    """When a rule applies: between ``active_from`` and ``active_until``, hard from ``hard_from``.

    ``grace`` delays a rule past the first store release that satisfies it
    (only for platforms that list releases). Instants are UTC; ``None`` is
    "not set" (or a text that could not be read, which is reported).
    """

    active_from: datetime | None = None
    active_until: datetime | None = None
    hard_from: datetime | None = None
    grace: timedelta = timedelta(0)

    @property
    def timed(self) -> bool:
        return bool(self.active_from or self.active_until or self.hard_from or self.grace)


NO_SCHEDULE = Schedule()


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def parse_duration(text: str) -> timedelta:
    """``24h``, ``90m``, ``2d``, ``1d12h`` (the schema has checked the form)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: expected a form such as 24h, 90m, 2d or 1d12h")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)
