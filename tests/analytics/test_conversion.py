"""`events conversion`: of the users a snapshot prompted, how many moved to a version it no longer prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kickit_edge.cli import main

from .fleet import auth, write
from .test_impact import snapshot  # noqa: F401  (the fixture)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    """A fleet with known answers under the shop's ios/production rules (3.0.0 soft, below 2.0.0 hard)."""
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261101-web1-1-0", [
        auth("11-01 08:00:00.000000", "u4", "1.9.9"),  # hard, converts after 19 days
    ], gz=True)
    write(folder, "events-20261110-web1-1-1", [
        auth("11-10 08:00:00.000000", "u1", "1.5.0"),  # hard
        auth("11-10 20:00:00.000000", "u1", "2.1.0"),  # ... converted 12 hours later
        auth("11-10 09:00:00.000000", "u2", "3.0.0"),  # soft
        auth("11-10 10:00:00.000000", "u3", "1.0.0"),  # hard, never converts
        auth("11-10 11:00:00.000000", "u5", "2.2.0"),  # never prompted
        auth("11-10 12:00:00.000000", "u6", "1.0.0", "android"),  # no android rule: never prompted
    ], gz=True)
    write(folder, "events-20261115-web1-1-2", [
        auth("11-15 09:00:00.000000", "u2", "3.1.0"),  # converted after 5 days
        auth("11-15 10:00:00.000000", "u3", "1.0.0"),  # still on a forced version
    ])
    write(folder, "events-20261120-web1-1-3", [auth("11-20 08:00:00.000000", "u4", "2.2")])
    return folder


def test_conversion_within_each_horizon(events, snapshot, capsys, frozen_now):  # noqa: F811
    assert main(["events", "conversion", "--events-dir", str(events), "--snapshot", str(snapshot),
                 "--since", "2026-10-25", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["horizons_days"] == [1, 7, 30]
    assert report["rows"] == [
        {"app": "shop", "platform": "ios", "verdict": "hard", "prompted": 3,
         "converted": {"1": 1, "7": 1, "30": 2}},
        {"app": "shop", "platform": "ios", "verdict": "soft", "prompted": 1,
         "converted": {"1": 0, "7": 1, "30": 1}},
    ]
    assert main(["events", "conversion", "--events-dir", str(events), "--snapshot", str(snapshot),
                 "--since", "2026-10-25", "--days", "20,2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3:] == [
        "APP   PLATFORM  VERDICT  PROMPTED       2D       20D",
        "shop  ios       hard            3  1 (33%)   2 (67%)",
        "shop  ios       soft            1   0 (0%)  1 (100%)",
    ]


def test_bad_horizons(events, snapshot, capsys):  # noqa: F811
    with pytest.raises(SystemExit):
        main(["events", "conversion", "--events-dir", str(events), "--snapshot", str(snapshot), "--days", "1,x"])
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "argument --days: '1,x': expected days as positive whole numbers, like 1,7,30")
