"""A small app config to change one thing at a time, for the diff and matrix tests.

``write_config(folder, text)`` writes one app file; tests edit ``BASE`` with
``str.replace`` so each head differs from the base by exactly the change under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..gitrepo import git

KEY_SHA = "a" * 64

BASE = """\
app:
  id: shop
  name: Shop
  uuid: 11111111-2222-4333-8444-555555555555
  public_key: SHOP1234
  platforms: [ios, android]
  environments: [production, staging]
  default_locale: en

keys:
  - prefix: 00000000000000aa
    sha256: {sha}

messages:
  soft_msg:
    en: Please update.
    de: Bitte aktualisieren.
  hard_msg:
    en: You must update.
  os_msg:
    en: Update your OS.

versions:
  - version: "2.5.0"
    platform: ios
    environment: production
    force_update: false
    message: soft_msg
  - version: "1.9.0"
    platform: ios
    environment: production
    force_update: false
    message: soft_msg

minimum_versions:
  - platform: ios
    environment: production
    version: "2.0.0"
    force_update: true
    message: hard_msg
  - platform: android
    environment: production
    version: "3.1.0"
    force_update: false
    message: soft_msg

targets:
  - id: old-os
    hard: true
    message: os_msg
    platforms: [ios]
    os_version: {{below: "10"}}
  - id: legacy-build
    message: soft_msg
    build: {{in: ["1000"]}}
  - id: beta
    message: soft_msg
    version: {{min: "3.0.0"}}

maintenance:
  production:
    active: false
    windows:
      - start: "2027-03-14T02:00:00"
        end: "2027-03-14T04:00:00"
        timezone: UTC
        title: Database upgrade
""".format(sha=KEY_SHA)


def write_config(folder: Path, text: str) -> Path:
    """Write ``text`` as ``folder/apps/shop.yaml`` and return ``folder``."""
    (folder / "apps").mkdir(parents=True, exist_ok=True)
    (folder / "apps" / "shop.yaml").write_text(text, encoding="utf-8")
    return folder


def edited(old: str, new: str, text: str = BASE) -> str:
    """``text`` with ``old`` replaced once; fails loudly when ``old`` is not there."""
    assert text.count(old) == 1, f"expected exactly one {old!r} in the config"
    return text.replace(old, new)


def init_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository on ``main`` whose first commit holds ``BASE`` under ``config/``."""
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{name}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{name}_EMAIL", "test@example.com")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_config(root / "config", BASE)
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    return root
