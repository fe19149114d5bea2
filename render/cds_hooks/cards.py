"""A walk's result as CDS Hooks 2.0 cards, and a checker of the response shape.

* ``complete``: one card per recommendation on the path (``info``; a suggestion without actions,
  "Follow this recommendation", so the EHR can report acceptance) and one per alert (the alert's
  severity as ``indicator``);
* ``needs_facts``: one ``info`` card naming the data to record (question, valid values, and where
  the binding table reads it), plus the alerts, which hold wherever the walk stopped;
* ``invalid_facts``, or data that is not valid FHIR: one ``warning`` card listing each bad value
  with its resource and FHIR path — never a recommendation.

Every text put into Markdown is escaped (guideline text and record values alike); links are
only http(s) URLs. Summaries are under 140 characters (:func:`engine.fhir.summary.summary_of`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guidewalk.engine.fhir.bindings import GW_GUIDELINE, GW_OVERRIDE, Binding, Bindings
from guidewalk.engine.fhir.summary import LIMIT, shorten, summary_of
from guidewalk.engine.model import Guideline
from guidewalk.engine.trace import Result
from guidewalk.render.text import STRENGTH_WORDS, show_value

__all__ = ["Card", "cards_for_result", "warning_card", "OVERRIDE_REASONS", "check_response", "md", "code", "DISCLAIMER"]

DISCLAIMER = (
    "*Decision support: this is what the guideline recommends for the data in the record; the clinician and the multidisciplinary meeting (MDO) decide.*"
)
# offered when a card is dismissed; feedback with one of these is stored as a deviation with that reason
OVERRIDE_REASONS = (
    ("mdo-decision", "Decided otherwise in the multidisciplinary meeting (MDO)"),
    ("patient-preference", "Patient preference"),
    ("clinical-contraindication", "Clinical contraindication not captured in the record"),
    ("record-data-incorrect", "Data in the record incorrect or out of date"),
    ("other", "Other reason"),
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~])")


def md(text: Any) -> str:
    """Text safe inside Markdown (and the HTML a client may render it to): every Markdown
    control character escaped, & < > as entities, on one line."""
    t = re.sub(r"\s+", " ", "" if text is None else str(text)).strip()
    t = t.replace("&", "&amp;")
    t = _MD_SPECIAL.sub(r"\\\1", t)
    t = re.sub(r"^(\d+)([.)])", r"\1\\\2", t)  # not an ordered list
    t = re.sub(r"^([-+=])", r"\\\1", t)  # not a bullet or a heading underline
    return t.replace("\\<", "&lt;").replace("\\>", "&gt;")


def code(text: Any) -> str:
    """A Markdown code span (nothing inside is interpreted; backticks and line breaks removed)."""
    t = re.sub(r"\s+", " ", "" if text is None else str(text)).replace("`", "'").strip()
    return f"`{t}`"


def safe_url(url: Any) -> str | None:
    u = str(url or "").strip()
    return u if re.match(r"^https?://[^\s<>\"']+$", u) else None


def _link(label: str, url: Any) -> str:
    u = safe_url(url)
    return f"[{md(label)}](<{u}>)" if u else md(label)


@dataclass
class Card:
    """One card and what the feedback store needs to remember about it."""

    data: dict[str, Any]
    kind: str  # recommendation | alert | needs | invalid
    node: str | None = None
    actions: tuple[str, ...] = ()
    suggestion: str | None = None

    @property
    def uuid(self) -> str:
        return str(self.data["uuid"])


@dataclass
class Context:
    g: Guideline
    bindings: Bindings
    result: Result
    extraction: Any = None
    report_url: str | None = None
    sources: Mapping[str, Any] = field(default_factory=dict)


def _source(g: Guideline, src: Any, bindings: Bindings) -> dict[str, Any]:
    label = g.title
    if src is not None and getattr(src, "module", None):
        label = f"{g.title} — {src.module}"
    out: dict[str, Any] = {"label": shorten(label, 200)}
    url = safe_url(getattr(src, "url", None)) or safe_url(g.source)
    if url:
        out["url"] = url
    out["topic"] = {"system": bindings.system(GW_GUIDELINE), "code": g.id, "display": g.title}
    return out


def _links(ctx: Context) -> list[dict[str, Any]]:
    if not ctx.report_url:
        return []
    return [{"label": "Full report: path, facts and sources (guidewalk)", "url": ctx.report_url, "type": "absolute"}]


def _override_reasons(bindings: Bindings) -> list[dict[str, str]]:
    return [{"system": bindings.system(GW_OVERRIDE), "code": c, "display": d} for c, d in OVERRIDE_REASONS]


def _fact_line(ctx: Context, name: str, value: Any) -> str:
    src = ctx.sources.get(name)
    where = ""
    if src is not None:
        where = f" — {md(src.resource)}" + (f", {md(src.date)}" if src.date else "")
        if src.origin != "fhir":
            where = " — entered in the case file"
    elif name in ctx.result.derived:
        where = " — derived"
    return f"- {code(name)} = {md(show_value(value))}{where}"


def _path_block(ctx: Context, upto: str | None = None) -> list[str]:
    res, g = ctx.result, ctx.g
    steps = []
    for s in res.trace:
        title = g.nodes[s.node].title if s.node in g.nodes else None
        steps.append(md(title or s.node))
        if upto and s.node == upto:
            break
    used: dict[str, Any] = {}
    for s in res.trace:
        for b in s.branches:
            if b.value is True and b.to == s.taken:
                used.update(b.facts)
        if upto and s.node == upto:
            break
    lines = ["**Path:** " + " → ".join(steps)]
    if used:
        lines += ["", "**Facts that decided the path:**"] + [_fact_line(ctx, k, v) for k, v in used.items()]
    return lines


def _strength_line(strength: str | None) -> list[str]:
    """How strongly the guideline words it (its source's verb form); nothing when the source does not say."""
    if strength not in STRENGTH_WORDS:
        return []
    return ["", f"**Strength:** {md(strength)} — {md(STRENGTH_WORDS[str(strength)])} it (the verb form of the guideline text)."]


def _recommendation_card(ctx: Context, rec: Any) -> Card:
    g = ctx.g
    node = g.nodes.get(rec.node)
    summary = summary_of(node, rec.text)
    head = STRENGTH_WORDS.get(rec.strength or "", STRENGTH_WORDS["directive"])
    detail = [f"**{md(head[0].upper() + head[1:])}:** {md(rec.text)}"] + _strength_line(rec.strength)
    if rec.actions:
        detail += ["", "**Action codes:** " + ", ".join(f"{code(a)} ({md(g.actions.get(a) or a)})" for a in rec.actions)]
    if rec.note:
        detail += ["", f"**Note (how the guideline text was read):** {md(rec.note)}"]
    detail += [""] + _path_block(ctx, rec.node)
    if rec.source:
        detail += ["", "**Source:** " + _link(f"{g.title}, {rec.source.module or 'module'}", rec.source.url)]
    detail += ["", DISCLAIMER]
    sugg = str(uuid.uuid4())
    data: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": "info",
        "detail": "\n".join(detail),
        "source": _source(g, rec.source, ctx.bindings),
        "suggestions": [{"label": "Follow this recommendation", "uuid": sugg, "isRecommended": True}],
        "selectionBehavior": "at-most-one",
        "overrideReasons": _override_reasons(ctx.bindings),
    }
    links = _links(ctx)
    if links:
        data["links"] = links
    return Card(data, "recommendation", rec.node, tuple(rec.actions), sugg)


def _alert_card(ctx: Context, alert: Any) -> Card:
    g = ctx.g
    rule = next((r for r in g.rules if r.id == alert.rule), None)
    detail = [md(alert.text)] + _strength_line(alert.strength)
    if alert.note:
        detail += ["", f"**Note:** {md(alert.note)}"]
    if alert.inputs:
        detail += ["", "**Because:**"] + [_fact_line(ctx, k, v) for k, v in alert.inputs.items()]
    if alert.origin != "guideline":
        detail += ["", f"*From {md(alert.origin)} (a local addition to the national guideline).*"]
    if alert.source:
        detail += ["", "**Source:** " + _link(f"{g.title}, {alert.source.module or 'module'}", alert.source.url)]
    detail += ["", DISCLAIMER]
    data: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary_of(rule, alert.text),
        "indicator": alert.severity if alert.severity in ("info", "warning", "critical") else "warning",
        "detail": "\n".join(detail),
        "source": _source(g, alert.source, ctx.bindings),
        "overrideReasons": _override_reasons(ctx.bindings),
    }
    links = _links(ctx)
    if links:
        data["links"] = links
    return Card(data, "alert", alert.rule)


def where_recorded(b: Binding) -> str:
    """Where the binding table reads a fact, in words."""
    if b.resource == "Patient":
        return f"Patient.{b.element} ({b.inferred or 'inferred'})"
    if b.resource == "Condition" and b.element == "code":
        codes = ", ".join(f"{m.coding.alias} {m.coding.code}{'*' if m.prefix else ''}" for m in b.map[:4])
        return f"a Condition coded {codes}" + (" …" if len(b.map) > 4 else "")
    codes = " or ".join(f"{c.alias} {c.code}" for c in b.codes)
    kind = "Condition" if b.resource == "Condition" else "Observation"
    value = "verificationStatus" if b.element == "presence" else " or ".join(b.elements)
    unit = f" in {b.ucum}" if b.ucum else ""
    fresh = ""
    if b.same_day:
        fresh = ", recorded on the day of the decision"
    elif b.max_age_days is not None:
        fresh = f", at most {b.max_age_days} days old"
    return f"an {kind} coded {codes}, {value}{unit}{fresh}"


def _needs_card(ctx: Context) -> Card:
    g, res = ctx.g, ctx.result
    names = []
    for n in res.needs:
        spec = g.spec(n)
        names.append(spec.question.rstrip("?") if spec and spec.question and len(spec.question) < 60 else n.replace("_", " "))
    summary = shorten(f"Record to complete the guideline walk: {'; '.join(names)}")
    detail = ["The guideline walk stopped at a decision that these data would settle:", ""]
    problems = {nm.fact: nm for nm in (ctx.extraction.not_mapped if ctx.extraction else []) if nm.fact}
    for n in res.needs:
        spec = g.spec(n)
        dom = spec.describe_domain() if spec else ""
        unit = f" {spec.unit}" if spec and spec.unit else ""
        line = f"- **{md(spec.question if spec and spec.question else n)}** ({code(n)}: {md(dom + unit)})"
        b = ctx.bindings.by_fact.get(n)
        if b is not None:
            line += f" — record as {md(where_recorded(b))}"
        if n in problems:
            line += f". In the record but not used: {md(problems[n].reason)}"
        detail.append(line)
    if res.recommendations:
        detail += ["", "**Recommended on the way (before the walk stopped):**"] + [f"- {md(r.text)}" for r in res.recommendations]
    detail += [""] + _path_block(ctx) + ["", DISCLAIMER]
    data: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": "info",
        "detail": "\n".join(detail),
        "source": _source(g, None, ctx.bindings),
    }
    links = _links(ctx)
    if links:
        data["links"] = links
    return Card(data, "needs")


def warning_card(g: Guideline, bindings: Bindings, summary: str, lines: Iterable[str], *, report_url: str | None = None) -> Card:
    """A warning about the record's data (invalid values, not FHIR, conflicts): never advice."""
    detail = [md(x) if not x.startswith("- ") else "- " + md(x[2:]) for x in lines]
    detail += ["", "*No recommendation is given on data that cannot be used. Correct the record and open the chart again.*"]
    data: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": shorten(summary),
        "indicator": "warning",
        "detail": "\n".join(detail),
        "source": _source(g, None, bindings),
    }
    if report_url:
        data["links"] = [{"label": "Full report (guidewalk)", "url": report_url, "type": "absolute"}]
    return Card(data, "invalid")


def cards_for_result(g: Guideline, bindings: Bindings, result: Result, *, extraction: Any = None, report_url: str | None = None) -> list[Card]:
    """The cards of one walk."""
    ctx = Context(g, bindings, result, extraction, report_url, extraction.sources if extraction is not None else {})
    if result.status == "invalid_facts":
        lines = ["The record holds values the guideline cannot use:", ""]
        for e in result.errors:
            src = ctx.sources.get(e.fact)
            where = f" ({src.resource}, {src.location.path})" if src is not None and src.origin == "fhir" else ""
            lines.append(f"- {e.fact}: {e.message}{where}")
        names = ", ".join(dict.fromkeys(e.fact for e in result.errors))
        return [warning_card(g, bindings, f"Data in the record cannot be used ({names}); no recommendation given", lines)]
    cards: list[Card] = []
    if result.status == "needs_facts":
        cards.append(_needs_card(ctx))
    else:
        cards += [_recommendation_card(ctx, r) for r in result.recommendations]
    cards += [_alert_card(ctx, a) for a in result.alerts]
    if extraction is not None:
        conflicts = [n for n in extraction.conflicts if n.fact in g.asks and n.fact not in result.needs]
        if conflicts:
            lines = ["The record gives different values for the same fact; they were not used:", ""]
            lines += [f"- {n.fact}: {n.reason}" for n in conflicts]
            cards.append(
                warning_card(g, bindings, "Conflicting values in the record: " + ", ".join(str(n.fact) for n in conflicts), lines, report_url=report_url)
            )
    return cards


# --------------------------------------------------------------------------- response shape (CDS Hooks 2.0)

INDICATORS = ("info", "warning", "critical")
CARD_KEYS = {"uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior", "overrideReasons", "links", "extension"}


def check_response(obj: Any) -> list[str]:
    """Problems with a CDS Service response against the CDS Hooks 2.0 card shape (empty when
    conformant): cards required; each card summary (<140 characters), indicator (info | warning
    | critical), source with label (url, icon absolute; topic a Coding); suggestions need
    selectionBehavior; override reasons need a display; links need label, url and type
    (absolute | smart), appContext only for smart links."""
    out: list[str] = []
    if not isinstance(obj, dict) or not isinstance(obj.get("cards"), list):
        return ["a response is an object with a 'cards' array"]
    for i, c in enumerate(obj["cards"]):
        p = f"cards[{i}]"
        if not isinstance(c, dict):
            out.append(f"{p}: not an object")
            continue
        for k in c:
            if k not in CARD_KEYS:
                out.append(f"{p}: unknown field '{k}'")
        s = c.get("summary")
        if not isinstance(s, str) or not s:
            out.append(f"{p}.summary: required text")
        elif len(s) >= LIMIT:
            out.append(f"{p}.summary: {len(s)} characters (must be under {LIMIT})")
        if c.get("indicator") not in INDICATORS:
            out.append(f"{p}.indicator: must be info, warning or critical, got {c.get('indicator')!r}")
        if "detail" in c and not isinstance(c["detail"], str):
            out.append(f"{p}.detail: must be Markdown text")
        if "uuid" in c and not isinstance(c["uuid"], str):
            out.append(f"{p}.uuid: must be text")
        src = c.get("source")
        if not isinstance(src, dict) or not isinstance(src.get("label"), str) or not src.get("label"):
            out.append(f"{p}.source: required, with a label")
        else:
            for k in ("url", "icon"):
                if k in src and not safe_url(src[k]):
                    out.append(f"{p}.source.{k}: must be an absolute URL")
            if "topic" in src and not (isinstance(src["topic"], dict) and src["topic"].get("code")):
                out.append(f"{p}.source.topic: must be a Coding")
        sugg = c.get("suggestions")
        if sugg is not None:
            if not isinstance(sugg, list):
                out.append(f"{p}.suggestions: must be an array")
            else:
                if c.get("selectionBehavior") not in ("at-most-one", "any"):
                    out.append(f"{p}.selectionBehavior: required with suggestions (at-most-one | any)")
                for j, sg in enumerate(sugg):
                    if not isinstance(sg, dict) or not isinstance(sg.get("label"), str):
                        out.append(f"{p}.suggestions[{j}]: needs a label")
                        continue
                    for k, a in enumerate(sg.get("actions") or []):
                        if not isinstance(a, dict) or a.get("type") not in ("create", "update", "delete") or not isinstance(a.get("description"), str):
                            out.append(f"{p}.suggestions[{j}].actions[{k}]: needs type create|update|delete and a description")
        for j, r in enumerate(c.get("overrideReasons") or []):
            if not isinstance(r, dict) or not r.get("code") or not r.get("display"):
                out.append(f"{p}.overrideReasons[{j}]: a Coding with code and display")
        for j, ln in enumerate(c.get("links") or []):
            lp = f"{p}.links[{j}]"
            if not isinstance(ln, dict) or not isinstance(ln.get("label"), str) or not isinstance(ln.get("url"), str):
                out.append(f"{lp}: needs label and url")
                continue
            if ln.get("type") not in ("absolute", "smart"):
                out.append(f"{lp}.type: must be absolute or smart")
            if "appContext" in ln and ln.get("type") != "smart":
                out.append(f"{lp}.appContext: only for smart links")
            if ln.get("type") == "absolute" and not safe_url(ln.get("url")):
                out.append(f"{lp}.url: must be an absolute http(s) URL")
    return out
