"""The deviation record shared by the web stepper, the audit and the CDS Hooks feedback."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ROOT, guideline

from guidewalk.engine import _yaml
from guidewalk.engine.decision import ClinicianDecision, concordance
from guidewalk.engine.errors import LoadError
from guidewalk.engine.walk import run


def test_from_json_checks_codes_with_locations() -> None:
    g = guideline("brain-metastases-2020")
    text = "kps: 80\nclinician_decision:\n  actions: [wbrt, srss]\n  reson: x\n  date: 2024-13-01\n"
    doc = _yaml.load_text(text, "case.yaml")
    with pytest.raises(LoadError) as info:
        ClinicianDecision.from_json(doc.data["clinician_decision"], g.actions, doc=doc)
    out = str(info.value)
    assert "case.yaml:3:19: error: unknown action code 'srss' (did you mean 'srs'?)" in out
    assert "case.yaml:4:3: error: unknown key 'reson' in clinician_decision (did you mean 'reason'?)" in out
    assert "case.yaml:5:9: error: date must be YYYY-MM-DD" in out
    d = ClinicianDecision.from_json({"actions": ["srs", "srs"], "reason": " MDO ", "by": "Dr. A", "date": "2024-03-01"}, g.actions)
    assert d == ClinicianDecision(("srs",), "MDO", "Dr. A", "2024-03-01")
    assert d.to_json() == {"actions": ["srs"], "reason": "MDO", "by": "Dr. A", "date": "2024-03-01"}
    assert ClinicianDecision.from_json(d.to_json(), g.actions) == d
    with pytest.raises(LoadError, match="needs 'actions'"):
        ClinicianDecision.from_json({"reason": "x"}, g.actions)


def test_concordance() -> None:
    g = guideline("brain-metastases-2020")
    import yaml

    facts = yaml.safe_load((ROOT / "examples" / "cases" / "lecture-case-1.yaml").read_text(encoding="utf-8"))
    result = run(g, facts)
    assert "srs" in result.actions
    assert concordance(result, ClinicianDecision(("srs", "chemo_immunotherapy"))) == "concordant"
    assert concordance(result, ClinicianDecision(("wbrt",), reason="patient preference")) == "deviation_with_reason"
    assert concordance(result, ClinicianDecision(("srs", "wbrt"))) == "deviation_without_reason"
    assert concordance(result, ClinicianDecision(())) == "deviation_without_reason"  # a dismissed card decides nothing recommended
    assert concordance(result.to_json(), ClinicianDecision(("srs",))) == "concordant"
    assert concordance(["srs"], ClinicianDecision(("srs",))) == "concordant"


# --------------------------------------------------------------------------- a case's decision: run, report, replay

LECTURE = ROOT / "examples" / "cases" / "lecture-case-1.yaml"
AT = LECTURE.read_text(encoding="utf-8").count("\n") + 2  # the line after `clinician_decision:`


def _case_with(tmp_path: Any, decision: str) -> str:
    path = tmp_path / "case.yaml"
    path.write_text(LECTURE.read_text(encoding="utf-8") + decision, encoding="utf-8")
    return str(path)


def test_read_case_keeps_the_decision_apart_and_checks_it_where_it_is_written(tmp_path: Any) -> None:
    from guidewalk.engine.facts import CaseFacts, read_case

    g = guideline("brain-metastases-2020")
    path = _case_with(tmp_path, "clinician_decision:\n  actions: [wbrt]\n  reason: patient preference\n  by: Dr. A\n  date: 2024-03-01\n")
    case = read_case(path, g.actions)
    assert "clinician_decision" not in case.values and case.values["kps"] == 80
    assert case.decision == ClinicianDecision(("wbrt",), "patient preference", "Dr. A", "2024-03-01")
    bad = _case_with(tmp_path, "clinician_decision:\n  actions: [wbrtt]\n")
    read_case(bad)  # without the guideline's codes: the structure is fine
    with pytest.raises(LoadError) as info:
        read_case(bad, g.actions)
    assert f"{bad}:{AT}:13: error: unknown action code 'wbrtt' (did you mean 'wbrt'?)" in str(info.value)
    with pytest.raises(LoadError, match=rf"case.yaml:{AT}:3: error: unknown key 'who'"):
        read_case(_case_with(tmp_path, "clinician_decision:\n  who: x\n  actions: []\n"))
    with pytest.raises(LoadError, match="must be a mapping"):
        read_case(_case_with(tmp_path, "clinician_decision: srs\n"))
    # a plain mapping: the same key, the same check (and run checks the codes)
    assert CaseFacts({"kps": 80, "clinician_decision": {"actions": ["srs"]}}).values == {"kps": 80}
    with pytest.raises(LoadError, match="unknown action code 'srss'"):
        run(g, {"kps": 80, "clinician_decision": {"actions": ["srss"]}})


def test_result_json_gains_concordance_only_with_a_decision() -> None:
    import yaml

    g = guideline("brain-metastases-2020")
    facts = yaml.safe_load(LECTURE.read_text(encoding="utf-8"))
    plain = run(g, facts).to_json()
    assert "clinician_decision" not in plain and "concordance" not in plain
    got = run(g, {**facts, "clinician_decision": {"actions": ["wbrt"], "reason": "patient preference"}}).to_json()
    assert got["concordance"] == "deviation_with_reason"
    assert got["clinician_decision"] == {"actions": ["wbrt"], "reason": "patient preference"}
    assert {k: v for k, v in got.items() if k not in ("clinician_decision", "concordance")} == plain
    stopped = run(g, {"kps": 80, "clinician_decision": {"actions": ["srs"]}}).to_json()
    assert stopped["status"] == "needs_facts" and stopped["concordance"] is None  # nothing final to compare with


def test_run_report_and_replay_show_the_deviation_and_its_reason(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from guidewalk.cli import main

    path = _case_with(tmp_path, "clinician_decision:\n  actions: [wbrt]\n  reason: patient preference\n  by: Dr. A. Jansen\n  date: 2024-03-01\n")
    assert main(["run", "brain-metastases-2020", "--facts", path]) == 0
    text = capsys.readouterr().out
    assert "Team decision (Dr. A. Jansen, 2024-03-01): wbrt\n  deviates from the recommendation, with a reason\n  reason: patient preference" in text
    assert main(["run", "brain-metastases-2020", "--facts", path, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["concordance"] == "deviation_with_reason"
    html_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", "brain-metastases-2020", "--facts", path, "-o", str(html_path)]) == 0
    assert main(["report", "brain-metastases-2020", "--facts", path, "-o", str(json_path)]) == 0
    page = html_path.read_text(encoding="utf-8")
    assert 'id="concordance" data-concordance="deviation_with_reason"' in page and '<span id="decision-reason">patient preference</span>' in page
    capsys.readouterr()
    assert main(["replay", str(html_path)]) == 0
    assert "identical" in (out := capsys.readouterr().out) and "reason: patient preference" in out
    record = json.loads(json_path.read_text(encoding="utf-8"))
    record["result"]["concordance"] = "concordant"  # as if the recommendation had been WBRT when recorded
    json_path.write_text(json.dumps(record), encoding="utf-8")
    assert main(["replay", str(json_path)]) == 1
    out = capsys.readouterr().out
    assert "result fields that differ: concordance" in out and "concordance: concordant → deviation_with_reason" in out
    bad = _case_with(tmp_path, "clinician_decision:\n  actions: [srss]\n")
    assert main(["run", "brain-metastases-2020", "--facts", bad]) == 2
    assert f"case.yaml:{AT}:13: error: unknown action code 'srss'" in capsys.readouterr().err
