"""What a Kickfolio client sends: Basic credentials and version bodies."""

from __future__ import annotations

import base64
from typing import Any

DEMO_UUID = "67005794-36b5-49e5-89bc-33f0221c5dac"


def basic(token: str, password: str | None = "X") -> dict[str, str]:
    """``Authorization: Basic base64(token[:password])``, as the seed's clients send it."""
    text = token if password is None else f"{token}:{password}"
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def new_version(**fields: Any) -> dict[str, Any]:
    body = {"version_string": "2.6.0", "bundle_url": "https://example.com/builds/2.6.0.zip"}
    body.update(fields)
    return {"version": body}
