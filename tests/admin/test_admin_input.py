"""What a write accepts: no control characters in any text, version strings as clients send them, and one
422 that lists every invalid field of the request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from starlette.testclient import TestClient

from .kickfolio import DEMO_UUID, new_version


def invalid(response: httpx.Response) -> dict[str, str]:
    """The fields of a 422 ``record_invalid`` and their messages, after checking the seed's error shape."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"message", "code", "errors"} and body["code"] == "record_invalid"
    assert all(set(e) == {"field", "resource", "message"} for e in body["errors"])
    return {e["field"]: e["message"] for e in body["errors"]}


# --- control characters -----------------------------------------------------------------------------------

NUL = "must not contain control characters; found U+0000 at position "

APP_TEXTS = [
    ("name", "Nul\x00App", 3), ("user_id", "\x00ci", 0), ("bundle", "com.example\x00", 11),
    ("icon", "https://example.com/\x00.png", 20), ("device_type", "iPhone\x00", 6), ("public_key", "AB\x00CD", 2),
    ("default_locale", "en\x00", 2), ("platforms", ["ios", "\x00"], 0), ("environments", ["prod\x00"], 4),
    ("store_urls", {"ios": "https://apps.apple.com/\x00"}, 23), ("store_urls", {"ios\x00": "https://x.example"}, 3),
]
VERSION_TEXTS = [
    ("version_string", "8.0.9\x00", 5), ("bundle_url", "https://example.com/\x00.zip", 20),
    ("default_image", "\x00", 0), ("default_image_landscape", "x\x00", 1), ("comments", ["fine", "not\x00"], 3),
    ("platform", "ios\x00", 3), ("environment", "production\x00", 10), ("message", "Update\x00 now", 6),
    ("message", {"en": "Update\x00"}, 6), ("message", {"en\x00": "Update"}, 2), ("message_name", "\x00", 0),
]


@pytest.mark.parametrize(("field", "value", "at"), APP_TEXTS)
def test_a_nul_in_any_app_text_is_record_invalid(client: TestClient, config_dir: Path, demo_yaml: Path,
                                                 field: str, value: Any, at: int) -> None:
    before = demo_yaml.read_bytes()
    body = {"name": "Some App", field: value}
    assert invalid(client.post("/api/apps", json={"app": body})) == {field: NUL + str(at)}
    assert invalid(client.put("/api/apps/DEMO1234", json={"app": {field: value}})) == {field: NUL + str(at)}
    assert sorted(p.name for p in (config_dir / "apps").iterdir()) == ["demo.yaml"]
    assert demo_yaml.read_bytes() == before


@pytest.mark.parametrize(("field", "value", "at"), VERSION_TEXTS)
def test_a_nul_in_any_version_text_is_record_invalid(client: TestClient, demo_yaml: Path,
                                                     field: str, value: Any, at: int) -> None:
    before = demo_yaml.read_bytes()
    assert invalid(client.post("/api/apps/DEMO1234/versions", json=new_version(**{field: value}))) == {
        field: NUL + str(at)}
    existing = client.get("/api/apps/DEMO1234/versions").json()["versions"][0]["id"]
    assert invalid(client.put(f"/api/versions/{existing}", json={"version": {field: value}})) == {
        field: NUL + str(at)}
    assert demo_yaml.read_bytes() == before


@pytest.mark.parametrize("character", ["\n", "\r", "\t", "\x1b", "\x7f", "\x85"])
def test_every_control_character_is_refused_in_a_name(client: TestClient, character: str) -> None:
    found = f"must not contain control characters; found U+{ord(character):04X} at position 4"
    assert invalid(client.post("/api/apps", json={"app": {"name": f"Kick{character}It"}})) == {"name": found}


def test_message_texts_may_hold_line_breaks_and_tabs(client: TestClient, demo_yaml: Path) -> None:
    text = "Version 2.6 is here.\n\tIt is faster.\r\nUpdate now."
    response = client.post("/api/apps/DEMO1234/versions", json=new_version(message=text))
    assert response.status_code == 201, response.text
    assert response.json()["version"]["message"] == {"en": text}
    name = response.json()["version"]["message_name"]
    assert yaml.safe_load(demo_yaml.read_text())["messages"][name] == {"en": text}


# --- version strings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "said"), [
    ("  8.0.8 ", 'must not contain spaces or line breaks, got "  8.0.8 "; clients send it as "8.0.8"'),
    ("8.0 .8", 'must not contain spaces or line breaks, got "8.0 .8"; clients send it as "8.0.8"'),
    ("9.0.0\nSigned-off-by: evil", "must not contain control characters; found U+000A at position 5"),
])
def test_a_version_string_with_spaces_or_line_breaks_is_record_invalid(client: TestClient, demo_yaml: Path,
                                                                       sent: str, said: str) -> None:
    before = demo_yaml.read_bytes()
    assert invalid(client.post("/api/apps/DEMO1234/versions", json=new_version(version_string=sent))) == {
        "version_string": said}
    existing = client.get("/api/apps/DEMO1234/versions").json()["versions"][0]["id"]
    response = client.put(f"/api/versions/{existing}", json={"version": {"version_string": sent}})
    assert invalid(response) == {"version_string": said}
    assert demo_yaml.read_bytes() == before


# --- every invalid field in one answer -------------------------------------------------------------------------

URL = "'x' does not match '^https?://\\\\S+$' (an http(s) URL without spaces, such as https://example.com/app)"
BLANK_VERSION = "can't be blank: kickit-edge matches clients by it (e.g. \"2.6.0\")"


def test_one_422_lists_field_checks_and_schema_checks_together(client: TestClient) -> None:
    body = {"bundle_url": "x", "state": "weird", "platform": "windows", "force_update": "yes"}
    assert invalid(client.post("/api/apps/DEMO1234/versions", json={"version": body})) == {
        "bundle_url": URL,
        "state": 'must be "ready" or "pending", got "weird"',
        "platform": "'windows' is not one of ['android', 'ios']",
        "force_update": 'must be true or false, got "yes"',
        "version_string": BLANK_VERSION,
    }


def test_one_422_lists_schema_checks_and_config_checks_together(client: TestClient, demo_yaml: Path) -> None:
    before = demo_yaml.read_bytes()
    body = {"version_string": "2.8.0", "bundle_url": "x", "environment": "nope"}
    assert invalid(client.post("/api/apps/DEMO1234/versions", json=body)) == {
        "bundle_url": URL,
        "environment": "environment 'nope' is not one of the app's environments ['production', 'staging']",
    }
    existing = client.get("/api/apps/DEMO1234/versions").json()["versions"][0]["id"]
    body = {"bundle_url": "x", "environment": "nope", "comments": [1]}
    assert set(invalid(client.put(f"/api/versions/{existing}", json={"version": body}))) == {
        "bundle_url", "environment", "comments"}
    assert demo_yaml.read_bytes() == before


def test_one_422_without_an_app_still_lists_the_other_fields(client: TestClient) -> None:
    assert invalid(client.post("/api/versions", json={"version": {"bundle_url": "x", "state": "weird"}})) == {
        "bundle_url": URL,
        "state": 'must be "ready" or "pending", got "weird"',
        "app_id": "can't be blank",
        "version_string": BLANK_VERSION,
    }
    response = client.post("/api/versions", json={"version": {"app_id": "NOSUCHAPP", "version_string": " 1"}})
    assert set(invalid(response)) == {"app_id", "version_string"}


def test_one_422_lists_every_app_field(client: TestClient) -> None:
    body = {"name": "Ok", "icon": "x" * 3000, "platforms": ["ios", "windows"], "default_locale": "English",
            "store_urls": {"ios": "x"}, "disabled": "no"}
    assert set(invalid(client.put("/api/apps/DEMO1234", json={"app": body}))) == {
        "icon", "platforms", "default_locale", "store_urls", "disabled"}
    assert client.get(f"/api/apps/{DEMO_UUID}").json()["app"]["name"] == "KickItApp"
