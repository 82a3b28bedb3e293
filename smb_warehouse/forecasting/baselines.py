"""The baselines every candidate must beat, and the fallback that serves when no model may: seasonal naive
(the last same-weekday actual at or before the origin), a 28-day moving average (the mean of the 28 days up to
the origin) and the zero forecast. None of them is fitted: each is a function of the (origin, horizon) rows of
``smb_warehouse.forecasting.dataset.pairs``, so they are evaluated on exactly the candidate's backtest rows.

A baseline that serves is named ``baseline:<name>`` in every prediction row (model_version and mlflow_run_id;
model_name stays the workflow's model), with split-conformal intervals from its own backtest residuals.

Zero is the median forecast of intermittent demand: on sparse series (most days 0) no mean forecast beats it on
absolute error, which is why the gate must compare with it (a WAPE above 1.0 is worse than forecasting nothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smb_warehouse.forecasting.config import BacktestPlan, ForecastSpec

NAMES = ("seasonal_naive", "moving_average_28d", "zero")
PREFIX = "baseline:"


def label(name: str) -> str:
    """``baseline:<name>``: what prediction rows of a serving baseline carry as model_version."""
    return f"{PREFIX}{name}"


def is_baseline(version: str | None) -> bool:
    return bool(version) and str(version).startswith(PREFIX)


def predict(name: str, rows: pd.DataFrame) -> np.ndarray:
    """Point forecasts of baseline ``name`` for ``pairs`` rows (units; 0 where the history is missing).
    Raises KeyError for an unknown name."""
    if name == "seasonal_naive":
        return np.nan_to_num(rows["seasonal_naive"].to_numpy(dtype=float), nan=0.0)
    if name == "moving_average_28d":
        return np.nan_to_num(rows["moving_average_28d"].to_numpy(dtype=float), nan=0.0)
    if name == "zero":
        return np.zeros(len(rows))
    raise KeyError(f"unknown baseline {name!r}; baselines: {', '.join(NAMES)}")


def add_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with one column ``baseline_<name>`` per baseline (a copy)."""
    rows = rows.copy()
    for name in NAMES:
        rows[f"baseline_{name}"] = predict(name, rows)
    return rows


def wapes(rows: pd.DataFrame) -> dict[str, float]:
    """WAPE of every baseline on rows that carry ``actual`` and the ``baseline_<name>`` columns (NaN when the
    actuals sum to 0)."""
    actual = rows["actual"].to_numpy(dtype=float)
    total = actual.sum()
    return {name: float(np.abs(actual - rows[f"baseline_{name}"].to_numpy(dtype=float)).sum() / total)
            if total > 0 else float("nan") for name in NAMES}


def best(scores: dict[str, float]) -> str:
    """The baseline with the lowest finite WAPE (ties: the order of NAMES); seasonal naive when none is finite."""
    finite = [(v, NAMES.index(k), k) for k, v in scores.items() if np.isfinite(v)]
    return min(finite)[2] if finite else NAMES[0]


@dataclass
class BaselineFit:
    """A baseline chosen on a rolling-origin backtest, with interval quantiles from its residuals there."""

    name: str
    wapes: dict[str, float]          # every baseline's backtest WAPE
    quantiles: dict[int, float]      # split-conformal |error| / scale quantile per horizon week
    spec: ForecastSpec
    backtest: pd.DataFrame           # the backtest rows with actual and baseline_<name> columns, fold

    @property
    def version(self) -> str:
        return label(self.name)


def evaluate(data, spec: ForecastSpec, plan: BacktestPlan, name: str | None = None) -> BaselineFit:
    """Backtest every baseline on the folds ``backtest.run`` would use (no fitting: cheap) and keep ``name``
    (default: the best). ``data``: ``dataset.Prepared``. Raises ValueError when no fold has actuals."""
    from smb_warehouse.forecasting.dataset import fold_rows
    from smb_warehouse.forecasting.model import conformal_quantiles

    parts = []
    for k, test in fold_rows(data, spec, plan):
        test = add_columns(test)
        test["fold"] = k
        parts.append(test)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if rows.empty:
        raise ValueError("no backtest rows with actuals: the feature table is too short for the baselines' folds")
    scores = wapes(rows)
    chosen = name or best(scores)
    q = conformal_quantiles(rows["horizon"].to_numpy(), rows["actual"].to_numpy(dtype=float),
                            rows[f"baseline_{chosen}"].to_numpy(dtype=float), spec.interval_coverage)
    return BaselineFit(chosen, scores, q, spec, rows)
