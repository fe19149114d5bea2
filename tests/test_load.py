"""Loading: every problem located (file:line:col), all of them, sorted; nothing half-loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import MINI

from guidewalk.engine.errors import LoadError
from guidewalk.engine.load import load_guideline


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(MINI, root)
    return root


def _problems(root: Path, gid: str = "mini") -> list[str]:
    with pytest.raises(LoadError) as info:
        load_guideline(root / gid, root=root)
    return [str(p) for p in info.value.problems]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_fixture_loads(mini) -> None:  # type: ignore[no-untyped-def]
    assert set(mini.flowcharts) == {"treatment"}
    assert mini.asks[:1] == ("kps",)
    assert len(mini.sha256) == 64


def test_one_located_message_per_fault(tmp_path: Path) -> None:
    """A misspelt fact, a bad target, a type error — each gets its own located message."""
    root = _copy(tmp_path)
    g = root / "mini" / "guideline.yaml"
    _edit(g, "- when: kps < 70\n", "- when: kpz < 70\n")
    _edit(g, "to: srs_check", "to: srs_chek")
    _edit(g, "bm_count <= 10 and", "bm_count <= 'ten' and")
    msgs = _problems(root)
    assert len(msgs) == 3, msgs
    assert any(":32:19: error: unknown fact 'kpz' (did you mean 'kps'?)" in m for m in msgs), msgs
    assert any(":35:17: error: 'fitness' goes to unknown node 'srs_chek' (did you mean 'srs_check'?)" in m for m in msgs), msgs
    assert any(":41:19: error: cannot compare number with string" in m for m in msgs), msgs
    # sorted by place, each with the source line and a caret
    lines = [int(m.split(":")[1]) for m in msgs]
    assert lines == sorted(lines)
    assert all("^" in m for m in msgs)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    g = root / "mini" / "guideline.yaml"
    _edit(g, '  title: "Mini: SRS for brain metastases"', "  title: [unclosed")
    msgs = _problems(root)
    assert len(msgs) == 1 and "YAML syntax error" in msgs[0] and "guideline.yaml:" in msgs[0]


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("        source: {url: https://example.org/m21, module: M21}\n      srs:", "      srs:", "node 'srs_check' has no source"),
        ("kind: action\n        actions: [srs]", "kind: action\n        actions: [srss]", "unknown action code 'srss'"),
        ("      bsc:\n        kind: end", "      bsc:\n        kind: ending", "needs kind"),
        ("        otherwise: wbrt_consider\n", "", "cannot be reached"),
        ("    title: Treatment\n", "    title: Treatment\n    colour: red\n", "unknown key 'colour'"),
        ("          - when: kps >= 70\n            to: srs_check", "          - when: kps > 70\n            to: srs_check", "no branch holds when kps = 70"),
        ("to: srs_check", "to: fitness", "cycle"),
        ("id: large_volume\n    derive: large_volume", "id: large_volume\n    derive: kps", "dictionary fact"),
    ],
)
def test_checks(tmp_path: Path, old: str, new: str, message: str) -> None:
    root = _copy(tmp_path)
    _edit(root / "mini" / "guideline.yaml", old, new)
    msgs = _problems(root)
    assert any(message in m for m in msgs), msgs


def test_duplicate_node_and_fact_definitions(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "facts").mkdir()
    (root / "facts" / "more.yaml").write_text("kps:\n  type: integer\n")
    msgs = _problems(root)
    assert any("more.yaml:1:1: error: fact 'kps' is already defined at" in m for m in msgs), msgs


def test_aliases_and_deep_nesting_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    (root / "mini" / "guideline.yaml").write_text(bomb)
    assert any("anchors and aliases are not allowed" in m for m in _problems(root))
    (root / "mini" / "guideline.yaml").write_text("a: " + "[" * 200 + "]" * 200 + "\n")
    assert any("nesting deeper than 64" in m for m in _problems(root))
    (root / "mini" / "guideline.yaml").write_text("a: !!python/object/apply:os.system ['echo hi']\n")
    assert any("is not allowed (only plain data)" in m for m in _problems(root))


def test_unknown_guideline_id_suggests() -> None:
    with pytest.raises(LoadError) as info:
        load_guideline("brain-metastases-2021")
    assert "no guideline 'brain-metastases-2021'" in str(info.value)
