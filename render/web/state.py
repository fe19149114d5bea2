"""The web stepper's state: the guidelines on offer, the owners, and the cases (kept in the
SQLite store of :mod:`.store`, with the live sessions cached in memory).

Every change to a case is one or more events written and committed before the page returns;
the in-memory :class:`~guidewalk.engine.session.Session` is only a cache, rebuilt from the
events when missing or stale (another process wrote, or the server restarted). Each case has a
lock (striped: a fixed set of locks) that a request holds while it reads or changes the case.

Ownership and quotas: a case belongs to the browser that started it (its owner cookie, see
:mod:`.security`); another browser gets "no such case". An owner may hold at most
``max_cases_per_owner`` cases and the server at most ``max_cases``; past either, a new case is
refused with a page that says why. No case is ever evicted to make room; only cases in which
nothing was answered or decided, untouched for a day, are removed (they hold nothing).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets
import shutil
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guidewalk.engine.decision import ClinicianDecision

from .store import CaseRow, CaseStore, Event, StoreError

__all__ = ["WebApp", "WebCase", "QuotaError", "MAX_CASES", "MAX_CASES_PER_OWNER", "EMPTY_CASE_HOURS"]

MAX_CASES = 20_000
MAX_CASES_PER_OWNER = 200
EMPTY_CASE_HOURS = 24
CACHE_SIZE = 256  # live sessions kept in memory (the store holds them all)
_STRIPES = 64


class QuotaError(Exception):
    """A new case is refused: the owner's or the server's limit is reached."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class WebCase:
    """One case: its row's identity, the session rebuilt from its events, the team's decision."""

    id: str
    owner: str
    token: str  # the per-case CSRF token
    guideline_ref: str
    session: Any  # guidewalk.engine.session.Session
    seq: int
    created: str
    started_version: str
    started_sha256: str
    decision: ClinicianDecision | None = None
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        return {
            "facts": self.session.facts,
            "decision": None if self.decision is None else dict(self.decision.to_json()),
            "status": self.session.result().status,
        }


class WebApp:
    """Guidelines on offer, owners and cases (see the module docstring)."""

    def __init__(
        self,
        guidelines: list[str] | None = None,
        db: str | Path | None = None,
        *,
        max_cases: int = MAX_CASES,
        max_cases_per_owner: int = MAX_CASES_PER_OWNER,
    ):
        from guidewalk.engine.load import default_root, guideline_ids

        self.refs: list[str] = list(guidelines) if guidelines else guideline_ids(default_root())
        self._loaded: dict[str, Any] = {}
        self._glock = threading.Lock()
        self._tmpdir: str | None = None
        if db is None:  # a throw-away store (tests, the Python API); `guidewalk serve` always names one
            self._tmpdir = tempfile.mkdtemp(prefix="guidewalk-web-")
            db = Path(self._tmpdir) / "cases.sqlite3"
        self.db_path = str(db)
        self.store = CaseStore(db)
        self.max_cases = max_cases
        self.max_cases_per_owner = max_cases_per_owner
        self._cache: OrderedDict[str, WebCase] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._new_lock = threading.Lock()

    def close(self) -> None:
        self.store.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    # ---- guidelines

    def guideline(self, ref: str) -> Any:
        from guidewalk.engine.load import load_guideline

        with self._glock:
            if ref not in self._loaded:
                self._loaded[ref] = load_guideline(ref)
            return self._loaded[ref]

    def warm_up(self) -> None:
        """Load every guideline and run one empty case, before threads race for first use."""
        from guidewalk.engine.errors import GuidewalkError
        from guidewalk.engine.walk import run

        for ref in self.refs:
            try:
                run(self.guideline(ref), {})
            except (GuidewalkError, ValueError) as exc:
                sys.stderr.write(f"guidewalk serve: {ref} is not available: {exc}\n")

    # ---- owners

    def owner_id(self, cookie: str) -> str:
        """The owner a cookie stands for (its SHA-256: the store never sees the cookie)."""
        return hashlib.sha256(cookie.encode("utf-8")).hexdigest()

    def new_token(self, owner: str) -> str:
        """The CSRF token of an owner's start page forms (stable across restarts)."""
        return hmac.new(self.store.secret, f"new:{owner}".encode(), hashlib.sha256).hexdigest()

    def check_new_token(self, owner: str, token: str) -> bool:
        return hmac.compare_digest(self.new_token(owner), token)

    def owner_name(self, owner: str) -> str | None:
        return self.store.owner_name(owner)

    def set_owner_name(self, owner: str, name: str) -> None:
        self.store.set_owner_name(owner, name)

    def cases_of(self, owner: str) -> list[CaseRow]:
        return self.store.cases_of(owner)

    # ---- cases

    def lock(self, cid: str) -> threading.Lock:
        return self._stripes[int(hashlib.sha256(cid.encode()).hexdigest()[:8], 16) % _STRIPES]

    def _room(self, owner: str) -> None:
        """Refuse a new case past a limit (never evict another one)."""
        for attempt in range(2):
            mine, total = self.store.count(owner), self.store.count()
            if mine < self.max_cases_per_owner and total < self.max_cases:
                return
            if attempt == 0:
                cutoff = (_dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=EMPTY_CASE_HOURS)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
                if self.store.purge_empty(cutoff) == 0:
                    break
        if self.store.count(owner) >= self.max_cases_per_owner:
            raise QuotaError(
                429,
                f"You have {self.max_cases_per_owner} cases, the most one browser may keep. Download the finished ones (case YAML or report), "
                "then remove them from your list below to start new ones. No case was removed.",
            )
        raise QuotaError(
            503,
            f"The server holds its maximum of {self.max_cases:,} cases; no case of anyone is removed to make room. "
            "Ask whoever runs it to remove old cases or raise --max-cases.",
        )

    def new_case(self, owner: str, ref: str, flowchart: str | None, by: str | None) -> WebCase:
        from guidewalk.engine.session import Session

        g = self.guideline(ref)
        session = Session(g, flowchart=flowchart or None)
        cid, token = secrets.token_urlsafe(18), secrets.token_urlsafe(24)
        with self._new_lock:
            self._room(owner)
            self.store.create(cid, owner, token, g, ref, session.flowchart, by)
        case = WebCase(cid, owner, token, ref, session, 1, "", g.version, g.sha256, events=self.store.events(cid))
        self._remember(case)
        return case

    def resume_case(self, owner: str, ref: str, flowchart: str | None, facts: Mapping[str, Any], decision: ClinicianDecision | None, by: str | None) -> WebCase:
        """A new case from a saved one: its facts, in order, as answers read from the file
        (so Back takes them back one by one), and its decision. Bad facts raise AnswerError
        and nothing is stored."""
        from guidewalk.engine.session import Session

        g = self.guideline(ref)
        trial = Session(g, flowchart=flowchart or None)
        for k, v in facts.items():
            trial.answer(str(k), v)
        case = self.new_case(owner, ref, trial.flowchart, by)
        with self.lock(case.id):
            evs: list[tuple[str, str | None, str | None, Any]] = []
            for k, v in facts.items():
                case.session.answer(str(k), v)
                evs.append(("upload", str(k), _question(g, str(k)), case.session.facts[str(k)]))
            case.decision = decision
            if decision is not None:
                evs.append(("decision", None, None, dict(decision.to_json())))
            self._write(case, evs, by)
        return case

    def case(self, cid: str, owner: str) -> WebCase | None:
        """The owner's case (hold :meth:`lock` while using it); None when there is no such case
        or it belongs to another owner."""
        seq = self.store.seq(cid)
        if seq is None:
            self._forget(cid)
            return None
        with self._cache_lock:
            case = self._cache.get(cid)
            if case is not None:
                self._cache.move_to_end(cid)
        if case is None or case.seq != seq:
            row = self.store.case(cid)
            if row is None:
                return None
            case = self._rebuild(row)
            self._remember(case)
        return case if hmac.compare_digest(case.owner, owner) else None

    def _rebuild(self, row: CaseRow) -> WebCase:
        from guidewalk.engine.errors import GuidewalkError
        from guidewalk.engine.session import Session

        g = self.guideline(row.guideline_ref)
        s = Session(g, flowchart=row.flowchart)
        events = self.store.events(row.id)
        case = WebCase(row.id, row.owner, row.token, row.guideline_ref, s, row.seq, row.created, row.guideline_version, row.guideline_sha256, events=events)
        for ev in events:
            try:
                if ev.kind in ("answer", "upload") and ev.fact:
                    s.answer(ev.fact, ev.value)
                elif ev.kind == "back":
                    s.undo()
                elif ev.kind == "decision":
                    case.decision = ClinicianDecision.from_json(ev.value, g.actions) if ev.value is not None else None
            except (GuidewalkError, ValueError) as exc:
                case.warnings.append(f"step {ev.seq} ({ev.kind} {ev.fact or ''}) does not fit the current guideline and was left out: {exc}")
        if g.sha256 != row.guideline_sha256:
            case.warnings.append(
                f"The guideline changed since this case was started (version {row.guideline_version} then, {g.version} now); "
                "the answers were replayed on the current version."
            )
        return case

    def _remember(self, case: WebCase) -> None:
        with self._cache_lock:
            self._cache[case.id] = case
            self._cache.move_to_end(case.id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)  # only the in-memory copy: the store keeps the case

    def _forget(self, cid: str) -> None:
        with self._cache_lock:
            self._cache.pop(cid, None)

    def _write(self, case: WebCase, events: list[tuple[str, str | None, str | None, Any]], by: str | None) -> None:
        try:
            written = self.store.add_events(case.id, case.seq, events, by, case.snapshot())
        except StoreError:
            self._forget(case.id)  # the cached session is stale: rebuilt on the next request
            raise
        case.events += written
        case.seq += len(written)

    def answer(self, case: WebCase, fact: str, value: Any, by: str | None) -> None:
        """Record one answer (AnswerError, with nothing changed, when it is refused)."""
        case.session.answer(fact, value)
        try:
            self._write(case, [("answer", fact, _question(case.session.guideline, fact), case.session.facts[fact])], by)
        except BaseException:
            case.session.undo()
            raise

    def back(self, case: WebCase, by: str | None) -> bool:
        if not case.session.undo():
            return False
        self._write(case, [("back", None, None, None)], by)
        return True

    def decide(self, case: WebCase, decision: ClinicianDecision, by: str | None) -> None:
        before = case.decision
        case.decision = decision
        try:
            self._write(case, [("decision", None, None, dict(decision.to_json()))], by)
        except BaseException:
            case.decision = before
            raise

    def delete(self, case: WebCase) -> None:
        self.store.delete(case.id)
        self._forget(case.id)


def _question(g: Any, fact: str) -> str | None:
    spec = g.dictionary.get(fact)
    return spec.question if spec is not None else None
