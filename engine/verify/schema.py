"""JSON Schemas of the guideline files, generated from the one format table (:mod:`engine.format`).

Every element of the format (guideline file, metadata, fact, rule, node, branch, ...) becomes
a definition whose properties, required keys, enumerations, defaults and descriptions come
from the table, so the loader and the schema cannot drift apart. The schemas are JSON Schema
draft-07 (what the YAML language server validates with) and ship with the guidelines
(`guidelines/schemas/*.schema.json`) for editors; `guidewalk schema` prints them and `--write`
regenerates the shipped files. The loader stays the judge: the schema helps editing, it does
not replace `guidewalk validate`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..format import ELEMENTS, NODE_KINDS, Key

__all__ = ["KINDS", "schema", "schema_text", "shipped_path"]

KINDS = ("guideline", "facts", "actions", "score", "overlay", "modules")
BASE_URL = "https://guidewalk.invalid/schema"
NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
SNAKE = r"^[a-z][a-z0-9_]*$"

_PRIMITIVES: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "name": {"type": "string", "pattern": NAME},
    "name?": {"type": ["string", "null"]},
    "text?": {"type": ["string", "null"]},
    "version": {"type": ["string", "number"]},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "expression": {"type": ["string", "number", "boolean"]},
    "words": {"type": "array", "items": {"type": "string"}},
    "values": {"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1},
    "source": {"$ref": "#/definitions/source"},
}


def _ref(element: str) -> dict[str, Any]:
    if element == "node":
        return {"$ref": "#/definitions/node"}
    return {"$ref": "#/definitions/" + _def_name(element)}


def _def_name(element: str) -> str:
    return element.replace(" ", "_")


def _property(k: Key) -> dict[str, Any]:
    kind, _, target = k.type.partition(":")
    if k.type == "choice":
        body: dict[str, Any] = {"enum": list(k.choices)}
    elif kind == "element":
        body = _ref(target)
    elif kind == "list":
        body = {"type": "array", "items": _ref(target)}
        if k.required:
            body["minItems"] = 1
    elif kind == "map":
        body = {"type": "object", "propertyNames": {"pattern": NAME}, "additionalProperties": _ref(target)}
    else:
        body = dict(_PRIMITIVES[k.type])
    if "$ref" in body:
        return body  # draft-07 ignores siblings of $ref
    if k.default is not None:
        body["default"] = k.default
    body["description"] = k.description
    return body


def _object(element: str, *, extra_required: tuple[str, ...] = ()) -> dict[str, Any]:
    ks = ELEMENTS[element]
    out: dict[str, Any] = {
        "type": "object",
        "properties": {k.name: _property(k) for k in ks},
        "additionalProperties": False,
    }
    required = [k.name for k in ks if k.required] + [r for r in extra_required if r not in (k.name for k in ks if k.required)]
    if required:
        out["required"] = required
    return out


def _source() -> dict[str, Any]:
    return {
        "description": "A URL, or a mapping with url, module, strength, evidence, tag.",
        "oneOf": [{"type": "string"}, _object("source")],
    }


def _rule() -> dict[str, Any]:
    body = _object("rule")
    body["oneOf"] = [{"required": ["derive"]}, {"required": ["alert"]}]
    return body


def _node() -> dict[str, Any]:
    branches = []
    for kind in NODE_KINDS:
        then = _object(f"{kind} node")
        then["properties"]["kind"] = {"const": kind}
        branches.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": then})
    kind_key = next(k for k in ELEMENTS["decision node"] if k.name == "kind")
    return {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": list(NODE_KINDS), "description": kind_key.description}},
        "allOf": branches,
    }


def _definitions() -> dict[str, Any]:
    defs: dict[str, Any] = {"source": _source(), "rule": _rule(), "node": _node()}
    for element in ("guideline metadata", "fact", "action", "case", "flowchart", "branch", "score header", "overlay header", "overlay node", "module"):
        defs[_def_name(element)] = _object(element)
    return defs


def _wrap(kind: str, title: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"{BASE_URL}/{kind}.schema.json",
        "title": title,
        **body,
        "definitions": _definitions(),
    }


def schema(kind: str = "guideline") -> dict[str, Any]:
    """The JSON Schema of one kind of guidewalk file: guideline, facts, actions, score, overlay or
    modules (guidelines/<id>/modules.yaml)."""
    if kind == "guideline":
        return _wrap(kind, "guidewalk guideline file", _object("guideline file"))
    if kind == "facts":
        return _wrap(kind, "guidewalk fact dictionary", {"type": "object", "propertyNames": {"pattern": SNAKE}, "additionalProperties": _ref("fact")})
    if kind == "actions":
        return _wrap(kind, "guidewalk action codes", {"type": "object", "propertyNames": {"pattern": SNAKE}, "additionalProperties": _ref("action")})
    if kind == "score":
        return _wrap(kind, "guidewalk score module", _object("score module"))
    if kind == "overlay":
        return _wrap(kind, "guidewalk local protocol overlay", _object("overlay"))
    if kind == "modules":
        return _wrap(kind, "guidewalk module coverage of a guideline", {"type": "array", "items": _ref("module"), "minItems": 1})
    raise ValueError(f"unknown schema kind '{kind}' (one of {', '.join(KINDS)})")


def schema_text(kind: str = "guideline") -> str:
    return json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n"


def shipped_path(kind: str = "guideline") -> Path:
    """Where the generated schema file ships (with the guidelines)."""
    from ..resources import schema_path

    return schema_path(kind)
