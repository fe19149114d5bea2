"""Module coverage data: every guideline lists its modules with how far they are encoded.

`guidelines/<guideline-id>/modules.yaml` is data for a coverage listing (the loader does not read it
yet). These checks keep it usable: the fields and values are the agreed ones, codes are unique, every
module code the guideline cites in `source.module` is listed, and every module marked `encoded` or
`partly` names at least one flowchart, node or rule of the guideline that carries it (a wildcard
`prefix_*` names all ids with that prefix).
"""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT

GUIDELINES = ["brain-metastases-2020", "leptomeningeal-metastases-2020", "spinal-metastases"]
FIELDS = {"code", "title", "url", "coverage", "reason"}
COVERAGE = {"encoded", "partly", "not encoded"}


def _load(guideline_id):
    modules = yaml.safe_load((ROOT / "guidelines" / guideline_id / "modules.yaml").read_text(encoding="utf-8"))
    guideline = yaml.safe_load((ROOT / "guidelines" / guideline_id / "guideline.yaml").read_text(encoding="utf-8"))
    return modules, guideline


def _ids(guideline):
    ids = set()
    for flowchart in guideline["flowcharts"]:
        ids.add(flowchart["id"])
        ids.update(flowchart["nodes"])
    for rule in guideline.get("rules", []):
        ids.add(rule["id"])
        if rule.get("derive"):
            ids.add(rule["derive"])
    return ids


@pytest.mark.parametrize("guideline_id", GUIDELINES)
def test_modules_yaml_has_the_agreed_shape(guideline_id):
    modules, _ = _load(guideline_id)
    assert isinstance(modules, list) and modules
    codes = [m["code"] for m in modules]
    assert len(codes) == len(set(codes)), "duplicate module codes"
    for m in modules:
        assert set(m) == FIELDS, m
        assert m["coverage"] in COVERAGE, m
        assert m["title"].strip() and m["reason"].strip(), m
        assert m["url"] is None or re.match(r"https://(richtlijnendatabase\.nl|palliaweb\.nl)/", m["url"]), m


@pytest.mark.parametrize("guideline_id", GUIDELINES)
def test_every_cited_module_code_is_listed(guideline_id):
    modules, _ = _load(guideline_id)
    listed = {m["code"] for m in modules}
    text = (ROOT / "guidelines" / guideline_id / "guideline.yaml").read_text(encoding="utf-8")
    cited = set(re.findall(r"\bM\d\d\b", text))
    assert not cited - listed, f"module codes cited but not in modules.yaml: {sorted(cited - listed)}"


@pytest.mark.parametrize("guideline_id", GUIDELINES)
def test_encoded_modules_name_where_they_are_encoded(guideline_id):
    modules, guideline = _load(guideline_id)
    ids = _ids(guideline)
    missing = []
    for m in modules:
        if m["coverage"] == "not encoded":
            continue
        tokens = set(re.findall(r"[a-z][a-z0-9_]*\*?", m["reason"]))
        named = any(t in ids or (t.endswith("*") and any(i.startswith(t[:-1]) for i in ids)) for t in tokens)
        if not named:
            missing.append(f"{m['code']} {m['title']}")
    assert not missing, "modules marked encoded/partly that name no flowchart, node or rule: " + "; ".join(missing)
