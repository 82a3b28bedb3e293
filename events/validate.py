"""Contract validation of event records by THE file loader (no second validator).

The records of one micro-batch are rendered as a file of their entity (``events.microbatch.render``), put
in a scratch landing folder and loaded by ``smb_warehouse.ingestion.loader.load_entity`` into a private
in-memory DuckDB: the loader applies the contract exactly as it does to an export (required columns,
types, patterns, accepted values, decimal shapes, date formats, duplicate keys within the batch, ...).
Each record is then judged by where the loader put its line: in the raw table (valid; its typed values are
returned for real-time scoring) or in ``raw.quarantine`` (invalid; every reason the loader gave, per column).
A file the loader refuses as a whole fails every record with the loader's message.
"""
from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from events.microbatch import Rendered, batch_name, render
from smb_warehouse.ingestion.contracts import Entity
from smb_warehouse.ingestion.loader import AUDIT_TABLE, QUARANTINE_TABLE, ContractViolation, load_entity


@dataclass
class Verdict:
    """One record's outcome: ``ok`` with the typed row (raw column -> Python value), or the reasons."""

    line: int
    ok: bool
    typed: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None


@dataclass
class Validated:
    rendered: Rendered
    verdicts: list[Verdict]


def validate(entity: Entity, records: Sequence[dict[str, Any]], con: duckdb.DuckDBPyConnection | None = None) -> Validated:
    """Validate ``records`` (column -> scalar) against ``entity``'s contract with the file loader.

    Returns the rendered file (reused for landing) and one ``Verdict`` per record, in order. Never raises
    for bad data (that is a verdict); raises for a format micro-batches cannot be written in. ``con`` is a
    scratch in-memory DuckDB to reuse (``Validator`` keeps one per entity; its raw, quarantine and audit
    rows are emptied first); by default a fresh one is opened and closed.
    """
    rendered = render(entity, records)
    own = con is None
    with tempfile.TemporaryDirectory(prefix="smb-event-validate-") as tmp:
        landing = Path(tmp)
        folder = entity.landing_dir(landing)
        folder.mkdir(parents=True)
        name = batch_name(entity, "validate", 0)
        (folder / name).write_bytes(rendered.content)
        if own:
            con = duckdb.connect(":memory:")
        else:
            _empty(con, entity)
        try:
            message = None
            try:
                result = load_entity(con, entity, landing, load_id=f"event-validate-{uuid.uuid4().hex[:12]}")
            except ContractViolation as exc:
                result = exc.result
                message = "; ".join(result.failures) or str(exc)
            status = next((f for f in result.files if f.source_file.endswith(name)), None)
            if message or status is None or status.status != "loaded":
                why = message or (f"{status.status}: {status.message}" if status else "the loader did not read the batch")
                return Validated(rendered, [Verdict(line, False, reasons=[f"micro-batch refused by the loader: {why}"])
                                            for line in rendered.lines])
            cur = con.execute(f"SELECT * FROM {entity.qualified_raw_table}")
            columns = [d[0] for d in cur.description]
            typed = {row[columns.index("_source_line")]: dict(zip(columns, row)) for row in cur.fetchall()}
            quarantined: dict[int, list[str]] = {}
            for line, column, reason in con.execute(
                    f"SELECT source_line, column_name, reason FROM {QUARANTINE_TABLE} ORDER BY source_line, column_name"
            ).fetchall():
                quarantined.setdefault(int(line), []).append(str(reason) if column is None or str(reason).startswith(column)
                                                             else f"{column}: {reason}")
            audit = con.execute(f"SELECT rows_read, rows_loaded, rows_quarantined FROM {AUDIT_TABLE}").fetchall()
        finally:
            if own:
                con.close()
    verdicts = []
    for line in rendered.lines:
        if line in quarantined:
            verdicts.append(Verdict(line, False, reasons=quarantined[line]))
        elif line in typed:
            row = {k: v for k, v in typed[line].items() if not k.startswith("_") or k == "_extra_columns"}
            verdicts.append(Verdict(line, True, typed=row))
        else:
            verdicts.append(Verdict(line, False, reasons=[f"line {line} is neither loaded nor quarantined by the loader "
                                                          f"(audit {audit}): refused"]))
    return Validated(rendered, verdicts)


def _empty(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Forget the previous batch in a reused scratch database (tables stay: their creation is the cost saved)."""
    tables = {r[0] for r in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
    for table in (entity.qualified_raw_table, QUARANTINE_TABLE, AUDIT_TABLE):
        if table in tables:
            con.execute(f"DELETE FROM {table}")


class Validator:
    """``validate`` with one scratch in-memory DuckDB kept per entity (saves opening it and creating the raw,
    quarantine and audit tables for every batch). One instance per thread; ``close`` releases them."""

    def __init__(self):
        self._cons: dict[tuple[str, str], duckdb.DuckDBPyConnection] = {}

    def validate(self, entity: Entity, records: Sequence[dict[str, Any]]) -> Validated:
        key = (entity.system, entity.name)
        if key not in self._cons:
            self._cons[key] = duckdb.connect(":memory:")
        return validate(entity, records, self._cons[key])

    def close(self) -> None:
        for con in self._cons.values():
            con.close()
        self._cons.clear()
