"""What the web stepper offers for download: the case as YAML and the HTML report."""

from __future__ import annotations

from .state import WebCase

__all__ = ["case_yaml", "report_html", "report_available"]


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
    record = make_record(s.guideline, s.result(), flowchart_requested=s.flowchart, case_file=None, guideline_ref=case.guideline_ref)
    return str(render_html(s.guideline, record))


def case_yaml(case: WebCase) -> str:
    import yaml

    facts = case.session.facts
    head = f"# guidewalk case for {case.session.guideline.id} (flowchart {case.session.flowchart}); null = asked, not known\n"
    return head + (yaml.safe_dump(facts, sort_keys=False, allow_unicode=True) if facts else "{}\n")
