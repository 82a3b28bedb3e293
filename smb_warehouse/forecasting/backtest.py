"""Rolling-origin backtest: fold k trains on everything up to cut-off c_k = last actual day - k * horizon
and forecasts c_k + 1 .. c_k + horizon from origin c_k, for every series. Metrics pool all folds.

Interval coverage is honest: fold k's interval uses conformal quantiles from the OTHER folds' residuals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smb_warehouse.forecasting import baselines
from smb_warehouse.forecasting.config import BacktestPlan, ForecastSpec
from smb_warehouse.forecasting.dataset import Prepared, fold_rows, origin_rows, pairs
from smb_warehouse.forecasting.model import DemandForecaster, conformal_quantiles, intervals, median_map


def point_metrics(actual: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    actual, pred = np.asarray(actual, float), np.asarray(pred, float)
    total = actual.sum()
    nz = actual > 0
    return {
        "wape": float(np.abs(actual - pred).sum() / total) if total > 0 else float("nan"),
        "bias": float((pred - actual).sum() / total) if total > 0 else float("nan"),
        "mape": float(np.mean(np.abs(actual[nz] - pred[nz]) / actual[nz])) if nz.any() else float("nan"),
        "mae": float(np.mean(np.abs(actual - pred))) if len(actual) else float("nan"),
    }


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((actual >= lower) & (actual <= upper))) if len(actual) else float("nan")


@dataclass
class BacktestResult:
    predictions: pd.DataFrame      # one row per (fold, series, horizon)
    metrics: dict[str, float]      # pooled: wape, bias, mape, mae, interval_coverage, baseline_* (seasonal naive),
                                   # baseline_<name>_wape per baseline, n_points
    folds: list[dict]              # per fold: fold, window_start, window_end, n_points and the same metrics


def training_rows(data: Prepared, spec: ForecastSpec, cutoff: int) -> pd.DataFrame:
    """(origin, horizon) rows whose target day is <= cutoff, origins from the spec's training window."""
    origins = origin_rows(data, cutoff - spec.train_days, cutoff - 1, spec.origin_stride)
    return pairs(data, origins, np.arange(1, spec.horizon + 1), spec, max_target_day=cutoff)


def calibration_rows(data: Prepared, spec: ForecastSpec, cutoff: int) -> pd.DataFrame:
    """(origin, horizon) rows from origins in the ``spec.calibration_days`` days before ``cutoff`` (the spec's
    stride), targets <= cutoff, actuals only: what the median map of a model fitted at ``cutoff`` is fitted on."""
    origins = origin_rows(data, cutoff - spec.calibration_days, cutoff - 1, spec.origin_stride)
    rows = pairs(data, origins, np.arange(1, spec.horizon + 1), spec, max_target_day=cutoff)
    return rows[np.isfinite(rows["actual"].to_numpy(dtype=float))]


def fit_at(data: Prepared, spec: ForecastSpec, cutoff: int) -> DemandForecaster:
    """The model fitted on targets <= ``cutoff``. With ``spec.point == "median"`` also its median map: a second
    model fitted on targets <= cutoff - calibration_days forecasts ``calibration_rows`` (out of sample for it),
    and ``model.median_map`` maps those mean forecasts to their actuals. Nothing after ``cutoff`` is used.
    Raises ValueError when there are no training rows or too few calibration points."""
    rows = training_rows(data, spec, cutoff)
    if rows.empty:
        raise ValueError(f"no training rows up to {pd.Timestamp(cutoff, unit='D').date()}: history too short")
    model = DemandForecaster(spec).fit(rows)
    if spec.point == "median":
        inner_rows = training_rows(data, spec, cutoff - spec.calibration_days)
        if inner_rows.empty:
            raise ValueError(f"no history before {pd.Timestamp(cutoff - spec.calibration_days, unit='D').date()} to "
                             "calibrate the median forecast; use ForecastSpec(point='mean')")
        inner = DemandForecaster(spec).fit(inner_rows)
        cal = calibration_rows(data, spec, cutoff)
        model.set_median_map(*median_map(inner.predict_mean(cal), cal["actual"].to_numpy(dtype=float)))
    return model


def run(data: Prepared, spec: ForecastSpec, plan: BacktestPlan) -> BacktestResult:
    """Fit at every fold's cut-off, predict its rows; every baseline on the same rows (columns
    ``baseline_<name>``; ``baseline`` is seasonal naive). Raises ValueError when no fold has actuals."""
    parts = []
    for k, test in fold_rows(data, spec, plan):
        if test.empty:
            continue
        model = fit_at(data, spec, data.last_actual_day - k * spec.horizon)
        test["fold"] = k
        test["prediction"] = model.predict(test)
        test = baselines.add_columns(test)
        test["baseline"] = test["baseline_seasonal_naive"]
        parts.append(test)
    if not parts:
        raise ValueError(f"no backtest fold has actuals: {plan.n_folds} folds of {spec.horizon} days need more history "
                         f"than the feature table has (last actual day {data.last_actual_date.date()})")
    preds = pd.concat(parts, ignore_index=True)
    preds["lower"], preds["upper"] = np.nan, np.nan
    for k in preds["fold"].unique():
        this, other = preds["fold"] == k, preds["fold"] != k
        q = conformal_quantiles(preds.loc[other, "horizon"].to_numpy(), preds.loc[other, "actual"].to_numpy(),
                                preds.loc[other, "prediction"].to_numpy(), spec.interval_coverage)
        lo, hi = intervals(preds.loc[this, "horizon"].to_numpy(), preds.loc[this, "prediction"].to_numpy(), q)
        preds.loc[this, "lower"], preds.loc[this, "upper"] = lo, hi
    return BacktestResult(predictions=preds, metrics=_summary(preds), folds=[
        {"fold": int(k), "window_start": g["forecast_date"].min(), "window_end": g["forecast_date"].max(), **_summary(g)}
        for k, g in preds.groupby("fold")])


def _summary(preds: pd.DataFrame) -> dict[str, float]:
    a = preds["actual"].to_numpy()
    model = point_metrics(a, preds["prediction"].to_numpy())
    base = point_metrics(a, preds["baseline"].to_numpy())
    per_baseline = {f"baseline_{name}_wape": v for name, v in baselines.wapes(preds).items()}
    return {**model, "interval_coverage": coverage(a, preds["lower"].to_numpy(), preds["upper"].to_numpy()),
            **{f"baseline_{k}": v for k, v in base.items()}, **per_baseline, "n_points": float(len(preds))}


def fit_final(data: Prepared, spec: ForecastSpec, result: BacktestResult) -> DemandForecaster:
    """The model to register: trained on everything, intervals calibrated on all backtest residuals."""
    model = fit_at(data, spec, data.last_actual_day)
    p = result.predictions
    model.calibrate(p["horizon"].to_numpy(), p["actual"].to_numpy(), p["prediction"].to_numpy())
    return model


def score_rows(data: Prepared, spec: ForecastSpec) -> pd.DataFrame:
    """Rows to forecast: origin = last actual day, horizons 1..spec.horizon (future rows of the table)."""
    origins = origin_rows(data, data.last_actual_day, data.last_actual_day)
    return pairs(data, origins, np.arange(1, spec.horizon + 1), spec)
