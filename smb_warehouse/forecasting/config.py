"""What the forecaster is (its spec) and how it is trained. The spec is logged with every run, so the
gate can re-fit the champion's spec on today's backtest folds."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace

MODEL_NAME = "demand_forecaster"
WORKFLOW = "demand_forecasting"     # name of the workflow in the safe-mode store (smb_warehouse/core/safe_mode.py)
SAFE_MODE = "champion_or_baseline"  # the forecast breaker's safe mode: no new challenger, no promotion
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
    loss: str = "poisson"          # HistGradientBoosting loss: poisson (the mean: expected units) or
                                   # absolute_error (sklearn's median boosting: its trees barely move from 0 on
                                   # mostly-zero targets, measured on Superstore; kept for comparison)
    point: str = "median"          # the point forecast served and scored. "median": the model's mean mapped to
                                   # the median of the actuals by a monotone calibration fitted on forecasts made
                                   # BEFORE the cut-off (model.median_map): WAPE's optimal point forecast, 0 where
                                   # most days sell nothing. "mean": expected units (the loss's own estimate)
    calibration_days: int = 56     # "median": the calibration model stops this many days before the cut-off and
                                   # forecasts from origins in those days; their actuals fit the map
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
        if self.loss not in ("poisson", "absolute_error"):
            raise ValueError(f"loss must be poisson or absolute_error, not {self.loss!r}")
        if self.point not in ("median", "mean"):
            raise ValueError(f"point must be median or mean, not {self.point!r}")
        if self.calibration_days < 7:
            raise ValueError("calibration_days >= 7")

    @property
    def feature_names(self) -> list[str]:
        return ["horizon", "category_code", *[f"origin_{c}" for c in self.origin_features],
                *[f"target_{c}" for c in self.target_features], "seasonal_naive"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ForecastSpec:
        raw = json.loads(text)
        raw.setdefault("point", "mean")  # specs logged before the median point forecast existed were mean models
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


@dataclass(frozen=True)
class Guards:
    """Every threshold of the forecasting workflow's gate, staged rollout and circuit breaker, in one place.

    Each field can be overridden by an environment variable ``SMB_FORECAST_<FIELD NAME IN CAPITALS>`` (e.g.
    ``SMB_FORECAST_REQUIRE_APPROVER=1``, ``SMB_FORECAST_SHADOW_DAYS=7``); ``Guards.from_env()`` reads them.
    WAPE = sum |actual - forecast| / sum actual (lower is better).

    Gate (training, on the same rolling-origin folds):
      baseline_margin     the candidate must beat EVERY baseline (seasonal naive, 28-day moving average, zero)
                          by this relative margin: WAPE <= (1 - margin) x baseline WAPE
      champion_margin     ... and the champion's spec re-fitted on the same folds: WAPE <= (1 - margin) x its WAPE
                          (0: ties pass, so the same spec retrained on newer data is a refresh)
    Staged rollout (live = logged forecasts whose actuals have arrived, "matured"):
      shadow_days         distinct matured forecast days a challenger needs in shadow before promotion
      promotion_tolerance challenger promoted when its live WAPE <= champion's x (1 + tolerance), same points
      rollback_degradation a promoted champion is rolled back when its live WAPE > the previous version's live
                          WAPE (while it served) x (1 + degradation)
      live_window_days    a live KPI counts the latest this many matured forecast days
      min_live_points     fewer matured points than this: no live verdict (no promotion, no rollback, no breach)
      require_approver    promotion waits for a recorded approval (who / why) of the version; off in the demo
    Circuit breaker (opens -> champion-or-baseline mode until a person or a healthy run closes it):
      max_input_quarantine_share  quarantined / read rows of the latest load of the sales inputs above this,
                          or any such file rejected, is an input contract problem
      breaker_drift_score a watched demand feature whose drift score (monitoring.feature_drift: Wasserstein
                          distance in reference standard deviations, last 28 days vs the 182 before) reaches
                          this opens the breaker (inf: never). Stricter than the monitoring check's verdict
                          (share of columns >= 0.1 std), which seasonal shifts trip and which only asks for a
                          retrain; a regime change moved the weekly profile 0.6 std in measurements
      live_breach_margin  the champion's live WAPE above the best baseline's on the same points x (1 + margin)
                          opens the breaker, and the best baseline serves instead of the champion
    """

    baseline_margin: float = 0.05
    champion_margin: float = 0.0
    shadow_days: int = 14
    promotion_tolerance: float = 0.0
    rollback_degradation: float = 0.25
    live_window_days: int = 28
    min_live_points: int = 50
    require_approver: bool = False
    max_input_quarantine_share: float = 0.02
    breaker_drift_score: float = 0.3
    live_breach_margin: float = 0.10

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Guards:
        """Defaults, overridden by ``SMB_FORECAST_<FIELD>`` variables. Raises ValueError naming a bad value."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"SMB_FORECAST_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                if f.type in ("bool", bool):
                    if raw.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                        raise ValueError(raw)
                    values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
                else:
                    values[f.name] = (int if f.type in ("int", int) else float)(raw)
            except ValueError:
                raise ValueError(f"SMB_FORECAST_{f.name.upper()}={raw!r} is not a valid {f.type}") from None
        return cls(**values)
