"""The OFREP OpenAPI document (0.3.0, kept beside this file) as a checker of live answers.

``conforms(path, status, headers, body)`` fails unless the answer is one the
document describes for that operation: a status it names, and a body that
validates against that status's schema (a status it lists without a body,
401 and 403, may carry any JSON; 503 and 413 are the edge's own and carry the
``generalErrorResponse`` shape).

Two readings of the document, each because its literal text cannot be met:

* ``codeDefaultFlag`` is ``properties: {}``, which every object matches, so
  the ``oneOf`` of flag types could never pass once; it is read as its
  description says, "no ``value`` property".
* ``reason`` lists STATIC, TARGETING_MATCH, SPLIT, DISABLED and UNKNOWN since a
  documentation edit (#56); the protocol had decided to allow any reason
  (#20), OpenFeature's reasons include ``DEFAULT``, and the OpenFeature SDKs
  parse it, so ``DEFAULT`` is accepted too.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).with_name("ofrep_openapi.yaml")
SINGLE = "/ofrep/v1/evaluate/flags/{key}"
BULK = "/ofrep/v1/evaluate/flags"
EDGE_ERRORS = {413, 503}  # not in the document: too large a body, no snapshot yet


@cache
def document() -> dict[str, Any]:
    spec: dict[str, Any] = copy.deepcopy(yaml.safe_load(SPEC.read_text()))
    schemas = spec["components"]["schemas"]
    schemas["codeDefaultFlag"] = {"type": "object", "not": {"required": ["value"]}}
    reason = schemas["evaluationSuccess"]["allOf"][0]["properties"]["reason"]
    reason["enum"] = [*reason["enum"], "DEFAULT"]
    return spec


@cache
def _validator_for(ref: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource("urn:ofrep", Resource(document(), DRAFT202012))
    return Draft202012Validator({"$ref": "urn:ofrep" + ref}, registry=registry)


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return _validator_for(schema["$ref"])


def version() -> str:
    return str(document()["info"]["version"])


def conforms(operation: str, status: int, headers: Any, body: bytes) -> Any:
    """Check one answer of ``operation`` (SINGLE or BULK); return its parsed body (None if empty)."""
    if status in EDGE_ERRORS:
        parsed = json.loads(body)
        _validator({"$ref": "#/components/schemas/generalErrorResponse"}).validate(parsed)
        assert set(parsed) == {"errorDetails"}, parsed
        return parsed
    responses = document()["paths"][operation]["post"]["responses"]
    assert str(status) in responses, f"{operation} never answers {status} in OFREP {version()}"
    described = responses[str(status)]
    if status == 304:
        assert body == b"", body
        return None
    if "content" not in described:  # 401, 403: no body is specified
        return json.loads(body) if body else None
    assert headers["content-type"].startswith("application/json"), headers
    parsed = json.loads(body)
    _validator(described["content"]["application/json"]["schema"]).validate(parsed)
    if status == 200 and operation == BULK:
        assert headers.get("etag"), "a bulk answer carries an ETag"
    return parsed
