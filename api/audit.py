"""The API's audit log: every write request (allowed or refused) with who, role, when, what and outcome.

Append-only SQLite ($SMB_DATA_DIR/api/audit.sqlite; ``SMB_API_AUDIT`` moves it), enforced by triggers. The
review decisions themselves stay in their own store (``smb_warehouse.reconciliation.decisions``) with the
caller's name as ``decided_by``; this log adds the refused attempts and the event publications.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smb_warehouse.core import paths

_SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    principal TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    detail TEXT
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
COLUMNS = ["seq", "at", "principal", "role", "method", "path", "action", "target", "outcome", "status_code", "detail"]


def audit_path() -> Path:
    override = os.environ.get("SMB_API_AUDIT")
    return Path(override).expanduser() if override else paths.data_dir() / "api" / "audit.sqlite"


class AuditLog:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else audit_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(str(self.path), timeout=30)) as con:
            con.executescript(_SCHEMA)

    def write(self, principal: str, role: str, method: str, path: str, action: str, target: str | None,
              outcome: str, status_code: int, detail: dict[str, Any] | None = None) -> None:
        """Append one row (``at`` = now, naive UTC)."""
        at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        with closing(sqlite3.connect(str(self.path), timeout=30)) as con, con:
            con.execute("INSERT INTO audit (at, principal, role, method, path, action, target, outcome, status_code, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [at, principal, role, method, path, action, target, outcome, status_code,
                         json.dumps(detail, default=str) if detail else None])

    def rows(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first."""
        with closing(sqlite3.connect(str(self.path), timeout=30)) as con:
            con.row_factory = sqlite3.Row
            out = [dict(r) for r in con.execute(f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY seq DESC LIMIT ? OFFSET ?",
                                                [limit, offset])]
        for row in out:
            row["detail"] = json.loads(row["detail"]) if row["detail"] else None
        return out
