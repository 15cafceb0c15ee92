"""Shared fixtures: config folders written into tmp_path, as a team would keep them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO / "config"

MINIMAL_APP = """\
app:
  id: shop
  name: ShopApp
  uuid: 11111111-2222-4333-8444-555555555555
  public_key: SHOP1234
  platforms: [ios, android]
  environments: [production, staging]
  default_locale: en
messages:
  soft:
    en: Please update.
    de: Bitte aktualisieren.
versions:
  - version: "3.0.0"
    platform: ios
    environment: production
    message: soft
minimum_versions:
  - version: "2.0.0"
    platform: ios
    environment: production
    force_update: true
    message: soft
"""

WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write ``{relative path: text}`` into a fresh config folder and return it."""

    def write(files: dict[str, str] | None = None, name: str = "config") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        for rel, text in (files if files is not None else {"apps/shop.yaml": MINIMAL_APP}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return write


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    """A private copy of the demo config folder."""
    target = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG, target, ignore=shutil.ignore_patterns(".kickit-edit.lock"))
    return target
