"""Compiling one file at a time gives the bytes, the problems and the test results of compiling the whole config."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from kickit_edge.compiler.compile import compile_config
from kickit_edge.compiler.configtests import CaseResult
from kickit_edge.compiler.source import PARALLEL_FILES
from kickit_edge.compiler.stream import compile_folder
from kickit_edge.errors import ConfigError, ConfigTestFailure
from tests.conftest import MINIMAL_APP, WriteConfig

ROOT = Path(__file__).resolve().parents[2]
GENERATED_APPS = 450  # more than PARALLEL_FILES: the files are compiled in worker processes
# The sha256 of the generated config's snapshot (seed 1, revision "pinned",
# SOURCE_DATE_EPOCH 1790000000), as compiled before files were compiled one at
# a time. A change of these bytes changes every client's ETag: it must be meant.
GENERATED_SHA256 = "99d7983e4f35e22d897f0cf56531a84068e0ec96c9e2652257bad8cd9f94d070"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "config"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_config.py"), str(out),
                    "--apps", str(GENERATED_APPS), "--keys-out", str(out.parent / "keys.tsv")],
                   check=True, capture_output=True)
    return out


def test_a_big_config_gives_the_same_bytes_as_before(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert GENERATED_APPS >= PARALLEL_FILES
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    streamed = compile_folder(str(generated), revision="pinned")
    whole = compile_config(str(generated), revision="pinned")
    assert streamed.data == whole.data
    assert hashlib.sha256(streamed.data).hexdigest() == GENERATED_SHA256
    assert streamed.apps == GENERATED_APPS
    assert streamed.snapshot.digest == whole.snapshot.digest
    assert streamed.snapshot.apps["app00007"].exact_v1 == whole.snapshot.apps["app00007"].exact_v1


def test_the_demo_gives_the_same_bytes_and_test_results(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    streamed = compile_folder(str(demo_config), revision="abc123")
    whole = compile_config(str(demo_config), revision="abc123")
    assert streamed.data == whole.data
    def seen(results: list[CaseResult]) -> list[tuple[str, str, str, str | None, str | None]]:
        return [(r.app, r.case.name, r.verdict, r.rule, r.message) for r in results]

    assert streamed.results and seen(streamed.results) == seen(whole.results)


def _problems(config: Path) -> tuple[list[str], list[str]]:
    with pytest.raises(ConfigError) as streamed:
        compile_folder(str(config))
    with pytest.raises(ConfigError) as whole:
        compile_config(str(config))
    return [str(d) for d in streamed.value.diagnostics], [str(d) for d in whole.value.diagnostics]


@pytest.mark.parametrize("files", [
    {"apps/a.yaml": MINIMAL_APP, "apps/b.yaml": MINIMAL_APP},  # the same app id, uuid and public key twice
    {"apps/a.yaml": MINIMAL_APP.replace("default_locale: en", "default_locale: 7")},  # schema
    {"apps/a.yaml": MINIMAL_APP + "app: {}\n"},  # a duplicate key
    {"apps/a.yaml": MINIMAL_APP, "apps/b.yaml": "app: [\n"},  # not YAML
    {},  # no files
], ids=["duplicates-across-files", "schema", "duplicate-key", "not-yaml", "empty"])
def test_problems_are_those_of_the_whole_config(write_config: WriteConfig, files: dict[str, str]) -> None:
    streamed, whole = _problems(write_config(files))
    assert streamed and streamed == whole


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    streamed, whole = _problems(tmp_path / "nowhere")
    assert streamed == whole == [f"{tmp_path / 'nowhere'}:1:1: config folder not found: expected a folder of YAML files"]


def test_failing_config_tests_fail_the_compile(demo_config: Path) -> None:
    demo = demo_config / "apps" / "demo.yaml"
    text = demo.read_text()
    assert "verdict: hard" in text
    demo.write_text(text.replace("verdict: hard", "verdict: soft", 1))
    with pytest.raises(ConfigTestFailure) as streamed:
        compile_folder(str(demo_config))
    with pytest.raises(ConfigTestFailure) as whole:
        compile_config(str(demo_config))
    assert streamed.value.failures and streamed.value.failures == whole.value.failures


def test_every_line_is_verified_as_the_edge_loads_it(write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line the edge's loader would reject stops the compile with the loader's reason, before anything is published."""
    from kickit_edge.compiler import stream
    from kickit_edge.errors import SnapshotError
    from kickit_edge.loader import load_snapshot

    config = write_config()
    published = compile_folder(str(config))
    assert list(published.snapshot.apps) == ["shop"] and len(published.snapshot.apps) == 1
    assert published.snapshot.apps["shop"] == load_snapshot(published.data).apps["shop"]
    render = stream.render_app
    monkeypatch.setattr(stream, "render_app", lambda app: {k: v for k, v in render(app).items() if k != "minimum"})
    with pytest.raises(SnapshotError) as refused:
        compile_folder(str(config))
    assert str(refused.value) == "snapshot app 'shop' is not valid: KeyError: 'minimum'"
