"""One-sentence summaries (< 140 characters) of recommendations and alerts, for CDS Hooks cards
and RequestGroup action titles.

An action node or alert rule may carry its own ``summary`` (a planned optional key of the
guideline format); until it does, the text is shortened at a word boundary and ends in "…".
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["summary_of", "shorten", "LIMIT"]

LIMIT = 140  # CDS Hooks: summary is "<140-character"


def shorten(text: str, limit: int = LIMIT) -> str:
    """`text` on one line, cut at a word boundary to fewer than `limit` characters ("…" added)."""
    t = re.sub(r"\s+", " ", text or "").strip()
    if len(t) < limit:
        return t
    cut = t[: limit - 2]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—(") + "…"


def summary_of(obj: Any, text: str | None = None) -> str:
    """The summary of an action node or alert rule: its own ``summary`` when it has one (and it
    is short enough), else its text shortened."""
    own = getattr(obj, "summary", None)
    if isinstance(own, str) and own.strip() and len(own.strip()) < LIMIT:
        return own.strip()
    return shorten(text if text is not None else str(getattr(obj, "text", "") or ""))
