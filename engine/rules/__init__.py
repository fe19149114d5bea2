"""The rules layer: derived facts and alerts by forward chaining.

Two backends satisfy one protocol (:mod:`.base`): the built-in evaluator (:mod:`.builtin`,
always available) and the durable_rules Rete engine (:mod:`.durable`, where it can load;
imported only when :func:`backend` is asked for it). Both must derive identical facts and
alerts; a test checks that on thousands of generated cases. Exceptions inside a rule surface
as :class:`~engine.errors.RuleError` with the rule id and its inputs.
"""

from __future__ import annotations

import os
import sys

from ..errors import UsageError
from .base import AlertHit, Derivation, RulesBackend, RulesOutcome, deciding_facts, derive_value, inputs_of, normalise
from .builtin import BuiltinRules

__all__ = [
    "Derivation",
    "AlertHit",
    "RulesOutcome",
    "RulesBackend",
    "BuiltinRules",
    "backend",
    "durable_available",
    "normalise",
    "derive_value",
    "inputs_of",
    "deciding_facts",
]

_BACKENDS: dict[str, RulesBackend] = {}
_BY_SETTING: dict[object, RulesBackend] = {}  # $GUIDEWALK_RULES as set -> its backend
try:  # read $GUIDEWALK_RULES without decoding it on every case (os.environ's own table)
    _ENVIRON: dict[object, object] | None = os.environ._data  # type: ignore[attr-defined]
    _KEY: object = os.environ.encodekey("GUIDEWALK_RULES")
except AttributeError:  # pragma: no cover - another platform's os.environ
    _ENVIRON, _KEY = None, "GUIDEWALK_RULES"


def backend(name: str | None = None) -> RulesBackend:
    """The rules backend: 'durable_rules' where it loads, else 'builtin'.
    $GUIDEWALK_RULES (or `name`) may ask for one: auto | builtin | durable_rules.

    Raises :class:`~engine.errors.UsageError` for an unknown name, and when durable_rules
    is asked for by name but cannot load here (``auto`` falls back to builtin silently)."""
    if name is None:  # read at every call (a caller may change the variable), cheaply
        setting = _ENVIRON.get(_KEY) if _ENVIRON is not None else os.environ.get("GUIDEWALK_RULES")
        hit = _BY_SETTING.get(setting)
        if hit is None:
            hit = _BY_SETTING[setting] = _backend(None)
        return hit
    return _backend(name)


def _backend(name: str | None) -> RulesBackend:
    want = name or os.environ.get("GUIDEWALK_RULES", "auto")
    if want not in ("auto", "builtin", "durable_rules"):
        raise UsageError(f"unknown rules backend '{want}' (auto, builtin, durable_rules)")
    if want in ("auto", "durable_rules"):
        if "durable_rules" not in _BACKENDS:
            try:
                from .durable import DurableRules

                _BACKENDS["durable_rules"] = DurableRules()
            except ImportError as exc:
                if want == "durable_rules":
                    why = exc.__cause__ or exc
                    raise UsageError(
                        f"durable_rules cannot load on Python {sys.version.split()[0]}: {type(why).__name__}: {why}; "
                        "the built-in backend runs everywhere: use --rules builtin (or GUIDEWALK_RULES=builtin)"
                    ) from exc
        if "durable_rules" in _BACKENDS:
            return _BACKENDS["durable_rules"]
    if "builtin" not in _BACKENDS:
        _BACKENDS["builtin"] = BuiltinRules()
    return _BACKENDS["builtin"]


def durable_available() -> tuple[bool, str]:
    """Whether durable_rules can load here, and why not."""
    try:
        import durable.lang  # noqa: F401
    except Exception as exc:  # ImportError, or the C extension's undefined symbol
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""
