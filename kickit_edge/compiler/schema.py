"""JSON Schema validation of each config file (Draft 2020-12, schemas shipped in the package).

Two validators, one schema: jsonschema-rs answers "valid?" fast enough for
10,000 app files; only a file that fails is walked again by the reference
``jsonschema`` validator, whose located, readable errors we report.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..errors import Diagnostic
from .source import SourceFile

__all__ = ["FileKind", "SCHEMA_NAMES", "schema_text", "load_schema", "file_kind", "validate_file", "value_problems"]

FileKind = Literal["app", "admin"]
SCHEMA_NAMES: dict[FileKind, str] = {"app": "app.schema.json", "admin": "admin.schema.json"}


def schema_text(kind: FileKind) -> str:
    """The schema file as published in the package (``kickit_edge/schemas/``), byte for byte."""
    return resources.files("kickit_edge").joinpath("schemas", SCHEMA_NAMES[kind]).read_text("utf-8")


@cache
def load_schema(kind: FileKind) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(kind))
    return schema


@cache
def _validator(kind: FileKind) -> Draft202012Validator:
    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _fast_validator(kind: FileKind) -> Any:
    return jsonschema_rs.Draft202012Validator(load_schema(kind))


def file_kind(source: SourceFile) -> FileKind | None:
    """An app file has a top-level ``app``; the admin token file has ``admin_tokens``."""
    if isinstance(source.data, dict):
        if "app" in source.data:
            return "app"
        if "admin_tokens" in source.data:
            return "admin"
    return None


def _message(error: ValidationError) -> str:
    message = str(error.message)
    if error.validator == "type" and isinstance(error.instance, (int, float)) and not isinstance(error.instance, bool):
        if "string" in (error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]):
            message += f". Hint: quote it, as in '{error.instance}'"
    if error.validator == "type" and isinstance(error.instance, bool) and error.validator_value == "string":
        message += ". Hint: YAML reads yes/no/on/off as booleans; quote the text"
    if error.validator == "pattern" and isinstance(error.instance, str):
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        if description:
            message += f" ({description})"
    return message


def validate_file(source: SourceFile) -> tuple[FileKind | None, list[Diagnostic]]:
    """Validate one file against the schema its top-level key selects."""
    kind = file_kind(source)
    if kind is None:
        return None, [source.diagnostic((), "expected a mapping with 'app' (an app file) or 'admin_tokens' (the admin token file)")]
    if _fast_validator(kind).is_valid(source.data):
        return kind, []
    errors = sorted(_validator(kind).iter_errors(source.data), key=lambda e: [str(p) for p in e.absolute_path])
    return kind, [source.diagnostic(tuple(e.absolute_path), _message(e)) for e in errors]


@cache
def _part_validator(kind: FileKind, pointer: tuple[str, ...]) -> Draft202012Validator:
    schema = load_schema(kind)
    part: dict[str, Any] = schema["$defs"]
    for step in pointer:
        part = part[step]
    return Draft202012Validator({**part, "$defs": schema["$defs"]})


def value_problems(kind: FileKind, pointer: tuple[str, ...], value: Any) -> list[str]:
    """What the schema says of ``value`` checked alone against ``$defs`` at ``pointer``
    (``("exact_version", "properties", "bundle_url")``), in the words a whole file's check uses."""
    errors = sorted(_part_validator(kind, pointer).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [_message(e) for e in errors]
