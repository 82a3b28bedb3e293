"""Erasure of one data subject's personal data: the generic parts (no knowledge of any source system).

- ``ErasureLog``: the append-only record of every erasure ($SMB_DATA_DIR/privacy/erasure_log.sqlite). It
  holds no personal data, only keyed hashes (``pii.keyed_hash``) of the identifier asked for and of every
  value erased. Those hashes are also the *erasure list*: the loader redacts a newly landed record whose
  e-mail, IBAN, phone, name or customer id hashes to one of them, so a source system that still exports
  the person never brings them back. Append-only by the database itself (triggers abort UPDATE/DELETE).
- ``find_values`` / ``redact_values``: every occurrence of a set of values in every text column of every
  table of a DuckDB database, found or replaced with set-based SQL (one statement per table).

Which columns identify a person and which tables to treat is decided by the caller
(``orchestration.privacy.erasure``), from the contracts.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from smb_warehouse.core import paths, pii
from smb_warehouse.core.sql import append_only_triggers, ident, lit

ERASED = "[erased]"
TEXT_TYPES = ("VARCHAR", "JSON")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS erasures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    erasure_id TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('requested', 'published')),
    requested_at TEXT NOT NULL,
    requested_by TEXT NOT NULL CHECK (length(trim(requested_by)) > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    identifier_kind TEXT NOT NULL CHECK (identifier_kind IN ('email', 'customer_id', 'iban')),
    identifier_hmac TEXT NOT NULL,
    value_hmacs TEXT NOT NULL,            -- JSON list of keyed hashes of every value erased (the erasure list)
    rows_redacted TEXT NOT NULL,          -- JSON {"<schema>.<table>": rows} in the published warehouse
    published_run_id TEXT,
    UNIQUE (erasure_id, event)
);
""" + append_only_triggers("erasures", "the erasure log is append-only")


def log_path() -> Path:
    return paths.data_dir() / "privacy" / "erasure_log.sqlite"


@dataclass(frozen=True)
class ErasureRecord:
    erasure_id: str
    event: str  # requested (before anything is changed: its hashes join the erasure list) | published
    requested_at: str
    requested_by: str
    reason: str
    identifier_kind: str
    identifier_hmac: str
    value_hmacs: tuple[str, ...]
    rows_redacted: dict
    published_run_id: str | None


class ErasureLog:
    """The append-only erasure log (SQLite: concurrent readers, short writes, no server)."""

    def __init__(self, path: Path | None = None):
        self.path = path or log_path()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(str(self.path), timeout=30)
        con.executescript(_SCHEMA)
        return con

    def append(self, *, event: str, requested_by: str, reason: str, identifier_kind: str, identifier: str,
               values: Iterable[str], rows_redacted: dict | None = None, published_run_id: str | None = None,
               erasure_id: str | None = None) -> ErasureRecord:
        """Record one event of an erasure. ``identifier`` and ``values`` (already normalised by the caller)
        are stored only as keyed hashes. ``requested`` is written before anything changes, so the loader
        applies the erasure list even if the erasure itself then fails; ``published`` after the publish."""
        key = pii.hash_key()
        record = ErasureRecord(
            erasure_id=erasure_id or str(uuid.uuid4()), event=event,
            requested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            requested_by=requested_by.strip(), reason=reason.strip(), identifier_kind=identifier_kind,
            identifier_hmac=pii.keyed_hash(identifier, key),
            value_hmacs=tuple(sorted({pii.keyed_hash(v, key) for v in values})),
            rows_redacted=dict(rows_redacted or {}), published_run_id=published_run_id)
        with closing(self._connect()) as con, con:
            con.execute("INSERT INTO erasures (erasure_id, event, requested_at, requested_by, reason, identifier_kind, "
                        "identifier_hmac, value_hmacs, rows_redacted, published_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [record.erasure_id, record.event, record.requested_at, record.requested_by, record.reason,
                         record.identifier_kind, record.identifier_hmac, json.dumps(list(record.value_hmacs)),
                         json.dumps(record.rows_redacted, sort_keys=True), record.published_run_id])
        return record

    def records(self) -> list[ErasureRecord]:
        """Every event, oldest first ([] when none was ever recorded)."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as con:
            rows = con.execute("SELECT erasure_id, event, requested_at, requested_by, reason, identifier_kind, identifier_hmac, "
                               "value_hmacs, rows_redacted, published_run_id FROM erasures ORDER BY seq").fetchall()
        return [ErasureRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7])), json.loads(r[8]), r[9])
                for r in rows]

    def erased_hashes(self) -> set[str]:
        """The erasure list: keyed hashes of every identifying value of every requested erasure."""
        return {h for r in self.records() for h in r.value_hmacs}


def text_columns(con: duckdb.DuckDBPyConnection, schemas: Sequence[str] | None = None) -> dict[str, list[str]]:
    """{"<schema>.<table>" (quoted): [text column, ...]} for every base table (views are skipped: they show
    their tables' data) of the connection's database."""
    rows = con.execute(
        "SELECT c.schema_name, c.table_name, list(c.column_name ORDER BY c.column_index) FROM duckdb_columns() c "
        "JOIN duckdb_tables() t ON t.database_name = c.database_name AND t.schema_name = c.schema_name "
        "AND t.table_name = c.table_name WHERE c.database_name = current_database() AND NOT t.temporary "
        f"AND c.data_type IN {TEXT_TYPES} GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    return {f"{ident(s)}.{ident(t)}": cols for s, t, cols in rows if schemas is None or s in schemas}


def _regex(value: str) -> str:
    special = set("\\.^$|?*+()[]{}-/")
    return "".join("\\" + ch if ch in special else ch for ch in value)


def _pattern(values: Iterable[str]) -> str:
    """One case-insensitive RE2 alternation matching any of ``values`` literally (longest first)."""
    ordered = sorted({v for v in values if v}, key=lambda v: (-len(v), v))
    return "(?i)(" + "|".join(_regex(v) for v in ordered) + ")"


def find_values(con: duckdb.DuckDBPyConnection, values: Iterable[str],
                schemas: Sequence[str] | None = None) -> dict[str, int]:
    """{"<schema>.<table>.<column>": rows} of every text column in which any of ``values`` occurs
    (case-insensitive substring), over every base table (of ``schemas``, default all). Empty when none."""
    values = [v for v in values if v]
    if not values:
        return {}
    pattern = lit(_pattern(values))
    hits: dict[str, int] = {}
    for table, columns in text_columns(con, schemas).items():
        counts = ", ".join(f"count(*) FILTER (WHERE regexp_matches(CAST({ident(c)} AS VARCHAR), {pattern}))" for c in columns)
        row = con.execute(f"SELECT {counts} FROM {table}").fetchone()
        for column, n in zip(columns, row):
            if n:
                hits[f"{table.replace(chr(34), '')}.{column}"] = int(n)
    return hits


def redact_values(con: duckdb.DuckDBPyConnection, replacements: dict[str, str],
                  schemas: Sequence[str] | None = None) -> dict[str, int]:
    """Replace every occurrence of each key of ``replacements`` (case-insensitive, longest first) by its
    token, in every text column of every base table (of ``schemas``): one UPDATE per table, touching only
    rows that contain a value. Distinct values get distinct tokens so keys stay unique (a record key made
    of an e-mail address). Run it inside the caller's transaction. Returns {"<schema>.<table>": rows}."""
    replacements = {v: t for v, t in replacements.items() if v}
    if not replacements:
        return {}
    pattern = lit(_pattern(replacements))
    ordered = sorted(replacements, key=lambda v: (-len(v), v))
    changed: dict[str, int] = {}
    for table, columns in text_columns(con, schemas).items():
        sets = []
        for c in columns:
            expr = f"CAST({ident(c)} AS VARCHAR)"
            for value in ordered:
                expr = f"regexp_replace({expr}, {lit('(?i)' + _regex(value))}, {lit(replacements[value])}, 'g')"
            sets.append(f"{ident(c)} = CAST({expr} AS {_type_of(con, table, c)})")
        where = " OR ".join(f"regexp_matches(CAST({ident(c)} AS VARCHAR), {pattern})" for c in columns)
        n = con.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE {where}").fetchone()[0]
        if n:
            changed[table.replace('"', "")] = int(n)
    return changed


def _type_of(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    schema, name = (part.strip('"').replace('""', '"') for part in table.split('"."'))
    return con.execute("SELECT data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? "
                       "AND table_name = ? AND column_name = ?", [schema, name, column]).fetchone()[0]
