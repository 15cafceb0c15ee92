"""Which files are the config: one rule for the compiler, the dev-mode watcher, the admin API and review."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickit_edge.compiler.source import config_files, is_config_path


@pytest.mark.parametrize(("relative", "read"), [
    ("demo.yaml", True),
    ("apps/demo.yml", True),
    ("apps/demo.YAML", False),
    (".demo.yaml", False),
    ("apps/.#demo.yaml", False),
    (".git/config.yaml", False),
    ("apps/.drafts/demo.yaml", False),
    ("apps/demo.yaml.bak", False),
    ("README.md", False),
    ("", False),
])
def test_a_config_file_is_a_visible_yaml_file(relative: str, read: bool) -> None:
    assert is_config_path(relative) is read


def test_config_files_lists_them_in_name_order(tmp_path: Path) -> None:
    for relative in ("b.yaml", "a.yml", "apps/z.yaml", "apps/m.yaml", ".hidden/x.yaml", "apps/.x.yaml", "notes.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in config_files(tmp_path)] == [
        "a.yml", "b.yaml", "apps/m.yaml", "apps/z.yaml"]
