"""UNKNOWN: the value of a fact nobody knows, distinct from None, False and 0; every
connective treats it by Kleene's three-valued logic (:mod:`engine.expressions`)."""

from __future__ import annotations

from typing import Any

__all__ = ["UNKNOWN"]


class _Unknown:
    """The value of a fact nobody knows. Distinct from None, False and 0."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use Kleene connectives")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
