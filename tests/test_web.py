"""The web stepper over loopback: forms, escaping, errors without stack traces, CSRF, size
limit, downloads, the team's decision, and a bounded load test (concurrent clinicians, no
cross-talk, page times).

The load test (tests/web_load.py) runs GUIDEWALK_LOAD_CLIENTS clients (default 30) for
GUIDEWALK_LOAD_SECONDS seconds (default 5 in CI; the issue's target is 30:
GUIDEWALK_LOAD_SECONDS=30)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_session import FIXTURE_ROOT
from web_client import Client, current_fact, serving

from guidewalk.render.web import MAX_BODY

FIXTURE = str(FIXTURE_ROOT / "demo-stepper" / "guideline.yaml")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with serving([FIXTURE], builtin_rules=True) as addr:  # durable_rules crashes on the fixture (reported)
        yield addr


def test_index_escapes_and_headers(server: tuple[str, int]) -> None:
    status, headers, body = Client(server).get("/")
    assert status == 200
    assert "Demo guideline for the stepper tests &lt;&amp;&gt;" in body
    assert "<&>" not in body
    assert "<script" not in body.lower()
    assert "default-src 'none'" in headers["content-security-policy"]


def test_walk_with_wrong_input_back_and_downloads(server: tuple[str, int]) -> None:
    c = Client(server)
    path, csrf = c.start(FIXTURE)
    _, _, page = c.get(path)
    assert current_fact(page) == "symptomatic"
    assert 'type="radio" name="value" value="yes"' in page and 'value="unknown"' in page
    status, page = c.answer(path, csrf, "symptomatic", "no")
    assert status == 303 and current_fact(page) == "kps"
    # what is still possible, in words and grouped by what decides between them (no bare node ids)
    reach = page[page.index('id="reachable"') : page.index("</div>", page.index('id="reachable"'))]
    assert "Is the patient fit enough?" in reach and "if rpa like in {I, II}" in reach
    assert "→ The guideline recommends stereotactic radiosurgery." in reach and "<code>" not in reach
    assert 'type="number"' in page and 'min="0"' in page and 'max="100"' in page and 'step="10"' in page
    status, page = c.answer(path, csrf, "kps", "75")
    assert status == 422 and "Not accepted: 75 is not a valid value (steps of 10)" in page
    assert "Traceback" not in page and current_fact(page) == "kps" and 'value="75"' in page
    status, page = c.answer(path, csrf, "kps", "")
    assert status == 422 and "please give an answer" in page
    c.answer(path, csrf, "kps", "80")
    status, headers, _ = c.post(f"{path}/back", [("csrf", csrf)])
    assert status == 303
    _, _, page = c.get(path)
    assert current_fact(page) == "kps"
    for fact, value in [("kps", "80"), ("age_years", "20"), ("primary_controlled", "yes"), ("extracranial_metastases", "no"), ("bm_count", "9")]:
        status, page = c.answer(path, csrf, fact, value)
        assert status == 303, page
    assert current_fact(page) == "volume_cm3" or current_fact(page) == "primary"
    while current_fact(page):
        fact = current_fact(page) or ""
        value = {"volume_cm3": "4.5", "primary": "breast"}.get(fact, "")
        if fact == "prior_therapies":
            status, headers, body = c.post(
                f"{path}/answer", [("csrf", csrf), ("fact", fact), ("value", "__set__"), ("item", "trastuzumab"), ("action", "answer")]
            )
            _, _, page = c.get(headers["location"])
            continue
        status, page = c.answer(path, csrf, fact, value)
    assert 'id="done"' in page and "The guideline recommends systemic therapy first." in page
    assert 'id="reachable"' not in page and 'id="trace"' in page and 'id="history"' in page  # nothing open any more
    status, headers, text = c.get(f"{path}/case.yaml")
    assert status == 200 and "attachment" in headers["content-disposition"]
    assert yaml.safe_load(text) == {
        "symptomatic": False,
        "kps": 80,
        "age_years": 20,
        "primary_controlled": True,
        "extracranial_metastases": False,
        "bm_count": 9,
        "primary": "breast",
        "prior_therapies": ["trastuzumab"],
    }
    status, headers, report = c.get(f"{path}/report.html")
    assert status in (200, 404) and "Traceback" not in report


def test_help_text_is_escaped(server: tuple[str, int]) -> None:
    c = Client(server)
    path, csrf = c.start(FIXTURE)
    for fact, value in [("symptomatic", "no"), ("kps", "80"), ("age_years", "28"), ("bm_count", "3")]:
        _, page = c.answer(path, csrf, fact, value)
    assert current_fact(page) == "volume_cm3"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    from guidewalk.render.web.flow import ZOOM_SCRIPT

    assert page.count("<script") == 1 and f"<script>{ZOOM_SCRIPT}</script>" in page  # only the flowchart's own
    assert "Total tumour volume &lt;b&gt;(cm³)&lt;/b&gt;?" in page


def test_refusals(server: tuple[str, int]) -> None:
    c = Client(server)
    path, csrf = c.start(FIXTURE)
    status, _, body = c.post(f"{path}/answer", [("csrf", "wrong"), ("fact", "symptomatic"), ("value", "yes")])
    assert status == 403 and "Traceback" not in body
    status, _, body = c.post("/new", [("csrf", "wrong"), ("guideline", FIXTURE)])
    assert status == 403
    status, _, body = c.request("POST", f"{path}/answer", "x=" + "a" * (MAX_BODY + 10))
    assert status == 413
    status, _, body = c.get("/c/does-not-exist")
    assert status == 404 and "No such case" in body
    status, _, body = c.post(f"{path}/answer", [("csrf", csrf), ("fact", "kps"), ("value", "80")])
    assert status == 200 and "no longer the current one" in body  # stale form: nothing changed
    _, _, state = c.get(f"{path}/state.json")
    assert '"facts": {}' in state
    status, _, body = c.request("POST", f"{path}/answer", "{}", {"Content-Type": "application/json"})
    assert status == 415


def test_bound_to_loopback_by_default() -> None:
    from guidewalk.cli.parser import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8080


def test_load_concurrent_clients_no_errors_no_crosstalk(server: tuple[str, int]) -> None:
    from web_load import report, run_load

    clients = int(os.environ.get("GUIDEWALK_LOAD_CLIENTS", "30"))
    seconds = float(os.environ.get("GUIDEWALK_LOAD_SECONDS", "5"))
    r = run_load(server, clients, seconds)
    Path(__file__).resolve().parent.joinpath("artifacts").mkdir(exist_ok=True)
    Path(__file__).resolve().parent.joinpath("artifacts", "load_test.txt").write_text(report(r), encoding="utf-8")
    assert r["stuck"] == 0
    assert r["errors"] == []
    assert r["cases"] >= clients  # every client finished at least one case
    assert r["p95"] < 1.0, report(r)


def test_record_the_team_decision_and_see_it_in_the_report(server: tuple[str, int]) -> None:
    c = Client(server, name="Dr. A. Jansen")
    path, csrf = c.start(FIXTURE)
    for fact, value in [("symptomatic", "no"), ("kps", "80"), ("age_years", "28"), ("bm_count", "3"), ("volume_cm3", "5")]:
        status, page = c.answer(path, csrf, fact, value)
        assert status == 303
    assert 'id="decision-form"' in page and 'value="Dr. A. Jansen"' in page
    status, page = c.decide(path, csrf, ["wbrt"], reason="patient <preference>", date="2024-13-01")
    assert status == 422 and "Not recorded: date must be YYYY-MM-DD" in page
    status, page = c.decide(path, csrf, ["wbrtt"])
    assert status == 422 and "unknown action code &#x27;wbrtt&#x27;" in page
    status, page = c.decide(path, csrf, ["wbrt"], reason="patient <preference>", by="Dr. A. Jansen", date="2024-03-01")
    assert status == 303
    assert 'data-concordance="deviation_with_reason"' in page and "deviates from the recommendation, with a reason" in page
    assert "patient &lt;preference&gt;" in page and "<preference>" not in page
    assert "Recorded the team's decision" in page  # in the history
    _, _, text = c.get(f"{path}/case.yaml")
    saved = yaml.safe_load(text)
    assert saved["clinician_decision"] == {"actions": ["wbrt"], "reason": "patient <preference>", "by": "Dr. A. Jansen", "date": "2024-03-01"}
    assert text.startswith("# guidewalk case for demo-stepper (flowchart treatment)")
    status, _, report = c.get(f"{path}/report.html")
    assert status == 200
    assert 'id="concordance" data-concordance="deviation_with_reason"' in report and "patient &lt;preference&gt;" in report
    status, page = c.decide(path, csrf, ["srs"], by="Dr. B", date="2024-03-02")  # changed: now concordant, no reason
    assert status == 303 and 'data-concordance="concordant"' in page
    _, _, state = c.get(f"{path}/state.json")
    assert '"clinician_decision": {"actions": ["srs"]' in state


def test_the_page_shows_how_strongly_the_guideline_words_a_recommendation(tmp_path: Path) -> None:
    """LM M12: stopping intrathecal therapy at 6 weeks 'kan worden gestopt' (conditional): the
    page says 'suggests considering', with the words in its title, as the report does."""
    with serving(["leptomeningeal-metastases-2020"], db=str(tmp_path / "cases.db")) as addr:
        c = Client(addr)
        path, csrf = c.start("leptomeningeal-metastases-2020", flowchart="intrathecal_follow_up")
        status, page = c.answer(path, csrf, "it_therapy_weeks", "8")
    assert status == 303
    rec = page[page.index('id="recommendations"') :]
    assert '<span class="strength strength-conditional" title="conditional: the guideline suggests considering it">suggests considering</span>' in rec
    assert ".strength-conditional{" in page
