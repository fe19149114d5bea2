"""The JSON Schemas: generated from the loader's definitions, shipped fresh, valid, and in
agreement with the loader on real files and on unknown keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from guidewalk.cli import main
from guidewalk.engine import _yaml
from guidewalk.engine import load as loader
from guidewalk.engine.errors import LoadError
from guidewalk.engine.format import FACT_TYPES, NODE_KINDS, keys
from guidewalk.engine.verify.schema import KINDS, schema, schema_text, shipped_path

ROOT = Path(__file__).resolve().parent.parent
GUIDELINES = ROOT / "guidelines"


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_schema_is_fresh_and_valid(kind: str) -> None:
    assert shipped_path(kind).read_text(encoding="utf-8") == schema_text(kind), "run `guidewalk schema --write`"
    jsonschema.Draft7Validator.check_schema(schema(kind))


def test_generated_from_the_format_table() -> None:
    s = schema("guideline")
    defs = s["definitions"]
    node = defs["node"]
    for rule in node["allOf"]:
        kind = rule["if"]["properties"]["kind"]["const"]
        assert set(rule["then"]["properties"]) == set(keys(f"{kind} node"))
    assert node["properties"]["kind"]["enum"] == list(NODE_KINDS)
    assert set(defs["rule"]["properties"]) == set(keys("rule"))
    assert set(defs["fact"]["properties"]) == set(keys("fact"))
    assert defs["fact"]["properties"]["type"]["enum"] == list(FACT_TYPES)
    assert set(defs["guideline_metadata"]["properties"]) == set(keys("guideline metadata"))
    assert set(schema("score")["properties"]["score"]) == {"$ref"}
    assert set(defs["score_header"]["properties"]) == set(keys("score header"))
    assert set(defs["flowchart"]["properties"]) == set(keys("flowchart"))
    assert set(s["properties"]) == set(keys("guideline file"))


def _files(kind: str) -> list[Path]:
    if kind == "guideline":
        return sorted(GUIDELINES.glob("*/guideline.yaml")) + sorted((ROOT / "examples").glob("*/guideline.yaml"))
    if kind == "score":
        return sorted((GUIDELINES / "scores").glob("*.yaml"))
    if kind == "overlay":
        return sorted((GUIDELINES / "overlays").glob("*.yaml"))
    if kind == "modules":
        return sorted(GUIDELINES.glob("*/modules.yaml"))
    return [GUIDELINES / f"{kind}.yaml"] + sorted((GUIDELINES / kind).glob("*.yaml"))


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_files_validate(kind: str) -> None:
    validator = jsonschema.Draft7Validator(schema(kind))
    files = _files(kind)
    assert files
    for f in files:
        if kind == "guideline":
            try:
                loader.load_guideline(f)
            except LoadError:
                continue  # the schema only promises to accept what the loader accepts
        data = _yaml.load_file(str(f)).data
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], f"{f}: {errors[:5]}"


def _minimal() -> dict[str, Any]:
    src = {"url": "https://example.org"}
    return {
        "guideline": {"id": "x", "title": "t", "version": "1", "publisher": "p", "source": "https://example.org"},
        "flowcharts": [{"id": "main", "start": "a", "nodes": {"a": {"kind": "end", "text": "done", "source": src}}}],
    }


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["guideline"].update(colour="red"),
        lambda d: d["flowcharts"][0]["nodes"]["a"].update(branches=[]),
        lambda d: d["flowcharts"][0]["nodes"]["a"].update(kind="decison"),
        lambda d: d["flowcharts"][0]["nodes"]["a"]["source"].update(strength="strong"),
        lambda d: d.update(rulez=[]),
    ],
)
def test_schema_and_loader_both_refuse(mutate: Any, tmp_path: Path) -> None:
    data = _minimal()
    validator = jsonschema.Draft7Validator(schema("guideline"))
    assert list(validator.iter_errors(data)) == []
    mutate(data)
    assert list(validator.iter_errors(data)) != []
    root = tmp_path / "root"
    (root / "x").mkdir(parents=True)
    (root / "facts.yaml").write_text("kps: {type: integer, min: 0, max: 100}\n")
    (root / "actions.yaml").write_text("srs: {text: SRS}\n")
    (root / "x" / "guideline.yaml").write_text(json.dumps(data))
    with pytest.raises(LoadError):
        loader.load_guideline(root / "x" / "guideline.yaml", root=root)


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema("guideline")
    assert main(["schema", "--kind", "facts"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "guidewalk fact dictionary"
    assert main(["schema", "--path"]) == 0
    assert capsys.readouterr().out.strip().endswith("guideline.schema.json")


def test_examples_carry_the_modeline() -> None:
    for f in (ROOT / "examples").glob("*/guideline.yaml"):
        first = f.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../guidelines/schemas/guideline.schema.json"
        assert (f.parent / "../../guidelines/schemas/guideline.schema.json").resolve() == shipped_path("guideline")


def test_the_format_reference_in_the_docs_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--markdown"]) == 0
    generated = capsys.readouterr().out
    docs = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    start = docs.index("<!-- generated by `guidewalk schema --markdown`; do not edit by hand -->\n") + len(
        "<!-- generated by `guidewalk schema --markdown`; do not edit by hand -->\n"
    )
    end = docs.index("<!-- end of generated reference -->")
    assert docs[start:end] == generated, "run `guidewalk schema --markdown` and paste it into docs/format.md"
