"""The append-only store of human review decisions on AP invoices.

Why a separate SQLite file ($SMB_DATA_DIR/review/ap_decisions.sqlite) and not a warehouse table: the published
warehouse is replaced wholesale on every publish, so anything written into it by hand would vanish with the next
run; and reviewers write while pipelines read. SQLite (stdlib) takes concurrent readers and short writes from
several processes with its own locking, where a DuckDB file allows one writing process at a time and would make
the CLI fail during a pipeline run. Append-only is enforced by the database itself (triggers abort any UPDATE or
DELETE), not only by this code: a decision is corrected by recording a newer one; the latest per invoice wins and
the full history is the audit trail (who, when, why). Each pipeline run copies the whole log into
reconciliation.review_decisions so the warehouse shows it too.
"""
from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from smb_warehouse.core import paths
from smb_warehouse.core.sql import append_only_triggers

ACTIONS = ("approve", "reject", "reassign")
COLUMNS = ["decision_id", "invoice_id", "action", "po_number", "decided_by", "reason", "decided_at"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id TEXT NOT NULL UNIQUE,
    invoice_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('approve', 'reject', 'reassign')),
    po_number TEXT,
    decided_by TEXT NOT NULL CHECK (length(trim(decided_by)) > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    decided_at TEXT NOT NULL,
    CHECK (action = 'reject' OR po_number IS NOT NULL)
);
""" + append_only_triggers("decisions", "review decisions are append-only: record a new decision instead")


def store_path() -> Path:
    return paths.review_decisions_store()


def _connect(path: Path | None = None) -> sqlite3.Connection:
    path = path or store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=30)
    con.executescript(_SCHEMA)
    return con


def record(invoice_id: str, action: str, po_number: str | None, decided_by: str, reason: str,
           path: Path | None = None) -> str:
    """Append one decision; returns its id."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    decision_id = str(uuid.uuid4())
    decided_at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    with closing(_connect(path)) as con, con:
        con.execute(
            "INSERT INTO decisions (decision_id, invoice_id, action, po_number, decided_by, reason, decided_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [decision_id, invoice_id, action, po_number if action != "reject" else None, decided_by.strip(),
             reason.strip(), decided_at],
        )
    return decision_id


def load(path: Path | None = None, invoice_id: str | None = None) -> pd.DataFrame:
    """Every decision in the order recorded (empty frame with COLUMNS when there are none)."""
    path = path or store_path()
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    with closing(_connect(path)) as con:
        sql = f"SELECT {', '.join(COLUMNS)} FROM decisions"
        params: list[str] = []
        if invoice_id:
            sql += " WHERE invoice_id = ?"
            params.append(invoice_id)
        frame = pd.read_sql_query(sql + " ORDER BY seq", con, params=params)
    frame["decided_at"] = pd.to_datetime(frame["decided_at"])
    return frame
