"""The tables the cash-flow assets write (schema `cashflow`). Column lists are the contract shared with
macros/workflows/cashflow/cashflow_ensure_output_tables.sql and models/sources/_cashflow__sources.yml."""
from __future__ import annotations

import duckdb
import pandas as pd

SCHEMA = "cashflow"

SCORES_COLUMNS = {
    "finance_bank_txn_id": "VARCHAR", "anomaly_score": "DOUBLE", "amount_robust_z": "DOUBLE", "isolation_score": "DOUBLE",
    "is_unusual_amount": "BOOLEAN", "is_new_counterparty": "BOOLEAN", "is_odd_timing": "BOOLEAN",
    "is_duplicate_candidate": "BOOLEAN", "is_without_payment_record": "BOOLEAN", "anomaly_reason": "VARCHAR",
    "model_version": "VARCHAR", "scored_at": "TIMESTAMP", "run_id": "VARCHAR",
}
DELIVERY_COLUMNS = {
    "alert_id": "VARCHAR", "channel": "VARCHAR", "target": "VARCHAR", "delivered": "BOOLEAN", "detail": "VARCHAR",
    "notified_at": "TIMESTAMP", "run_id": "VARCHAR",
}


def replace(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], frame: pd.DataFrame,
            schema: str = SCHEMA) -> None:
    """Replace a table's content in one transaction, casting to the contract's types."""
    select = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in columns.items())
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_frame", frame[list(columns)])
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE OR REPLACE TABLE {schema}.{table} AS SELECT {select} FROM _frame")
        con.execute("COMMIT")
    finally:
        con.unregister("_frame")


def append(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], frame: pd.DataFrame,
           schema: str = SCHEMA) -> None:
    """Append (delivery history is kept across runs)."""
    cols = ", ".join(f"{n} {t}" for n, t in columns.items())
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({cols})")
    if frame.empty:
        return
    con.register("_frame", frame[list(columns)])
    try:
        con.execute(f"INSERT INTO {schema}.{table} SELECT {', '.join(columns)} FROM _frame")
    finally:
        con.unregister("_frame")
