"""The median point forecast (ForecastSpec.point): its calibration map, that it uses nothing after a fold's
cut-off, and that on intermittent demand it beats the mean forecast and the zero forecast on WAPE.

Fast: a synthetic feature table with the columns of int_forecasting__demand_features (Poisson demand, a few
dense series and many sparse ones), no dbt, no Dagster.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smb_warehouse.forecasting import backtest
from smb_warehouse.forecasting.config import BacktestPlan, ForecastSpec
from smb_warehouse.forecasting.dataset import prepare
from smb_warehouse.forecasting.model import MEDIAN_MAP_MIN_POINTS, median_map

DAYS = 420


def _features(seed: int = 3) -> pd.DataFrame:
    """One row per series and day (the last 14 days in the future), the feature table's columns."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2030-01-01", periods=DAYS + 14, freq="D")
    weekly = np.array([1.2, 1.2, 1.1, 1.1, 1.0, 0.2, 0.2])
    frames = []
    for s, level in enumerate([6.0, 4.0, 3.0] + [0.3] * 9 + [0.08] * 8):  # units / day
        mean = level * weekly[dates.dayofweek] * (1 + 0.2 * np.sin(np.arange(len(dates)) / 58))
        qty = rng.poisson(mean).astype(float)
        qty[DAYS:] = np.nan
        q = pd.Series(qty)
        past = q.where(np.arange(len(q)) < DAYS)
        frames.append(pd.DataFrame({
            "sku": f"S{s:02d}", "location_id": "L1", "demand_date": dates.date, "is_future": np.arange(len(q)) >= DAYS,
            "quantity": qty, "category": "dense" if level > 1 else "sparse",
            "hist_mean_7d": past.rolling(7, 1).mean(), "hist_mean_28d": past.rolling(28, 1).mean(),
            "hist_mean_91d": past.rolling(91, 1).mean(), "hist_std_28d": past.rolling(28, 2).std(),
            "hist_nonzero_share_28d": (past > 0).astype(float).where(past.notna()).rolling(28, 1).mean(),
            "hist_weekend_share_28d": 0.1, "stocked_out": False,
            "iso_day_of_week": dates.dayofweek + 1, "month_number": dates.month, "is_weekend": dates.dayofweek >= 5,
            "promo_active": False, "promo_discount_pct": 0.0, "unit_price_base": 10.0, "effective_price_base": 10.0,
            "same_dow_mean_lag28_4w": sum(q.shift(k) for k in (28, 35, 42, 49)) / 4,
            **{f"qty_lag_{k}d": q.shift(k) for k in (7, 14, 21, 28)},
        }))
    return pd.concat(frames, ignore_index=True)


def test_median_map_is_monotone_and_recovers_poisson_medians():
    rng = np.random.default_rng(0)
    mean = np.repeat([0.2, 0.5, 1.0, 3.0, 8.0], 400)
    knots, values = median_map(mean * rng.uniform(0.9, 1.1, len(mean)), rng.poisson(mean))
    assert np.all(np.diff(values) >= 0)
    got = np.interp([0.2, 0.5, 1.0, 3.0, 8.0], knots, values)
    assert np.allclose(got, [0, 0, 1, 3, 8], atol=0.5), got  # Poisson medians (0.2 and 0.5: 0)
    with pytest.raises(ValueError, match="history too short"):
        median_map(np.ones(MEDIAN_MAP_MIN_POINTS - 1), np.ones(MEDIAN_MAP_MIN_POINTS - 1))


def test_a_fold_model_uses_nothing_after_its_cutoff():
    """Change every actual after the cut-off: the model fitted at the cut-off (and its median map) forecast the
    same numbers. The calibration that picks the median is therefore chosen on earlier data only."""
    features = _features()
    data = prepare(features)
    spec = ForecastSpec(point="median", max_iter=30)
    cutoff = data.last_actual_day - 28
    rows = backtest.fold_rows(data, spec, BacktestPlan(n_folds=2)).__next__()[1]
    before = backtest.fit_at(data, spec, cutoff).predict(rows)

    later = features.copy()
    after = (pd.to_datetime(later["demand_date"]) > pd.Timestamp(cutoff, unit="D")) & ~later["is_future"]
    later.loc[after, "quantity"] = later.loc[after, "quantity"] * 10 + 5
    assert backtest.fit_at(prepare(later), spec, cutoff).predict(rows) == pytest.approx(before)


def test_on_intermittent_demand_the_median_forecast_beats_the_mean_and_zero():
    data = prepare(_features())
    plan = BacktestPlan(n_folds=4)
    median = backtest.run(data, ForecastSpec(point="median", max_iter=30), plan).metrics
    mean = backtest.run(data, ForecastSpec(point="mean", max_iter=30), plan).metrics
    assert median["baseline_zero_wape"] == 1.0
    assert median["wape"] < 0.95 * min(mean["wape"], median["baseline_zero_wape"]), (median["wape"], mean["wape"])
    assert median["bias"] < 0 < median["wape"]  # the median under-forecasts the total: it is not expected units
