"""The editor set-up ships with the repository: every guideline file's first line is the YAML
language server's modeline for its schema (a path relative to the file that leads to the shipped
schema), and `.vscode/` maps the same schemas to the same files and recommends the extension."""

from __future__ import annotations

import fnmatch
import json
import os

import pytest
from conftest import ROOT

from guidewalk.engine.verify.schema import KINDS, shipped_path

GUIDELINES = ROOT / "guidelines"
MODELINE = "# yaml-language-server: $schema="
# files without a schema: the FHIR binding table is not a guideline file
NO_SCHEMA = {"guidelines/bindings/fhir.yaml"}


def _kind(rel: str) -> str | None:
    """The schema a guideline file is written against, by where it lives."""
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] == "examples":
        return "guideline" if name == "guideline.yaml" and len(parts) == 3 else {"facts.yaml": "facts", "actions.yaml": "actions"}.get(name)
    if len(parts) == 2:
        return {"facts.yaml": "facts", "actions.yaml": "actions"}.get(name)
    folder = parts[1]
    if folder in ("facts", "actions"):
        return folder
    if folder == "scores":
        return "score"
    if folder == "overlays":
        return "overlay"
    if name == "guideline.yaml":
        return "guideline"
    if name == "modules.yaml":
        return "modules"
    return None


def _files() -> list[str]:
    found = sorted(str(p.relative_to(ROOT)).replace(os.sep, "/") for p in GUIDELINES.rglob("*.yaml"))
    found += sorted(str(p.relative_to(ROOT)).replace(os.sep, "/") for p in (ROOT / "examples").rglob("*.yaml") if "cases" not in p.parts)
    return [f for f in found if f not in NO_SCHEMA]


FILES = _files()


def test_every_guideline_file_has_a_kind() -> None:
    assert FILES
    unknown = [f for f in FILES if _kind(f) is None]
    assert not unknown, f"guideline files whose schema is not known (add them here and to .vscode/settings.json): {unknown}"
    assert {_kind(f) for f in FILES} == set(KINDS)  # every schema is used


@pytest.mark.parametrize("rel", FILES)
def test_first_line_is_the_modeline_of_its_schema(rel: str) -> None:
    path = ROOT / rel
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE), f"{rel}: the first line must be '{MODELINE}<path to the schema>'"
    target = (path.parent / first[len(MODELINE) :].strip()).resolve()
    kind = _kind(rel)
    assert kind is not None
    assert target == shipped_path(kind).resolve(), f"{rel}: the modeline points at {target}, not at {shipped_path(kind)}"
    assert target.is_file()


def test_vscode_maps_each_schema_to_its_files_and_recommends_the_extension() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    schemas: dict[str, list[str]] = settings["yaml.schemas"]
    for schema in schemas:
        assert (ROOT / schema).is_file(), schema
    for rel in FILES:
        matched = [s for s, globs in schemas.items() if any(fnmatch.fnmatch(rel, g) for g in globs)]
        assert matched == [f"./guidelines/schemas/{_kind(rel)}.schema.json"], (rel, matched)
    extensions = json.loads((ROOT / ".vscode" / "extensions.json").read_text(encoding="utf-8"))
    assert "redhat.vscode-yaml" in extensions["recommendations"]


def test_the_docs_show_the_same_settings() -> None:
    doc = (ROOT / "docs" / "editor.md").read_text(encoding="utf-8")
    shown = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])
    assert shown == json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
