"""What a comparison finds: one record per kind of change, for :mod:`.diff` to fill and :mod:`.report` to write.

A change is read now (the instant the sides are compared) or from a later
instant, when it carries ``until``: what the comparison was just before then.
Whether a change *forces* users is decided here, once, for every report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .matrix import Cell, VersionRange

__all__ = [
    "VersionChange", "TargetChange", "MessageChange", "MaintenanceChange", "KeyChange", "SettingChange",
    "MaintenanceStep", "Later",
]


def _forcing(base: Cell, head: Cell) -> bool:
    return head.verdict == "hard" and base.verdict != "hard"


@dataclass(frozen=True)
class VersionChange:
    """A range answered ``base`` by one side and ``head`` by the other.

    From a later instant (``until`` given: the two answers just before it), the
    comparison of the range changes then: a difference begins, turns into
    another, or ends (``base`` and ``head`` alike again).
    """

    platform: str
    environment: str
    range: VersionRange
    base: Cell
    head: Cell
    until: tuple[Cell, Cell] | None = None

    @property
    def forces(self) -> bool:
        """Whether users get a hard verdict they did not have, and did not get already just before."""
        return _forcing(self.base, self.head) and not (self.until is not None and _forcing(*self.until))

    @property
    def ends(self) -> bool:
        """Whether both sides answer alike again (from a later instant on)."""
        return self.until is not None and self.base.verdict == self.head.verdict


@dataclass(frozen=True)
class TargetChange:
    id: str
    change: Literal["added", "removed", "changed", "alike"]  # "alike": from a later instant, the difference ends
    base: str | None  # the target described, on each side where it exists
    head: str | None
    fields: tuple[str, ...]  # for "changed": which fields differ
    forces: bool
    # From a later instant: the target on each side just before it, when the sides differed then.
    until: tuple[str | None, str | None] | None = None


@dataclass(frozen=True)
class MessageChange:
    locale: str
    base: str | None
    head: str | None
    rules: tuple[str, ...]  # every version rule whose text changes this way


@dataclass(frozen=True)
class MaintenanceChange:
    environment: str
    change: Literal["switched on", "switched off", "notice changed", "window added", "window removed",
                    "window notice changed"]
    detail: str
    forces: bool


@dataclass(frozen=True)
class KeyChange:
    prefix: str
    change: Literal["added", "revoked", "changed"]
    detail: str


@dataclass(frozen=True)
class SettingChange:
    name: str
    base: Any
    head: Any

    @property
    def forces(self) -> bool:
        return self.name == "disabled" and bool(self.head) and not self.base


@dataclass(frozen=True)
class MaintenanceStep:
    """Maintenance of one environment starting or ending at an instant (a scheduled window)."""

    environment: str
    before: Cell
    after: Cell


@dataclass(frozen=True)
class Later:
    """What changes at a later instant (a release, a deadline, a schedule, a maintenance window)."""

    at: float
    versions: list[VersionChange]
    targets: list[TargetChange]
    why: tuple[str, ...] = ()  # what happens then, on either side (a release, a deadline)
    maintenance: list[MaintenanceStep] = field(default_factory=list)  # matrix --timeline only
