"""The shared vocabulary: platforms, verdicts, rule names and output formats, spelled once.

Every part of kickit-edge (compiler, runtime, review, analytics, admin, the
CLI) names platforms, verdicts, rules and formats the same way; these are the
only spellings. Pure: no I/O, and cheap to import (the CLI builds its choices
from here before it knows which command runs).
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "Platform", "PLATFORMS", "platform_of", "Verdict", "VERDICTS", "UpgradeVerdict", "UPGRADE_VERDICTS",
    "exact_rule", "minimum_rule", "target_rule", "maintenance_rule",
    "ReportFormat", "REPORT_FORMATS", "RecordFormat", "RECORD_FORMATS", "AdoptionFormat", "ADOPTION_FORMATS",
    "ImpactFormat", "IMPACT_FORMATS",
]

Platform = Literal["ios", "android"]
PLATFORMS: tuple[Platform, ...] = get_args(Platform)
_SPELLED: dict[str, Platform] = {name: name for name in PLATFORMS}


def platform_of(text: str) -> Platform | None:
    """The platform a client means, whatever its case or surrounding spaces (``iOS`` is what iOS
    reports); None for anything else, which every endpoint answers with 400."""
    exact = _SPELLED.get(text)  # what nearly every client sends: one dict lookup
    if exact is not None:
        return exact
    name = text.strip().lower()
    return name if name in PLATFORMS else None

# What an answer means, for logs, metrics, review and tests. Events record only
# the upgrade verdicts: the answer a client got to "may I go on?".
Verdict = Literal["ok", "soft", "hard", "not_found", "maintenance", "app_disabled", "error"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
UpgradeVerdict = Literal["ok", "soft", "hard"]
UPGRADE_VERDICTS: tuple[UpgradeVerdict, ...] = get_args(UpgradeVerdict)

# Output formats, each the closed set of one command's --format.
ReportFormat = Literal["text", "markdown", "json"]  # diff, matrix
REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
RecordFormat = Literal["jsonl", "csv"]  # events users
RECORD_FORMATS: tuple[RecordFormat, ...] = get_args(RecordFormat)
AdoptionFormat = Literal["table", "json", "html"]  # events adoption
ADOPTION_FORMATS: tuple[AdoptionFormat, ...] = get_args(AdoptionFormat)
ImpactFormat = Literal["table", "json"]  # events impact
IMPACT_FORMATS: tuple[ImpactFormat, ...] = get_args(ImpactFormat)


def exact_rule(platform: str, environment: str, version: str) -> str:
    """``exact:ios/production/2.5.0``: an exact-version rule of the AppCockpit API."""
    return f"exact:{platform}/{environment}/{version}"


def minimum_rule(platform: str, environment: str) -> str:
    """``minimum:ios/production``: the minimum-version rule of a platform and environment."""
    return f"minimum:{platform}/{environment}"


def target_rule(target_id: str) -> str:
    """``target:legacy-android``: a KickIt target, by its id."""
    return f"target:{target_id}"


def maintenance_rule(environment: str, window: int | None = None) -> str:
    """``maintenance:production:switch`` (the on/off switch) or ``maintenance:production:windows[0]``."""
    return f"maintenance:{environment}:switch" if window is None else f"maintenance:{environment}:windows[{window}]"
