"""What the forecaster is (its spec) and how it is trained. The spec is logged with every run, so the
gate can re-fit the champion's spec on today's backtest folds."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

MODEL_NAME = "demand_forecaster"
EXPERIMENT = "demand_forecasting"
CHAMPION_ALIAS = "champion"
MAX_HORIZON = 28  # the SQL same-weekday lags start at 28 days: longer horizons would leak

# Columns of int_forecasting__demand_features read at the forecast ORIGIN (history as of that day)...
ORIGIN_FEATURES = ("quantity", "hist_mean_7d", "hist_mean_28d", "hist_mean_91d", "hist_std_28d",
                   "hist_nonzero_share_28d", "hist_weekend_share_28d", "stocked_out")
# ...and at the forecast TARGET day (known in advance).
TARGET_FEATURES = ("iso_day_of_week", "month_number", "is_weekend", "promo_active", "promo_discount_pct",
                   "unit_price_base", "effective_price_base", "same_dow_mean_lag28_4w")


@dataclass(frozen=True)
class ForecastSpec:
    """Everything that defines a candidate model; equal specs on equal data give equal models."""

    horizon: int = 14
    train_days: int = 182          # origins from the last N days before a fold's cut-off (recent beats long here)
    origin_stride: int = 7         # one origin per series every N days (staggered across series)
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    interval_coverage: float = 0.8  # nominal coverage of the split-conformal interval
    origin_features: tuple[str, ...] = ORIGIN_FEATURES
    target_features: tuple[str, ...] = TARGET_FEATURES
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.horizon <= MAX_HORIZON:
            raise ValueError(f"horizon must be 1..{MAX_HORIZON}")

    @property
    def feature_names(self) -> list[str]:
        return ["horizon", "category_code", *[f"origin_{c}" for c in self.origin_features],
                *[f"target_{c}" for c in self.target_features], "seasonal_naive"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ForecastSpec:
        raw = json.loads(text)
        raw["origin_features"] = tuple(raw["origin_features"])
        raw["target_features"] = tuple(raw["target_features"])
        return cls(**raw)

    def with_(self, **changes) -> ForecastSpec:
        return replace(self, **changes)


@dataclass(frozen=True)
class BacktestPlan:
    """Rolling origin: fold k cuts at last_actual_date - k * horizon and forecasts the next horizon days."""

    n_folds: int = 2

    def __post_init__(self) -> None:
        if self.n_folds < 2:
            raise ValueError("n_folds >= 2: interval coverage is measured with leave-one-fold-out calibration")


@dataclass(frozen=True)
class TrainingConfig:
    spec: ForecastSpec = field(default_factory=ForecastSpec)
    plan: BacktestPlan = field(default_factory=BacktestPlan)
