"""The web stepper's state: the guidelines on offer and the cases in progress, each with its lock."""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WebApp", "WebCase", "MAX_CASES", "CASE_TTL_SECONDS"]

MAX_CASES = 1000
CASE_TTL_SECONDS = 12 * 3600


@dataclass
class WebCase:
    id: str
    token: str
    guideline_ref: str
    session: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    touched: float = field(default_factory=time.monotonic)
    questions: int = 0


class WebApp:
    """Guidelines on offer and the cases in progress."""

    def __init__(self, guidelines: list[str] | None = None):
        from guidewalk.engine.load import default_root, guideline_ids

        self.refs: list[str] = list(guidelines) if guidelines else guideline_ids(default_root())
        self._loaded: dict[str, Any] = {}
        self._load_errors: dict[str, str] = {}
        self._glock = threading.Lock()
        self.cases: OrderedDict[str, WebCase] = OrderedDict()
        self._clock = threading.Lock()
        self.new_token = secrets.token_urlsafe(24)  # CSRF token of the start form

    # ---- guidelines

    def guideline(self, ref: str) -> Any:
        from guidewalk.engine.errors import GuidewalkError
        from guidewalk.engine.load import load_guideline

        with self._glock:
            if ref in self._loaded:
                return self._loaded[ref]
            try:
                g = load_guideline(ref)
            except GuidewalkError as exc:
                self._load_errors[ref] = str(exc)
                raise
            self._loaded[ref] = g
            return g

    def warm_up(self) -> None:
        """Load every guideline and run one empty case, before threads race for first use."""
        from guidewalk.engine.errors import GuidewalkError
        from guidewalk.engine.walk import run

        for ref in self.refs:
            try:
                g = self.guideline(ref)
                run(g, {})
            except (GuidewalkError, ValueError) as exc:
                sys.stderr.write(f"guidewalk serve: {ref} is not available: {exc}\n")

    # ---- cases

    def new_case(self, ref: str, flowchart: str | None) -> WebCase:
        from guidewalk.engine.session import Session

        g = self.guideline(ref)
        session = Session(g, flowchart=flowchart or None)
        case = WebCase(id=secrets.token_urlsafe(18), token=secrets.token_urlsafe(24), guideline_ref=ref, session=session)
        with self._clock:
            self._expire()
            self.cases[case.id] = case
            while len(self.cases) > MAX_CASES:
                self.cases.popitem(last=False)
        return case

    def case(self, cid: str) -> WebCase | None:
        with self._clock:
            c = self.cases.get(cid)
            if c is not None:
                c.touched = time.monotonic()
                self.cases.move_to_end(cid)
            return c

    def _expire(self) -> None:
        now = time.monotonic()
        for cid in [k for k, c in self.cases.items() if now - c.touched > CASE_TTL_SECONDS]:
            del self.cases[cid]
