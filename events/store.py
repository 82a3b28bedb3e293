"""The event store: every event received (landed or quarantined, with the reason) and every real-time
decision, in an append-only SQLite file ($SMB_DATA_DIR/events/events.sqlite; ``SMB_EVENT_STORE`` moves it).

Why SQLite and not the warehouse: the published warehouse is replaced wholesale by every run and is never
written outside a run; the consumer and the API write and read here concurrently from several processes
(WAL journal: readers never block the writer). Append-only is enforced by triggers, as in the review
decision store. The batch pipeline stays the source of truth: a decision here is the provisional, real-time
view of an event, superseded by the next run's scores in the warehouse.

Tables:
  events(seq, event_id UNIQUE, stream_id, type, type_version, source, record_key, published_by, published_at,
         received_at, status 'landed'|'quarantined', reason, batch_file, batch_line, payload)
  decisions(seq, event_id UNIQUE, decision 'bank_txn_anomaly'|'ticket_triage', subject_id, score, label,
            detail (JSON), model_name, model_version, decided_at, latency_ms)
All timestamps are naive UTC ISO 8601 text; latency_ms is decided_at - published_at in milliseconds.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smb_warehouse.core import paths

_SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    stream_id TEXT,
    type TEXT NOT NULL,
    type_version INTEGER,
    source TEXT,
    record_key TEXT,
    published_by TEXT,
    published_at TEXT,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('landed', 'quarantined')),
    reason TEXT,
    batch_file TEXT,
    batch_line INTEGER,
    payload TEXT NOT NULL,
    CHECK (status = 'landed' OR reason IS NOT NULL),
    CHECK (status = 'quarantined' OR batch_file IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS events_by_key ON events (type, record_key);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE REFERENCES events (event_id),
    decision TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    score REAL,
    label TEXT,
    detail TEXT,
    model_name TEXT,
    model_version TEXT,
    decided_at TEXT NOT NULL,
    latency_ms REAL
);
CREATE INDEX IF NOT EXISTS decisions_by_subject ON decisions (decision, subject_id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
"""
EVENT_COLUMNS = ["event_id", "stream_id", "type", "type_version", "source", "record_key", "published_by", "published_at",
                 "received_at", "status", "reason", "batch_file", "batch_line", "payload"]
DECISION_COLUMNS = ["event_id", "decision", "subject_id", "score", "label", "detail", "model_name", "model_version",
                    "decided_at", "latency_ms"]


def _maybe_json(text: str | None) -> Any:
    """A stored payload: parsed JSON, or the raw text of an event that was not JSON (quarantined as such)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat(timespec="microseconds") if ts is not None else None


def store_path() -> Path:
    override = os.environ.get("SMB_EVENT_STORE")
    return Path(override).expanduser() if override else paths.data_dir() / "events" / "events.sqlite"


@dataclass
class EventRow:
    event_id: str
    stream_id: str | None
    type: str
    type_version: int | None
    source: str | None
    record_key: str | None
    published_by: str | None
    published_at: str | None
    received_at: str
    status: str
    reason: str | None
    batch_file: str | None
    batch_line: int | None
    payload: str


@dataclass
class DecisionRow:
    event_id: str
    decision: str
    subject_id: str
    score: float | None
    label: str | None
    detail: dict[str, Any]
    model_name: str | None
    model_version: str | None
    decided_at: str
    latency_ms: float | None


class EventStore:
    """The store at ``path`` (default ``store_path()``); one short connection per call (safe across threads
    and processes)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(str(self.path), timeout=30)
        con.execute("PRAGMA busy_timeout = 30000")
        return con

    def known(self, event_ids: Iterable[str]) -> set[str]:
        """Which of ``event_ids`` are already recorded (re-delivered or re-sent events are recorded once)."""
        ids = list(dict.fromkeys(event_ids))
        found: set[str] = set()
        with closing(self._connect()) as con:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                found |= {r[0] for r in con.execute(
                    f"SELECT event_id FROM events WHERE event_id IN ({','.join('?' * len(chunk))})", chunk)}
        return found

    def record(self, events: Sequence[EventRow], decisions: Sequence[DecisionRow] = ()) -> None:
        """Append events and their decisions in one transaction (an event id already stored is skipped)."""
        with closing(self._connect()) as con, con:
            con.executemany(
                f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                [[getattr(e, c) for c in EVENT_COLUMNS] for e in events])
            con.executemany(
                f"INSERT OR IGNORE INTO decisions ({', '.join(DECISION_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(DECISION_COLUMNS))})",
                [[json.dumps(d.detail, default=str) if c == "detail" else getattr(d, c) for c in DECISION_COLUMNS]
                 for d in decisions])

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with closing(self._connect()) as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, list(params))]

    def event(self, event_id: str) -> dict[str, Any] | None:
        """The event row (payload parsed) with its decision (or None), or None when unknown."""
        rows = self._rows(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE event_id = ?", [event_id])
        if not rows:
            return None
        row = rows[0]
        row["payload"] = _maybe_json(row["payload"])
        row["decision"] = next(iter(self.decisions(event_id=event_id)), None)
        return row

    def events(self, status: str | None = None, type: str | None = None, limit: int = 100,
               offset: int = 0) -> list[dict[str, Any]]:
        """Events, newest first, optionally of one status / type (payload parsed)."""
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if type:
            where.append("type = ?")
            params.append(type)
        sql = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM events" + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY seq DESC LIMIT ? OFFSET ?")
        rows = self._rows(sql, [*params, limit, offset])
        for row in rows:
            row["payload"] = _maybe_json(row["payload"])
        return rows

    def decisions(self, decision: str | None = None, subject_id: str | None = None, event_id: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Real-time decisions, newest first, filtered by kind / subject / event (detail parsed)."""
        where, params = [], []
        for column, value in (("decision", decision), ("subject_id", subject_id), ("event_id", event_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = (f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions" + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY seq DESC LIMIT ? OFFSET ?")
        rows = self._rows(sql, [*params, limit, offset])
        for row in rows:
            row["detail"] = json.loads(row["detail"]) if row["detail"] else {}
        return rows

    def counts(self) -> dict[str, int]:
        """Events per status and the number of decisions."""
        with closing(self._connect()) as con:
            out = dict(con.execute("SELECT status, count(*) FROM events GROUP BY status"))
            out["decisions"] = con.execute("SELECT count(*) FROM decisions").fetchone()[0]
        return out
