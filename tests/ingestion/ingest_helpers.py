"""Helpers for the ingestion tests (a module of its own so test files can import it by a unique name)."""
from __future__ import annotations

from pathlib import Path

from smb_warehouse.ingestion.contracts import Entity, parse_contract
from smb_warehouse.ingestion.loader import ContractViolation, EntityLoadResult, load_entity


def one_entity(folder: Path, system: str, columns: dict[str, str], fmt: str = "{}", key: str = "id") -> Entity:
    """The entity ``<system>.rows`` of a contract written to ``folder``: ``columns`` maps each name to its YAML
    flow mapping (``"{type: string, required: true}"``), ``fmt`` is the entity's ``format:`` mapping."""
    lines = [f"system: {system}", "entities:", "  rows:", "    description: a test export", f"    format: {fmt}",
             f"    primary_key: [{key}]", "    columns:"] + [f"      {name}: {spec}" for name, spec in columns.items()]
    path = folder / f"{system}.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return parse_contract(path).entities["rows"]


def land(landing: Path, entity: Entity, name: str, content: str | bytes) -> str:
    """Write a batch file; return its source_file (relative to the landing root)."""
    folder = entity.landing_dir(landing)
    folder.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    (folder / name).write_bytes(data)
    return f"{entity.system}/{entity.name}/{name}"


def load(con, entity: Entity, landing: Path, load_id: str = "L1") -> EntityLoadResult:
    """Load, returning the result also when files were rejected (tests assert on the exception too)."""
    try:
        return load_entity(con, entity, landing, load_id)
    except ContractViolation as exc:
        return exc.result


def quarantine(con, source_file: str) -> list[tuple]:
    return con.execute(
        "SELECT source_line, column_name, reason FROM raw.quarantine WHERE source_file = ? ORDER BY source_line",
        [source_file]).fetchall()


def audit(con, source_file: str) -> list[tuple]:
    return con.execute(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, schema_drift, message FROM raw.load_audit "
        "WHERE source_file = ? ORDER BY started_at", [source_file]).fetchall()


def assert_conserved(con, entity: Entity, result: EntityLoadResult, source_file: str, data_records: int) -> None:
    """rows_read = loaded + quarantined, and raw + quarantine hold exactly one row per data record."""
    (f,) = [f for f in result.files if f.source_file == source_file]
    assert f.rows_read == f.rows_loaded + f.rows_quarantined == data_records
    in_raw = con.execute(f"SELECT count(*) FROM {entity.qualified_raw_table} WHERE _source_file = ?",
                         [source_file]).fetchone()[0]
    in_q = con.execute("SELECT count(*) FROM raw.quarantine WHERE source_file = ?", [source_file]).fetchone()[0]
    assert (in_raw, in_q) == (f.rows_loaded, f.rows_quarantined)
    assert in_raw + in_q == data_records
    last = audit(con, source_file)[-1]
    assert last[:4] == (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined)
