"""The deviation record shared by the web stepper, the audit and the CDS Hooks feedback."""

from __future__ import annotations

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
