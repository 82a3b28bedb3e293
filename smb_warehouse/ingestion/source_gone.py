"""Loaded files that have disappeared from the landing zone.

A source system may clean up its export folder, or a person may delete a file by mistake. Nothing in the
warehouse changes for it: the rows stay in raw (they were delivered; raw is the record of what was), staging
and everything downstream stay as they were. But the ledger must say so: once per file and content, a
``raw.load_audit`` row with status ``source_missing`` names the file, its content hash and the load that
brought it in. If the same bytes come back, they are skipped as already loaded; other bytes under the name
supersede the old version as usual (loader.py).
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from smb_warehouse.ingestion.contracts import Entity
from smb_warehouse.ingestion.discovery import discover
from smb_warehouse.ingestion.loader import AUDIT_TABLE, DONE_STATUSES

STATUS = "source_missing"


def record_missing_sources(con: duckdb.DuckDBPyConnection, entity: Entity, landing_root: Path, load_id: str) -> list[str]:
    """Audit (once per file and content) every file of ``entity`` the warehouse holds as loaded that is no
    longer in the landing zone. Returns the files newly recorded (landing-relative paths)."""
    present = {f.rel for f in discover(entity, Path(landing_root).absolute())}
    loaded = con.execute(
        f"""SELECT source_file, content_sha256, arg_max(load_id, finished_at), sum(rows_loaded), sum(rows_quarantined)
            FROM {AUDIT_TABLE} a WHERE system = ? AND entity = ? AND status IN {DONE_STATUSES}
              AND NOT EXISTS (SELECT 1 FROM {AUDIT_TABLE} m WHERE m.system = a.system AND m.entity = a.entity
                              AND m.source_file = a.source_file AND m.status = '{STATUS}'
                              AND m.content_sha256 IS NOT DISTINCT FROM a.content_sha256)
            GROUP BY 1, 2 ORDER BY 1""", [entity.system, entity.name]).fetchall()
    now = datetime.now(UTC).replace(tzinfo=None)
    gone = [row for row in loaded if row[0] not in present]
    for source_file, sha, first_load, rows_loaded, rows_quarantined in gone:
        con.execute(f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, NULL, 0, 0, 0, ?, NULL, ?, ?, ?)",
                    [load_id, entity.system, entity.name, source_file, sha, STATUS,
                     f"no longer in the landing zone; loaded by {first_load} ({rows_loaded} rows loaded, "
                     f"{rows_quarantined} quarantined), which stay in raw", now, now])
    return [row[0] for row in gone]
