"""The guideline file format, defined once: every YAML element, its keys, their types,
whether they are required, their defaults and what they mean.

The loader (:mod:`engine.load`) checks keys and reads defaults from this table; the JSON
Schemas for editors (:mod:`engine.verify.schema`) are generated from it; docs/format.md
describes it. A new YAML key is one line here plus the code in the loader that reads it.

Key types: ``text``, ``name`` (a snake_case word), ``version`` (text or number), ``number``,
``boolean``, ``expression`` (a condition or value in the condition language), ``words`` (a list
of words), ``values`` (enum/set values), ``choice`` (one of ``choices``), ``source`` (a URL or a
source mapping), ``name?`` (a word or nothing), ``text?`` (text or nothing: the key is written,
with ``null`` where there is no value), or a reference to another element:
``element:<name>``, ``list:<name>`` or ``map:<name>`` (a mapping of snake_case ids to elements).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "Key",
    "ELEMENTS",
    "FACT_TYPES",
    "NODE_KINDS",
    "SEVERITIES",
    "STRENGTHS",
    "VERIFICATIONS",
    "COVERAGES",
    "SUMMARY_LIMIT",
    "keys",
    "key",
    "default",
    "one_of",
    "markdown",
]

FACT_TYPES = ("boolean", "integer", "number", "enum", "date", "set", "string")
NODE_KINDS = ("decision", "action", "end")
SEVERITIES = ("info", "warning", "critical")
STRENGTHS = ("directive", "conditional")
VERIFICATIONS = ("verified", "partial", "unverified")
COVERAGES = ("encoded", "partly", "not encoded")


@dataclass(frozen=True)
class Key:
    """One key of one element of the format."""

    name: str
    type: str
    description: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()


def _k(name: str, type: str, description: str, *, required: bool = False, default: Any = None, choices: tuple[str, ...] = ()) -> Key:
    return Key(name, type, description, required, default, choices)


_ID = "Identifier (a snake_case word)."
_NOTE = _k("note", "text", "How an ambiguity in the guideline was resolved; shown in the trace.")
_SOURCE = _k("source", "source", "A URL, or a mapping with url, module, strength, evidence, tag: where this comes from in the guideline.", required=True)
_TITLE = _k("title", "text", "Human-readable title.")
SUMMARY_LIMIT = 140  # CDS Hooks: a card's summary is "<140-character"
_SUMMARY = _k("summary", "text", f"One sentence under {SUMMARY_LIMIT} characters for cards and compact views (the text stays the full statement).")
_FACT_KEYS = (
    _k("type", "choice", "Fact type: " + ", ".join(FACT_TYPES) + ".", required=True, choices=FACT_TYPES),
    _k("unit", "text", "Unit shown to clinicians."),
    _k("min", "number", "Smallest valid value (inclusive)."),
    _k("max", "number", "Largest valid value (inclusive)."),
    _k("step", "number", "Values must be min + k * step."),
    _k("values", "values", "The allowed values (enum/set): snake_case words."),
    _k("question", "text", "The question a clinician is asked."),
    _k("help", "text", "Help text shown with the question."),
)

#: element name -> its keys, in the order docs and schemas list them
ELEMENTS: dict[str, tuple[Key, ...]] = {
    "guideline file": (
        _k("guideline", "element:guideline metadata", "Metadata.", required=True),
        _k("scores", "words", "Score modules (guidelines/scores/<id>.yaml) whose rules this guideline uses."),
        _k("facts", "words", "Dictionary facts this guideline may ask."),
        _k("rules", "list:rule", "Derived facts and alerts (forward chaining)."),
        _k("flowcharts", "list:flowchart", "One or more flowcharts; the first is the entry unless `entry` names another.", required=True),
    ),
    "guideline metadata": (
        _k("id", "text", "Identifier; equals the guideline's folder name (e.g. brain-metastases-2020).", required=True),
        _k("title", "text", "Human-readable title.", required=True),
        _k("version", "version", "Version of the guideline text.", required=True),
        _k("publisher", "text", "Who published the guideline (e.g. NVN, IKNL).", required=True),
        _k("source", "source", "The guideline's home page (a URL or a source mapping).", required=True),
        _k("language", "text", "Language of the source guideline (e.g. nl)."),
        _k("entry", "name", "Id of the entry flowchart (default: the first)."),
        _k("description", "text", "Longer description."),
    ),
    "source": (
        _k("url", "text", "Address of the guideline module or publication.", required=True),
        _k("module", "text", "Module code or title (e.g. M21)."),
        _k("strength", "choice", "directive | conditional (from the guideline's verb form).", choices=STRENGTHS),
        _k("evidence", "text", "GRADE level where given."),
        _k("tag", "text", "e.g. `2011 fallback`, `lecture`, `provisional`."),
    ),
    "fact": _FACT_KEYS
    + (
        _k("source", "source", "Where the fact's definition comes from."),
        _NOTE,
    ),
    "action": (
        _k("text", "text", "What the action code means, in words.", required=True),
        _k("source", "source", "Where the action comes from."),
        _NOTE,
    ),
    "rule": (
        _k("id", "name", _ID, required=True),
        _k("derive", "name", "Name of the derived fact this rule computes (a rule has derive: or alert:)."),
        _k("alert", "text", "Alert text that holds wherever the walk is (a rule has derive: or alert:)."),
        _SUMMARY,
        _k("when", "expression", "A condition in the guidewalk expression language, e.g. `kps >= 70 and bm_count <= 10`."),
        _k("cases", "list:case", "First case whose `when` is true gives the value."),
        _k("otherwise", "expression", "Value when no case holds."),
        _k("value", "expression", "An expression giving the derived value."),
        _k("severity", "choice", "info | warning | critical (alerts).", default="warning", choices=SEVERITIES),
        _k("if_recommended", "words", "The alert holds only when the walk recommends one of these action codes."),
        _SOURCE,
        _NOTE,
    )
    + tuple(replace(k, required=False) for k in _FACT_KEYS),  # a derive rule declares its fact's type
    "case": (
        _k("when", "expression", "The condition of this case.", required=True),
        _k("value", "expression", "The derived value when it holds.", required=True),
        _NOTE,
    ),
    "flowchart": (
        _k("id", "name", _ID, required=True),
        _TITLE,
        _k("start", "name", "Id of the first node of this flowchart (default: the first node)."),
        _k("nodes", "map:node", "Mapping of node id to node.", required=True),
        _NOTE,
    ),
    "decision node": (
        _k("kind", "choice", "Node kind.", required=True, choices=NODE_KINDS),
        _TITLE,
        _k("question", "text", "The question this decision answers."),
        _k("branches", "list:branch", "The branches; see `exclusive`.", required=True),
        _k("otherwise", "name", "Node id where the walk goes when no branch holds."),
        _k(
            "exclusive",
            "boolean",
            "true (default): at most one branch holds for any patient (`guidewalk lint` proves it); false: the first true branch wins.",
            default=True,
        ),
        _SOURCE,
        _NOTE,
    ),
    "action node": (
        _k("kind", "choice", "Node kind.", required=True, choices=NODE_KINDS),
        _TITLE,
        _k("actions", "words", "Action codes from guidelines/actions.yaml.", required=True),
        _k("text", "text", 'Recommendation text ("The guideline recommends ...").', required=True),
        _SUMMARY,
        _k("next", "name", "Node id where the walk continues after this action."),
        _SOURCE,
        _NOTE,
    ),
    "end node": (
        _k("kind", "choice", "Node kind.", required=True, choices=NODE_KINDS),
        _TITLE,
        _k("actions", "words", "Action codes from guidelines/actions.yaml."),
        _k("text", "text", "What the guideline says at this end."),
        _SUMMARY,
        _SOURCE,
        _NOTE,
    ),
    "branch": (
        _k("when", "expression", "The condition under which the walk takes this branch.", required=True),
        _k("to", "name", "Target node id.", required=True),
        _k("label", "text", "The branch in a few words, drawn on the flowchart (e.g. 'KPS 70 or more'); the condition stays in the tooltip."),
        _NOTE,
    ),
    "score module": (
        _k("score", "element:score header", "The score's header.", required=True),
        _k("rules", "list:rule", "The rules that compute the score."),
    ),
    "score header": (
        _k("id", "name", "Identifier; equals the file name.", required=True),
        _TITLE,
        _k("source", "source", "The publication or guideline module of the score.", required=True),
        _k("verification", "choice", "verified | partial | unverified.", default="unverified", choices=VERIFICATIONS),
        _k("inputs", "words", "Base facts the score reads."),
        _k("components", "words", "Derived facts shown as points per component."),
        _k("total", "name?", "Derived fact holding the total."),
        _k("result", "name?", "Derived fact holding the class/band/group."),
        _k("outputs", "words", "Further derived facts shown."),
        _k("requires", "words", "Other score modules this one reads."),
        _NOTE,
        _k("description", "text", "Longer description."),
    ),
    "overlay": (
        _k("overlay", "element:overlay header", "The overlay's header.", required=True),
        _k("rules", "list:rule", "Local alerts and derived facts."),
        _k("nodes", "map:overlay node", "Local remarks on nodes of the national flow."),
    ),
    "overlay header": (
        _k("id", "text", "Identifier of the local protocol (default: the file name)."),
        _TITLE,
        _k("applies_to", "text", "The id of the guideline this overlay belongs to.", required=True),
        _k("version", "version", "Version of the local protocol."),
        _k("publisher", "text", "Who owns the local protocol."),
        _k("source", "source", "Where the local protocol is published."),
        _NOTE,
    ),
    "overlay node": (_k("note", "text", "A local protocol remark shown with the node.", required=True),),
    "module": (
        _k("code", "text", "This encoding's identifier of the module, the one `source.module` cites (e.g. M21).", required=True),
        _k("title", "text", "The module's title (Dutch, as on the module page).", required=True),
        _k("url", "text?", "Address of the module page; null where it could not be read.", required=True),
        _k("coverage", "choice", "How far this encoding covers the module: encoded | partly | not encoded.", required=True, choices=COVERAGES),
        _k("reason", "text", "One line: what is encoded where (naming flowchart, node or rule ids), or why not.", required=True),
    ),
}

NODE_ELEMENTS = {kind: f"{kind} node" for kind in NODE_KINDS}


def keys(element: str) -> tuple[str, ...]:
    """The key names an element allows, in table order."""
    return tuple(k.name for k in ELEMENTS[element])


def key(element: str, name: str) -> Key:
    for k in ELEMENTS[element]:
        if k.name == name:
            return k
    raise KeyError(f"{element} has no key '{name}'")


def one_of(choices: tuple[str, ...]) -> str:
    """'a, b or c' for messages."""
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else "".join(choices)


def default(element: str, name: str) -> Any:
    """The default of an optional key."""
    return key(element, name).default


def markdown() -> str:
    """The format as a Markdown reference (docs/format.md carries it; a test keeps it current)."""
    lines = []
    for element, ks in ELEMENTS.items():
        lines += [f"**{element}**", "", "| key | type | required | default | meaning |", "| --- | --- | --- | --- | --- |"]
        for k in ks:
            kind = k.type if k.type != "choice" else " \\| ".join(k.choices)
            dflt = "" if k.default is None else str(k.default).lower() if isinstance(k.default, bool) else str(k.default)
            lines.append(f"| `{k.name}` | {kind} | {'yes' if k.required else ''} | {dflt} | {k.description} |")
        lines.append("")
    return "\n".join(lines)
