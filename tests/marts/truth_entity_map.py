"""A *perfect* entity_map built from the generator's ground truth (entities.csv).

The marts read `entity_resolution.entity_map` (written by the entity-resolution asset). To test the marts
and the impact queries independently of how well entity resolution performs, the pytest in this folder
writes this truth-derived map instead: every answer the marts give can then be checked exactly against
ground truth. Same columns and types as the real asset's table.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

# Same normalisation as the staging macros normalize_email / clean_text (lower-cased for mentions).
_EMAIL = "nullif(lower(regexp_replace(customer_email, '\\s', '', 'g')), '')"
_MENTION = "nullif(lower(regexp_replace(trim(product_mentioned), '\\s+', ' ', 'g')), '')"


def write_truth_entity_map(con: duckdb.DuckDBPyConnection, truth_dir: Path, run_id: str = "truth") -> int:
    entities = str(Path(truth_dir) / "entities.csv")
    con.execute("CREATE SCHEMA IF NOT EXISTS entity_resolution")
    con.execute("DROP TABLE IF EXISTS entity_resolution.entity_map")
    con.execute(f"""
        CREATE TABLE entity_resolution.entity_map AS
        WITH truth AS (
            SELECT entity_type, system, source_entity, source_id, true_entity_id
            FROM read_csv('{entities}', header = true, all_varchar = true)
        ),
        unified AS (
            SELECT *,
                CASE entity_type WHEN 'customer' THEN 'CUS-' WHEN 'supplier' THEN 'SUP-' ELSE 'PRD-' END
                || lpad(regexp_extract(true_entity_id, '[0-9]+$'), 6, '0') AS unified_id
            FROM truth
        ),
        tickets AS (
            SELECT ticket_id, {_EMAIL} AS email, {_MENTION} AS mention FROM raw.support__tickets
        ),
        records AS (
            SELECT entity_type, 'erp' AS source_system, 'customers' AS source_entity, source_id, unified_id
            FROM unified WHERE entity_type = 'customer' AND system = 'erp'
            UNION ALL
            SELECT entity_type, 'crm', 'accounts', source_id, unified_id
            FROM unified WHERE entity_type = 'customer' AND system = 'crm' AND source_entity = 'accounts'
            UNION ALL
            SELECT entity_type, 'finance', 'debtors', upper(trim(source_id)), unified_id
            FROM unified WHERE entity_type = 'customer' AND system = 'finance'
            UNION ALL
            SELECT u.entity_type, 'support', 'requesters', t.email, min(u.unified_id)
            FROM unified u JOIN tickets t ON t.ticket_id = u.source_id
            WHERE u.entity_type = 'customer' AND u.system = 'support' AND t.email IS NOT NULL
            GROUP BY ALL
            UNION ALL
            SELECT entity_type, 'erp', 'suppliers', source_id, unified_id
            FROM unified WHERE entity_type = 'supplier' AND system = 'erp'
            UNION ALL
            SELECT entity_type, 'finance', 'vendors', upper(trim(source_id)), unified_id
            FROM unified WHERE entity_type = 'supplier' AND system = 'finance'
            UNION ALL
            SELECT entity_type, 'erp', 'products', upper(trim(source_id)), unified_id
            FROM unified WHERE entity_type = 'product' AND system = 'erp'
            UNION ALL
            SELECT u.entity_type, 'support', 'product_mentions', t.mention, min(u.unified_id)
            FROM unified u JOIN tickets t ON t.ticket_id = u.source_id
            WHERE u.entity_type = 'product' AND u.system = 'support' AND t.mention IS NOT NULL
            GROUP BY ALL
        )
        SELECT DISTINCT
            entity_type, source_system, source_entity, source_id,
            source_system || ':' || source_entity || ':' || source_id AS record_key,
            unified_id,
            'ground_truth' AS match_rule,
            CAST(1.0 AS DOUBLE) AS match_score,
            CAST(TIMESTAMP '2026-01-01 00:00:00' AS TIMESTAMP) AS resolved_at,
            '{run_id}' AS er_run_id
        FROM records
    """)
    return con.execute("SELECT count(*) FROM entity_resolution.entity_map").fetchone()[0]


if __name__ == "__main__":  # python tests/marts/truth_entity_map.py <db> <truth_dir>
    import sys

    with duckdb.connect(sys.argv[1]) as connection:
        print(write_truth_entity_map(connection, Path(sys.argv[2])))
