"""yaml-rs reads a file only where it gives exactly what PyYAML gives; every other file is read as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kickit_edge.compiler import quickyaml, source
from kickit_edge.compiler.source import load_yaml_text
from tests.conftest import DEMO_CONFIG, MINIMAL_APP

ROOT = Path(__file__).resolve().parents[2]


def _pyyaml(text: str) -> tuple[bool, Any]:
    """What the PyYAML reader makes of ``text``: (read without a problem, data)."""
    quick = getattr(source, "quick_load")
    try:
        setattr(source, "quick_load", lambda text: (False, None))
        read, problems = load_yaml_text(text, "f.yaml")
    finally:
        setattr(source, "quick_load", quick)
    return (read is not None and not problems), (read.data if read is not None else None)


def _same(text: str) -> None:
    quick, data = quickyaml.quick_load(text)
    if quick:
        ok, expected = _pyyaml(text)
        assert ok, f"yaml-rs read a file PyYAML refuses: {text!r}"
        assert repr(data) == repr(expected), text  # repr: 1 is not True, -0.0 is not 0.0, key order counts


def test_load_yaml_text_reads_through_the_quick_reader() -> None:
    assert quickyaml.quick_load(MINIMAL_APP)[0]
    read, problems = load_yaml_text(MINIMAL_APP, "shop.yaml")
    assert problems == [] and read is not None and read.data == _pyyaml(MINIMAL_APP)[1]
    assert read.where(("versions", 0, "platform")) == (15, 15)  # positions still come from PyYAML


def test_a_generated_app_file_and_the_demo_are_read_alike(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_config.py"), str(tmp_path / "c"), "--apps", "3",
                    "--keys-out", str(tmp_path / "keys.tsv")], check=True, capture_output=True)
    generated = sorted((tmp_path / "c").rglob("*.yaml"))
    assert generated
    for path in [*generated, *sorted(DEMO_CONFIG.rglob("*.yaml"))]:
        _same(path.read_text())
    assert all(quickyaml.quick_load(path.read_text())[0] for path in generated)  # the fast path is the usual one


@pytest.mark.parametrize("text", [
    "a: yes\n", "a: [on, off]\n", "a: 017\n", "a: 0o17\n", "a: 1:20\n", "a: 1_000\n", "a: 1e3\n", "a: .5\n",
    "a: 0x_1\n", "a: _1\n", "1: a\n", "true: a\n", "null: a\n", "~: a\n", ": a\n", "[a]: b\n", "{a: 1}: b\n",
    "? a\n: b\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  text\n", "a: >\n  text\n", "--- a\n", "a: 1\n...\n",
    "%YAML 1.1\n---\na: 1\n", "<<: {a: 1}\n", "a: =\n", "a: 1\na: 2\n", "a:\n\tb: 1\n", "a: \"\\u00e9\"\n",
    "a: 1\r\nb: 2\r\n", "\ufeffa: 1\n", "a: b\x85c\n", "", "# only a comment\n", "{'a':yes}\n", '{"a":on}\n',
    "- - yes\n", "- a: 1\n  b: no\n", "a: [1, [2, {b: off}]]\n", "a: b\nc: -.inf\n", "a: 1.10\n", "a: -0.0\n",
    "a: 2024-02-30\n", "force_update: yes\n", "name: no\n", "- nan: on\n", "{'yes': yes}\n", "'yes' : on\n",
    "a: [b:, c]\n", "a: [:x, y]\n", "a: [b, c:]\n", "ap : x\n", "yes : x\n", "{a :b}\n", "- a : 1\n  b : no\n",
    "a: b\xa0yes\n", "a: yes\xa0\n", "a: `x`\n", "a: @x\n", "--- yes\n", "? yes\n: x\n", "a: [no way, yes]\n",
    "a: {null}\n", "a: {2 ,}\n", "a: {~}\n", "a: {b, true}\n", "a: {yes}\n", "a: No update needed\n", "a: yes # c\n", "a: yes, please\n", "a: [yes , no]\n", "a: no way: x\n", "a: 1 :x\n",  # the first three: LibYAML refuses them, yaml-rs not "a: 2024-01-01 10:00:00\n", "a:\n  - y\n  - n\n", "a: 'it''s'\nb: \"say \"\n",
])
def test_files_yaml_reads_differently_are_left_to_pyyaml(text: str) -> None:
    _same(text)


def test_a_typed_scalar_that_differs_sends_the_file_to_pyyaml() -> None:
    assert quickyaml.quick_load("a: yes\n") == (False, None)
    assert quickyaml.quick_load("a: 1:20\n") == (False, None)
    assert quickyaml.quick_load("1: a\n") == (False, None)  # PyYAML's key is "1"
    assert quickyaml.quick_load("a: [ios, android]\nb: true\nc: 12\n") == (True, {"a": ["ios", "android"], "b": True,
                                                                             "c": 12})
    # A word that only looks like one inside a sentence or quotes is a string to both.
    assert quickyaml.quick_load("a: turn on updates\nb: 'yes'\n") == (True, {"a": "turn on updates", "b": "yes"})
    assert quickyaml.quick_load("a: No update needed\nb: [2 new, x]\n") == (True, {"a": "No update needed",
                                                                                   "b": ["2 new", "x"]})


def test_problems_keep_their_texts() -> None:
    assert [str(d) for d in load_yaml_text("app:\n  id: a\n  id: b\n", "f.yaml")[1]] == [
        "f.yaml:3:3: app.id: duplicate key 'id'"]
    assert [str(d) for d in load_yaml_text("app: [a, b\n", "f.yaml")[1]] == [
        "f.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'"]


_SCALARS = ["yes", "No", "on", "OFF", "y", "n", "true", "False", "null", "~", "", "0", "-0", "+1", "017", "0o17",
            "0x1F", "0b101", "1_000", "1:20", "-1:20.5", "1e3", "1.0e+3", ".5", "-.5", "1.", "1.10", "-0.0", ".inf",
            "-.Inf", ".NaN", "_1", "0_", "2024-01-01", "2024-01-01 10:00:00", "=", "<<", "-", "?", "a b", "a:b",
            "a #b", "ios", "1.0.0", "it's", "x,y", "[x]", "{x}", "&a", "*a", "!t", "|", ">", "%", "@", "`", "...",
            "---", "a: b", "é", "name", "force", "tags", "fr", "No way", "yes please", "1 2", "on  # c", "true :x", "0 -x", "12345678901234567890123", "1e400", "Infinity", "nan"]


def _scalar(text: str, quote: str) -> str:
    if quote == "'":
        return "'" + text.replace("'", "''") + "'"
    if quote == '"':
        return '"' + text.replace('"', "'") + '"'
    return text


_scalars = st.builds(_scalar, st.sampled_from(_SCALARS), st.sampled_from(["", "", "'", '"']))


def _flow(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.sampled_from(["scalar", "scalar", "seq", "map"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        return draw(_scalars)
    items = draw(st.lists(st.just(0), max_size=3))
    if kind == "seq":
        return "[" + ", ".join(_flow(draw, depth + 1) for _ in items) + "]"
    return "{" + ", ".join(f"{draw(_scalars)}: {_flow(draw, depth + 1)}" for _ in items) + "}"


@st.composite
def _documents(draw: st.DrawFn, depth: int = 0) -> str:
    """A block mapping or sequence at ``depth`` (its lines indented), of scalars, flow and block values."""
    pad = "  " * depth
    lines = []
    sequence = draw(st.booleans())
    for _ in range(draw(st.integers(1, 4))):
        head = f"{pad}- " if sequence else f"{pad}{draw(_scalars)}:"
        nested = depth < 2 and draw(st.integers(0, 3)) == 0
        if nested:
            lines.append(head.rstrip() + "\n" + draw(_documents(depth + 1)))
        else:
            lines.append(f"{head} {_flow(draw, 0)}".replace(":  ", ": ").rstrip() + "\n")
    return "".join(lines)


@settings(max_examples=400, deadline=None)
@given(_documents())
def test_whatever_the_document_yaml_rs_agrees_with_pyyaml_or_is_not_used(text: str) -> None:
    _same(text)


_WORDS = ["yes", "No", "on", "true", "null", "~", "1", "017", "1:20", "1e3", ".5", "-", "?", "x", "way", "a:", ":",
          ",", "#", "[", "]", "{", "}", "'", '"', "&a", "*a", "!t", "---", "|", ">", "- ", "y", "0x1F", "+1", "_1"]


@st.composite
def _lines(draw: st.DrawFn) -> str:
    """Mappings whose values are runs of YAML 1.1/1.2 look-alikes and indicators, plain, in flow collections or
    before a comment: where the two parsers' readings of a scalar, a key or the syntax part."""
    lines = []
    for number in range(draw(st.integers(1, 4))):
        words = " ".join(draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4)))
        value = draw(st.sampled_from([words, f"[{words}]", f"{{{words}}}", f"{words} # c"]))
        indent = draw(st.sampled_from(["", "  ", "- ", "  - "]))
        key = draw(st.sampled_from([f"k{number}", "yes", "a b", "'q'", "No"]))
        lines.append(f"{indent}{key}:{draw(st.sampled_from([' ', '', '  ']))}{value}\n")
    return "".join(lines)


@settings(max_examples=400, deadline=None)
@given(_lines())
def test_whatever_the_words_yaml_rs_agrees_with_pyyaml_or_is_not_used(text: str) -> None:
    _same(text)
