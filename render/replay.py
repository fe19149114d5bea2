"""Replay a recorded case against the current guideline and engine.

The recorded facts are walked again (same flowchart, same overlays), with the team's
recorded decision when there is one. The outcome says "identical" when the result is the same
(status, recommendations, needs, errors, derived facts, alerts, path and every step, and the
decision's concordance); otherwise it names what changed around it (guideline sha256 or
version, engine version, rules backend) and shows the first step that differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from guidewalk.engine.contract import AlertJSON, EngineRef, GuidelineRef, RecommendationJSON, ResultJSON, StepJSON
from guidewalk.engine.errors import GuidewalkError

from .text import decision_lines, show_value

if TYPE_CHECKING:
    from .report import RecordGuideline, RecordJSON

__all__ = ["ReplayOutcome", "load_record", "replay", "compare", "to_text", "COMPARED"]

COMPARED = (
    "status",
    "flowchart",
    "recommendations",
    "needs",
    "errors",
    "derived",
    "derivations",
    "alerts",
    "path",
    "trace",
    "clinician_decision",
    "concordance",
)


class RecordError(GuidewalkError):
    """A file that is not a guidewalk record."""


@dataclass
class ReplayOutcome:
    identical: bool
    changes: list[str] = field(default_factory=list)  # guideline / engine changes (informative)
    differing: list[str] = field(default_factory=list)  # result fields that differ
    first_step: int | None = None  # 1-based number of the first differing step
    recorded_step: StepJSON | None = None
    replayed_step: StepJSON | None = None
    recorded: ResultJSON = field(default_factory=lambda: ResultJSON())
    replayed: ResultJSON = field(default_factory=lambda: ResultJSON())

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "changes": self.changes,
            "differing": self.differing,
            "first_step": self.first_step,
            "recorded_step": self.recorded_step,
            "replayed_step": self.replayed_step,
            "replayed": self.replayed,
        }


def load_record(path: str) -> RecordJSON:
    """A record from its JSON file, or from the HTML report that embeds it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read ({exc})") from exc
    data: Any
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{path}: not valid JSON ({exc})") from exc
    else:
        from .report import embedded_record

        data = embedded_record(text)
    from .report import RECORD_FORMAT

    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT or "result" not in data:
        raise RecordError(f"{path}: not a guidewalk record (expected format {RECORD_FORMAT}; make one with `guidewalk report ... --format json`)")
    return cast("RecordJSON", data)  # the format and result checked above


def _guideline_ref(record: RecordJSON, override: str | None) -> str:
    """--guideline if given; else the path the record was made from, if it still exists;
    else the guideline id (looked up in the guidelines folder)."""
    if override:
        return override
    gl: RecordGuideline = record.get("guideline") or {}
    ref = str(gl.get("ref") or "")
    if ref and ref != gl.get("id") and Path(ref).exists():
        return ref
    return str(gl.get("id", ""))


def replay(record: RecordJSON, *, guideline: str | None = None, rules: str | None = None) -> ReplayOutcome:
    """Re-run the recorded facts with the current guideline and engine."""
    from guidewalk.engine.facts import CaseFacts
    from guidewalk.engine.load import load_guideline
    from guidewalk.engine.rules import backend
    from guidewalk.engine.walk import run

    g = load_guideline(_guideline_ref(record, guideline), overlays=record.get("overlays") or ())
    facts = dict(record.get("facts") or {})
    flowchart = record.get("flowchart") or None
    case = CaseFacts(facts, decision_raw=record["result"].get("clinician_decision"))  # the team's decision, compared again
    result = run(g, case, flowchart=flowchart, rules=backend(rules))
    return compare(record, result.to_json())


def compare(record: RecordJSON, now: ResultJSON) -> ReplayOutcome:
    """Compare a recorded result with a fresh one."""
    then = _with_strength(record["result"])
    out = ReplayOutcome(identical=True, recorded=then, replayed=now)
    no_guideline: GuidelineRef = {}
    g0, g1 = then.get("guideline") or no_guideline, now.get("guideline") or no_guideline
    e0: EngineRef | dict[str, str] = then.get("engine") or {}
    e1: EngineRef | dict[str, str] = now.get("engine") or {}
    if g0.get("id") != g1.get("id"):
        out.changes.append(f"guideline id: {g0.get('id')} → {g1.get('id')}")
    if g0.get("version") != g1.get("version"):
        out.changes.append(f"guideline version: {g0.get('version')} → {g1.get('version')}")
    if g0.get("sha256") != g1.get("sha256"):
        same = " (same version: the content changed without a new version number)" if g0.get("version") == g1.get("version") else ""
        out.changes.append(f"guideline sha256: {g0.get('sha256')} → {g1.get('sha256')}{same}")
    if e0.get("version") != e1.get("version"):
        out.changes.append(f"engine version: {e0.get('version')} → {e1.get('version')}")
    if e0.get("rules_backend") != e1.get("rules_backend"):
        out.changes.append(f"rules backend: {e0.get('rules_backend')} → {e1.get('rules_backend')}")
    for k in COMPARED:
        if then.get(k) != now.get(k):
            out.differing.append(k)
    out.identical = not out.differing
    t0, t1 = list(then.get("trace") or []), list(now.get("trace") or [])
    for i in range(max(len(t0), len(t1))):
        a = t0[i] if i < len(t0) else None
        b = t1[i] if i < len(t1) else None
        if a != b:
            out.first_step, out.recorded_step, out.replayed_step = i + 1, a, b
            break
    return out


def _with_strength(res: ResultJSON) -> ResultJSON:
    """A record made before recommendations and alerts carried `strength` (which repeats their
    source's strength) gets the key where its source has one, so it still replays identical."""
    out = ResultJSON(**res)
    if "recommendations" in res:
        recs = []
        for r in res["recommendations"]:
            strength = (r.get("source") or {}).get("strength")
            recs.append(RecommendationJSON(**r, strength=strength) if strength and "strength" not in r else r)
        out["recommendations"] = recs
    if "alerts" in res:
        alerts = []
        for a in res["alerts"]:
            strength = (a.get("source") or {}).get("strength")
            alerts.append(AlertJSON(**a, strength=strength) if strength and "strength" not in a else a)
        out["alerts"] = alerts
    return out


def _step_text(s: StepJSON | None) -> list[str]:
    if s is None:
        return ["    (no such step)"]
    lines = [f"    [{s.get('kind')}] {s.get('node')}" + (f" — {s.get('question')}" if s.get("question") else "")]
    for b in s.get("branches") or []:
        facts = ", ".join(f"{k}={show_value(v)}" for k, v in (b.get("facts") or {}).items())
        lines.append(f"      {b.get('readable') or b.get('when')}: {show_value(b.get('value'))}   ({facts}) → {b.get('to')}")
    if s.get("kind") != "decision":
        lines.append(f"      actions: {', '.join(s.get('actions') or [])}")
    lines.append(f"      then: {s.get('taken') or '(end)'} ({s.get('how') or ''})")
    return lines


def _decision_text(out: ReplayOutcome) -> list[str]:
    """The team's decision and its concordance, recorded and now."""
    r0, r1 = out.recorded, out.replayed
    decision = r1.get("clinician_decision") or r0.get("clinician_decision")
    if decision is None:
        return []
    lines = decision_lines(decision, r1.get("concordance"))
    if r0.get("concordance") != r1.get("concordance"):
        lines.append(f"  concordance: {r0.get('concordance')} → {r1.get('concordance')} (recorded → now)")
    return lines


def to_text(out: ReplayOutcome) -> str:
    lines: list[str] = []
    if out.identical:
        lines.append("identical: the recorded facts give the same result with the current guideline and engine")
        if out.changes:
            lines.append("(changed around it, without effect on this case:)")
            lines += [f"  - {c}" for c in out.changes]
        lines += _decision_text(out)
        return "\n".join(lines) + "\n"
    lines.append("different: the recorded facts give another result with the current guideline and engine")
    lines.append(
        "what changed:"
        if out.changes
        else "what changed: neither the guideline sha256/version nor the engine version (the rules backend or the environment differs?)"
    )
    lines += [f"  - {c}" for c in out.changes]
    lines.append("result fields that differ: " + ", ".join(out.differing))
    r0, r1 = out.recorded, out.replayed
    if r0.get("status") != r1.get("status"):
        lines.append(f"status: {r0.get('status')} → {r1.get('status')}")
    a0 = [a for r in r0.get("recommendations") or [] for a in r.get("actions", [])]
    a1 = [a for r in r1.get("recommendations") or [] for a in r.get("actions", [])]
    if a0 != a1:
        lines.append(f"recommended actions: {', '.join(a0) or '—'} → {', '.join(a1) or '—'}")
    lines += _decision_text(out)
    if r0.get("path") != r1.get("path"):
        lines.append(f"path: {' > '.join(r0.get('path') or [])}")
        lines.append(f"  now {' > '.join(r1.get('path') or [])}")
    if out.first_step is not None:
        lines.append(f"first step that differs: step {out.first_step}")
        lines.append("  recorded:")
        lines += _step_text(out.recorded_step)
        lines.append("  now:")
        lines += _step_text(out.replayed_step)
    else:
        lines.append("every step is the same; the difference is in: " + ", ".join(out.differing))
    return "\n".join(lines) + "\n"
