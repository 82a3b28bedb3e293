"""From the dbt feature table to (origin, horizon) training / test / scoring rows.

No feature logic lives here: every column comes from models/intermediate/forecasting/int_forecasting__demand_features.
This module only pairs the row of a forecast origin (history as of that day) with the row of the day forecast (calendar,
promotion, price, same-weekday lags known in advance), by position: the feature table has one row per
series and day with no gaps, so "h days later" is "h rows later" within a series.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from smb_warehouse.core import dbt_manifest
from smb_warehouse.forecasting.config import BacktestPlan, ForecastSpec

FEATURES_MODEL = "int_forecasting__demand_features"  # the dbt model; its relation comes from the dbt manifest
KEY = ["sku", "location_id", "demand_date"]
NAIVE_LAGS = {7: "qty_lag_7d", 14: "qty_lag_14d", 21: "qty_lag_21d", 28: "qty_lag_28d"}


def features_relation() -> str:
    """``<schema>.<table>`` of the dbt feature model, as built (from the dbt manifest)."""
    return dbt_manifest.relation(FEATURES_MODEL)


def load_features(con: duckdb.DuckDBPyConnection, table: str | None = None) -> pd.DataFrame:
    """Every row of the feature model (or of ``table``), ordered by sku, location_id, demand_date."""
    return con.execute(f"SELECT * FROM {table or features_relation()} ORDER BY sku, location_id, demand_date").df()


def fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of the feature table (row order fixed by the key): equal hash, equal training data."""
    ordered = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    digest.update(",".join(ordered.columns).encode())
    return digest.hexdigest()[:16]


@dataclass
class Prepared:
    """The feature table plus positional helpers (row of series s on day d = start[s] + d - first[s])."""

    frame: pd.DataFrame
    day: np.ndarray          # days since epoch of each row
    series: np.ndarray       # series index of each row
    last_day: np.ndarray     # per row: the series' last spine day (actuals + future)
    last_actual_day: int     # last day with actuals (same for all series)

    @property
    def last_actual_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.last_actual_day, unit="D")


def prepare(frame: pd.DataFrame) -> Prepared:
    frame = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    day = (pd.to_datetime(frame["demand_date"]).to_numpy().astype("datetime64[D]").astype(np.int64))
    series = frame.groupby(["sku", "location_id"], sort=False).ngroup().to_numpy()
    last = pd.Series(day).groupby(series).transform("max").to_numpy()
    actual_days = day[~frame["is_future"].to_numpy(dtype=bool)]
    if not len(actual_days):
        raise ValueError("the feature table has no actuals")
    return Prepared(frame=frame, day=day, series=series, last_day=last, last_actual_day=int(actual_days.max()))


def origin_rows(data: Prepared, first_day: int, last_day: int, stride: int = 1) -> np.ndarray:
    """Rows usable as forecast origins on days [first_day, last_day]; every `stride`-th day per series,
    staggered by series so origins cover every weekday."""
    mask = (data.day >= first_day) & (data.day <= last_day) & ~data.frame["is_future"].to_numpy(dtype=bool)
    if stride > 1:
        mask &= (data.day + data.series) % stride == 0
    return np.flatnonzero(mask)


def pairs(data: Prepared, origins: np.ndarray, horizons: np.ndarray, spec: ForecastSpec,
          max_target_day: int | None = None) -> pd.DataFrame:
    """One row per (origin, horizon): model inputs, the baselines' inputs (seasonal_naive: the last same-weekday
    actual at or before the origin; moving_average_28d: the 28-day mean at the origin), ids and the actual
    (NaN on future days)."""
    o = np.repeat(origins, len(horizons))
    h = np.tile(horizons, len(origins))
    t = o + h
    limit = data.last_day[o] if max_target_day is None else np.minimum(data.last_day[o], max_target_day)
    keep = data.day[o] + h <= limit
    o, h, t = o[keep], h[keep], t[keep]
    f = data.frame
    out = {
        "sku": f["sku"].to_numpy()[t], "location_id": f["location_id"].to_numpy()[t],
        "origin_date": f["demand_date"].to_numpy()[o], "forecast_date": f["demand_date"].to_numpy()[t],
        "horizon": h, "category": f["category"].to_numpy()[t],
        "actual": f["quantity"].to_numpy(dtype=float)[t],
    }
    for c in spec.origin_features:
        out[f"origin_{c}"] = f[c].to_numpy(dtype=float)[o]
    for c in spec.target_features:
        out[f"target_{c}"] = f[c].to_numpy(dtype=float)[t]
    # Seasonal naive: the last same-weekday actual at or before the origin (lag 7 * ceil(h / 7) >= h).
    naive = np.full(len(t), np.nan)
    lag = 7 * np.ceil(h / 7).astype(int)
    for value, column in NAIVE_LAGS.items():
        sel = lag == value
        naive[sel] = f[column].to_numpy(dtype=float)[t[sel]]
    out["seasonal_naive"] = naive
    # Moving-average baseline: the mean of the 28 days up to the origin (what hist_mean_28d holds there).
    out["moving_average_28d"] = f["hist_mean_28d"].to_numpy(dtype=float)[o]
    return pd.DataFrame(out)


def fold_rows(data: Prepared, spec: ForecastSpec, plan: BacktestPlan):
    """(fold k, test rows) for k = n_folds .. 1: the rows forecast from origin c_k = last actual day - k x
    horizon, horizons 1..horizon, targets with actuals only. The same rows for the candidate, the champion's
    spec and every baseline (``backtest.run``, ``baselines.evaluate``): the gate compares like with like."""
    for k in range(plan.n_folds, 0, -1):
        cutoff = data.last_actual_day - k * spec.horizon
        test = pairs(data, origin_rows(data, cutoff, cutoff), np.arange(1, spec.horizon + 1), spec,
                     max_target_day=data.last_actual_day)
        yield k, test[np.isfinite(test["actual"].to_numpy(dtype=float))].copy()
