"""Tables the forecasting assets write into schema `ml` (declared in models/sources/_ml__sources.yml, which
dbt reads back as sources), and their writes: one transaction per asset."""
from __future__ import annotations

import duckdb
import pandas as pd

from smb_warehouse.core import python_tables
from smb_warehouse.core.warehouse import Append, Replace, write_tables

FORECASTS = python_tables.table("ml.demand_forecasts")          # the current forecast: replaced by every scoring
FORECAST_LOG = python_tables.table("ml.demand_forecast_log")    # every forecast ever served (accuracy later)
SHADOW_LOG = python_tables.table("ml.demand_forecast_shadow_log")  # challengers' forecasts: logged, never served
ROLLOUT_LOG = python_tables.table("ml.model_rollout_log")       # gate, shadow, promotion, rollback, approval events
DRIFT = python_tables.table("ml.drift_metrics")
QUALITY = python_tables.table("ml.forecast_quality")
SCHEMA = FORECASTS.schema


def write_forecasts(con: duckdb.DuckDBPyConnection, forecasts: pd.DataFrame) -> None:
    """Replace ml.demand_forecasts and append the same rows to ml.demand_forecast_log, in one transaction.
    A re-run of the same model version from the same origin replaces its earlier log rows (idempotent).
    ``forecasts``: the declared columns (``scoring.score`` returns them), one origin and version."""
    writes: list[Replace | Append] = [Replace(FORECASTS, forecasts)]
    if len(forecasts):
        first = forecasts.iloc[0]
        writes.append(Append(FORECAST_LOG, forecasts, delete_where="origin_date = ? AND model_name = ? AND model_version = ?",
                             params=[first["origin_date"], first["model_name"], first["model_version"]]))
    write_tables(con, writes)


def write_shadow(con: duckdb.DuckDBPyConnection, forecasts: pd.DataFrame) -> None:
    """Append a challenger's shadow forecasts (same columns as ``write_forecasts``; one origin and version) to
    ml.demand_forecast_shadow_log, replacing what the same version logged from the same origin before."""
    if len(forecasts):
        first = forecasts.iloc[0]
        write_tables(con, [Append(SHADOW_LOG, forecasts, delete_where="origin_date = ? AND model_name = ? AND model_version = ?",
                                  params=[first["origin_date"], first["model_name"], first["model_version"]])])


def write_monitoring(con: duckdb.DuckDBPyConnection, drift: pd.DataFrame, quality: pd.DataFrame, run_id: str) -> None:
    """Append one monitoring run's rows to ml.drift_metrics and ml.forecast_quality in one transaction,
    replacing rows an earlier attempt of the same Dagster run (``run_id``) wrote."""
    write_tables(con, [Append(DRIFT, drift, delete_where="dagster_run_id = ?", params=[run_id]),
                       Append(QUALITY, quality, delete_where="dagster_run_id = ?", params=[run_id])])
