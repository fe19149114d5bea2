"""The web stepper's cases on disk: one SQLite file with the cases, their owners and every event.

Standard library ``sqlite3`` in WAL mode with a busy timeout; one connection per thread for
reading, writes serialised by one lock and committed (``synchronous=FULL``) before the call
returns, so an answer the page confirmed survives a crash or a restart. The schema is
versioned (``PRAGMA user_version``); a file of a newer version is refused rather than misread.

Tables:

* ``owners`` — one per browser: the SHA-256 of its cookie (never the cookie itself) and the
  name the clinician gave (recorded with every answer);
* ``cases`` — one per case: owner, CSRF token, guideline (reference, id, version, sha256),
  flowchart, the answers so far as JSON (a snapshot, in answer order), the team's decision,
  the status, timestamps, and the number of its last event;
* ``events`` — the full history of a case, in order: ``start``, ``answer`` (a fact, its
  question, the value; null = unknown), ``upload`` (a fact read from a saved case), ``back``,
  ``decision``; each with the time (UTC) and who.

A case is rebuilt by replaying its events on a fresh :class:`~guidewalk.engine.session.Session`
(:mod:`.state`), which also restores its undo history.
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CaseStore", "CaseRow", "Event", "SCHEMA_VERSION", "StoreError", "default_db_path", "now"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners (
  id TEXT PRIMARY KEY,
  name TEXT,
  created TEXT NOT NULL,
  seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL REFERENCES owners(id),
  token TEXT NOT NULL,
  guideline_ref TEXT NOT NULL,
  guideline_id TEXT NOT NULL,
  guideline_version TEXT NOT NULL,
  guideline_sha256 TEXT NOT NULL,
  flowchart TEXT NOT NULL,
  facts TEXT NOT NULL DEFAULT '{}',
  decision TEXT,
  status TEXT NOT NULL DEFAULT '',
  answers INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_owner ON cases(owner, updated);
CREATE TABLE IF NOT EXISTS events (
  case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  fact TEXT,
  question TEXT,
  value TEXT,
  by TEXT,
  PRIMARY KEY (case_id, seq)
);
"""


class StoreError(RuntimeError):
    """The database cannot be used (a newer schema, a file that is not a guidewalk store)."""


def now() -> str:
    """UTC time, to the second (ISO 8601)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def default_db_path() -> Path:
    """<the user's data directory>/guidewalk/web-cases.sqlite3: platformdirs' choice when it is
    installed (the `fhir` extra), else the same folder worked out here (the web stepper needs
    nothing beyond the standard library)."""
    try:
        from platformdirs import user_data_dir
    except ImportError:
        return _data_dir() / "guidewalk" / "web-cases.sqlite3"
    return Path(user_data_dir("guidewalk", appauthor=False)) / "web-cases.sqlite3"


def _data_dir() -> Path:
    import os
    import sys

    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    kind: str  # start | answer | upload | back | decision
    fact: str | None
    question: str | None
    value: Any  # JSON value (answers: the fact's value, None = unknown; decision: its mapping)
    by: str | None


@dataclass(frozen=True)
class CaseRow:
    id: str
    owner: str
    token: str
    guideline_ref: str
    guideline_id: str
    guideline_version: str
    guideline_sha256: str
    flowchart: str
    facts: dict[str, Any]
    decision: dict[str, Any] | None
    status: str
    answers: int
    seq: int
    created: str
    updated: str


class CaseStore:
    """The SQLite file of the web stepper (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self.write_lock = threading.Lock()
        db = self._db()
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: made by a newer guidewalk (schema {version}; this one reads {SCHEMA_VERSION})")
        with self.write_lock:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
        self.secret = bytes.fromhex(db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0])

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._all_lock:
            for db in self._all:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed before the block's caller goes on."""
        db = self._db()
        with self.write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    # ---- owners

    def owner_name(self, owner: str) -> str | None:
        row = self._db().execute("SELECT name FROM owners WHERE id = ?", (owner,)).fetchone()
        return None if row is None else row[0]

    def set_owner_name(self, owner: str, name: str) -> None:
        t = now()
        with self.write() as db:
            db.execute(
                "INSERT INTO owners (id, name, created, seen) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, seen = excluded.seen",
                (owner, name, t, t),
            )

    # ---- cases

    def count(self, owner: str | None = None) -> int:
        if owner is None:
            return int(self._db().execute("SELECT count(*) FROM cases").fetchone()[0])
        return int(self._db().execute("SELECT count(*) FROM cases WHERE owner = ?", (owner,)).fetchone()[0])

    def create(self, cid: str, owner: str, token: str, g: Any, ref: str, flowchart: str, by: str | None) -> None:
        """A new case with its `start` event (committed)."""
        t = now()
        with self.write() as db:
            db.execute("INSERT OR IGNORE INTO owners (id, name, created, seen) VALUES (?, ?, ?, ?)", (owner, by, t, t))
            db.execute(
                "INSERT INTO cases (id, owner, token, guideline_ref, guideline_id, guideline_version, guideline_sha256, flowchart, seq, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (cid, owner, token, ref, g.id, g.version, g.sha256, flowchart, t, t),
            )
            db.execute("INSERT INTO events VALUES (?, 1, ?, 'start', NULL, NULL, ?, ?)", (cid, t, json.dumps({"guideline": g.id, "version": g.version}), by))

    def add_events(self, cid: str, seq: int, events: list[tuple[str, str | None, str | None, Any]], by: str | None, snapshot: dict[str, Any]) -> list[Event]:
        """Append events (kind, fact, question, value) after event `seq` and update the case's
        snapshot (facts, decision, status, answers); committed before returning. Raises
        StoreError when another writer got there first (the case changed under the caller)."""
        t = now()
        out: list[Event] = []
        with self.write() as db:
            row = db.execute("SELECT seq FROM cases WHERE id = ?", (cid,)).fetchone()
            if row is None or int(row[0]) != seq:
                raise StoreError(f"case {cid} changed meanwhile")
            for i, (kind, fact, question, value) in enumerate(events, start=seq + 1):
                db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (cid, i, t, kind, fact, question, json.dumps(value, ensure_ascii=False), by))
                out.append(Event(i, t, kind, fact, question, value, by))
            db.execute(
                "UPDATE cases SET facts = ?, decision = ?, status = ?, answers = ?, seq = ?, updated = ? WHERE id = ?",
                (
                    json.dumps(snapshot["facts"], ensure_ascii=False),
                    None if snapshot.get("decision") is None else json.dumps(snapshot["decision"], ensure_ascii=False),
                    snapshot.get("status", ""),
                    len(snapshot["facts"]),
                    seq + len(events),
                    t,
                    cid,
                ),
            )
        return out

    def delete(self, cid: str) -> None:
        with self.write() as db:
            db.execute("DELETE FROM events WHERE case_id = ?", (cid,))
            db.execute("DELETE FROM cases WHERE id = ?", (cid,))

    def purge_empty(self, older_than: str) -> int:
        """Remove cases nobody answered anything in, untouched since `older_than` (they hold
        nothing); the number removed."""
        with self.write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM cases WHERE answers = 0 AND decision IS NULL AND updated < ?", (older_than,))]
            for cid in ids:
                db.execute("DELETE FROM events WHERE case_id = ?", (cid,))
                db.execute("DELETE FROM cases WHERE id = ?", (cid,))
        return len(ids)

    def seq(self, cid: str) -> int | None:
        row = self._db().execute("SELECT seq FROM cases WHERE id = ?", (cid,)).fetchone()
        return None if row is None else int(row[0])

    def case(self, cid: str) -> CaseRow | None:
        row = self._db().execute(f"SELECT {_COLUMNS} FROM cases WHERE id = ?", (cid,)).fetchone()
        return None if row is None else _row(row)

    def cases_of(self, owner: str, limit: int = 200) -> list[CaseRow]:
        rows = self._db().execute(f"SELECT {_COLUMNS} FROM cases WHERE owner = ? ORDER BY updated DESC, id LIMIT ?", (owner, limit)).fetchall()
        return [_row(r) for r in rows]

    def events(self, cid: str) -> list[Event]:
        rows = self._db().execute("SELECT seq, at, kind, fact, question, value, by FROM events WHERE case_id = ? ORDER BY seq", (cid,)).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] is not None else None, r[6]) for r in rows]


_COLUMNS = (
    "id, owner, token, guideline_ref, guideline_id, guideline_version, guideline_sha256, flowchart, facts, decision, status, answers, seq, created, updated"
)


def _row(r: Any) -> CaseRow:
    return CaseRow(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        json.loads(r[8]),
        json.loads(r[9]) if r[9] is not None else None,
        r[10],
        int(r[11]),
        int(r[12]),
        r[13],
        r[14],
    )
