"""What the web stepper offers for download, and reads back: the case as YAML (with the team's
decision), the HTML report, and a saved case uploaded to resume it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from guidewalk.engine.decision import with_decision

from .state import WebCase

__all__ = ["case_yaml", "report_html", "report_available", "SavedCase", "read_saved_case", "HEAD_RE"]

#: the first line of a downloaded case: which guideline and flowchart it belongs to
HEAD_RE = re.compile(r"^# guidewalk case for (?P<gid>[A-Za-z0-9._-]+) \(flowchart (?P<fc>[A-Za-z0-9._-]+)\)")


def report_available() -> bool:
    """Whether the HTML report can be offered (its module is installed next to this package)."""
    import importlib.util

    try:
        return importlib.util.find_spec("..report", __package__) is not None
    except (ImportError, ValueError):
        return False


def report_html(case: WebCase) -> str | None:
    try:
        from .. import report
    except Exception:
        return None
    make_record = getattr(report, "make_record", None)
    render_html = getattr(report, "render_html", None)
    if make_record is None or render_html is None:
        return None
    s = case.session
    res = s.result()
    if case.decision is not None:  # the team's decision, next to the recommendation
        res = with_decision(res, case.decision, ())
    record = make_record(s.guideline, res, flowchart_requested=s.flowchart, case_file=None, guideline_ref=case.guideline_ref)
    return str(render_html(s.guideline, record))


def case_yaml(case: WebCase) -> str:
    from ..stepper import case_text

    s = case.session
    head = f"# guidewalk case for {s.guideline.id} (flowchart {s.flowchart}); null = asked, not known\n"
    return case_text(s.facts, case.decision, head)


@dataclass
class SavedCase:
    """An uploaded case file: its facts and decision (:class:`CaseFacts`, located in the file),
    and the guideline and flowchart its first line names (as :func:`case_yaml` writes it)."""

    case: Any  # guidewalk.engine.facts.CaseFacts
    guideline_id: str | None
    flowchart: str | None


def read_saved_case(data: bytes, name: str) -> SavedCase:
    """Read an uploaded case (YAML or JSON); LoadError, located at name:line:col, when it is
    not a case file (the decision's codes are checked once the guideline is known:
    ``case.decision_for(g.actions)``)."""
    from guidewalk.engine import _yaml
    from guidewalk.engine.errors import LoadError, Problem
    from guidewalk.engine.facts import CaseFacts

    doc = _yaml.load_text(data, name)
    head = HEAD_RE.match(doc.lines[0] if doc.lines else "")
    if doc.data is not None and not isinstance(doc.data, dict):
        raise LoadError([Problem(doc.where(()), "a case file must be a mapping of fact name to value")])
    return SavedCase(CaseFacts(doc.data or {}, doc), head.group("gid") if head else None, head.group("fc") if head else None)
