"""The compiled-guideline cache (engine/cache.py, engine/load/cached.py): a guideline read
back from the cache is the guideline its sources give; a stale, damaged or tampered entry is
ignored and rebuilt; GUIDEWALK_CACHE=0 turns it off; an unsafe folder is not used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import MINI, ROOT

from guidewalk.engine import cache
from guidewalk.engine.load import load_guideline
from guidewalk.engine.load.guideline import load_guideline as load_sources
from guidewalk.engine.load.serial import dump
from guidewalk.engine.rules import backend
from guidewalk.engine.trace import dumps
from guidewalk.engine.walk import run


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GUIDEWALK_CACHE", str(folder))
    return folder


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(MINI, root)
    return root


def _entries(store: Path, kind: str) -> list[Path]:
    return sorted(store.glob(f"{kind}-*.bin"))


def _same(a: object, b: object) -> bool:
    return bool(dump(a) == dump(b))  # type: ignore[arg-type]


CASE = {"kps": 80, "bm_count": 3, "bm_total_volume_cm3": 12.5, "age_years": 50}


def test_a_cached_guideline_is_the_guideline_its_sources_give(store: Path) -> None:
    for gid in ("brain-metastases-2020", "spinal-metastases", "leptomeningeal-metastases-2020"):
        first = load_guideline(gid)
        assert len(_entries(store, "guideline")) >= 1
        again = load_guideline(gid)  # from the cache
        fresh = load_sources(gid)
        assert again is not first and _same(again, fresh)
        assert again.sha256 == fresh.sha256 and again.files == fresh.files
        for fc in fresh.flowcharts:
            for case in ({}, {"kps": 80}, CASE):
                assert dumps(run(again, case, flowchart=fc, rules=backend("builtin")).to_json()) == dumps(
                    run(fresh, case, flowchart=fc, rules=backend("builtin")).to_json()
                )


def test_locations_are_relative_to_the_current_folder_as_a_fresh_load_makes_them(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_guideline(MINI / "mini", root=MINI)
    monkeypatch.chdir(tmp_path)
    cached = load_guideline(MINI / "mini", root=MINI)
    fresh = load_sources(MINI / "mini", root=MINI)
    assert cached.location == fresh.location and cached.files == fresh.files
    assert [n.location for n in cached.nodes.values()] == [n.location for n in fresh.nodes.values()]


def test_a_changed_source_file_is_never_read_from_the_cache(store: Path, mini_copy: Path) -> None:
    g1 = load_guideline(mini_copy / "mini", root=mini_copy)
    path = mini_copy / "mini" / "guideline.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("KPS 70 passes.", "KPS 70 passes (changed)."), encoding="utf-8")
    g2 = load_guideline(mini_copy / "mini", root=mini_copy)
    assert g2.sha256 != g1.sha256 and _same(g2, load_sources(mini_copy / "mini", root=mini_copy))
    assert g2.nodes["fitness"].note == "KPS 70 passes (changed)."
    # a dictionary file added next to facts.yaml is read too
    (mini_copy / "facts").mkdir(exist_ok=True)
    (mini_copy / "facts" / "extra.yaml").write_text("extra_fact: {type: boolean, question: Extra?}\n", encoding="utf-8")
    g3 = load_guideline(mini_copy / "mini", root=mini_copy)
    assert "extra_fact" in g3.dictionary


def test_a_tampered_or_damaged_entry_is_ignored_and_rebuilt(store: Path, mini_copy: Path) -> None:
    g = load_guideline(mini_copy / "mini", root=mini_copy)
    run(g, CASE, rules=backend("builtin"))  # compiles the program: a code entry too
    for kind in ("guideline", "program"):
        (entry,) = _entries(store, kind)
        blob = bytearray(entry.read_bytes())
        blob[-5] ^= 0xFF  # a changed byte: the HMAC no longer matches
        entry.write_bytes(bytes(blob))
        assert cache.get(entry.stem) is None
    again = load_guideline(mini_copy / "mini", root=mini_copy)
    assert _same(again, load_sources(mini_copy / "mini", root=mini_copy))
    r = run(again, CASE, rules=backend("builtin"))
    assert r.actions == ["srs"]
    for kind in ("guideline", "program"):
        (entry,) = _entries(store, kind)
        assert cache.get(entry.stem) is not None  # rebuilt and signed again
    (entry,) = _entries(store, "guideline")
    entry.write_bytes(b"GWC1" + b"\0" * 10)  # truncated
    assert _same(load_guideline(mini_copy / "mini", root=mini_copy), again)


def test_an_entry_signed_with_another_key_is_refused(store: Path, mini_copy: Path) -> None:
    load_guideline(mini_copy / "mini", root=mini_copy)
    (entry,) = _entries(store, "guideline")
    (store / "hmac.key").write_bytes(os.urandom(32))
    cache._secret.clear()
    assert cache.get(entry.stem) is None


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mini_copy: Path) -> None:
    for off in ("0", "off", ""):
        monkeypatch.setenv("GUIDEWALK_CACHE", off)
        assert cache.cache_dir() is None
        load_guideline(mini_copy / "mini", root=mini_copy)
    monkeypatch.setenv("GUIDEWALK_CACHE", str(tmp_path / "c"))
    assert cache.cache_dir() == tmp_path / "c"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_folder_others_can_write_to_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setenv("GUIDEWALK_CACHE", str(folder))
    assert cache.cache_dir() is None
    folder.chmod(0o700)
    monkeypatch.setenv("GUIDEWALK_CACHE", str(folder) + "/")  # read again
    assert cache.cache_dir() is not None
    (folder / "hmac.key").write_bytes(os.urandom(32))
    (folder / "hmac.key").chmod(0o644)  # a key others can read signs nothing
    cache._secret.clear()
    cache.put("guideline-x", (1, 2))
    assert cache.get("guideline-x") is None


def test_the_cache_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "GUIDEWALK_CACHE" in readme


@pytest.mark.parametrize("cached", [False, True], ids=["sources", "cache"])
def test_a_guideline_has_one_sha256_whatever_the_current_folder(cached: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report names the guideline by its sha256 and a replay checks it: the same files must
    give the same sha256 from any current folder (it once depended on the order of the files'
    relative paths, so a run from inside guidelines/facts gave another one)."""
    monkeypatch.setenv("GUIDEWALK_CACHE", str(tmp_path / "cache") if cached else "0")
    seen = set()
    for cwd in (ROOT, ROOT / "guidelines", ROOT / "guidelines" / "facts", ROOT / "guidelines" / "spinal-metastases", tmp_path):
        monkeypatch.chdir(cwd)
        for _ in range(2):  # the second from the cache when it is on
            seen.add(load_guideline("spinal-metastases").sha256)
    assert len(seen) == 1, seen
