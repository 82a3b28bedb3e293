"""THE generic loader: lands every file of one contract entity into ``raw.<system>__<entity>``.

Nothing here knows about a particular system. Per file:

1. stream the bytes once for a sha256 (idempotency: content already loaded -> skipped);
2. stage the file with DuckDB's native reader (readers.py) and validate it with one generated SELECT
   (validation.py), both into connection-local temp tables: no rows ever come into Python;
3. in ONE transaction insert the good rows into the raw table, every bad record into
   ``raw.quarantine`` (one row each, with line and reason) and one row into ``raw.load_audit``.

Invariant per file: rows_read = rows_loaded + rows_quarantined. A structurally broken file (required
column missing, unreadable) loads nothing, is audited as 'rejected', and after all files of the entity
have been processed ``ContractViolation`` names every such file. Good files still load.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.warehouse import transaction
from smb_warehouse.ingestion.contracts import METADATA_COLUMNS, RAW_SCHEMA, Entity
from smb_warehouse.ingestion.readers import FileRejected, StagedFile, stage_file
from smb_warehouse.ingestion.scan import scan_file
from smb_warehouse.ingestion.validation import checked_table_sql

QUARANTINE_TABLE = f"{RAW_SCHEMA}.quarantine"
AUDIT_TABLE = f"{RAW_SCHEMA}.load_audit"
# Statuses whose content hash means "this batch is in the warehouse": the same bytes are skipped.
DONE_STATUSES = ("loaded", "empty")

_QUARANTINE_DDL = f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
    load_id VARCHAR, system VARCHAR, entity VARCHAR, source_file VARCHAR, source_line BIGINT,
    column_name VARCHAR, reason VARCHAR, raw_record VARCHAR, quarantined_at TIMESTAMP)"""
_AUDIT_DDL = f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    load_id VARCHAR, system VARCHAR, entity VARCHAR, source_file VARCHAR, content_sha256 VARCHAR,
    file_bytes BIGINT, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, status VARCHAR,
    schema_drift VARCHAR, message VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP)"""


class ContractViolation(Exception):
    """One or more files of an entity were structurally rejected. ``result`` holds the full outcome
    (the good files of the same entity were loaded)."""

    def __init__(self, message: str, result: EntityLoadResult):
        super().__init__(message)
        self.result = result


@dataclass
class FileLoadResult:
    source_file: str  # relative to the landing root, forward slashes
    content_sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = "loaded"  # loaded | skipped_already_loaded | empty | rejected
    schema_drift: list[str] = field(default_factory=list)
    message: str | None = None
    file_bytes: int = 0


@dataclass
class EntityLoadResult:
    system: str
    entity: str
    load_id: str
    files: list[FileLoadResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one "<file>: <problem>" per rejected file

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)


# --------------------------------------------------------------------------------------- tables
def ensure_ingestion_tables(con: duckdb.DuckDBPyConnection, entities: tuple[Entity, ...] | list[Entity] = ()) -> None:
    """Create the raw schema, quarantine and audit tables (and raw tables of ``entities``). Idempotent."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(_QUARANTINE_DDL)
    con.execute(_AUDIT_DDL)
    for entity in entities:
        ensure_raw_table(con, entity)


def ensure_raw_table(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create the entity's raw table; if the contract gained columns since, add them (NULL for old rows).
    Columns are never dropped or retyped here: that is a deliberate migration, not a load."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(entity.raw_ddl())
    existing = {row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [RAW_SCHEMA, entity.raw_table]).fetchall()}
    wanted = [(c.name, c.raw_type) for c in entity.columns] + list(METADATA_COLUMNS.items())
    for name, typ in wanted:
        if name not in existing:
            con.execute(f"ALTER TABLE {entity.qualified_raw_table} ADD COLUMN {ident(name)} {typ}")


# ---------------------------------------------------------------------------------------- loading
def entity_files(entity: Entity, landing_root: Path) -> list[Path]:
    """The entity's batch files, in name order (batches are named so that this is arrival order)."""
    folder = entity.landing_dir(landing_root)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(entity.format.file_glob) if p.is_file() and not p.name.startswith("."))


def load_entity(con: duckdb.DuckDBPyConnection, entity: Entity, landing_root: Path, load_id: str) -> EntityLoadResult:
    """Load every landed file of ``entity``; raise ContractViolation afterwards if any was rejected."""
    landing_root = Path(landing_root)
    ensure_ingestion_tables(con, [entity])
    result = EntityLoadResult(entity.system, entity.name, load_id)
    for path in entity_files(entity, landing_root):
        outcome = _load_file(con, entity, path, path.relative_to(landing_root).as_posix(), load_id)
        result.files.append(outcome)
        if outcome.status == "rejected":
            result.failures.append(f"{outcome.source_file}: {outcome.message}")
    if result.failures:
        raise ContractViolation(
            f"{len(result.failures)} file(s) of {entity.system}.{entity.name} violate the contract "
            f"and were not loaded:\n" + "\n".join(result.failures), result)
    return result


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _already_loaded(con: duckdb.DuckDBPyConnection, entity: Entity, sha: str) -> bool:
    row = con.execute(
        f"SELECT count(*) FROM {AUDIT_TABLE} WHERE system = ? AND entity = ? AND content_sha256 = ? "
        f"AND status IN {DONE_STATUSES}", [entity.system, entity.name, sha]).fetchone()
    return bool(row and row[0])


def _load_file(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, rel: str, load_id: str) -> FileLoadResult:
    started = _utcnow()
    scan = scan_file(path)
    res = FileLoadResult(rel, scan.sha256, file_bytes=scan.size)
    if _already_loaded(con, entity, scan.sha256):
        # Not audited again: the audit records what entered the warehouse, and re-running a load
        # over the same landing must leave it unchanged.
        res.status = "skipped_already_loaded"
        return res
    if scan.only_whitespace:
        res.status = "empty"
        _transaction(con, lambda: _audit(con, entity, res, load_id, started))
        return res
    prefix = f"_ing_{uuid.uuid4().hex[:12]}"
    staged: StagedFile | None = None
    try:
        try:
            staged = stage_file(con, entity, path, scan, prefix)
            con.execute(checked_table_sql(entity, staged.records, f"{prefix}_chk"))
            _fill_counts(con, entity, res, staged, f"{prefix}_chk")
        except duckdb.Error as exc:  # the reader could not process the file at all
            raise FileRejected(f"unreadable as {entity.format.type}: {str(exc).strip()}") from None
        _transaction(con, lambda: _insert_all(con, entity, res, staged, f"{prefix}_chk", load_id, started))
    except (FileRejected, duckdb.Error) as exc:  # the file's transaction was rolled back, if begun
        res.rows_read = res.rows_loaded = res.rows_quarantined = 0
        res.status = "rejected"
        res.message = str(exc) if isinstance(exc, FileRejected) else f"load failed: {str(exc).strip()}"
        _transaction(con, lambda: _audit(con, entity, res, load_id, started))
    finally:
        _drop_temp(con, prefix)
    return res


def _fill_counts(con: duckdb.DuckDBPyConnection, entity: Entity, res: FileLoadResult, staged: StagedFile,
                 chk: str) -> None:
    """rows_read and drift, before anything is written (loaded/quarantined come from the inserts)."""
    records = con.execute(f"SELECT count(*) FROM {chk}").fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM {staged.rejects}").fetchone()[0] if staged.rejects else 0
    res.rows_read = records + rejected
    res.schema_drift = _json_drift(con, entity, chk) if staged.drift_from_extras else list(staged.schema_drift)


def _json_drift(con: duckdb.DuckDBPyConnection, entity: Entity, chk: str) -> list[str]:
    """JSON keys can differ per record, so drift is read from the data: keys kept in _extra (one level
    into objects the contract reads parts of, e.g. 'added BillingAddress.zip') and aliases in use."""
    parents = sorted({p.split(".")[1] for p in (c.json_path for c in entity.columns) if p.count(".") > 1})
    sub = "".join(f" UNION SELECT {lit(p + '.')} || unnest(json_keys(_extra, {lit('$.' + p)})) FROM {chk} "
                  f"WHERE json_type(_extra, {lit('$.' + p)}) = 'OBJECT'" for p in parents)
    keys = con.execute(
        f"SELECT k FROM (SELECT unnest(json_keys(_extra)) AS k FROM {chk} WHERE _extra IS NOT NULL{sub}) "
        f"WHERE k NOT IN (SELECT unnest(?::VARCHAR[])) ORDER BY k LIMIT 50", [parents]).fetchall()
    drift = [f"added {k}" for (k,) in keys]
    aliases = [(a, c.name) for c in entity.columns for a in c.aliases]
    if aliases:
        used = con.execute("SELECT " + ", ".join(
            f"coalesce(bool_or(json_exists(_raw, {lit('$.' + json.dumps(a))})), false)" for a, _ in aliases)
            + f" FROM {chk}").fetchone()
        drift += [f"renamed {a}->{name}" for (a, name), hit in zip(aliases, used) if hit]
    return drift


def _insert_all(con: duckdb.DuckDBPyConnection, entity: Entity, res: FileLoadResult, staged: StagedFile,
                chk: str, load_id: str, started: datetime) -> None:
    now = _utcnow()
    names = [c.name for c in entity.columns]
    target = ", ".join(ident(n) for n in names) + ", " + ", ".join(METADATA_COLUMNS)
    values = ", ".join(ident(n) for n in names)
    loaded = con.execute(
        f"INSERT INTO {entity.qualified_raw_table} ({target}) "
        f"SELECT {values}, ?, ?, _line, ?, _extra FROM {chk} WHERE len(_errors) = 0 AND _dup_of IS NULL",
        [load_id, res.source_file, now]).fetchone()[0]
    meta = [load_id, entity.system, entity.name, res.source_file]
    q_cols = "(load_id, system, entity, source_file, source_line, column_name, reason, raw_record, quarantined_at)"
    quarantined = con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} {q_cols} SELECT ?, ?, ?, ?, _line, "
        f"CASE WHEN len(_errors) > 0 THEN _first_col END, "
        f"CASE WHEN len(_errors) > 0 THEN array_to_string(_errors, '; ') "
        f"ELSE 'duplicate key ' || _key_text || ' first seen at line ' || _dup_of END, _raw, ? "
        f"FROM {chk} WHERE len(_errors) > 0 OR _dup_of IS NOT NULL", [*meta, now]).fetchone()[0]
    if staged.rejects:
        quarantined += con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} {q_cols} SELECT ?, ?, ?, ?, _line, NULL, _reason, _raw, ? "
            f"FROM {staged.rejects}", [*meta, now]).fetchone()[0]
    # The ledger identity is checked on what was actually written, inside the transaction: a
    # mismatch (which would be a loader bug) rolls the file back instead of publishing a hole.
    if loaded + quarantined != res.rows_read:
        raise FileRejected(f"row conservation violated: read {res.rows_read}, loaded {loaded}, "
                           f"quarantined {quarantined}")
    res.rows_loaded, res.rows_quarantined = loaded, quarantined
    res.message = f"{quarantined} record(s) quarantined" if quarantined else None
    _audit(con, entity, res, load_id, started)


def _audit(con: duckdb.DuckDBPyConnection, entity: Entity, res: FileLoadResult, load_id: str, started: datetime) -> None:
    con.execute(
        f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, entity.system, entity.name, res.source_file, res.content_sha256, res.file_bytes,
         res.rows_read, res.rows_loaded, res.rows_quarantined, res.status,
         "; ".join(res.schema_drift) or None, res.message, started, _utcnow()])


def _transaction(con: duckdb.DuckDBPyConnection, work) -> None:
    with transaction(con):
        work()


def _drop_temp(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    """Drop every temp object of this file (found by its unique prefix, so objects created before a
    failure are cleaned up too). Views first: they reference the tables."""
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, ?)",
                        [prefix]).fetchall()
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
                         [prefix]).fetchall()
    for (name,) in views:
        con.execute(f"DROP VIEW IF EXISTS temp.main.{ident(name)}")
    for (name,) in tables:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(name)}")
