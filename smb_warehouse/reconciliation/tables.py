"""The two tables the reconciliation asset writes into schema `reconciliation` (read by dbt as sources).

Keep in step with macros/workflows/reconciliation/recon_ensure_output_tables.sql.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from smb_warehouse.core.warehouse import replace_tables

SCHEMA = "reconciliation"
DDL = {
    "candidate_scores": """
        invoice_id VARCHAR NOT NULL, po_number VARCHAR NOT NULL, match_score DOUBLE NOT NULL,
        model_name VARCHAR NOT NULL, model_version VARCHAR NOT NULL, scored_at TIMESTAMP NOT NULL,
        recon_run_id VARCHAR NOT NULL, PRIMARY KEY (invoice_id, po_number)""",
    "review_decisions": """
        decision_id VARCHAR PRIMARY KEY, invoice_id VARCHAR NOT NULL, action VARCHAR NOT NULL, po_number VARCHAR,
        decided_by VARCHAR NOT NULL, reason VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL""",
}
COLUMNS = {
    "candidate_scores": ["invoice_id", "po_number", "match_score", "model_name", "model_version", "scored_at", "recon_run_id"],
    "review_decisions": ["decision_id", "invoice_id", "action", "po_number", "decided_by", "reason", "decided_at"],
}
CANDIDATES_SQL = "SELECT * FROM intermediate.int_ap_recon__candidates ORDER BY invoice_id, po_number"


def read_candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(CANDIDATES_SQL).df()


def write(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """Replace both tables in one transaction: scores and the decisions they were made with go together."""
    replace_tables(con, SCHEMA, frames, DDL, COLUMNS)
