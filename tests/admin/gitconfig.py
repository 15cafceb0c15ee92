"""Fixtures for the admin API over a config folder in a git work tree; a test module imports them by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..gitrepo import commit_all, init_repo


@pytest.fixture
def config_dir(tmp_path: Path, demo_config: Path) -> Path:
    """The demo config inside a git work tree: repo/config (the admin token is minted into it)."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.move(demo_config, root / "config")
    init_repo(root)
    return root / "config"


@pytest.fixture
def repo(config_dir: Path, token: str) -> Path:
    """The work tree, with the config and the ci token committed."""
    root = config_dir.parent
    commit_all(root, "The demo config")
    return root
