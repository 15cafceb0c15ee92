"""Writes keep hand-written YAML as it was, touch only the file they concern, and write nothing when invalid."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from .kickfolio import new_version

ID_2_4_0 = "e87300cb-aee2-5e95-bc74-01f108ccd87f"


def _comments(text: str) -> list[str]:
    """Every comment, whole-line or at the end of a line, with the column it starts at."""
    return [f"{line.index('#')}:{line[line.index('#'):]}" for line in text.splitlines() if "#" in line]


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start): text.index(end)]


def test_comments_survive_create_update_and_delete(client: TestClient, demo_yaml: Path) -> None:
    original = demo_yaml.read_text()
    comments = _comments(original)
    assert "0:# Minimum versions: at most one per platform and environment. A client older" in comments

    created = client.post("/api/apps/DEMO1234/versions", json=new_version(message="Get 2.6")).json()["version"]
    after_create = demo_yaml.read_text()
    assert _comments(after_create) == comments
    # The new record goes after 2.4.0, and the comment introducing minimum_versions still introduces it.
    versions = _between(after_create, "versions:\n", "minimum_versions:")
    assert versions.index('"2.4.0"') < versions.index('"2.6.0"') < versions.index("# Minimum versions")
    messages = _between(after_create, "messages:\n", "versions:\n")
    assert messages.index("release-ios-production-2.6.0") < messages.index("# Exact version records")

    client.put("/api/apps/DEMO1234", json={"app": {"name": "Renamed"}})
    client.put(f"/api/versions/{ID_2_4_0}", json={"version": {"comments": ["still disabled"]}})
    after_update = demo_yaml.read_text()
    assert _comments(after_update) == comments
    assert "  name: Renamed             # the name KickIt clients send as X-KICKIT-APP-NAME\n" in after_update
    assert "    enabled: false            # disabled records never match; 2.4.0 falls through\n" in after_update

    client.delete(f"/api/versions/{created['id']}")
    client.delete(f"/api/versions/{ID_2_4_0}")  # the last record, which holds the next section's comment
    after_delete = demo_yaml.read_text()
    assert _comments(after_delete) == [c for c in comments if "2.4.0 falls through" not in c]
    assert re.search(r"    message: update_available\n\n# Minimum versions", after_delete)


def test_create_then_delete_restores_the_file_byte_for_byte(client: TestClient, demo_yaml: Path) -> None:
    original = demo_yaml.read_bytes()
    created = client.post("/api/apps/DEMO1234/versions", json=new_version(message={"en": "x", "de": "y"})).json()
    client.delete(f"/api/versions/{created['version']['id']}")
    assert demo_yaml.read_bytes() == original


def test_an_update_changes_only_its_lines(client: TestClient, demo_yaml: Path) -> None:
    original = demo_yaml.read_text().splitlines()
    client.put("/api/apps/DEMO1234", json={"app": {"bundle": "com.example.renamed"}})
    changed = demo_yaml.read_text().splitlines()
    removed = [line for line in original if line not in changed]
    added = [line for line in changed if line not in original]
    assert removed == ["  bundle: com.example.kickit"]
    assert added[0] == "  bundle: com.example.renamed" and added[1].startswith("  updated_at: ")
    assert len(added) == 2


def test_other_apps_never_touch_the_demo_file(client: TestClient, demo_yaml: Path) -> None:
    before = demo_yaml.stat()
    content = demo_yaml.read_bytes()
    app = client.post("/api/apps", json={"app": {"name": "Other"}}).json()["app"]
    client.post(f"/api/apps/{app['id']}/versions", json=new_version())
    client.put(f"/api/apps/{app['id']}", json={"app": {"name": "Other 2"}})
    client.delete(f"/api/apps/{app['id']}")
    after = demo_yaml.stat()
    assert demo_yaml.read_bytes() == content
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_delete_app_removes_only_its_file(client: TestClient, config_dir: Path) -> None:
    app = client.post("/api/apps", json={"app": {"name": "Gone"}}).json()["app"]
    files = sorted(p.relative_to(config_dir) for p in config_dir.rglob("*.yaml"))
    client.delete(f"/api/apps/{app['id']}")
    remaining = sorted(p.relative_to(config_dir) for p in config_dir.rglob("*.yaml"))
    assert set(files) - set(remaining) == {Path("apps/gone.yaml")}


def test_invalid_config_on_disk(client: TestClient, demo_yaml: Path, config_dir: Path) -> None:
    assert client.get("/api/apps").status_code == 200
    (config_dir / "apps" / "broken.yaml").write_text("app: [\n")
    # Reads and auth keep the last good config ...
    assert client.get("/api/apps/DEMO1234").status_code == 200
    # ... writes refuse until the folder is fixed, and write nothing.
    before = demo_yaml.read_bytes()
    response = client.post("/api/apps/DEMO1234/versions", json=new_version())
    assert response.status_code == 409
    assert response.json()["code"] == "config_invalid"
    assert "broken.yaml" in response.json()["message"]
    assert demo_yaml.read_bytes() == before
    (config_dir / "apps" / "broken.yaml").unlink()
    assert client.post("/api/apps/DEMO1234/versions", json=new_version()).status_code == 201


def test_no_temporary_files_are_left_behind(client: TestClient, config_dir: Path) -> None:
    client.post("/api/apps/DEMO1234/versions", json=new_version())
    client.post("/api/apps/DEMO1234/versions", json=new_version())  # a 422
    leftovers = [p.name for p in config_dir.rglob("*") if p.name.startswith(".tmp")]
    assert leftovers == []


def test_a_copied_version_id_is_a_config_error(client: TestClient, demo_yaml: Path) -> None:
    created = client.post("/api/apps/DEMO1234/versions", json=new_version()).json()["version"]
    text = demo_yaml.read_text().replace("    enabled: false ", f"    id: {created['id']}\n    enabled: false ")
    demo_yaml.write_text(text)
    response = client.put(f"/api/versions/{created['id']}", json={"version": {"state": "pending"}})
    assert response.status_code == 409
    assert f"versions[2].id: duplicate version id '{created['id']}': already used at" in response.json()["message"]
