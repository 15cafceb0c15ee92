"""Did the prompt work? Of the users a snapshot prompted, how many moved to a version it no longer prompts.

A user (app, user, platform) is prompted at their first authentication in the
window on a version the snapshot answers ``soft`` (asked to update) or
``hard`` (forced); they converted at their first later authentication on a
version it answers ``ok`` or ``not_found`` (nothing to do). The engine finds
both (the ``prompted_users`` query of :mod:`.queries`, over the verdicts of
:func:`~.impact.judge_versions`); here they are counted per app, platform and
verdict, within each horizon (converted no later than that many days after
the prompt).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ..events import TIME_FORMAT
from ..snapshot import Snapshot
from .active import Active
from .impact import judge_versions
from .report import instant_text, table

__all__ = ["HORIZONS", "ConversionRow", "Conversion", "conversion_of", "render_conversion_text",
           "render_conversion_json"]

HORIZONS = (1, 7, 30)


@dataclass(frozen=True)
class ConversionRow:
    app: str
    platform: str
    verdict: str  # soft or hard
    prompted: int
    converted: dict[int, int]  # days -> users converted within that many days of their prompt


@dataclass(frozen=True)
class Conversion:
    snapshot: Snapshot
    source: str
    since: datetime
    horizons: tuple[int, ...]
    rows: list[ConversionRow]


def _days_between(start: str, end: str) -> float:
    delta = datetime.strptime(end, TIME_FORMAT) - datetime.strptime(start, TIME_FORMAT)
    return delta.total_seconds() / 86400


def conversion_of(active: Active, snapshot: Snapshot, source: str, horizons: tuple[int, ...] = HORIZONS,
                  at: float | None = None) -> Conversion:
    judge_versions(active, snapshot, at)
    prompted: Counter[tuple[str, str, str]] = Counter()
    converted: dict[tuple[str, str, str], Counter[int]] = {}
    for app, _user, platform, verdict, prompted_at, converted_at in active.run("prompted_users"):
        key = (app, platform, verdict)
        prompted[key] += 1
        counter = converted.setdefault(key, Counter())
        if converted_at is not None:
            days = _days_between(prompted_at, converted_at)
            counter.update(h for h in horizons if days <= h)
    rows = [ConversionRow(*key, prompted[key], {h: converted[key][h] for h in horizons})
            for key in sorted(prompted, key=lambda k: (k[0], k[1], k[2] != "hard"))]
    return Conversion(snapshot, source, active.since, horizons, rows)


def render_conversion_text(conversion: Conversion) -> str:
    out = [f"Conversion under snapshot {conversion.snapshot.id} from {conversion.source}",
           f"Users prompted (soft) or forced (hard) since {instant_text(conversion.since)}, and how many later "
           "authenticated on a version it no longer prompts, within each horizon", ""]
    if not conversion.rows:
        return "\n".join([*out, "No prompted users in this window."]) + "\n"
    header = ["APP", "PLATFORM", "VERDICT", "PROMPTED"] + [f"{h}D" for h in conversion.horizons]
    rows = [[r.app, r.platform, r.verdict, f"{r.prompted:,}"]
            + [f"{r.converted[h]:,} ({r.converted[h] / r.prompted:.0%})" for h in conversion.horizons]
            for r in conversion.rows]
    return "\n".join(out + table(header, rows, 3)) + "\n"


def render_conversion_json(conversion: Conversion) -> str:
    body = {
        "snapshot": {"source": conversion.source, "id": conversion.snapshot.id,
                     "revision": conversion.snapshot.revision},
        "since": conversion.since.strftime("%Y-%m-%dT%H:%M:%SZ"), "horizons_days": list(conversion.horizons),
        "rows": [{"app": r.app, "platform": r.platform, "verdict": r.verdict, "prompted": r.prompted,
                  "converted": {str(h): r.converted[h] for h in conversion.horizons}} for r in conversion.rows],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
