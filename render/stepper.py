"""`guidewalk step`: a case one question at a time in the terminal.

A thin shell around :class:`guidewalk.engine.session.Session`. Each question shows the unit,
the valid range or choices and the guideline text of the decision it settles. Commands at the
prompt: ``?`` (help and source), ``back``, ``why``, ``skip``/``unknown``, ``quit``. The case is
saved after every answer (written to a temporary file, then renamed), so an interruption loses
nothing; ``--facts`` resumes a saved case. Works with scripted stdin and in a terminal. At the
end it offers to record the team's decision (action codes, reason, name, date) in the case
file (``clinician_decision``, see :mod:`guidewalk.engine.decision`) and says whether it follows
the recommendation.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from guidewalk.engine.decision import ClinicianDecision, assess, with_decision

from .outlook import build_outlook, outlook_text
from .text import concordance_words, show_number, show_value

__all__ = ["run_stepper", "save_case", "case_text", "format_question", "ask_decision"]

HELP = "Answer, or: ? (help and source) · back · why · skip/unknown · quit"


def case_text(
    facts: Mapping[str, Any], decision: ClinicianDecision | None = None, head: str = "# guidewalk case (fact: value; null = asked, not known)\n"
) -> str:
    """A case file's text: the facts in the order given, then the team's decision if any."""
    import yaml

    body = yaml.safe_dump(dict(facts), sort_keys=False, allow_unicode=True) if facts else ("" if decision else "{}\n")
    if decision is not None:
        body += yaml.safe_dump({"clinician_decision": dict(decision.to_json())}, sort_keys=False, allow_unicode=True)
    return head + body


def save_case(path: str | os.PathLike[str], facts: Mapping[str, Any], decision: ClinicianDecision | None = None) -> None:
    """Write the case atomically: a temporary file in the same folder (named after this
    process, so one left by a killed process is removed by the next save), then os.replace."""
    from guidewalk.engine.atomic import AtomicFile

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = case_text(facts, decision)
    with AtomicFile(target, "w", fsync=True, encoding="utf-8", private=True) as fh:
        fh.write(text)


def format_question(p: Any, number: int) -> str:
    """The question block for one Pending item."""
    lines = [f"Question {number}: {p.question}"]
    if p.type == "boolean":
        lines.append("  answer: yes / no")
    elif p.type == "enum":
        if any(v.isdigit() for v in p.values):  # values that are numbers: no choice numbers
            lines.append("  choices: " + ", ".join(p.values))
        else:
            lines.append("  choices: " + "  ".join(f"{i}) {v}" for i, v in enumerate(p.values, 1)))
    elif p.type == "set":
        lines.append("  any of (comma-separated, or 'none'): " + ", ".join(p.values))
    elif p.type in ("integer", "number"):
        rng = f"{show_number(p.min)}..{show_number(p.max)}" if p.min is not None or p.max is not None else "any"
        step = f", steps of {show_number(p.step)}" if p.step else ""
        kind = "whole number" if p.type == "integer" else "number"
        lines.append(f"  {kind} {rng}{step}" + (f" [{p.unit}]" if p.unit else ""))
    elif p.domain:  # a date: the form its type is written in
        lines.append(f"  {p.type}: {p.domain}")
    deciding = p.node_question or p.node_title or p.node
    lines.append(f"  guideline: {deciding}  (decision '{p.node}'" + (f"; {p.node_source}" if p.node_source else "") + ")")
    return "\n".join(lines)


def _help_text(p: Any) -> str:
    lines = [f"About '{p.fact}':"]
    if p.help:
        lines.append(f"  {p.help}")
    if p.fact_source:
        lines.append(f"  fact source: {p.fact_source}")
    lines.append(f"  This answer helps decide: {p.node_question or p.node_title or p.node}")
    for b in p.branches:
        lines.append(f"    - {b}")
    if p.node_note:
        lines.append(f"  note: {p.node_note}")
    if p.node_source:
        lines.append(f"  source: {p.node_source}")
    return "\n".join(lines)


def _why_text(session: Any) -> str:
    res = session.result()
    lines = ["Path so far:"]
    for s in res.trace:
        label = s.title or s.question or (s.text or "")
        if s.kind == "decision":
            where = f"→ {s.taken}" if s.taken else "(being decided now)"
            lines.append(f"  {s.step}. {s.node}: {label} {where}")
        else:
            lines.append(f"  {s.step}. {s.node}: {label}")
    known = {k: v for k, v in session.facts.items()}
    if known:
        lines.append("Answers: " + ", ".join(f"{k}={show_value(v)}" for k, v in known.items()))
    outlook = build_outlook(session)
    if outlook is not None and outlook.steps:
        lines.append("Still possible, by what decides between them:")
        lines += outlook_text(outlook)
    return "\n".join(lines)


def _normalise_input(p: Any, text: str) -> Any:
    """Accept a choice number for enums and 'none' for sets; everything else goes to coerce."""
    t = text.strip()
    if p.type == "enum" and t not in p.values and t.isdigit() and 1 <= int(t) <= len(p.values):
        return p.values[int(t) - 1]
    if p.type == "set" and t.lower() in ("none", "-", "[]", "{}"):
        return []
    return t


def run_stepper(
    session: Any,
    read: Callable[[], str | None],
    out: TextIO,
    save: str | None,
    guideline_arg: str,
    *,
    decision: ClinicianDecision | None = None,
    decide: bool = False,
) -> int:
    """The question loop. `read()` returns one line, or None at end of input. `decision`: the
    case's recorded decision (kept when the case is saved); `decide`: at the end, offer to
    record the team's decision. Returns 0 when the walk ended, 3 when the user quit (the case
    is saved)."""

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    def persist() -> None:
        if save:
            save_case(save, session.facts, decision)

    asked = 0
    say(f"{session.guideline.title} (version {session.guideline.version}) — flowchart '{session.flowchart}'")
    if save:
        say(f"The case is saved to {save} after every answer.")
    say(HELP)
    while True:
        pending = session.pending()
        if not pending:
            break
        p = pending[0]
        say("")
        say(format_question(p, len([k for k in session.facts]) + 1))
        while True:
            out.write("> ")
            out.flush()
            line = read()
            if line is None:
                say("")
                say("End of input: the case so far is saved." if save else "End of input.")
                persist()
                _resume_hint(say, guideline_arg, save, session)
                return 3
            cmd = line.strip()
            low = cmd.lower()
            if low in ("?", "help", "h"):
                say(_help_text(p))
                continue
            if low == "why":
                say(_why_text(session))
                continue
            if low in ("quit", "q", "exit"):
                persist()
                say("Stopped. " + ("The case is saved." if save else ""))
                _resume_hint(say, guideline_arg, save, session)
                return 3
            if low in ("back", "b", "undo"):
                if session.undo():
                    persist()
                    say("Went back one answer.")
                else:
                    say("Nothing to go back to.")
                break
            if low in ("skip", "unknown", "s", "u"):
                session.answer(p.fact, None)
                persist()
                asked += 1
                break
            if not cmd:
                say(HELP)
                continue
            try:
                session.answer(p.fact, _normalise_input(p, cmd))
            except ValueError as exc:
                reason = getattr(exc, "reason", str(exc))
                say(f"Not accepted: {reason}. Please answer again (or '?' for help).")
                continue
            persist()
            asked += 1
            break
    persist()
    _finish(say, session, guideline_arg, save, decision)
    if decide:
        recorded = ask_decision(session, read, out, decision)
        if recorded is not None:
            decision = recorded
            persist()
            if save:
                say(f"The decision is saved in {save}.")
    return 0


def _resume_hint(say: Callable[[str], None], guideline_arg: str, save: str | None, session: Any) -> None:
    if save:
        fc = f" --flowchart {session.flowchart}" if session.flowchart != session.guideline.entry else ""
        say(f"Resume with: guidewalk step {guideline_arg} --facts {save}{fc}")


def _finish(say: Callable[[str], None], session: Any, guideline_arg: str, save: str | None, decision: ClinicianDecision | None = None) -> None:
    from .text import to_text

    res = session.result()
    if decision is not None:  # the case's recorded decision, next to the recommendation
        res = with_decision(res, decision, ())
    say("")
    say("=" * 72)
    if res.status == "needs_facts":
        say("The walk cannot go further: the remaining deciding facts were answered 'unknown'.")
        outlook = build_outlook(session)
        if outlook is not None and outlook.steps:
            say("Recommendations still possible, by what decides between them:")
            for line in outlook_text(outlook):
                say(line)
    say(to_text(res, session.guideline).rstrip("\n"))
    if res.unused_facts:
        say("")
        say("Answers kept but not used by this path: " + ", ".join(res.unused_facts))
    say("")
    if save:
        fc = f" --flowchart {session.flowchart}" if session.flowchart != session.guideline.entry else ""
        say(f"Case saved to {save}.")
        say(f"Report: guidewalk report {guideline_arg} --facts {save}{fc} -o report.html")
        say(f"Replay: guidewalk run {guideline_arg} --facts {save}{fc}")
    else:
        say(f"Report: save the case (--save CASE.yaml), then guidewalk report {guideline_arg} --facts CASE.yaml -o report.html")


# --------------------------------------------------------------------------- the team's decision


def ask_decision(session: Any, read: Callable[[], str | None], out: TextIO, current: ClinicianDecision | None = None) -> ClinicianDecision | None:
    """Ask for the team's decision (action codes, reason, name, date), each answer checked;
    None when declined or at end of input. Says whether it follows the recommendation."""
    from guidewalk.engine.errors import LoadError
    from guidewalk.engine.errors import suggest as _suggest

    g = session.guideline
    res = session.result()
    recommended = list(dict.fromkeys(res.actions))

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    def ask(prompt: str) -> str | None:
        out.write(f"{prompt}\n> ")
        out.flush()
        line = read()
        return None if line is None else line.strip()

    say("")
    yes = ask("Record the team's decision in the case" + (" (replacing it)" if current else "") + "? [y/N]")
    if yes is None or yes.lower() not in ("y", "yes", "j", "ja"):
        return None
    while True:
        hint = f"Enter = the recommended: {', '.join(recommended)}" if recommended else "nothing was recommended"
        text = ask(f"Decided action codes, comma-separated ({hint}; 'none' for no action; '?' lists the codes):")
        if text is None:
            return None
        if text == "?":
            say("\n".join(f"  {c}: {t}" for c, t in sorted(g.actions.items())))
            continue
        codes = recommended if text == "" else ([] if text.lower() in ("none", "-") else [c.strip() for c in text.replace(";", ",").split(",") if c.strip()])
        bad = [c for c in codes if c not in g.actions]
        if not bad and (codes or text):
            break
        for c in bad:
            hint2 = _suggest(c, g.actions)
            say(f"Not accepted: '{c}' is not an action code" + (f" (did you mean '{hint2}'?)" if hint2 else "") + ".")
        if not bad:
            say("Not accepted: give the codes decided, or 'none'.")
    draft = ClinicianDecision(tuple(codes))
    deviates = assess(res, draft) not in ("concordant", None)
    reason = ask("It deviates from the recommendation. Reason (Enter for none):" if deviates else "Reason or remark (Enter for none):")
    if reason is None:
        return None
    by = ask("Your name (recorded with the decision):")
    if by is None:
        return None
    today = _dt.date.today().isoformat()
    while True:
        date = ask(f"Date of the decision, YYYY-MM-DD (Enter = {today}):")
        if date is None:
            return None
        try:
            decision = ClinicianDecision.from_json({"actions": codes, "reason": reason, "by": by, "date": date or today}, g.actions)
            break
        except LoadError as exc:
            say("Not accepted: " + "; ".join(p.message for p in exc.problems))
    say(
        f"Recorded: {', '.join(decision.actions) or 'no action'} — {concordance_words(assess(res, decision))}"
        + (f"; reason: {decision.reason}" if decision.reason else "")
    )
    return decision
