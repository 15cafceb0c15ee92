"""The package stays clean under ``mypy --strict`` (STYLE.md: typed like Starlette)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kickit_edge"


def test_package_is_clean_under_mypy_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(PACKAGE)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
