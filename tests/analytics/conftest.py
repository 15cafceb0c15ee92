"""The CLI reads the wall clock; these tests stop it at the fleet's NOW."""

from __future__ import annotations

from datetime import datetime, tzinfo

import pytest

from .fleet import NOW


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return NOW.astimezone(tz) if tz is not None else NOW.replace(tzinfo=None)


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """``kickit-edge`` commands run as if it were NOW."""
    monkeypatch.setattr("kickit_edge.cli.console.datetime", _Frozen)
    return NOW
