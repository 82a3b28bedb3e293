"""The tables the reconciliation asset writes into schema `reconciliation` (declared in
models/sources/_reconciliation__sources.yml, read back by dbt as sources), and the candidates it reads."""
from __future__ import annotations

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest, python_tables
from smb_warehouse.core.warehouse import Replace, write_tables

CANDIDATE_SCORES = python_tables.table("reconciliation.candidate_scores")
REVIEW_DECISIONS = python_tables.table("reconciliation.review_decisions")
SCORING_STATE = python_tables.table("reconciliation.scoring_state")
SCHEMA = CANDIDATE_SCORES.schema
CANDIDATES_MODEL = "int_ap_recon__candidates"
AUDIT_MODEL = "stg_ingestion__load_audit"


def candidates_relation() -> str:
    """``<schema>.<table>`` of the dbt candidate-pair model (from the dbt manifest)."""
    return dbt_manifest.relation(CANDIDATES_MODEL)


def read_candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every candidate (invoice, PO) pair with its rule features, ordered by invoice_id, po_number."""
    return con.execute(f"SELECT * FROM {candidates_relation()} ORDER BY invoice_id, po_number").df()


def write(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """Replace the three tables in one transaction: scores, the decisions they were made with and the run's
    serving / safe-mode state go together. ``frames`` maps ``candidate_scores``, ``review_decisions`` and
    ``scoring_state`` to frames with the declared columns."""
    write_tables(con, [Replace(CANDIDATE_SCORES, frames["candidate_scores"]),
                       Replace(REVIEW_DECISIONS, frames["review_decisions"]),
                       Replace(SCORING_STATE, frames["scoring_state"])])
