"""The forecaster (one global gradient-boosting model over all series and horizons, Poisson loss for
counts) with split-conformal prediction intervals, and the seasonal-naive baseline."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from smb_warehouse.forecasting.config import ForecastSpec

HORIZON_BUCKET_DAYS = 7  # conformal quantiles per week of horizon: uncertainty grows with the horizon
# OpenMP threads for the booster. 1 by default: on a shared 2-core box (Dagster, dbt and DuckDB running
# beside it) OpenMP spin-waiting made a 2-thread fit 8x SLOWER than a 1-thread fit in measurements.
THREADS = int(os.environ.get("SMB_ML_THREADS", "1"))


def seasonal_naive(rows: pd.DataFrame) -> np.ndarray:
    """Last same-weekday actual; 0 where the series has no such history yet."""
    return np.nan_to_num(rows["seasonal_naive"].to_numpy(dtype=float), nan=0.0)


def _scale(pred: np.ndarray) -> np.ndarray:
    # Poisson-like spread: errors grow with the square root of the level.
    return np.sqrt(np.maximum(pred, 0.0) + 1.0)


def _bucket(horizon: np.ndarray) -> np.ndarray:
    return (np.asarray(horizon) - 1) // HORIZON_BUCKET_DAYS


def conformal_quantiles(horizon: np.ndarray, actual: np.ndarray, pred: np.ndarray, coverage: float) -> dict[int, float]:
    """Per horizon bucket, the finite-sample (1 - alpha) quantile of |error| / scale."""
    scores = np.abs(actual - pred) / _scale(pred)
    out: dict[int, float] = {}
    buckets = _bucket(horizon)
    for b in np.unique(buckets):
        s = np.sort(scores[buckets == b])
        k = min(len(s) - 1, int(np.ceil((len(s) + 1) * coverage)) - 1)
        out[int(b)] = float(s[max(k, 0)])
    return out


def intervals(horizon: np.ndarray, pred: np.ndarray, quantiles: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    fallback = max(quantiles.values()) if quantiles else 0.0
    q = np.array([quantiles.get(int(b), fallback) for b in _bucket(horizon)])
    half = q * _scale(pred)
    return np.maximum(pred - half, 0.0), pred + half


class DemandForecaster:
    """fit / predict on rows from smb_warehouse.forecasting.dataset.pairs; carries its spec and interval quantiles."""

    def __init__(self, spec: ForecastSpec):
        self.spec = spec
        self.categories: list[str] = []
        self.quantiles: dict[int, float] = {}
        self.estimator: HistGradientBoostingRegressor | None = None

    def _matrix(self, rows: pd.DataFrame) -> pd.DataFrame:
        X = rows.reindex(columns=[c for c in self.spec.feature_names if c != "category_code"]).astype(float)
        codes = pd.Categorical(rows["category"], categories=self.categories).codes.astype(float)
        X.insert(1, "category_code", np.where(codes < 0, np.nan, codes))
        return X

    def fit(self, rows: pd.DataFrame) -> DemandForecaster:
        rows = rows[np.isfinite(rows["actual"].to_numpy(dtype=float))]
        self.categories = sorted(rows["category"].dropna().unique().tolist())
        s = self.spec
        self.estimator = HistGradientBoostingRegressor(
            loss=s.loss, max_iter=s.max_iter, learning_rate=s.learning_rate, max_leaf_nodes=s.max_leaf_nodes,
            min_samples_leaf=s.min_samples_leaf, l2_regularization=s.l2_regularization,
            categorical_features=[1], early_stopping=False, random_state=s.seed)
        with threadpool_limits(THREADS):
            self.estimator.fit(self._matrix(rows), rows["actual"].to_numpy(dtype=float))
        return self

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        if self.estimator is None:
            raise RuntimeError("fit first")
        with threadpool_limits(THREADS):
            return self.estimator.predict(self._matrix(rows))

    def calibrate(self, horizon: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> None:
        """Out-of-sample residuals (the backtest's) set the interval width."""
        self.quantiles = conformal_quantiles(horizon, actual, pred, self.spec.interval_coverage)

    def predict_interval(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = self.predict(rows)
        lower, upper = intervals(rows["horizon"].to_numpy(), pred, self.quantiles)
        return pred, lower, upper
