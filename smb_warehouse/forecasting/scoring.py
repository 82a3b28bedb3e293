"""Score the champion (always loaded from the registry, pinned to one version) on the feature table's
future rows, and write the current forecast plus its append-only log."""
from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from smb_warehouse.core import registry
from smb_warehouse.forecasting import tables
from smb_warehouse.forecasting.backtest import score_rows
from smb_warehouse.forecasting.config import MODEL_NAME
from smb_warehouse.forecasting.dataset import fingerprint, prepare


def score(features: pd.DataFrame, model_name: str = MODEL_NAME, version: str | None = None) -> pd.DataFrame:
    info = registry.version_info(model_name, version)
    if info is None:
        raise RuntimeError(f"{model_name} has no {'version ' + version if version else 'champion'} in the registry")
    model = registry.load(model_name, version=str(info.version))  # pinned: an alias move mid-run cannot mix versions
    data = prepare(features)
    rows = score_rows(data, model.spec)
    pred, lower, upper = model.predict_interval(rows)
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    return pd.DataFrame({
        "sku": rows["sku"], "location_id": rows["location_id"],
        "origin_date": pd.to_datetime(rows["origin_date"]).dt.date,
        "forecast_date": pd.to_datetime(rows["forecast_date"]).dt.date,
        "horizon": rows["horizon"].astype(int), "prediction": np.asarray(pred, float),
        "lower": np.asarray(lower, float), "upper": np.asarray(upper, float),
        "model_name": model_name, "model_version": str(info.version), "mlflow_run_id": info.run_id,
        "feature_snapshot": fingerprint(features), "scored_at": now,
    })


def write(con: duckdb.DuckDBPyConnection, forecasts: pd.DataFrame) -> None:
    """The current forecast and its log entry, in one transaction (``tables.write_forecasts``)."""
    tables.write_forecasts(con, forecasts)
