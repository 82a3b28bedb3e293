"""Live KPIs of the forecasting workflow: WAPE of logged forecasts whose actuals have arrived ("matured").

Three questions, each answered on the same points for the things compared:
- ``serving_kpi``: how did the forecasts a version SERVED (ml.demand_forecast_log) do, over its latest
  ``Guards.live_window_days`` matured forecast days; and how would every baseline have done on exactly those
  points (seasonal naive and the 28-day moving average are recomputed from the feature table as of each
  forecast's origin; zero is zero). The circuit breaker compares the champion with the best of them; an
  automatic rollback compares the champion with the previous version's own served window.
- ``shadow_kpi``: how did a challenger's SHADOW forecasts (ml.demand_forecast_shadow_log, logged, never served)
  do against the champion's served forecasts from the same origins for the same (sku, location, day).

WAPE = sum |actual - forecast| / sum actual over the points (NaN when the actuals sum to 0).
Reads DuckDB through the run's candidate connection; relation names come from the declarations and the dbt
manifest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from smb_warehouse.forecasting import baselines, tables
from smb_warehouse.forecasting.dataset import features_relation


@dataclass(frozen=True)
class LiveKPI:
    """A live WAPE over ``points`` matured forecasts spanning ``days`` distinct forecast days."""

    version: str
    wape: float
    points: int
    days: int
    first_day: object = None
    last_day: object = None
    baseline_wapes: dict[str, float] = field(default_factory=dict)  # same points (serving_kpi only)

    def enough(self, min_points: int) -> bool:
        return self.points >= min_points and np.isfinite(self.wape)

    @property
    def best_baseline(self) -> str:
        return baselines.best(self.baseline_wapes)

    def describe(self) -> str:
        if not self.points:
            return f"v{self.version}: no matured forecasts yet"
        return (f"v{self.version} live WAPE {self.wape:.4f} over {self.points} points / {self.days} days "
                f"({self.first_day} .. {self.last_day})")


def _wape(actual: np.ndarray, pred: np.ndarray) -> float:
    total = float(np.sum(actual))
    return float(np.abs(actual - pred).sum() / total) if total > 0 else float("nan")


def _latest_days(frame: pd.DataFrame, days: int) -> pd.DataFrame:
    if frame.empty:
        return frame
    keep = sorted(frame["forecast_date"].unique())[-days:]
    return frame[frame["forecast_date"].isin(keep)]


def _kpi(version: str, frame: pd.DataFrame, pred: str = "prediction", with_baselines: bool = False) -> LiveKPI:
    if frame.empty:
        return LiveKPI(str(version), float("nan"), 0, 0)
    actual = frame["actual"].to_numpy(dtype=float)
    base = {name: _wape(actual, frame[f"baseline_{name}"].to_numpy(dtype=float)) for name in baselines.NAMES} \
        if with_baselines else {}
    return LiveKPI(str(version), _wape(actual, frame[pred].to_numpy(dtype=float)), len(frame),
                   int(frame["forecast_date"].nunique()), frame["forecast_date"].min(), frame["forecast_date"].max(), base)


def matured_served(con: duckdb.DuckDBPyConnection, model_name: str, version: str) -> pd.DataFrame:
    """Served forecasts of ``version`` with actuals: sku, location_id, origin_date, forecast_date, horizon,
    prediction, actual, baseline_seasonal_naive, baseline_moving_average_28d, baseline_zero (units)."""
    return con.execute(f"""
WITH log AS (
    SELECT DISTINCT sku, location_id, origin_date, forecast_date, horizon, prediction
    FROM {tables.FORECAST_LOG.quoted_relation} WHERE model_name = ? AND model_version = ?
), act AS (
    SELECT sku, location_id, demand_date, quantity, hist_mean_28d FROM {features_relation()} WHERE NOT is_future
)
SELECT log.*, t.quantity AS actual,
       coalesce(s.quantity, 0) AS baseline_seasonal_naive,
       coalesce(o.hist_mean_28d, 0) AS baseline_moving_average_28d,
       0.0 AS baseline_zero
FROM log
JOIN act AS t ON t.sku = log.sku AND t.location_id = log.location_id AND t.demand_date = log.forecast_date
LEFT JOIN act AS o ON o.sku = log.sku AND o.location_id = log.location_id AND o.demand_date = log.origin_date
LEFT JOIN act AS s ON s.sku = log.sku AND s.location_id = log.location_id
    AND s.demand_date = log.forecast_date - CAST(7 * ceil(log.horizon / 7.0) AS INTEGER)
ORDER BY log.forecast_date, log.sku, log.location_id, log.origin_date
""", [model_name, str(version)]).df()


def serving_kpi(con: duckdb.DuckDBPyConnection, model_name: str, version: str, window_days: int) -> LiveKPI:
    """Live WAPE of what ``version`` served over its latest ``window_days`` matured forecast days, with every
    baseline's WAPE on the same points."""
    return _kpi(version, _latest_days(matured_served(con, model_name, version), window_days), with_baselines=True)


def shadow_kpi(con: duckdb.DuckDBPyConnection, model_name: str, challenger: str,
               champion: str) -> tuple[LiveKPI, LiveKPI]:
    """(challenger, champion) live WAPE on the points both forecast from the same origin: the challenger's
    shadow forecasts joined to the champion's served ones, matured only. All matured shadow days count."""
    frame = con.execute(f"""
SELECT s.forecast_date, s.prediction AS challenger, c.prediction AS champion, f.quantity AS actual
FROM {tables.SHADOW_LOG.quoted_relation} AS s
JOIN {tables.FORECAST_LOG.quoted_relation} AS c
  ON c.sku = s.sku AND c.location_id = s.location_id AND c.origin_date = s.origin_date
 AND c.forecast_date = s.forecast_date AND c.model_name = s.model_name AND c.model_version = ?
JOIN {features_relation()} AS f
  ON f.sku = s.sku AND f.location_id = s.location_id AND f.demand_date = s.forecast_date AND NOT f.is_future
WHERE s.model_name = ? AND s.model_version = ?
""", [str(champion), model_name, str(challenger)]).df()
    return _kpi(challenger, frame, "challenger"), _kpi(champion, frame, "champion")
