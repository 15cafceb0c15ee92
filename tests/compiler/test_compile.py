"""Compiling the demo and small configs: determinism, the manifest, publishing and rollback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kickit_edge.compiler.compile import compile_config
from kickit_edge.atomicfile import _umask
from kickit_edge.compiler.publish import history, publish_snapshot, rollback
from kickit_edge.errors import OperatorError
from kickit_edge.loader import load_snapshot
from tests.conftest import MINIMAL_APP, WriteConfig


def test_same_config_gives_the_same_bytes(demo_config: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    first = compile_config(str(demo_config), revision="abc123").data
    # The same files under another folder name and spelling: still the same bytes.
    moved = tmp_path / "elsewhere" / "cfg"
    moved.parent.mkdir()
    demo_config.rename(moved)
    second = compile_config(str(moved) + "/", revision="abc123").data
    assert first == second
    manifest = json.loads(first.split(b"\n", 1)[0])["manifest"]
    assert manifest["revision"] == "abc123"
    assert manifest["created"] == "2026-09-21T14:13:20Z"
    assert manifest["schema_version"] == 1
    assert manifest["digest"].startswith("sha256:")


def test_reordering_files_and_comments_keep_the_content(write_config: WriteConfig) -> None:
    a = write_config({"apps/shop.yaml": MINIMAL_APP}, name="a")
    b = write_config({"apps/shop.yaml": "# a comment\n" + MINIMAL_APP.replace("  default_locale: en\n", "")
                      .replace("  name: ShopApp\n", "  name: ShopApp\n  default_locale: en\n")}, name="b")
    assert compile_config(str(a), revision="r").data.split(b"\n")[1] == \
        compile_config(str(b), revision="r").data.split(b"\n")[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.sampled_from(["ios", "android"]),
                          st.sampled_from(["production", "staging"]), st.booleans()),
                min_size=1, max_size=12, unique_by=lambda t: t[:4]))
def test_every_enabled_record_is_reachable_in_the_snapshot(tmp_path_factory: pytest.TempPathFactory,
                                                           records: list[tuple[int, int, str, str, bool]]) -> None:
    lines = "".join(
        f'  - {{version: "{a}.{b}.0", platform: {p}, environment: {e}, force_update: {str(f).lower()}}}\n'
        for a, b, p, e, f in records
    )
    head = MINIMAL_APP.split("versions:")[0]
    root = tmp_path_factory.mktemp("cfg")
    (root / "shop.yaml").write_text(head + "versions:\n" + lines)
    compiled = compile_config(str(root), revision="r")
    app = compiled.snapshot.apps["shop"]
    for a, b, p, e, f in records:
        answer = app.exact_v1[(p, e, f"{a}.{b}.0")]
        assert answer.verdict == ("hard" if f else "soft")
        assert json.loads(answer.body) == {"version": f"{a}.{b}.0", "platform": p, "force_update": f,
                                           "update_message": None}
    assert compile_config(str(root), revision="r").data == compiled.data


def test_publish_is_atomic_keeps_history_and_rolls_back(demo_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = compile_config(str(demo_config), revision="one").data
    path1, changed = publish_snapshot(first, out)
    assert changed and (out / "snapshot.json").read_bytes() == first
    assert (out / "snapshot.json").stat().st_mode & 0o777 == 0o644 & ~_umask()
    assert publish_snapshot(first, out) == (path1, False)
    demo = demo_config / "apps" / "demo.yaml"
    demo.write_text(demo.read_text().replace('version: "2.0.0"', 'version: "2.1.0"'))
    second = compile_config(str(demo_config), revision="two").data
    publish_snapshot(second, out)
    assert (out / "snapshot.json").read_bytes() == second
    assert [p.read_bytes() for p in history(out)] == [first, second]
    assert not [p for p in os.listdir(out) if p.startswith(".tmp")]
    rollback(out)
    assert (out / "snapshot.json").read_bytes() == first
    with pytest.raises(OperatorError, match="no snapshot 'nope'"):
        rollback(out, "nope")


def test_history_keeps_the_last_few(write_config: WriteConfig, tmp_path: Path) -> None:
    root = write_config()
    out = tmp_path / "out"
    for n in range(4):
        publish_snapshot(compile_config(str(root), revision=f"r{n}").data, out, keep=2)
    kept = history(out)
    assert len(kept) == 2
    assert load_snapshot(kept[-1].read_bytes()).revision == "r3"


def test_publishing_into_an_unwritable_place_is_an_operator_error(write_config: WriteConfig, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    data = compile_config(str(write_config()), revision="r").data
    with pytest.raises(OperatorError, match="cannot publish into"):
        publish_snapshot(data, blocker / "out")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=20), st.sampled_from(["ios", "android"]), st.booleans(),
       st.dictionaries(st.sampled_from(["en", "de", "fr", "pt-BR"]), st.text(min_size=1, max_size=30), min_size=0))
def test_joined_bodies_equal_json_dumps(version: str, platform: str, force: bool, texts: dict[str, str]) -> None:
    from kickit_edge.compiler.render import _Bodies
    from kickit_edge.snapshot import etag_of, render_body

    texts = {"en": "Update, \"please\" \u2713", **texts}
    app = type("App", (), {"messages": {"m": texts}, "default_locale": "en"})()
    for message in ("m", None):
        v1, v1_etag, v2, v2_etag = _Bodies(app).render(version, platform, force, message)  # type: ignore[arg-type]
        default = texts["en"] if message else None
        localized = ({"en": texts["en"], **{k: texts[k] for k in sorted(texts) if k != "en"}} if message else None)
        expected_v1 = render_body({"version": version, "platform": platform, "force_update": force,
                                   "update_message": default})
        expected_v2 = render_body({"version": version, "platform": platform, "force_update": force,
                                   "default_update_message": default, "update_messages": localized})
        assert v1.encode() == expected_v1 and v1_etag == etag_of(expected_v1)
        assert v2.encode() == expected_v2 and v2_etag == etag_of(expected_v2)
