"""The web stepper's cases: kept in SQLite across a restart with their history (and Back still
works), owned by one browser, never evicted by another client (quotas refuse instead),
resumed from a downloaded case file, removed only when confirmed."""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_session import FIXTURE_ROOT
from web_client import Client, current_fact

from guidewalk.render.web import make_server

FIXTURE = str(FIXTURE_ROOT / "demo-stepper" / "guideline.yaml")


class Running:
    def __init__(self, **kw: Any):
        self.srv, self.app = make_server("127.0.0.1", 0, [FIXTURE], quiet=True, **kw)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        self.addr = ("127.0.0.1", int(self.srv.server_address[1]))

    def stop(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture(autouse=True)
def builtin_rules() -> Iterator[None]:
    os.environ["GUIDEWALK_RULES"] = "builtin"  # durable_rules crashes on the fixture (reported)
    yield
    os.environ.pop("GUIDEWALK_RULES", None)


@pytest.fixture
def server() -> Iterator[Running]:
    r = Running()
    yield r
    r.stop()


def _history(page: str) -> list[list[str]]:
    table = page[page.index('id="history"') : page.index("</table>", page.index('id="history"'))]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table) if "<td" in row]


def test_a_case_survives_a_restart_with_its_history_and_undo(tmp_path: Path) -> None:
    db = tmp_path / "cases.sqlite3"
    first = Running(db=db)
    c = Client(first.addr, name="Dr. A. Jansen")
    path, csrf = c.start(FIXTURE)
    for fact, value in [("symptomatic", "no"), ("kps", "70"), ("age_years", "28")]:
        assert c.answer(path, csrf, fact, value)[0] == 303
    assert c.post(f"{path}/back", [("csrf", csrf)])[0] == 303  # takes back the age
    assert c.answer(path, csrf, "age_years", "29")[0] == 303
    before = c.get(path)[2]
    first.stop()  # every answer was committed before its page returned

    second = Running(db=db)
    try:
        c.addr = second.addr
        status, _, page = c.get(path)
        assert status == 200
        assert current_fact(page) == current_fact(before) == "bm_count"
        rows = _history(page)
        assert [r[1] for r in rows] == [
            "Started the case",
            "Neurological symptoms?",
            "Karnofsky performance status (KPS)?",
            "Age of the patient?",
            "Went back one answer",
            "Age of the patient?",
        ]
        assert [r[2] for r in rows][1:4] == ["no", "70", "28"] and rows[5][2] == "29"
        assert {r[3] for r in rows} == {"Dr. A. Jansen"}
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", r[0]) for r in rows)
        # the undo history came back too: Back takes back 29, then 70
        assert c.post(f"{path}/back", [("csrf", csrf)])[0] == 303
        assert c.post(f"{path}/back", [("csrf", csrf)])[0] == 303
        _, _, state = c.get(f"{path}/state.json")
        assert '"facts": {"symptomatic": false}' in state
        assert "Your cases" in c.get("/")[2] and path.split("/")[-1] in c.get("/")[2]
        assert Client(second.addr).get(path)[0] == 404  # another browser: no such case
    finally:
        second.stop()
    assert db.exists() and (tmp_path / "cases.sqlite3-wal").exists() or db.stat().st_size > 0


def test_a_case_belongs_to_its_browser(server: Running) -> None:
    owner, other = Client(server.addr), Client(server.addr, name="Dr. Other")
    path, csrf = owner.start(FIXTURE)
    other.index()
    assert other.get(path)[0] == 404
    assert other.get(f"{path}/case.yaml")[0] == 404 and other.get(f"{path}/report.html")[0] == 404
    status, _, _ = other.post(f"{path}/answer", [("csrf", csrf), ("fact", "symptomatic"), ("value", "yes")])
    assert status == 404  # even with the case's token
    nobody = Client(server.addr, name=None)
    status, _, body = nobody.post(f"{path}/answer", [("csrf", csrf), ("fact", "symptomatic"), ("value", "yes")])
    assert status == 403 and "cookie" in body
    assert '"facts": {}' in owner.get(f"{path}/state.json")[2]


def test_1100_foreign_new_cases_do_not_evict_a_case(server: Running) -> None:
    victim = Client(server.addr, name="Dr. Victim")
    path, csrf = victim.start(FIXTURE)
    assert victim.answer(path, csrf, "symptomatic", "no")[0] == 303
    attacker = Client(server.addr, name="Mallory")
    _, token = attacker.index()
    statuses: Counter[int] = Counter()
    last = ""
    for _ in range(1100):
        status, _, last = attacker.post("/new", [("csrf", token), ("guideline", FIXTURE), ("flowchart", "treatment")])
        statuses[status] += 1
    assert statuses == {303: server.app.max_cases_per_owner, 429: 1100 - server.app.max_cases_per_owner}
    assert "the most one browser may keep" in last and "No case was removed" in last
    status, page = victim.answer(path, csrf, "kps", "80")
    assert status == 303 and current_fact(page) == "age_years"


def test_the_server_cap_refuses_new_cases_and_removes_none() -> None:
    r = Running(max_cases=12)
    try:
        victim = Client(r.addr, name="Dr. Victim")
        path, csrf = victim.start(FIXTURE)
        statuses: Counter[int] = Counter()
        last = ""
        for i in range(40):  # each request from a new browser
            c = Client(r.addr, name=f"Bot {i}")
            _, token = c.index()
            status, _, last = c.post("/new", [("csrf", token), ("guideline", FIXTURE), ("flowchart", "treatment")])
            statuses[status] += 1
        assert statuses == {303: 11, 503: 29}
        assert "maximum of 12 cases; no case of anyone is removed" in last
        assert victim.answer(path, csrf, "symptomatic", "yes")[0] == 303
    finally:
        r.stop()


def test_resume_a_downloaded_case_with_its_decision(server: Running) -> None:
    a = Client(server.addr, name="Dr. A")
    path, csrf = a.start(FIXTURE)
    for fact, value in [("symptomatic", "no"), ("kps", "80"), ("age_years", "28"), ("bm_count", "3"), ("volume_cm3", "5")]:
        a.answer(path, csrf, fact, value)
    a.decide(path, csrf, ["wbrt"], reason="patient preference", by="Dr. A", date="2024-03-01")
    _, _, text = a.get(f"{path}/case.yaml")
    b = Client(server.addr, name="Dr. B")
    status, headers, _ = b.upload("demo-case.yaml", text.encode("utf-8"))
    assert status == 303, _
    new = headers["location"]
    assert new != path
    page = b.get(new)[2]
    assert 'id="done"' in page and 'data-concordance="deviation_with_reason"' in page
    assert yaml.safe_load(b.get(f"{new}/case.yaml")[2]) == yaml.safe_load(text)
    rows = _history(page)
    assert rows[1][2].endswith("(from a saved case)</span>") and rows[-1][1] == "Recorded the team's decision" and rows[-1][3] == "Dr. B"
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    assert b.post(f"{new}/back", [("csrf", token.group(1))])[0] == 303  # the resumed answers can be taken back
    assert current_fact(b.get(new)[2]) == "volume_cm3"


def test_a_bad_case_file_is_refused_with_its_location(server: Running) -> None:
    c = Client(server.addr)
    text = "# guidewalk case for demo-stepper (flowchart treatment)\nsymptomatic: no\nkps: 75\nclinician_decision:\n  actions: [wbrtt]\n"
    status, _, page = c.upload("mine.yaml", text.encode())
    assert status == 422
    assert "mine.yaml:5:13: error: unknown action code &#x27;wbrtt&#x27; (did you mean &#x27;wbrt&#x27;?)" in page
    status, _, page = c.upload("mine.yaml", b"# guidewalk case for demo-stepper (flowchart treatment)\nkps: 75\n")
    assert status == 422 and "75 is not a valid value" in page
    status, _, page = c.upload("plain.yaml", b"kps: 80\n")
    assert status == 400 and "choose the guideline" in page
    status, headers, _ = c.upload("plain.yaml", b"kps: 80\n", guideline=FIXTURE)
    assert status == 303 and '"kps": 80' in c.get(f"{headers['location']}/state.json")[2]
    status, _, page = c.upload("list.yaml", b"- 1\n- 2\n", guideline=FIXTURE)
    assert status == 422 and "list.yaml:1:1: error: a case file must be a mapping" in page


def test_remove_asks_first(server: Running) -> None:
    c = Client(server.addr)
    path, csrf = c.start(FIXTURE)
    status, _, page = c.post(f"{path}/delete", [("csrf", csrf)])
    assert status == 200 and "Remove this case?" in page and 'id="confirm-remove"' in page
    assert c.get(path)[0] == 200
    assert c.post(f"{path}/delete", [("csrf", csrf), ("confirm", "yes")])[0] == 303
    assert c.get(path)[0] == 404


def test_the_default_file_is_in_the_data_folder_without_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from guidewalk.render.web import default_db_path

    monkeypatch.setitem(sys.modules, "platformdirs", None)  # the web stepper alone: no extras installed
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "guidewalk" / "web-cases.sqlite3"
