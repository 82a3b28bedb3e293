"""The tables the cash-flow assets write (schema `cashflow`, declared in models/sources/_cashflow__sources.yml)
and the dbt models they read."""
from __future__ import annotations

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest, python_tables
from smb_warehouse.core.warehouse import Append, Replace, write_tables

SCORES = python_tables.table("cashflow.bank_txn_scores")
DELIVERIES = python_tables.table("cashflow.alert_deliveries")
SCHEMA = SCORES.schema
FEATURES_MODEL = "int_cashflow__bank_txn_features"
ALERTS_MODEL = "fct_cash_alerts"


def read_features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per bank line (int_cashflow__bank_txn_features), ordered by finance_bank_txn_id."""
    return con.execute(f"SELECT * FROM {dbt_manifest.relation(FEATURES_MODEL)} ORDER BY finance_bank_txn_id").df()


def read_alerts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every open alert (fct_cash_alerts), ordered by severity, alert_type, alert_date."""
    return con.execute(f"SELECT * FROM {dbt_manifest.relation(ALERTS_MODEL)} ORDER BY severity, alert_type, alert_date").df()


def write_scores(con: duckdb.DuckDBPyConnection, scores: pd.DataFrame) -> None:
    """Replace cashflow.bank_txn_scores (one transaction); ``scores`` has its declared columns."""
    write_tables(con, [Replace(SCORES, scores)])


def record_deliveries(con: duckdb.DuckDBPyConnection, deliveries: pd.DataFrame) -> None:
    """Append to cashflow.alert_deliveries (delivery history is kept across runs)."""
    write_tables(con, [Append(DELIVERIES, deliveries)])
