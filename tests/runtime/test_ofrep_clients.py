"""Real OpenFeature clients that nobody here wrote, against a real edge on 127.0.0.1.

* Python: ``openfeature-sdk`` with ``openfeature-provider-ofrep``, the
  server-side provider, which evaluates one flag per call (it has no bulk mode).
* JavaScript: ``@openfeature/web-sdk`` with ``@openfeature/ofrep-web-provider``,
  the client-side provider: bulk evaluation, ETag revalidation while polling, a
  context change and a snapshot change (``tests/clients/js``; needs node; the
  pinned packages are installed with ``npm ci`` on the first run, as ``.ci/run`` does ahead of it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.contrib.provider.ofrep import OFREPProvider

from kickit_edge.compiler.compile import compile_config
from kickit_edge.compiler.publish import publish_snapshot

from .conftest import DEMO_KEY, REPO, Server, StartServer, wait_until, write_test_config

JS = REPO / "tests" / "clients" / "js"
STORE_IOS = "https://apps.apple.com/app/id000000000"
OLD_MINIMUM = """    version: "2.0.0"
    force_update: true"""
NEW_MINIMUM = """    version: "2.0.0"
    force_update: false"""


@pytest.fixture(scope="session")
def relaxed_snapshot(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The test config with the iOS minimum made soft."""
    root = write_test_config(tmp_path_factory.mktemp("relaxed") / "config")
    demo = root / "apps" / "demo.yaml"
    text = demo.read_text()
    assert OLD_MINIMUM in text
    demo.write_text(text.replace(OLD_MINIMUM, NEW_MINIMUM).replace(
        "expect: {verdict: hard, rule: minimum:ios/production}", "expect: {verdict: soft, rule: minimum:ios/production}"))
    return compile_config(str(root), revision="relaxed").data


@pytest.fixture
def edge(start_server: StartServer, snapshots: Path, tmp_path: Path) -> Server:
    return start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--poll-interval", "0.2")


@pytest.fixture
def openfeature() -> Iterator[None]:
    yield
    api.shutdown()
    api.clear_providers()


def sdk_client(server: Server, domain: str, headers: dict[str, str]) -> OpenFeatureClient:
    api.set_provider(OFREPProvider(server.base, headers_factory=lambda: headers, timeout=10), domain)
    return api.get_client(domain)


IOS_120 = EvaluationContext("user-1", {"appVersion": "1.2.0", "platform": "ios", "locale": "de-DE"})


def test_python_sdk_evaluates_each_flag(edge: Server, openfeature: None) -> None:
    client = sdk_client(edge, "x-api-key", {"X-API-Key": DEMO_KEY})
    upgrade = client.get_string_details("kickit.upgrade", "none", IOS_120)
    assert (upgrade.value, upgrade.variant, upgrade.reason, upgrade.error_code) == (
        "hard", "hard", Reason.TARGETING_MATCH, None)
    assert upgrade.flag_metadata == {
        "rule": "minimum:ios/production", "storeUrl": STORE_IOS,
        "message": "Diese Version wird nicht mehr unterstuetzt. Bitte aktualisiere die App."}
    assert client.get_boolean_value("kickit.force-update", False, IOS_120) is True
    current = EvaluationContext("user-1", {"appVersion": "2.6.0", "platform": "ios"})
    none = client.get_string_details("kickit.upgrade", "soft", current)
    assert (none.value, none.reason, none.flag_metadata) == ("none", Reason.DEFAULT, {"storeUrl": STORE_IOS})
    staging = EvaluationContext("user-1", {"environment": "staging"})
    maintenance = client.get_boolean_details("kickit.maintenance", False, staging)
    assert (maintenance.value, maintenance.flag_metadata["title"]) == (True, "Scheduled Maintenance")
    assert json.loads(str(maintenance.flag_metadata["links"])) == [
        {"title": "Status Page", "url": "https://status.example.com"}]
    old_os = EvaluationContext("user-1", {"platform": "ios", "osVersion": "9.3", "appVersion": "2.5.0"})
    assert client.get_string_value("kickit.target", "none", old_os) == "hard"


def test_python_sdk_with_a_bearer_key_and_the_errors(edge: Server, openfeature: None) -> None:
    client = sdk_client(edge, "bearer", {"Authorization": f"Bearer {DEMO_KEY}"})
    assert client.get_string_value("kickit.upgrade", "none", IOS_120) == "hard"
    unknown = client.get_string_details("kickit.nope", "fallback", IOS_120)
    assert (unknown.value, unknown.error_code) == ("fallback", ErrorCode.FLAG_NOT_FOUND)
    assert unknown.error_message == "flag 'kickit.nope' was not found; the flags are kickit.upgrade, " \
                                    "kickit.force-update, kickit.maintenance, kickit.target"
    no_platform = client.get_string_details("kickit.upgrade", "none", EvaluationContext("u", {"appVersion": "1.0"}))
    assert (no_platform.value, no_platform.error_code, no_platform.error_message) == (
        "none", ErrorCode.INVALID_CONTEXT, "platform is required to evaluate kickit.upgrade")
    wrong_type = client.get_boolean_details("kickit.upgrade", False, IOS_120)
    assert (wrong_type.value, wrong_type.error_code) == (False, ErrorCode.TYPE_MISMATCH)
    stranger = sdk_client(edge, "bad-key", {"X-API-Key": "0000000000000000." + "0" * 64})
    refused = stranger.get_string_details("kickit.upgrade", "none", IOS_120)
    assert (refused.value, refused.error_code, refused.error_message) == ("none", ErrorCode.GENERAL, "unauthorized")


def test_python_sdk_sees_a_new_snapshot(edge: Server, snapshots: Path, relaxed_snapshot: bytes,
                                        openfeature: None) -> None:
    client = sdk_client(edge, "reload", {"X-API-Key": DEMO_KEY})
    assert client.get_string_value("kickit.upgrade", "none", IOS_120) == "hard"
    publish_snapshot(relaxed_snapshot, snapshots)
    wait_until(lambda: client.get_string_value("kickit.upgrade", "none", IOS_120) == "soft",
               what="the SDK to see the new snapshot")
    assert client.get_boolean_value("kickit.force-update", True, IOS_120) is False


def test_javascript_web_sdk(edge: Server, snapshots: Path, relaxed_snapshot: bytes, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript OpenFeature client test needs node 18 or later")
    if not (JS / "node_modules" / "@openfeature" / "ofrep-web-provider").is_dir():
        # The README's one test command must be enough: install the pinned clients (package-lock.json) once.
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"node is installed but npm is not: install npm, then run `npm ci --prefix {JS.relative_to(REPO)}`")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"`npm ci` in {JS.relative_to(REPO)} failed:\n{done.stdout}{done.stderr}"
    relaxed = tmp_path / "relaxed.json"
    relaxed.write_bytes(relaxed_snapshot)
    republish = [sys.executable, "-c", "import sys; from pathlib import Path; "
                 "from kickit_edge.compiler.publish import publish_snapshot; "
                 "publish_snapshot(Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]))", str(relaxed), str(snapshots)]
    env = {**os.environ, "OFREP_BASE_URL": edge.base, "OFREP_KEY": DEMO_KEY, "OFREP_REPUBLISH": json.dumps(republish)}
    run = subprocess.run([node, "--test", "--test-reporter=spec", "ofrep.test.mjs"], cwd=JS, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_readme_example_prints_what_the_readme_says(edge: Server) -> None:
    readme = (REPO / "README.md").read_text()
    script = readme.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    printed = readme.split("It prints the hard upgrade", 1)[1].split("```\n", 2)[1]
    run = subprocess.run([sys.executable, "-c", script.replace("http://127.0.0.1:8000", edge.base)],
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == printed
