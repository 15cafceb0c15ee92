"""Bounded YAML: an alias bomb or an oversized file is refused with path:line:col, by compile, dev mode's
compiler and the admin API's loader alike (they all read through compiler/source.py)."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from kickit_edge.cli import main
from kickit_edge.compiler.source import MAX_ALIAS_VALUES, MAX_FILE_BYTES, load_yaml_text
from tests.conftest import MINIMAL_APP

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))


def test_an_alias_bomb_is_refused_where_the_bound_is_crossed_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        source, problems = load_yaml_text(BOMB, "config/apps/bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source is None
    limit = len(BOMB) + MAX_ALIAS_VALUES
    assert [str(p) for p in problems] == [
        f"config/apps/bomb.yaml:1:26: YAML aliases expand this file to more than {limit} values (its size in bytes "
        f"+ {MAX_ALIAS_VALUES}); expected anchors reused a bounded number of times"]
    assert peak < 64 * 2**20


def test_anchors_reused_a_few_times_are_fine() -> None:
    text = MINIMAL_APP + "x-texts: &texts {en: Hello, de: Hallo}\nx-again: [*texts, *texts, *texts]\n"
    source, problems = load_yaml_text(text, "config/apps/shop.yaml")
    assert problems == [] and source is not None and source.data["x-again"][2] == {"en": "Hello", "de": "Hallo"}


def test_compile_refuses_a_bomb_and_an_oversized_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    apps = tmp_path / "config" / "apps"
    apps.mkdir(parents=True)
    (apps / "shop.yaml").write_text(MINIMAL_APP)
    (apps / "bomb.yaml").write_text(BOMB)
    with open(apps / "huge.yaml", "w") as handle:
        handle.write("# " + "x" * MAX_FILE_BYTES + "\n")
    assert main(["compile", "config", "--out", "out"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("config/apps/bomb.yaml:1:26: YAML aliases expand this file to more than ")
    assert err[1] == (f"config/apps/huge.yaml:1:1: file is larger than {MAX_FILE_BYTES} bytes; expected a config "
                      "file of at most that size (split a big app into several files?)")
    assert err[2] == "2 problems found; nothing published" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", [
    "a: " + "[" * 100_000 + "\n",                                         # LibYAML refuses it; the pure reader recursed
    "a: " + "[" * 990 + "]" * 990 + "\n",                                  # within LibYAML's bound, past Python's
    "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 3000)),           # block mappings
], ids=["unclosed-flow", "closed-flow", "block"])
def test_collections_nested_too_deeply_are_a_diagnostic_not_a_traceback(text: str) -> None:
    source, problems = load_yaml_text(text, "config/apps/deep.yaml")
    assert source is None
    assert [str(p) for p in problems] == [
        "config/apps/deep.yaml:1:1: YAML error: collections nested too deeply to read; a config file needs only a "
        "few levels"]


@pytest.mark.parametrize("text", ["a: " + "9" * 5000 + "\n", "a: [1, -" + "9" * 5000 + "]\n"], ids=["value", "in-a-list"])
def test_a_number_too_long_for_python_is_a_diagnostic_not_a_traceback(text: str) -> None:
    source, problems = load_yaml_text(text, "config/apps/big.yaml")
    assert source is None
    assert [str(p) for p in problems] == [
        f"config/apps/big.yaml:1:1: YAML error: a number with more than {sys.get_int_max_str_digits()} digits; "
        "quote it if it is meant as text"]
