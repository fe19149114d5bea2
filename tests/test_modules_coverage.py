"""Module coverage data: every guideline lists its modules with how far they are encoded.

`guidelines/<guideline-id>/modules.yaml` is read by the loader as part of the guideline. These checks
keep it usable: the fields and values are the agreed ones, codes are unique, every module code the
guideline cites in `source.module` is listed, and every module marked `encoded` or `partly` names at
least one flowchart, node or rule of the guideline that carries it (a wildcard `prefix_*` names all
ids with that prefix). Then: the loader reads exactly the file (its problems located),
`guidewalk list --coverage` lists it with totals, and `run` text never keeps quiet about what is
not encoded.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import MINI, ROOT, guideline

from guidewalk.cli import main
from guidewalk.engine.errors import LoadError
from guidewalk.engine.load import load_guideline
from guidewalk.engine.walk import run
from guidewalk.render.text import to_text

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


@pytest.mark.parametrize("guideline_id", GUIDELINES)
def test_the_loader_reads_the_module_list_as_part_of_the_guideline(guideline_id):
    modules, _ = _load(guideline_id)
    g = guideline(guideline_id)
    assert [m.to_json() for m in g.modules] == [{**m, "reason": " ".join(m["reason"].split())} for m in modules]
    assert g.modules_file is not None and g.modules_file.endswith(f"{guideline_id}/modules.yaml")
    assert g.modules_file in g.files  # part of the guideline's sources (and of its sha256)
    counts = g.coverage_counts()
    assert sum(counts.values()) == len(modules)
    assert counts["not encoded"] == sum(1 for m in modules if m["coverage"] == "not encoded")


def _mini_with_modules(tmp_path: Path, text: str | None) -> Path:
    root = tmp_path / "root"
    shutil.copytree(MINI, root)
    if text is not None:
        (root / "mini" / "modules.yaml").write_text(text, encoding="utf-8")
    return root


def test_problems_in_the_module_list_are_located(tmp_path):
    text = (
        "- code: M1\n  title: One\n  url: null\n  coverage: encoded\n  reason: r\n"
        "- code: M1\n  title: Again\n  url: null\n  coverage: partly\n  reason: r\n"
        "- code: M2\n  title: Two\n  coverage: half\n  reason: r\n  reasn: typo\n"
        "- code: M3\n  title: Three\n  url: ftp://x\n  coverage: not encoded\n  reason: r\n"
    )
    root = _mini_with_modules(tmp_path, text)
    with pytest.raises(LoadError) as info:
        load_guideline(root / "mini", root=root)
    problems = [str(p) for p in info.value.problems]
    where = str(Path("mini") / "modules.yaml")
    assert any(where in p and ":6:9:" in p and "listed twice" in p for p in problems), problems
    assert any(":13:13:" in p and "coverage of module 'M2' must be encoded, partly or not encoded" in p for p in problems), problems
    assert any("module 'M2' needs url:" in p for p in problems), problems
    assert any(":15:3:" in p and "unknown key 'reasn'" in p and "reason" in p for p in problems), problems
    assert any(":18:8:" in p and "http(s) address or null" in p for p in problems), problems


def test_a_guideline_without_a_module_list_says_so(tmp_path):
    root = _mini_with_modules(tmp_path, None)
    g = load_guideline(root / "mini", root=root)
    assert g.modules == () and g.modules_file is None
    text = to_text(run(g, {}), g)
    assert text.rstrip().splitlines()[-1].startswith("Module coverage: mini lists no modules")
    ok = _mini_with_modules(tmp_path / "b", "- code: M1\n  title: One\n  url: null\n  coverage: not encoded\n  reason: r\n")
    g2 = load_guideline(ok / "mini", root=ok)
    assert g2.modules[0].code == "M1" and g2.sha256 != g.sha256


@pytest.mark.parametrize("guideline_id", GUIDELINES)
def test_run_text_ends_with_the_modules_not_encoded(guideline_id):
    g = guideline(guideline_id)
    n = g.coverage_counts()
    for facts in ({}, {"kps": 85}):  # a walk that stops for facts, and invalid facts
        last = to_text(run(g, facts), g).rstrip().splitlines()[-1]
        assert last.startswith(f"Module coverage: {n['not encoded']} of {len(g.modules)} modules of this guideline are not encoded")
        assert last.endswith(f"see them with `guidewalk list --coverage {guideline_id}`.")


def test_list_coverage_text_and_json(capsys):
    assert main(["list", "--coverage", "leptomeningeal-metastases-2020"]) == 0
    text = capsys.readouterr().out
    modules, _ = _load("leptomeningeal-metastases-2020")
    for m in modules:
        assert re.search(rf"^  {re.escape(m['code'])}\s+{m['coverage']}\s+{re.escape(m['title'])}$", text, re.M), m["code"]
        assert " ".join(m["reason"].split()) in text
    counts = {c: sum(1 for m in modules if m["coverage"] == c) for c in COVERAGE}
    assert f"{len(modules)} modules: {counts['encoded']} encoded, {counts['partly']} partly, {counts['not encoded']} not encoded" in text
    assert main(["list", "--coverage", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == GUIDELINES
    for r in rows:
        listed, _ = _load(r["id"])
        assert [m["code"] for m in r["modules"]] == [m["code"] for m in listed]
        assert r["totals"]["modules"] == len(listed) == sum(r["totals"][c] for c in COVERAGE)
