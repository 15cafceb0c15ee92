"""`kickit-edge schema` and the editor support: schemas at a stable path, referenced by the YAML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from kickit_edge.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "kickit_edge" / "schemas"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def test_prints_the_app_schema_by_default_and_the_admin_one_by_name(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == (SCHEMAS / "app.schema.json").read_text()
    assert main(["schema", "admin"]) == 0
    assert capsys.readouterr().out == (SCHEMAS / "admin.schema.json").read_text()


def test_writes_every_schema_into_a_folder(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path / "schemas")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {tmp_path / 'schemas' / 'app.schema.json'}", f"wrote {tmp_path / 'schemas' / 'admin.schema.json'}"]
    for name in ("app.schema.json", "admin.schema.json"):
        assert (tmp_path / "schemas" / name).read_bytes() == (SCHEMAS / name).read_bytes()
    (tmp_path / "file").write_text("")
    assert main(["schema", "--out", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write schemas to {tmp_path / 'file'}: ")


def test_schemas_have_stable_ids():
    for kind in ("app", "admin"):
        schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"https://kickit-edge.dev/schemas/v1/{kind}.schema.json"


def test_every_config_file_names_a_schema_that_accepts_it():
    files = sorted((ROOT / "config").rglob("*.yaml"))
    assert files
    for file in files:
        text = file.read_text()
        found = MODELINE.search(text)
        assert found and text.startswith(found[0]), f"{file}: expected a yaml-language-server modeline on line 1"
        schema_path = (file.parent / found[1]).resolve()
        assert schema_path.parent == SCHEMAS, f"{file}: the modeline should point into kickit_edge/schemas/"
        schema = json.loads(schema_path.read_text())
        errors = list(Draft202012Validator(schema).iter_errors(yaml.safe_load(text)))
        assert not errors, f"{file}: {errors[0].message}"
