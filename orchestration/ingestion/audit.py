"""The ingestion ledger as assets: ``raw.load_audit`` and ``raw.quarantine``, with the blocking check
that nothing was lost or loaded twice. dbt's ingestion sources point at these asset keys."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)

from orchestration.lib.dbt_translator import LEDGER_KEY
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.ingestion.contracts import all_entities
from smb_warehouse.ingestion.loader import ensure_ingestion_tables

AUDIT_KEY = LEDGER_KEY  # dbt models that read raw tables depend on it (orchestration/lib/dbt_translator.py)
QUARANTINE_KEY = AssetKey(["raw", "ingestion", "quarantine"])


def conservation_violations_sql() -> str:
    """Files whose ledger does not balance: audit identity broken, or raw/quarantine row counts that
    differ from what the audit says was loaded (which is what a double load would look like)."""
    per_file_raw = " UNION ALL ".join(
        f"SELECT '{e.system}' AS system, '{e.name}' AS entity, _source_file AS source_file, count(*) AS n "
        f"FROM {e.qualified_raw_table} GROUP BY _source_file"
        for e in all_entities()
    )
    return f"""
    WITH audit AS (
        SELECT system, entity, source_file, sum(rows_read) AS rows_read, sum(rows_loaded) AS rows_loaded,
               sum(rows_quarantined) AS rows_quarantined
        FROM raw.load_audit WHERE status IN ('loaded', 'empty') GROUP BY ALL
    ), raw_counts AS ({per_file_raw}),
    quarantined AS (SELECT system, entity, source_file, count(*) AS n FROM raw.quarantine GROUP BY ALL)
    SELECT a.system, a.entity, a.source_file, a.rows_read, a.rows_loaded, a.rows_quarantined,
           coalesce(r.n, 0) AS raw_rows, coalesce(q.n, 0) AS quarantine_rows
    FROM audit a
    LEFT JOIN raw_counts r USING (system, entity, source_file)
    LEFT JOIN quarantined q USING (system, entity, source_file)
    WHERE a.rows_read <> a.rows_loaded + a.rows_quarantined
       OR coalesce(r.n, 0) <> a.rows_loaded
       OR coalesce(q.n, 0) <> a.rows_quarantined
    ORDER BY ALL
    """


@multi_asset(
    specs=[
        AssetSpec(AUDIT_KEY, group_name="ingestion", kinds={"duckdb"},
                  description="One row per landed file: hash, rows read/loaded/quarantined, status.",
                  deps=[AssetKey(e.asset_key_path) for e in all_entities()]),
        AssetSpec(QUARANTINE_KEY, group_name="ingestion", kinds={"duckdb"},
                  description="Every rejected row with file, line, column and reason.",
                  deps=[AssetKey(e.asset_key_path) for e in all_entities()]),
    ],
    check_specs=[
        AssetCheckSpec("rows_conserved", asset=AUDIT_KEY, blocking=True,
                       description="Per file: rows read = loaded + quarantined, and raw/quarantine tables hold exactly "
                                   "that many rows."),
    ],
)
def ingestion_ledger(context: AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect(context.run_id) as con:
        ensure_ingestion_tables(con)
        totals = con.execute(
            "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
            "FROM raw.load_audit WHERE status IN ('loaded', 'empty')"
        ).fetchone()
        run_files = con.execute("SELECT count(*) FROM raw.load_audit WHERE load_id = ?", [context.run_id]).fetchone()[0]
        for e in all_entities():  # every raw table exists even before its first file lands
            con.execute(e.raw_ddl())
        bad = con.execute(conservation_violations_sql()).fetchall()
        quarantine_rows = con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0]
    files, read, loaded, quarantined = totals
    yield MaterializeResult(asset_key=AUDIT_KEY, metadata={
        "files_total": files, "files_this_run": run_files, "rows_read": int(read),
        "rows_loaded": int(loaded), "rows_quarantined": int(quarantined)})
    yield MaterializeResult(asset_key=QUARANTINE_KEY, metadata={"rows": quarantine_rows})
    yield AssetCheckResult(
        check_name="rows_conserved", asset_key=AUDIT_KEY, passed=not bad,
        metadata={"unbalanced_files": len(bad), "first": str(bad[:5]) if bad else "none"},
    )
