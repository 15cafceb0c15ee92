"""Every route of the Kickfolio seed, with its status codes and bodies."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app

from .kickfolio import DEMO_UUID, new_version

APP_FIELDS = ["id", "user_id", "name", "public_key", "bundle", "default_to_landscape", "icon", "device_type",
              "created_at", "updated_at", "versions"]
VERSION_FIELDS = ["id", "app_id", "state", "bundle_url", "version_string", "default_image",
                  "default_image_landscape", "created_at", "updated_at", "comments"]
ID_2_5_0 = "111163de-d229-5903-9231-b40c4df3afe8"  # uuid5 of the demo's uuid and ios/production/2.5.0
ID_2_4_0 = "e87300cb-aee2-5e95-bc74-01f108ccd87f"


def _create_app(client: TestClient, name: str = "Second App") -> dict:
    response = client.post("/api/apps", json={"app": {"name": name}})
    assert response.status_code == 201, response.text
    return response.json()["app"]


# --- apps ------------------------------------------------------------------------


def test_list_apps_has_every_seed_field(client: TestClient) -> None:
    response = client.get("/api/apps")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    (app,) = response.json()["apps"]
    assert list(app)[: len(APP_FIELDS)] == APP_FIELDS
    assert app["id"] == DEMO_UUID
    assert app["name"] == "KickItApp"
    assert app["public_key"] == "DEMO1234"
    assert app["bundle"] == "com.example.kickit"
    assert app["default_to_landscape"] is False
    assert app["versions"] == [ID_2_5_0, ID_2_4_0]


def test_list_apps_ids_filter_in_both_forms(client: TestClient) -> None:
    second = _create_app(client)
    assert [a["id"] for a in client.get("/api/apps").json()["apps"]] == [DEMO_UUID, second["id"]]
    by_brackets = client.get("/api/apps", params=[("ids[]", second["id"])]).json()["apps"]
    assert [a["id"] for a in by_brackets] == [second["id"]]
    by_comma = client.get(f"/api/apps?ids={second['id']},{DEMO_UUID.upper()}").json()["apps"]
    assert [a["id"] for a in by_comma] == [DEMO_UUID, second["id"]]
    assert client.get("/api/apps?ids[]=00000000-0000-0000-0000-000000000000").json() == {"apps": []}


def test_show_app_by_uuid_and_by_public_key(client: TestClient) -> None:
    by_uuid = client.get(f"/api/apps/{DEMO_UUID}")
    by_key = client.get("/api/apps/DEMO1234")
    assert by_uuid.status_code == by_key.status_code == 200
    assert by_uuid.json() == by_key.json()
    assert by_uuid.json()["app"]["id"] == DEMO_UUID


def test_show_unknown_app_is_404(client: TestClient) -> None:
    response = client.get("/api/apps/NOPE")
    assert response.status_code == 404
    assert response.json() == {"message": "no app with id or public_key 'NOPE'", "code": "not_found"}


def test_create_app_with_only_a_name(client: TestClient, config_dir) -> None:
    response = client.post("/api/apps", json={"app": {"name": "Kickfolio"}})
    assert response.status_code == 201
    app = response.json()["app"]
    assert list(app)[: len(APP_FIELDS)] == APP_FIELDS
    assert response.headers["location"] == f"/api/apps/{app['id']}"
    assert app["name"] == "Kickfolio"
    assert app["versions"] == []
    assert app["user_id"] == "ci"  # the name of the admin token that created it
    assert app["created_at"] == app["updated_at"]
    assert (config_dir / "apps" / "kickfolio.yaml").exists()
    assert client.get(f"/api/apps/{app['id']}").json() == {"app": app}
    assert client.get(f"/api/apps/{app['public_key']}").json() == {"app": app}


def test_update_app(client: TestClient) -> None:
    response = client.put("/api/apps/DEMO1234", json={"app": {"name": "New App Name"}})
    assert response.status_code == 200
    app = response.json()["app"]
    assert app["name"] == "New App Name"
    assert app["updated_at"] is not None
    assert client.get(f"/api/apps/{DEMO_UUID}").json()["app"]["name"] == "New App Name"


def test_patch_is_put(client: TestClient) -> None:
    response = client.patch("/api/apps/DEMO1234", json={"app": {"device_type": "iPad"}})
    assert response.status_code == 200
    assert response.json()["app"]["device_type"] == "iPad"
    assert response.json()["app"]["name"] == "KickItApp"


def test_update_app_unknown_is_404(client: TestClient) -> None:
    assert client.put("/api/apps/NOPE", json={"app": {"name": "x"}}).status_code == 404


def test_delete_app_answers_204_with_an_empty_body(client: TestClient, config_dir) -> None:
    app = _create_app(client)
    path = config_dir / "apps" / "second-app.yaml"
    assert path.exists()
    response = client.delete(f"/api/apps/{app['public_key']}")
    assert response.status_code == 204
    assert response.content == b""
    assert not path.exists()
    assert client.get(f"/api/apps/{app['id']}").status_code == 404
    assert client.delete(f"/api/apps/{app['id']}").status_code == 404


# --- versions ----------------------------------------------------------------------


def test_list_versions_has_every_seed_field(client: TestClient) -> None:
    response = client.get("/api/versions")
    assert response.status_code == 200
    versions = response.json()["versions"]
    assert [v["id"] for v in versions] == [ID_2_5_0, ID_2_4_0]
    first = versions[0]
    assert list(first)[: len(VERSION_FIELDS)] == VERSION_FIELDS
    assert first["app_id"] == DEMO_UUID
    assert first["state"] == "ready"
    assert first["version_string"] == "2.5.0"
    assert first["comments"] == []
    assert versions[1]["state"] == "pending"


def test_list_versions_across_apps_and_scoped_to_one(client: TestClient) -> None:
    other = _create_app(client)
    created = client.post(f"/api/apps/{other['id']}/versions", json=new_version()).json()["version"]
    assert [v["id"] for v in client.get("/api/versions").json()["versions"]] == [ID_2_5_0, ID_2_4_0, created["id"]]
    scoped = client.get(f"/api/apps/{other['public_key']}/versions").json()["versions"]
    assert [v["id"] for v in scoped] == [created["id"]]
    assert [v["id"] for v in client.get("/api/apps/DEMO1234/versions").json()["versions"]] == [ID_2_5_0, ID_2_4_0]
    assert client.get("/api/apps/NOPE/versions").status_code == 404


def test_list_versions_ids_filter(client: TestClient) -> None:
    assert [v["id"] for v in client.get(f"/api/versions?ids[]={ID_2_4_0}").json()["versions"]] == [ID_2_4_0]
    both = client.get(f"/api/versions?ids={ID_2_4_0},{ID_2_5_0}").json()["versions"]
    assert [v["id"] for v in both] == [ID_2_5_0, ID_2_4_0]
    scoped = client.get(f"/api/apps/DEMO1234/versions?ids[]={ID_2_5_0}").json()["versions"]
    assert [v["id"] for v in scoped] == [ID_2_5_0]


def test_show_version_top_level_and_nested(client: TestClient) -> None:
    top = client.get(f"/api/versions/{ID_2_5_0}")
    nested = client.get(f"/api/apps/DEMO1234/versions/{ID_2_5_0}")
    assert top.status_code == nested.status_code == 200
    assert top.json() == nested.json()
    assert top.json()["version"]["version_string"] == "2.5.0"


def test_show_version_of_another_app_is_404(client: TestClient) -> None:
    other = _create_app(client)
    response = client.get(f"/api/apps/{other['id']}/versions/{ID_2_5_0}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "does not belong" in response.json()["message"]
    assert client.put(f"/api/apps/{other['id']}/versions/{ID_2_5_0}", json={"version": {"state": "pending"}}).status_code == 404


def test_show_unknown_version_is_404(client: TestClient) -> None:
    response = client.get("/api/versions/nope")
    assert response.status_code == 404
    assert response.json() == {"message": "no version with id 'nope'", "code": "not_found"}
    assert client.get("/api/apps/DEMO1234/versions/nope").status_code == 404
    assert client.get(f"/api/apps/NOPE/versions/{ID_2_5_0}").status_code == 404


def test_create_version_top_level_with_app_id(client: TestClient) -> None:
    response = client.post("/api/versions", json=new_version(app_id=DEMO_UUID))
    assert response.status_code == 201
    version = response.json()["version"]
    assert list(version)[: len(VERSION_FIELDS)] == VERSION_FIELDS
    assert response.headers["location"] == f"/api/versions/{version['id']}"
    assert version["app_id"] == DEMO_UUID
    assert version["version_string"] == "2.6.0"
    assert version["bundle_url"] == "https://example.com/builds/2.6.0.zip"
    assert version["state"] == "ready"
    assert version["created_at"] == version["updated_at"] is not None
    assert version["id"] in client.get(f"/api/apps/{DEMO_UUID}").json()["app"]["versions"]


def test_create_version_nested_and_by_public_key(client: TestClient) -> None:
    response = client.post("/api/apps/DEMO1234/versions", json=new_version())
    assert response.status_code == 201
    assert response.json()["version"]["app_id"] == DEMO_UUID


def test_create_version_needs_an_app(client: TestClient) -> None:
    response = client.post("/api/versions", json=new_version())
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "app_id", "resource": "Version", "message": "can't be blank"}]
    response = client.post("/api/versions", json=new_version(app_id="NOPE"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "app_id"
    assert client.post("/api/apps/NOPE/versions", json=new_version()).status_code == 404


def test_update_version_top_level_and_nested(client: TestClient) -> None:
    created = client.post("/api/apps/DEMO1234/versions", json=new_version()).json()["version"]
    response = client.put(f"/api/versions/{created['id']}", json={"version": {"state": "pending"}})
    assert response.status_code == 200
    assert response.json()["version"]["state"] == "pending"
    response = client.put(f"/api/apps/DEMO1234/versions/{created['id']}",
                          json={"version": {"bundle_url": "https://example.com/2.6.1.zip", "version_string": "2.6.1"}})
    assert response.status_code == 200
    version = response.json()["version"]
    assert (version["bundle_url"], version["version_string"], version["state"]) == (
        "https://example.com/2.6.1.zip", "2.6.1", "pending")
    assert version["id"] == created["id"]
    assert client.get(f"/api/versions/{created['id']}").json() == {"version": version}
    assert client.put("/api/versions/nope", json={"version": {"state": "ready"}}).status_code == 404


def test_delete_version_answers_204(client: TestClient) -> None:
    created = client.post("/api/apps/DEMO1234/versions", json=new_version()).json()["version"]
    response = client.delete(f"/api/versions/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/api/versions/{created['id']}").status_code == 404
    assert client.delete(f"/api/versions/{created['id']}").status_code == 404


def test_delete_version_nested_checks_the_app(client: TestClient) -> None:
    other = _create_app(client)
    assert client.delete(f"/api/apps/{other['id']}/versions/{ID_2_4_0}").status_code == 404
    assert client.delete(f"/api/apps/DEMO1234/versions/{ID_2_4_0}").status_code == 204


# --- bodies ------------------------------------------------------------------------


def test_json_sent_as_form_data_like_the_seeds_curl_example(client: TestClient) -> None:
    # curl -d '{"app" : {"name" : "New App Name"}}' sends application/x-www-form-urlencoded.
    response = client.put("/api/apps/DEMO1234", content=b'{"app" : {"name" : "New App Name"}}',
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert response.json()["app"]["name"] == "New App Name"


def test_unwrapped_attributes_are_accepted(client: TestClient) -> None:
    response = client.post("/api/apps", json={"name": "Bare"})
    assert response.status_code == 201
    assert response.json()["app"]["name"] == "Bare"


def test_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post("/api/apps", content=b"name=Foo")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request"
    assert body["message"].startswith("the body is not JSON (Expecting value at line 1 column 1)")
    assert "errors" not in body


def test_body_that_is_not_an_object_is_400(client: TestClient) -> None:
    assert client.post("/api/apps", json=["x"]).status_code == 400
    response = client.post("/api/apps", json={"app": "x"})
    assert response.status_code == 400
    assert response.json()["message"].startswith('"app" must be a JSON object')
    assert client.post("/api/apps", content=b"\xff\xfe").status_code == 400


@pytest.mark.parametrize("body", [b"[" * 50000, b"1" * 5000, b'{"app": {"name": "\\ud800"}}'])
def test_json_no_attribute_can_hold_is_400(client: TestClient, body: bytes) -> None:
    response = client.post("/api/apps", content=body)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize("name", ["emoji 🚀", "- dash", "&anchor", "*alias", "!tag", "%pct",
                                  "key: value", "# hash", "|", "~", "null", "NO", "0o17", "1e3", ".inf", "<<", "?"])
def test_any_text_round_trips_through_the_yaml(client: TestClient, name: str) -> None:
    response = client.post("/api/apps", json={"app": {"name": name, "slug": "x"}})
    assert response.status_code == 201
    assert response.json()["app"]["name"] == name
    assert client.get("/api/apps/" + response.json()["app"]["id"]).json()["app"]["name"] == name


def test_body_too_large_is_413(client: TestClient) -> None:
    response = client.post("/api/apps", content=b"{" + b" " * (1024 * 1024) + b"}")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_chunked_body_too_large_is_413(client: TestClient) -> None:
    def chunks():
        for _ in range(20):
            yield b" " * 65536

    response = client.post("/api/apps", content=chunks())
    assert response.status_code == 413


def test_unknown_route_is_404_and_wrong_verb_405(client: TestClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = client.delete("/api/apps")
    assert response.status_code == 405
    assert response.json() == {"message": "DELETE is not allowed on /api/apps (allowed: GET, HEAD, POST)",
                               "code": "method_not_allowed"}
    assert response.headers["allow"] == "GET, HEAD, POST"


ONE = "GET, HEAD, POST"
EACH = "DELETE, GET, HEAD, PATCH, PUT"
ALLOWED = {"/api/apps": ONE, "/api/apps/{id}": EACH, "/api/versions": ONE, "/api/versions/{id}": EACH,
           "/api/apps/{app_id}/versions": ONE, "/api/apps/{app_id}/versions/{id}": EACH}


def test_every_405_lists_the_methods_of_its_path(client: TestClient) -> None:
    assert {route.path for route in client.app.routes} == set(ALLOWED)  # every route has its row
    assert client.head("/api/apps").status_code == 200
    for path, allowed in ALLOWED.items():
        url = path.format(id="DEMO1234", app_id="DEMO1234")
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - set(allowed.split(", ")):
            response = client.request(method, url, json={})
            assert (response.status_code, response.headers["allow"]) == (405, allowed), (method, path)
            assert response.json()["message"] == f"{method} is not allowed on {url} (allowed: {allowed})"


def test_record_invalid_lists_every_invalid_field(client: TestClient) -> None:
    response = client.post("/api/apps", json={"app": {
        "name": 5, "default_to_landscape": "yes", "public_key": "no spaces!", "icon": "x" * 3000, "colour": "red"}})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "record_invalid"
    fields = [e["field"] for e in body["errors"]]
    assert sorted(fields) == ["colour", "default_to_landscape", "icon", "name", "public_key"]
    assert {e["resource"] for e in body["errors"]} == {"App"}
    response = client.post("/api/apps", json={"app": {
        "name": "Ok", "default_to_landscape": "yes", "public_key": "no spaces!", "icon": "x" * 3000}})
    fields = [e["field"] for e in response.json()["errors"]]
    assert sorted(fields) == ["default_to_landscape", "icon", "public_key"]
    assert all(len(e["message"]) <= 500 for e in response.json()["errors"])
    assert len(response.content) < 4000


def test_errors_never_echo_huge_values(client: TestClient) -> None:
    response = client.post("/api/apps", json={"app": {"name": ["x" * 100000]}})
    assert response.status_code == 422
    assert len(response.content) < 1000


def test_responses_are_json_with_the_seed_wrappers(client: TestClient) -> None:
    assert set(client.get("/api/apps").json()) == {"apps"}
    assert set(client.get("/api/apps/DEMO1234").json()) == {"app"}
    assert set(client.get("/api/versions").json()) == {"versions"}
    assert set(client.get(f"/api/versions/{ID_2_5_0}").json()) == {"version"}
    json.loads(client.get("/api/versions").content)


def test_an_unexpected_failure_is_a_bare_500(config_dir, headers, monkeypatch) -> None:
    from kickit_edge.admin.editor import Editor

    def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Editor, "create_app", explode)
    with TestClient(create_admin_app(str(config_dir)), headers=headers, raise_server_exceptions=False) as client:
        response = client.post("/api/apps", json={"app": {"name": "x"}})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error: the failure was logged; please try again later",
                               "code": "internal_error"}
