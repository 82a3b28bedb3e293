"""Score what serves on the feature table's future rows: a registered version (always loaded from the
registry, pinned to one version), or a baseline (``baseline:<name>`` in model_version and mlflow_run_id of every
row); and write the current forecast plus its append-only log."""
from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from smb_warehouse.core import registry
from smb_warehouse.forecasting import baselines, tables
from smb_warehouse.forecasting.backtest import score_rows
from smb_warehouse.forecasting.config import MODEL_NAME
from smb_warehouse.forecasting.dataset import fingerprint, prepare


def score(features: pd.DataFrame, model_name: str = MODEL_NAME, version: str | None = None) -> pd.DataFrame:
    """Forecast rows (the columns of ml.demand_forecasts) of registered ``version`` (default: the champion),
    origin = the last actual day, horizons 1..its spec's horizon. Raises RuntimeError when the version is unknown."""
    info = registry.version_info(model_name, version)
    if info is None:
        raise RuntimeError(f"{model_name} has no {'version ' + version if version else 'champion'} in the registry")
    model = registry.load(model_name, version=str(info.version))  # pinned: an alias move mid-run cannot mix versions
    data = prepare(features)
    rows = score_rows(data, model.spec)
    pred, lower, upper = model.predict_interval(rows)
    return _frame(rows, pred, lower, upper, model_name, str(info.version), info.run_id, fingerprint(features))


def score_baseline(features: pd.DataFrame, fit: baselines.BaselineFit, model_name: str = MODEL_NAME) -> pd.DataFrame:
    """Forecast rows of a baseline (``baselines.evaluate``): same columns as ``score``; model_version and
    mlflow_run_id say ``baseline:<name>``; intervals from the baseline's own backtest residuals."""
    from smb_warehouse.forecasting.model import intervals

    data = prepare(features)
    rows = score_rows(data, fit.spec)
    pred = baselines.predict(fit.name, rows)
    lower, upper = intervals(rows["horizon"].to_numpy(), pred, fit.quantiles)
    return _frame(rows, pred, lower, upper, model_name, fit.version, fit.version, fingerprint(features))


def empty() -> pd.DataFrame:
    """No forecast rows (the declared columns): what is written when nothing can forecast."""
    return pd.DataFrame(columns=tables.FORECASTS.column_names)


def _frame(rows, pred, lower, upper, model_name: str, version: str, run_id: str, snapshot: str) -> pd.DataFrame:
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    return pd.DataFrame({
        "sku": rows["sku"], "location_id": rows["location_id"],
        "origin_date": pd.to_datetime(rows["origin_date"]).dt.date,
        "forecast_date": pd.to_datetime(rows["forecast_date"]).dt.date,
        "horizon": rows["horizon"].astype(int), "prediction": np.asarray(pred, float),
        "lower": np.asarray(lower, float), "upper": np.asarray(upper, float),
        "model_name": model_name, "model_version": str(version), "mlflow_run_id": run_id,
        "feature_snapshot": snapshot, "scored_at": now,
    })


def write(con: duckdb.DuckDBPyConnection, forecasts: pd.DataFrame) -> None:
    """The current forecast and its log entry, in one transaction (``tables.write_forecasts``)."""
    tables.write_forecasts(con, forecasts)
