"""The forecaster (one global gradient-boosting model over all series and horizons, Poisson loss for
counts) with split-conformal prediction intervals, and the seasonal-naive baseline.

Point forecast. The Poisson loss estimates the MEAN of each day's demand; WAPE (sum |actual - forecast| /
sum actual) is minimised by the MEDIAN (the Bayes point forecast for absolute error: Gneiting, "Making and
evaluating point forecasts", JASA 106(494), 2011). Daily demand of most SKUs is intermittent, so the two differ
a lot (Superstore sub-categories: mean 2.2 units, median 0). With ``ForecastSpec.point == "median"`` the mean
is mapped to the median of the actuals by ``median_map``: a monotone (isotonic, PAVA; sklearn
IsotonicRegression) fit of per-bin medians of actuals on per-bin medians of out-of-sample mean forecasts,
fitted by ``backtest.fit_at`` on forecasts made before the cut-off only.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from smb_warehouse.forecasting.config import ForecastSpec

MEDIAN_MAP_BINS = 20        # the calibration forecasts are cut into at most this many bins (by forecast)...
MEDIAN_MAP_MIN_POINTS = 30  # ...of at least this many points each
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


def median_map(mean_forecast: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monotone map from a mean forecast (units) to the median of the actuals (units): the points sorted by
    forecast are cut into at most MEDIAN_MAP_BINS bins of >= MEDIAN_MAP_MIN_POINTS; per bin the median forecast
    (knot) and the median actual; the knots' values are made non-decreasing by an isotonic fit weighted by bin
    size. Returns (knots, values) for ``np.interp`` (flat beyond the end knots). Raises ValueError with fewer
    than MEDIAN_MAP_MIN_POINTS finite points."""
    from sklearn.isotonic import IsotonicRegression

    mean_forecast, actual = np.asarray(mean_forecast, float), np.asarray(actual, float)
    ok = np.isfinite(mean_forecast) & np.isfinite(actual)
    if ok.sum() < MEDIAN_MAP_MIN_POINTS:
        raise ValueError(f"{int(ok.sum())} points to calibrate the median forecast (need >= {MEDIAN_MAP_MIN_POINTS}): "
                         "history too short before the cut-off; use ForecastSpec(point='mean')")
    order = np.argsort(mean_forecast[ok], kind="stable")
    f, a = mean_forecast[ok][order], actual[ok][order]
    bins = np.array_split(np.arange(len(f)), min(MEDIAN_MAP_BINS, len(f) // MEDIAN_MAP_MIN_POINTS))
    knots = np.array([np.median(f[b]) for b in bins])
    medians = np.array([np.median(a[b]) for b in bins])
    values = IsotonicRegression(increasing=True).fit(knots, medians, sample_weight=[len(b) for b in bins]).predict(knots)
    return knots, values


class DemandForecaster:
    """fit / predict on rows from smb_warehouse.forecasting.dataset.pairs; carries its spec, interval quantiles
    and (``spec.point == "median"``) the median map from its mean to its point forecast."""

    def __init__(self, spec: ForecastSpec):
        self.spec = spec
        self.categories: list[str] = []
        self.quantiles: dict[int, float] = {}
        self.estimator: HistGradientBoostingRegressor | None = None
        self.median_knots: np.ndarray | None = None
        self.median_values: np.ndarray | None = None

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

    def predict_mean(self, rows: pd.DataFrame) -> np.ndarray:
        """The estimator's own forecast (units): the mean with the Poisson loss."""
        if self.estimator is None:
            raise RuntimeError("fit first")
        with threadpool_limits(THREADS):
            return self.estimator.predict(self._matrix(rows))

    def set_median_map(self, knots: np.ndarray, values: np.ndarray) -> None:
        self.median_knots, self.median_values = np.asarray(knots, float), np.asarray(values, float)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """The point forecast (units): the mean, or with ``spec.point == "median"`` the mean through the median
        map. Raises RuntimeError when a median model has no map (``backtest.fit_at`` sets it)."""
        mean = self.predict_mean(rows)
        if getattr(self.spec, "point", "mean") == "mean":
            return mean
        if getattr(self, "median_knots", None) is None:
            raise RuntimeError("a median point forecast needs its median map (backtest.fit_at fits it)")
        return np.interp(mean, self.median_knots, self.median_values)

    def calibrate(self, horizon: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> None:
        """Out-of-sample residuals (the backtest's) set the interval width."""
        self.quantiles = conformal_quantiles(horizon, actual, pred, self.spec.interval_coverage)

    def predict_interval(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = self.predict(rows)
        lower, upper = intervals(rows["horizon"].to_numpy(), pred, self.quantiles)
        return pred, lower, upper
