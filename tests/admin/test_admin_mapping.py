"""The Kickfolio <-> config mapping: what each call writes into the YAML, and what it reads back."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from starlette.testclient import TestClient

from kickit_edge.admin.mapping import version_id
from kickit_edge.compiler.builder import read_config

from .kickfolio import DEMO_UUID, new_version

ID_2_4_0 = version_id(DEMO_UUID, "ios", "production", "2.4.0")


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_new_app_defaults(client: TestClient, config_dir: Path) -> None:
    app = client.post("/api/apps", json={"app": {"name": "Kickfolio"}}).json()["app"]
    data = _yaml(config_dir / "apps" / "kickfolio.yaml")
    info = data["app"]
    assert info["id"] == app["slug"] == "kickfolio"
    assert info["uuid"] == app["id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", app["id"])
    assert re.fullmatch(r"[A-Z0-9]{10}", app["public_key"]) and info["public_key"] == app["public_key"]
    assert info["platforms"] == app["platforms"] == ["ios", "android"]
    assert info["environments"] == app["environments"] == ["production"]
    assert info["default_locale"] == "en"
    assert info["owner"] == "ci"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["created_at"])
    assert set(data) == {"app"}
    read_config(config_dir)  # a valid config
    first_lines = (config_dir / "apps" / "kickfolio.yaml").read_text().splitlines()[:2]
    assert first_lines == ["# yaml-language-server: $schema=../../kickit_edge/schemas/app.schema.json",
                           "# kickfolio.yaml: created through the management API (kickit-edge admin)."]


def test_slugs_are_made_unique_and_ascii(client: TestClient, config_dir: Path) -> None:
    slugs = [client.post("/api/apps", json={"app": {"name": n}}).json()["app"]["slug"]
             for n in ("Café Élan", "Cafe elan", "demo", "日本")]
    assert slugs == ["cafe-elan", "cafe-elan-2", "demo-2", "app"]
    assert sorted(p.name for p in (config_dir / "apps").iterdir()) == [
        "app.yaml", "cafe-elan-2.yaml", "cafe-elan.yaml", "demo-2.yaml", "demo.yaml"]


def test_app_fields_of_our_own(client: TestClient, config_dir: Path) -> None:
    body = {"name": "Full", "slug": "full", "public_key": "FULL0001", "user_id": "team-mobile",
            "bundle": "com.example.full", "icon": "https://example.com/icon.png", "device_type": "iPhone",
            "default_to_landscape": True, "platforms": ["ios"], "environments": ["production", "beta"],
            "default_locale": "de", "store_urls": {"ios": "https://apps.apple.com/app/id1"}}
    app = client.post("/api/apps", json={"app": body}).json()["app"]
    for name, value in body.items():
        assert app[name] == value, name
    info = _yaml(config_dir / "apps" / "full.yaml")["app"]
    assert info["owner"] == "team-mobile"
    assert info["default_to_landscape"] is True


def test_null_removes_an_optional_app_field(client: TestClient, demo_yaml: Path) -> None:
    app = client.put("/api/apps/DEMO1234", json={"app": {"bundle": None}}).json()["app"]
    assert app["bundle"] is None
    assert "bundle" not in _yaml(demo_yaml)["app"]


def test_slug_cannot_change_and_bad_slug_is_refused(client: TestClient) -> None:
    response = client.put("/api/apps/DEMO1234", json={"app": {"slug": "other"}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "slug"
    response = client.post("/api/apps", json={"app": {"name": "x", "slug": "../../etc/passwd"}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "slug"


def test_a_taken_slug_never_replaces_an_app(client: TestClient, demo_yaml: Path) -> None:
    before = demo_yaml.read_bytes()
    response = client.post("/api/apps", json={"app": {"name": "Impostor", "slug": "demo"}})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "slug", "resource": "App", "message": "'demo' is taken: apps/demo.yaml exists"}]
    assert demo_yaml.read_bytes() == before


def test_duplicate_public_key_is_record_invalid(client: TestClient, config_dir: Path) -> None:
    response = client.post("/api/apps", json={"app": {"name": "Copy", "public_key": "DEMO1234"}})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "public_key" and error["resource"] == "App"
    assert error["message"].startswith("duplicate public_key 'DEMO1234'")
    assert not (config_dir / "apps" / "copy.yaml").exists()


def test_state_maps_to_enabled(client: TestClient, demo_yaml: Path) -> None:
    created = client.post("/api/apps/DEMO1234/versions", json=new_version(state="pending")).json()["version"]
    assert created["state"] == "pending"
    record = _yaml(demo_yaml)["versions"][-1]
    assert record["enabled"] is False
    client.put(f"/api/versions/{created['id']}", json={"version": {"state": "ready"}})
    assert _yaml(demo_yaml)["versions"][-1]["enabled"] is True


def test_version_record_written_in_full(client: TestClient, demo_yaml: Path) -> None:
    created = client.post("/api/apps/DEMO1234/versions", json=new_version(
        platform="android", environment="staging", force_update=True, comments=["first build"],
        default_image="https://example.com/launch.png")).json()["version"]
    record = _yaml(demo_yaml)["versions"][-1]
    assert record == {
        "id": created["id"], "version": "2.6.0", "platform": "android", "environment": "staging",
        "enabled": True, "force_update": True, "bundle_url": "https://example.com/builds/2.6.0.zip",
        "default_image": "https://example.com/launch.png", "comments": ["first build"],
        "created_at": created["created_at"], "updated_at": created["updated_at"]}
    assert '    version: "2.6.0"\n' in demo_yaml.read_text()  # quoted, as the demo asks


def test_defaults_platform_ios_and_first_environment(client: TestClient) -> None:
    version = client.post("/api/apps/DEMO1234/versions", json=new_version()).json()["version"]
    assert (version["platform"], version["environment"], version["force_update"]) == ("ios", "production", False)


def test_bundle_url_falls_back_to_the_store_url(client: TestClient) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json={"version": {"version_string": "2.7.0"}})
    assert response.status_code == 201
    assert response.json()["version"]["bundle_url"] == "https://apps.apple.com/app/id000000000"


def test_bundle_url_required_without_a_store_url(client: TestClient) -> None:
    app = client.post("/api/apps", json={"app": {"name": "Bare"}}).json()["app"]
    response = client.post(f"/api/apps/{app['id']}/versions", json={"version": {"version_string": "1.0"}})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "bundle_url", "resource": "Version",
                                          "message": "can't be blank: the app has no store URL for ios"}]


def test_version_string_required(client: TestClient) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json={"version": {"bundle_url": "https://example.com/x"}})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["version_string"]
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string=2.6))
    assert response.json()["errors"][0]["message"] == 'must be a string, got 2.6; send it as a string, as in "2.6"'


def test_hand_written_record_gets_a_stable_id_written_on_update(client: TestClient, demo_yaml: Path) -> None:
    assert "id" not in _yaml(demo_yaml)["versions"][1]
    response = client.put(f"/api/versions/{ID_2_4_0}", json={"version": {"comments": ["kept for history"]}})
    assert response.status_code == 200
    record = _yaml(demo_yaml)["versions"][1]
    assert record["id"] == ID_2_4_0
    assert record["comments"] == ["kept for history"]
    response = client.put(f"/api/versions/{ID_2_4_0}", json={"version": {"version_string": "2.4.1"}})
    assert response.json()["version"]["id"] == ID_2_4_0
    assert client.get(f"/api/versions/{ID_2_4_0}").json()["version"]["version_string"] == "2.4.1"


def test_message_text_becomes_a_message_entry(client: TestClient, demo_yaml: Path) -> None:
    version = client.post("/api/apps/DEMO1234/versions", json=new_version(message="Version 2.6 is here.")).json()["version"]
    assert version["message"] == {"en": "Version 2.6 is here."}
    assert version["message_name"] == "release-ios-production-2.6.0"
    data = _yaml(demo_yaml)
    assert data["messages"]["release-ios-production-2.6.0"] == {"en": "Version 2.6 is here."}
    assert data["versions"][-1]["message"] == "release-ios-production-2.6.0"


def test_localized_message_and_reuse_of_identical_texts(client: TestClient, demo_yaml: Path) -> None:
    texts = {"en": "A new version is available.", "de": "Eine neue Version ist verfuegbar."}
    version = client.post("/api/apps/DEMO1234/versions", json=new_version(message=texts)).json()["version"]
    assert version["message_name"] == "update_available"  # the same texts already have a name
    assert version["message"] == texts
    texts = {"en": "Fresh", "fr": "Frais"}
    version = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.7.0", message=texts)).json()["version"]
    assert version["message"] == texts
    assert _yaml(demo_yaml)["messages"]["release-ios-production-2.7.0"] == texts


def test_message_without_the_default_locale_is_invalid(client: TestClient, demo_yaml: Path) -> None:
    before = demo_yaml.read_bytes()
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(message={"de": "Neu"}))
    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "field": "message", "resource": "Version",
        "message": "message 'release-ios-production-2.6.0' has no text for the default locale 'en'"}]
    assert demo_yaml.read_bytes() == before


def test_message_name_references_an_existing_message(client: TestClient) -> None:
    version = client.post("/api/apps/DEMO1234/versions", json=new_version(message_name="update_required")).json()["version"]
    assert version["message"]["en"].startswith("This version is no longer supported")
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.8.0", message_name="nope"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "message"
    assert response.json()["errors"][0]["message"].startswith("unknown message 'nope'")


def test_message_change_and_removal_clean_up_generated_messages(client: TestClient, demo_yaml: Path) -> None:
    version = client.post("/api/apps/DEMO1234/versions", json=new_version(message="one")).json()["version"]
    client.put(f"/api/versions/{version['id']}", json={"version": {"message": "two"}})
    assert _yaml(demo_yaml)["messages"]["release-ios-production-2.6.0"] == {"en": "two"}
    client.put(f"/api/versions/{version['id']}", json={"version": {"message": None}})
    data = _yaml(demo_yaml)
    assert "release-ios-production-2.6.0" not in data["messages"]
    assert "message" not in data["versions"][-1]
    version = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.9.0", message="bye")).json()["version"]
    client.delete(f"/api/versions/{version['id']}")
    assert "release-ios-production-2.9.0" not in _yaml(demo_yaml)["messages"]
    assert "update_available" in _yaml(demo_yaml)["messages"]  # hand-written messages stay


def test_putting_back_what_get_returned_changes_nothing(client: TestClient, demo_yaml: Path) -> None:
    before = demo_yaml.read_bytes()
    app = client.get("/api/apps/DEMO1234").json()
    assert client.put("/api/apps/DEMO1234", json=app).json() == app
    version = client.get(f"/api/versions/{ID_2_4_0}").json()
    assert client.put(f"/api/versions/{ID_2_4_0}", json=version).json() == version
    assert demo_yaml.read_bytes() == before


def test_unknown_attributes_are_refused(client: TestClient) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(force_upate=True))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "force_upate"
    assert error["message"].startswith("is not an attribute of Version; expected one of: app_id, bundle_url")


def test_duplicate_version_is_record_invalid(client: TestClient) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(version_string="2.5.0"))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "version_string"
    assert error["message"].startswith("duplicate exact version '2.5.0' for ios/production")


def test_a_change_that_breaks_a_config_test_writes_nothing(client: TestClient, demo_yaml: Path) -> None:
    before = demo_yaml.read_bytes()
    response = client.put(f"/api/versions/{ID_2_4_0}", json={"version": {"state": "ready"}})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["resource"] == "ConfigTest"
    assert error["field"] == "tests[1]"
    assert error["message"].startswith("apps/demo.yaml:158: config test 'disabled 2.4.0 falls through and is not "
                                       "forced (it is above the minimum)' fails: expected verdict not_found, got soft "
                                       "(rule exact:ios/production/2.4.0)")
    assert demo_yaml.read_bytes() == before


def test_unknown_platform_or_environment(client: TestClient) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(platform="windows"))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "platform", "resource": "Version", "message": "'windows' is not one of ['android', 'ios']"}]
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(environment="qa"))
    assert response.json()["errors"] == [{"field": "environment", "resource": "Version",
                                          "message": "environment 'qa' is not one of the app's environments "
                                                     "['production', 'staging']"}]


def test_version_cannot_move_to_another_app(client: TestClient) -> None:
    other = client.post("/api/apps", json={"app": {"name": "Other"}}).json()["app"]
    response = client.put(f"/api/versions/{ID_2_4_0}", json={"version": {"app_id": other["id"]}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "app_id"
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(app_id=other["id"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].endswith("does not match the app in the URL")


def test_strings_yaml_would_misread_are_quoted(client: TestClient, config_dir: Path) -> None:
    app = client.post("/api/apps", json={"app": {"name": "yes", "device_type": "12:30"}}).json()["app"]
    assert (app["name"], app["device_type"]) == ("yes", "12:30")
    assert read_config(config_dir).app("yes").name == "yes"  # type: ignore[union-attr]
