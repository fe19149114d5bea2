"""JSON Schemas of the guideline files, generated from the loader's own definitions.

The key lists come from :mod:`engine.load` (FACT_KEYS, RULE_KEYS, NODE_KEYS, META_KEYS,
SCORE_KEYS) and :mod:`engine.model` (FACT_TYPES, NODE_KINDS); the few key lists the loader
writes inline (source, branch, case, flowchart, ...) are read from its `_check_keys(...)` calls,
so there is no second copy to keep in step. The schemas are shipped next to this module
(`guideline.schema.json`, `facts.schema.json`, `actions.schema.json`, `score.schema.json`) for
editors with a YAML language server; `guidewalk schema` prints them and `--write` regenerates
the shipped files. The loader stays the judge: the schema helps editing, it does not replace
`guidewalk validate`.
"""

from __future__ import annotations

import ast
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import load as _load
from ..model import FACT_TYPES, NODE_KINDS

__all__ = ["KINDS", "schema", "schema_text", "shipped_path", "inline_key_sets"]

KINDS = ("guideline", "facts", "actions", "score")
BASE_URL = "https://guidewalk.invalid/schema"
NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
SNAKE = r"^[a-z][a-z0-9_]*$"


@lru_cache(maxsize=1)
def inline_key_sets() -> dict[str, tuple[str, ...]]:
    """The key lists written inline in the loader's `_check_keys` calls, by what they check
    ("source", "branch", "case", "flowchart", "guideline file", ...)."""
    tree = ast.parse(Path(_load.__file__).read_text(encoding="utf-8"))
    out: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_check_keys" and len(node.args) >= 6):
            continue
        keys, what = node.args[4], node.args[5]
        if not isinstance(keys, ast.Tuple) or not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in keys.elts):
            continue
        if isinstance(what, ast.Constant) and isinstance(what.value, str):
            label = what.value
        elif isinstance(what, ast.JoinedStr) and what.values and isinstance(what.values[0], ast.Constant):
            label = str(what.values[0].value).split("'")[0].strip()
        else:  # pragma: no cover - a new call shape in the loader
            continue
        out[label] = tuple(str(e.value) for e in keys.elts if isinstance(e, ast.Constant))
    return out


def _keys(label: str) -> tuple[str, ...]:
    sets = inline_key_sets()
    if label not in sets:
        raise KeyError(f"the loader has no inline key list for '{label}' (engine/load.py changed?)")
    return sets[label]


# --------------------------------------------------------------------------- pieces

_DESCRIPTIONS = {
    "id": "Identifier (a snake_case word; a guideline id equals its folder name).",
    "title": "Human-readable title.",
    "version": "Version of the guideline text.",
    "publisher": "Who published the guideline (e.g. NVN, IKNL).",
    "source": "A URL, or a mapping with url, module, strength, evidence, tag.",
    "language": "Language of the source guideline (e.g. nl).",
    "entry": "Id of the entry flowchart (default: the first).",
    "description": "Longer description.",
    "note": "How an ambiguity in the guideline text was resolved; shown in the trace.",
    "type": "Fact type: " + ", ".join(FACT_TYPES) + ".",
    "unit": "Unit shown to clinicians.",
    "min": "Smallest valid value (inclusive).",
    "max": "Largest valid value (inclusive).",
    "step": "Values must be min + k * step.",
    "values": "The allowed values (enum/set): snake_case words.",
    "question": "The question a clinician is asked.",
    "help": "Help text shown with the question.",
    "derive": "Name of the derived fact this rule computes.",
    "alert": "Alert text that holds wherever the walk is.",
    "when": "A condition in the guidewalk expression language, e.g. `kps >= 70 and bm_count <= 10`.",
    "cases": "First case whose `when` is true gives the value.",
    "otherwise": "Value (rule) or node id (decision) when nothing else holds.",
    "value": "An expression giving the derived value.",
    "severity": "info | warning | critical.",
    "if_recommended": "The alert holds only when the walk recommends one of these action codes.",
    "kind": "Node kind: " + ", ".join(NODE_KINDS) + ".",
    "branches": "List of {when, to, note?}; see `exclusive`.",
    "exclusive": "true (default): at most one branch holds for any patient (`guidewalk lint` proves it); false: first true branch wins.",
    "actions": "Action codes from guidelines/actions.yaml.",
    "text": "Recommendation text (\"The guideline recommends ...\").",
    "next": "Node id where the walk continues after this action.",
    "to": "Target node id.",
    "start": "Id of the first node of this flowchart.",
    "nodes": "Mapping of node id to node.",
    "scores": "Score modules (guidelines/scores/<id>.yaml) whose rules this guideline uses.",
    "facts": "Dictionary facts this guideline may ask.",
    "rules": "Derived facts and alerts (forward chaining).",
    "flowcharts": "One or more flowcharts; the first is the entry unless `entry` names another.",
    "url": "Address of the guideline module or publication.",
    "module": "Module code or title (e.g. M21).",
    "strength": "directive | conditional (from the guideline's verb form).",
    "evidence": "GRADE level where given.",
    "tag": "e.g. `2011 fallback`, `lecture`, `provisional`.",
    "verification": "verified | partial | unverified.",
    "inputs": "Base facts the score reads.",
    "components": "Derived facts shown as points per component.",
    "total": "Derived fact holding the total.",
    "result": "Derived fact holding the class/band/group.",
    "outputs": "Further derived facts shown.",
    "requires": "Other score modules this one reads.",
}


def _d(key: str, body: dict[str, Any]) -> dict[str, Any]:
    desc = _DESCRIPTIONS.get(key)
    return {**body, "description": desc} if desc else body


_EXPR = {"type": ["string", "number", "boolean"]}
_STRINGLIST = {"type": "array", "items": {"type": "string"}}


def _source() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for k in _keys("source"):
        if k == "strength":
            props[k] = _d(k, {"enum": ["directive", "conditional"]})
        else:
            props[k] = _d(k, {"type": "string"})
    return {
        "description": _DESCRIPTIONS["source"],
        "oneOf": [
            {"type": "string"},
            {"type": "object", "properties": props, "required": ["url"], "additionalProperties": False},
        ],
    }


def _fact_props(keys: tuple[str, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for k in keys:
        if k == "type":
            props[k] = _d(k, {"enum": list(FACT_TYPES)})
        elif k in ("min", "max", "step"):
            props[k] = _d(k, {"type": "number"})
        elif k == "values":
            props[k] = _d(k, {"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1})
        elif k == "source":
            props[k] = {"$ref": "#/$defs/source"}
        else:
            props[k] = _d(k, {"type": "string"})
    return props


def _fact_spec() -> dict[str, Any]:
    return {"type": "object", "properties": _fact_props(_load.FACT_KEYS), "required": ["type"], "additionalProperties": False}


def _rule() -> dict[str, Any]:
    fact_keys = set(_load.FACT_KEYS)
    props: dict[str, Any] = {}
    for k in _load.RULE_KEYS:
        if k == "id":
            props[k] = _d(k, {"type": "string", "pattern": NAME})
        elif k in ("derive",):
            props[k] = _d(k, {"type": "string", "pattern": NAME})
        elif k in ("alert",):
            props[k] = _d(k, {"type": "string"})
        elif k in ("when", "value", "otherwise"):
            props[k] = _d(k, _EXPR)
        elif k == "cases":
            case_props = {c: (_d(c, _EXPR) if c in ("when", "value") else _d(c, {"type": "string"})) for c in _keys("case")}
            props[k] = _d(k, {"type": "array", "items": {"type": "object", "properties": case_props, "required": ["when", "value"], "additionalProperties": False}})
        elif k == "severity":
            props[k] = _d(k, {"enum": ["info", "warning", "critical"]})
        elif k == "if_recommended":
            props[k] = _d(k, _STRINGLIST)
        elif k == "source":
            props[k] = {"$ref": "#/$defs/source"}
        elif k in fact_keys:
            props[k] = _fact_props((k,))[k]
        else:
            props[k] = _d(k, {"type": "string"})
    return {
        "type": "object",
        "properties": props,
        "required": ["id", "source"],
        "additionalProperties": False,
        "oneOf": [{"required": ["derive"]}, {"required": ["alert"]}],
    }


def _node() -> dict[str, Any]:
    branch_props = {k: (_d(k, _EXPR) if k == "when" else _d(k, {"type": "string"})) for k in _keys("branch")}
    branch = {"type": "object", "properties": branch_props, "required": ["when", "to"], "additionalProperties": False}
    rules: list[dict[str, Any]] = []
    for kind in NODE_KINDS:
        props: dict[str, Any] = {}
        for k in _load.NODE_KEYS[kind]:
            if k == "kind":
                props[k] = {"const": kind}
            elif k == "branches":
                props[k] = _d(k, {"type": "array", "items": branch, "minItems": 1})
            elif k == "exclusive":
                props[k] = _d(k, {"type": "boolean"})
            elif k == "actions":
                props[k] = _d(k, _STRINGLIST)
            elif k == "source":
                props[k] = {"$ref": "#/$defs/source"}
            else:
                props[k] = _d(k, {"type": "string"})
        required = ["source"] + (["branches"] if kind == "decision" else ["actions", "text"] if kind == "action" else [])
        rules.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": {"properties": props, "required": required, "additionalProperties": False}})
    return {"type": "object", "required": ["kind"], "properties": {"kind": _d("kind", {"enum": list(NODE_KINDS)})}, "allOf": rules}


def _flowchart() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for k in _keys("flowchart"):
        if k == "nodes":
            props[k] = _d(k, {"type": "object", "propertyNames": {"pattern": NAME}, "additionalProperties": {"$ref": "#/$defs/node"}})
        elif k == "id":
            props[k] = _d(k, {"type": "string", "pattern": NAME})
        else:
            props[k] = _d(k, {"type": "string"})
    return {"type": "object", "properties": props, "required": ["id", "nodes"], "additionalProperties": False}


def _defs() -> dict[str, Any]:
    return {"source": _source(), "factSpec": _fact_spec(), "rule": _rule(), "node": _node(), "flowchart": _flowchart()}


def _wrap(kind: str, title: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{BASE_URL}/{kind}.schema.json", "title": title, **body, "$defs": _defs()}


def schema(kind: str = "guideline") -> dict[str, Any]:
    """The JSON Schema of one kind of guidewalk file: guideline, facts, actions or score."""
    if kind == "guideline":
        meta_props: dict[str, Any] = {}
        for k in _load.META_KEYS:
            meta_props[k] = {"$ref": "#/$defs/source"} if k == "source" else _d(k, {"type": ["string", "number"]} if k == "version" else {"type": "string"})
        top: dict[str, Any] = {}
        for k in _keys("guideline file"):
            if k == "guideline":
                top[k] = {"type": "object", "properties": meta_props, "required": ["id", "title", "version", "publisher", "source"], "additionalProperties": False, "description": "Metadata."}
            elif k in ("scores", "facts"):
                top[k] = _d(k, _STRINGLIST)
            elif k == "rules":
                top[k] = _d(k, {"type": "array", "items": {"$ref": "#/$defs/rule"}})
            elif k == "flowcharts":
                top[k] = _d(k, {"type": "array", "items": {"$ref": "#/$defs/flowchart"}, "minItems": 1})
        return _wrap(kind, "guidewalk guideline file", {"type": "object", "properties": top, "required": ["guideline", "flowcharts"], "additionalProperties": False})
    if kind == "facts":
        return _wrap(kind, "guidewalk fact dictionary", {"type": "object", "propertyNames": {"pattern": SNAKE}, "additionalProperties": {"$ref": "#/$defs/factSpec"}})
    if kind == "actions":
        props = {k: ({"$ref": "#/$defs/source"} if k == "source" else _d(k, {"type": "string"})) for k in _keys("action")}
        item = {"type": "object", "properties": props, "required": ["text"], "additionalProperties": False}
        return _wrap(kind, "guidewalk action codes", {"type": "object", "propertyNames": {"pattern": SNAKE}, "additionalProperties": item})
    if kind == "score":
        head: dict[str, Any] = {}
        for k in _load.SCORE_KEYS:
            if k == "source":
                head[k] = {"$ref": "#/$defs/source"}
            elif k in ("inputs", "components", "outputs", "requires"):
                head[k] = _d(k, _STRINGLIST)
            elif k == "verification":
                head[k] = _d(k, {"enum": ["verified", "partial", "unverified"]})
            elif k in ("total", "result"):
                head[k] = _d(k, {"type": ["string", "null"]})
            else:
                head[k] = _d(k, {"type": "string"})
        top = {}
        for k in _keys("score module"):
            if k == "score":
                top[k] = {"type": "object", "properties": head, "required": ["id", "source"], "additionalProperties": False}
            elif k == "rules":
                top[k] = {"type": "array", "items": {"$ref": "#/$defs/rule"}}
        return _wrap(kind, "guidewalk score module", {"type": "object", "properties": top, "required": ["score"], "additionalProperties": False})
    raise ValueError(f"unknown schema kind '{kind}' (one of {', '.join(KINDS)})")


def schema_text(kind: str = "guideline") -> str:
    return json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n"


def shipped_path(kind: str = "guideline") -> Path:
    """Where the generated schema file ships in the package."""
    from ..resources import schema_path

    return schema_path(kind)
