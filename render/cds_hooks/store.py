"""SQLite store of the cards issued and the EHR's feedback on them.

Each piece of feedback becomes the deviation record shared with the web stepper and the audit
(:class:`engine.decision.ClinicianDecision` and :func:`engine.decision.concordance`):

* ``accepted`` -> the card's action codes were decided: ``concordant``;
* ``overridden`` with an ``overrideReason`` -> no recommended action, with that reason (the
  reason's display, plus the user's comment): ``deviation_with_reason``;
* ``overridden`` without one -> ``deviation_without_reason``.

Feedback on a card without action codes (an alert, the "record these data" card, a data
warning) is stored with its outcome and no concordance: it acknowledges information, it is not
a treatment decision. Feedback on an unknown card is stored too, marked so.

No patient identifier is stored: a card row keeps the service, guideline id/version/sha256, the
hook instance, the user (``context.userId``), the node and its action codes. The database runs
in WAL mode and every write is committed before the HTTP reply.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guidewalk.engine.decision import ClinicianDecision, concordance

__all__ = ["FeedbackStore", "default_db_path", "FeedbackError"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
  uuid TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  guideline TEXT NOT NULL,
  guideline_version TEXT NOT NULL,
  guideline_sha256 TEXT NOT NULL,
  hook_instance TEXT,
  user_id TEXT,
  kind TEXT NOT NULL,
  node TEXT,
  actions TEXT NOT NULL,
  recommended TEXT NOT NULL,
  suggestion TEXT,
  status TEXT NOT NULL,
  issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  service TEXT NOT NULL,
  card TEXT NOT NULL,
  known_card INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  override_system TEXT,
  override_code TEXT,
  override_display TEXT,
  user_comment TEXT,
  accepted_suggestions TEXT,
  outcome_timestamp TEXT NOT NULL,
  received_at TEXT NOT NULL,
  guideline TEXT,
  guideline_version TEXT,
  guideline_sha256 TEXT,
  decision TEXT,
  concordance TEXT
);
CREATE INDEX IF NOT EXISTS feedback_card ON feedback(card);
"""


class FeedbackError(ValueError):
    """A feedback request that does not follow CDS Hooks 2.0."""


def default_db_path() -> Path:
    """<user data dir>/guidewalk/cds-hooks.sqlite3 (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("guidewalk", appauthor=False)) / "cds-hooks.sqlite3"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class FeedbackStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def record_cards(self, service: str, g: Any, result: Any, cards: Iterable[Any], *, hook_instance: str | None, user_id: str | None) -> None:
        """Remember the cards of one hook call (committed before returning)."""
        rows = [
            (
                c.uuid,
                service,
                g.id,
                g.version,
                g.sha256,
                hook_instance,
                user_id,
                c.kind,
                c.node,
                json.dumps(list(c.actions)),
                json.dumps(list(result.actions)),
                c.suggestion,
                result.status,
                _now(),
            )
            for c in cards
        ]
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT OR REPLACE INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def card(self, uuid: str) -> dict[str, Any] | None:
        with self.lock:
            cur = self.db.execute("SELECT * FROM cards WHERE uuid = ?", (uuid,))
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        return dict(zip(names, row)) if row else None

    def add_feedback(self, service: str, body: Any, override_displays: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Check and store a feedback request ({"feedback": [...]}); returns the stored records.
        Raises FeedbackError (nothing stored) when the request does not follow the spec."""
        items = body.get("feedback") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise FeedbackError('a feedback request is {"feedback": [ ... ]} with at least one item')
        checked = []
        for i, f in enumerate(items):
            p = f"feedback[{i}]"
            if not isinstance(f, dict):
                raise FeedbackError(f"{p}: not an object")
            card, outcome, ts = f.get("card"), f.get("outcome"), f.get("outcomeTimestamp")
            if not isinstance(card, str) or not card:
                raise FeedbackError(f"{p}.card: the card's uuid is required")
            if outcome not in ("accepted", "overridden"):
                raise FeedbackError(f"{p}.outcome: must be accepted or overridden")
            if not isinstance(ts, str) or _parse_ts(ts) is None:
                raise FeedbackError(f"{p}.outcomeTimestamp: required, an ISO 8601 UTC time (e.g. 2021-12-11T10:05:31Z)")
            acc = f.get("acceptedSuggestions")
            if acc is not None and (not isinstance(acc, list) or not all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in acc)):
                raise FeedbackError(f"{p}.acceptedSuggestions: a list of {{id: suggestion uuid}}")
            orr = f.get("overrideReason")
            if orr is not None:
                if not isinstance(orr, dict):
                    raise FeedbackError(f"{p}.overrideReason: an object with reason (a Coding) and/or userComment")
                r = orr.get("reason")
                if r is not None and not (isinstance(r, dict) and isinstance(r.get("code"), str)):
                    raise FeedbackError(f"{p}.overrideReason.reason: a Coding with a code")
                if orr.get("userComment") is not None and not isinstance(orr.get("userComment"), str):
                    raise FeedbackError(f"{p}.overrideReason.userComment: text")
            checked.append(f)
        stored = []
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for f in checked:
                    stored.append(self._store_one(service, f, override_displays or {}))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return stored

    def _store_one(self, service: str, f: dict[str, Any], displays: dict[str, str]) -> dict[str, Any]:
        cur = self.db.execute("SELECT * FROM cards WHERE uuid = ?", (f["card"],))
        row = cur.fetchone()
        card = dict(zip([d[0] for d in cur.description], row)) if row else None
        orr = f.get("overrideReason") or {}
        reason = orr.get("reason") or {}
        comment = orr.get("userComment")
        display = reason.get("display") or displays.get(str(reason.get("code"))) or reason.get("code")
        ts = _parse_ts(f["outcomeTimestamp"])
        decision: ClinicianDecision | None = None
        conc: str | None = None
        if card is not None and json.loads(card["actions"]):
            actions = tuple(json.loads(card["actions"])) if f["outcome"] == "accepted" else ()
            why = "; ".join(x for x in (display, comment) if x) or None
            decision = ClinicianDecision(actions, why if f["outcome"] == "overridden" else None, card.get("user_id"), ts.date().isoformat() if ts else None)
            conc = concordance(json.loads(card["recommended"]), decision)
        rec = {
            "service": service,
            "card": f["card"],
            "known_card": card is not None,
            "outcome": f["outcome"],
            "override_system": reason.get("system"),
            "override_code": reason.get("code"),
            "override_display": display,
            "user_comment": comment,
            "accepted_suggestions": json.dumps([a["id"] for a in f.get("acceptedSuggestions") or []]),
            "outcome_timestamp": f["outcomeTimestamp"],
            "received_at": _now(),
            "guideline": card["guideline"] if card else None,
            "guideline_version": card["guideline_version"] if card else None,
            "guideline_sha256": card["guideline_sha256"] if card else None,
            "decision": json.dumps(decision.to_json()) if decision else None,
            "concordance": conc,
        }
        self.db.execute(
            "INSERT INTO feedback (service, card, known_card, outcome, override_system, override_code, override_display, user_comment, "
            "accepted_suggestions, outcome_timestamp, received_at, guideline, guideline_version, guideline_sha256, decision, concordance) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rec["service"],
                rec["card"],
                int(rec["known_card"]),
                rec["outcome"],
                rec["override_system"],
                rec["override_code"],
                rec["override_display"],
                rec["user_comment"],
                rec["accepted_suggestions"],
                rec["outcome_timestamp"],
                rec["received_at"],
                rec["guideline"],
                rec["guideline_version"],
                rec["guideline_sha256"],
                rec["decision"],
                rec["concordance"],
            ),
        )
        return rec

    def feedback(self) -> list[dict[str, Any]]:
        with self.lock:
            cur = self.db.execute("SELECT * FROM feedback ORDER BY id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]


def _parse_ts(text: str) -> _dt.datetime | None:
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        return _dt.datetime.fromisoformat(t)
    except ValueError:
        return None
