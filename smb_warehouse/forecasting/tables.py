"""Tables the forecasting assets write into schema `ml` (the contract dbt reads back as sources).

Keep in step with macros/ml/ml_ensure_output_tables.sql (empty tables for a plain `dbt build`) and
models/sources/_ml__sources.yml (column docs).
"""
from __future__ import annotations

import duckdb
import pandas as pd

SCHEMA = "ml"

DDL: dict[str, str] = {
    # The current forecast: replaced by every scoring (also after a rollback).
    "demand_forecasts": """
        sku VARCHAR NOT NULL, location_id VARCHAR NOT NULL, origin_date DATE NOT NULL, forecast_date DATE NOT NULL,
        horizon INTEGER NOT NULL, prediction DOUBLE NOT NULL, lower DOUBLE NOT NULL, upper DOUBLE NOT NULL,
        model_name VARCHAR NOT NULL, model_version VARCHAR NOT NULL, mlflow_run_id VARCHAR NOT NULL,
        feature_snapshot VARCHAR NOT NULL, scored_at TIMESTAMP NOT NULL,
        PRIMARY KEY (sku, location_id, forecast_date)""",
    # Every forecast ever scored, so accuracy can be measured once actuals arrive.
    "demand_forecast_log": """
        sku VARCHAR NOT NULL, location_id VARCHAR NOT NULL, origin_date DATE NOT NULL, forecast_date DATE NOT NULL,
        horizon INTEGER NOT NULL, prediction DOUBLE NOT NULL, lower DOUBLE NOT NULL, upper DOUBLE NOT NULL,
        model_name VARCHAR NOT NULL, model_version VARCHAR NOT NULL, mlflow_run_id VARCHAR NOT NULL,
        feature_snapshot VARCHAR NOT NULL, scored_at TIMESTAMP NOT NULL""",
    "drift_metrics": """
        computed_at TIMESTAMP NOT NULL, dagster_run_id VARCHAR NOT NULL, model_name VARCHAR NOT NULL,
        model_version VARCHAR, drift_kind VARCHAR NOT NULL, column_name VARCHAR NOT NULL, method VARCHAR,
        drift_score DOUBLE, threshold DOUBLE, drifted BOOLEAN NOT NULL, reference_start DATE, reference_end DATE,
        current_start DATE, current_end DATE, report_path VARCHAR""",
    "forecast_quality": """
        computed_at TIMESTAMP NOT NULL, dagster_run_id VARCHAR NOT NULL, model_name VARCHAR NOT NULL,
        model_version VARCHAR, evaluation_source VARCHAR NOT NULL, metric_name VARCHAR NOT NULL,
        metric_value DOUBLE, n_points BIGINT NOT NULL, window_start DATE, window_end DATE, report_path VARCHAR""",
}


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [SCHEMA, table]).fetchall()]


def ensure(con: duckdb.DuckDBPyConnection, ddl: dict[str, str] = DDL) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for name, body in ddl.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{name} ({body})")


def replace(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, ddl: dict[str, str] = DDL) -> None:
    """Swap the whole table in one transaction (readers never see it half written)."""
    _write(con, table, frame, ddl, replace_all=True)


def append(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, delete_where: str | None = None,
           params: list | None = None, ddl: dict[str, str] = DDL) -> None:
    """Append rows; `delete_where` first removes the rows they supersede (idempotent re-runs)."""
    _write(con, table, frame, ddl, replace_all=False, delete_where=delete_where, params=params)


def _write(con, table, frame, ddl, replace_all, delete_where=None, params=None) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        if replace_all:
            con.execute(f"CREATE OR REPLACE TABLE {SCHEMA}.{table} ({ddl[table]})")
        else:
            con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table} ({ddl[table]})")
            if delete_where:
                con.execute(f"DELETE FROM {SCHEMA}.{table} WHERE {delete_where}", params or [])
        cols = columns(con, table)
        view = f"__ml_{table}"
        con.register(view, frame[cols])
        con.execute(f"INSERT INTO {SCHEMA}.{table} SELECT * FROM {view}")
        con.unregister(view)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
