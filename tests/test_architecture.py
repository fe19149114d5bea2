"""The house rules, checked: the engine never reaches into presentation or the CLI; no import
cycles between modules; no module past ~500 lines; every package folder is in the wheel;
only the CLI builds argparse parsers; the one import name is `guidewalk`."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
WINGS = {"guidewalk": ROOT / "guidewalk", "guidewalk.engine": ROOT / "engine", "guidewalk.render": ROOT / "render"}
MAX_LINES = 520


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for prefix, folder in WINGS.items():
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            if prefix == "guidewalk" and parts and parts[0] in ("engine", "render"):
                continue
            out[name] = f
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every guidewalk module `name` imports, anywhere in the file (also inside functions),
    except under `if TYPE_CHECKING:`."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for n in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:  # imports for type checkers only never run
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}" if base else pkg
            # `from pkg import mod` imports the module; `from pkg import name` the package face
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES)
    return found - {name}


def test_the_engine_never_imports_presentation_or_the_cli() -> None:
    for name, path in MODULES.items():
        if not name.startswith("guidewalk.engine"):
            continue
        bad = {m for m in _imports(name, path) if m.startswith(("guidewalk.render", "guidewalk.cli"))}
        assert not bad, f"{path}: imports {sorted(bad)}"
        text = path.read_text(encoding="utf-8")
        assert "import_module(" not in text or "render" not in text, f"{path}: names a render module in a string"


def test_no_import_cycles() -> None:
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        graph.add_node(name)
        for target in _imports(name, path):
            graph.add_edge(name, target)
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles: {cycles[:5]}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_past_about_500_lines(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines: split it along its own seams"


def test_every_package_folder_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert packages <= listed, f"add to [tool.setuptools] packages: {sorted(packages - listed)}"
    mapped = config["tool"]["setuptools"]["package-dir"]
    assert mapped["guidewalk.engine"] == "engine" and mapped["guidewalk.render"] == "render"


def test_only_the_cli_builds_parsers() -> None:
    for name, path in MODULES.items():
        if name.startswith("guidewalk.cli"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "add_argument(" not in text and "ArgumentParser(" not in text, f"{path} builds an argparse parser"


def test_every_module_says_what_it_is() -> None:
    for path in MODULES.values():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and doc.strip(), f"{path}: a module docstring whose first line says what it is"


def test_a_one_case_run_imports_only_what_it_needs(tmp_path: Path) -> None:
    """Start-up is mostly imports: a one-case `guidewalk run` of a flat case file with the
    built-in rules and a warm cache must not import PyYAML (engine._yaml_flat reads the file),
    dataclasses (the classes on its path are engine.structs), durable_rules, networkx,
    graphviz, or the parts of guidewalk it does not use (verify, session, audit, svg, web)."""
    import json
    import os
    import subprocess
    import sys

    case = tmp_path / "case.yaml"
    case.write_text((ROOT / "examples" / "cases" / "lecture-case-1.yaml").read_text("utf-8"), "utf-8")
    code = (
        "import io, json, sys, contextlib\n"
        "from guidewalk.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = main(sys.argv[1:])\n"
        "assert code == 0 and json.loads(out.getvalue())['status'] == 'complete', out.getvalue()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "GUIDEWALK_RULES": "builtin", "GUIDEWALK_CACHE": str(tmp_path / "cache")}
    args = [sys.executable, "-c", code, "run", "brain-metastases-2020", "--facts", str(case), "--format", "json"]
    subprocess.run(args, capture_output=True, text=True, check=True, env=env, cwd=tmp_path)  # fills the cache
    r = subprocess.run(args, capture_output=True, text=True, check=True, env=env, cwd=tmp_path)
    loaded = set(json.loads(r.stdout))
    assert "guidewalk.engine.walk" in loaded  # the check can see what a run imports
    unwanted = {"yaml", "dataclasses", "inspect", "durable", "networkx", "graphviz", "z3"}
    unwanted |= {f"guidewalk.engine.{w}" for w in ("verify", "session", "audit", "fhir", "rules.durable")}
    unwanted |= {f"guidewalk.render.{w}" for w in ("svg", "web", "report", "stepper")}
    assert sorted(loaded & unwanted) == []
