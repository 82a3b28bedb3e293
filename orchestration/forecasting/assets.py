"""Demand forecasting as governed assets: train a candidate (blocking gate check), promote it, score
with the champion, mirror the model registry, monitor drift and quality.

Graph: intermediate/int_forecasting__demand_features (dbt) -> forecasting/demand_forecaster_candidate [gate] ->
forecasting/demand_forecaster_champion -> ml/demand_forecasts (+ log) -> ml/model_registry (+ metrics),
ml/drift_metrics + ml/forecast_quality -> dbt marts kpi_forecasting__accuracy / kpi_ml__model_health -> publish.

No `from __future__ import annotations` here: Dagster checks the `context` annotation by identity.
"""
from collections.abc import Iterator
from typing import Union

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model

from orchestration.dbt.assets import warehouse_dbt_models
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core import python_tables, registry
from smb_warehouse.forecasting import scoring, tables
from smb_warehouse.forecasting.config import MODEL_NAME, BacktestPlan, ForecastSpec, TrainingConfig
from smb_warehouse.forecasting.dataset import FEATURES_MODEL, load_features
from smb_warehouse.forecasting.training import train_candidate

GROUP = "forecasting"
FEATURES = get_asset_key_for_model([warehouse_dbt_models], FEATURES_MODEL)
CANDIDATE = AssetKey([GROUP, "demand_forecaster_candidate"])
CHAMPION = AssetKey([GROUP, "demand_forecaster_champion"])
# Keys of the ml.* tables these assets write: as declared in models/sources/_ml__sources.yml.
FORECASTS = AssetKey(tables.FORECASTS.asset_key)
FORECAST_LOG = AssetKey(tables.FORECAST_LOG.asset_key)
REGISTRY, REGISTRY_METRICS = (AssetKey(python_tables.table(name).asset_key) for name in registry.MIRROR_TABLES)
DRIFT = AssetKey(tables.DRIFT.asset_key)
QUALITY = AssetKey(tables.QUALITY.asset_key)
GATE_CHECK = "beats_champion_and_baseline"
_DEFAULT = ForecastSpec()


class TrainingRunConfig(Config):
    """Knobs a run may change (the drift sensor shortens the window); the rest is ForecastSpec's default."""

    horizon: int = _DEFAULT.horizon
    train_days: int = _DEFAULT.train_days
    max_iter: int = _DEFAULT.max_iter
    learning_rate: float = _DEFAULT.learning_rate
    n_folds: int = 2
    force: bool = False  # retrain even when data and spec equal the champion's


class ScoringConfig(Config):
    rollback: bool = False  # move `champion` back to the version it replaced before scoring


def _features(warehouse: WarehouseResource, run_id: str) -> pd.DataFrame:
    with warehouse.connect(run_id) as con:
        return load_features(con)


@asset(
    key=CANDIDATE, group_name=GROUP, deps=[FEATURES], kinds={"mlflow", "scikitlearn"},
    description="Trains a demand-forecaster candidate on int_forecasting__demand_features, backtests it (rolling origin) against "
                "the seasonal-naive baseline and the champion's spec on the same folds, logs the run and registers "
                f"a version of `{MODEL_NAME}` in MLflow.",
    check_specs=[AssetCheckSpec(GATE_CHECK, asset=CANDIDATE, blocking=True,
                                description="Candidate backtest WAPE < seasonal naive and <= champion (same folds). "
                                            "Blocks promotion and scoring of a worse model.")],
)
def demand_forecaster_candidate(context: AssetExecutionContext, config: TrainingRunConfig,
                                warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    spec = ForecastSpec(horizon=config.horizon, train_days=config.train_days, max_iter=config.max_iter,
                        learning_rate=config.learning_rate)
    candidate = train_candidate(_features(warehouse, context.run_id),
                                TrainingConfig(spec=spec, plan=BacktestPlan(n_folds=config.n_folds)), force=config.force)
    d = candidate.decision
    context.log.info(f"{MODEL_NAME} v{candidate.version}: gate {'PASS' if d.passed else 'FAIL'} - {d.reason}")
    yield MaterializeResult(metadata={
        "model_version": candidate.version, "mlflow_run_id": candidate.run_id, "data_fingerprint": candidate.fingerprint,
        "reused_champion": candidate.reused_champion, "gate_passed": d.passed, "gate_reason": d.reason,
        "backtest_wape": MetadataValue.float(float(d.candidate_wape)),
        "baseline_wape": MetadataValue.float(float(d.baseline_wape)),
        "metrics": MetadataValue.json({k: round(float(v), 5) for k, v in candidate.metrics.items()}),
    })
    yield AssetCheckResult(check_name=GATE_CHECK, asset_key=CANDIDATE, passed=d.passed,
                           severity=AssetCheckSeverity.ERROR, description=d.reason, metadata={
                               "candidate_version": candidate.version, "candidate_wape": float(d.candidate_wape),
                               "baseline_wape": float(d.baseline_wape),
                               "champion_wape": float(d.champion_wape) if d.champion_wape is not None else -1.0,
                               "champion_version": d.champion_version or ""})


@asset(key=CHAMPION, group_name=GROUP, deps=[CANDIDATE], kinds={"mlflow"},
       description=f"Moves the `champion` alias of `{MODEL_NAME}` to the candidate that passed the gate (runs only "
                   "when the blocking gate check passed).")
def demand_forecaster_champion(context: AssetExecutionContext) -> MaterializeResult:
    event = context.instance.get_latest_materialization_event(CANDIDATE)
    meta = event.asset_materialization.metadata
    version = str(meta["model_version"].value)
    previous = None if meta["reused_champion"].value else registry.promote(MODEL_NAME, version)
    context.log.info(f"champion = v{version}" + (f" (was v{previous})" if previous else ""))
    return MaterializeResult(metadata={"champion_version": version, "previous_champion": previous or ""})


@multi_asset(
    specs=[AssetSpec(FORECASTS, group_name=GROUP, deps=[CHAMPION, FEATURES], kinds={"duckdb", "mlflow"},
                     description="Current forecast per sku / location / day from the champion version (registry only)."),
           AssetSpec(FORECAST_LOG, group_name=GROUP, deps=[CHAMPION, FEATURES], kinds={"duckdb"},
                     description="Append-only log of every scored forecast (accuracy once actuals arrive).")],
    name="forecast_scoring",
)
def forecast_scoring(context: AssetExecutionContext, config: ScoringConfig,
                     warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    rolled = registry.rollback(MODEL_NAME) if config.rollback else None
    if rolled:
        context.log.info(f"rollback: champion v{rolled[0]} -> v{rolled[1]}")
    with warehouse.connect(context.run_id) as con:
        forecasts = scoring.score(load_features(con))
        scoring.write(con, forecasts)
        logged = con.execute(f"SELECT count(*) FROM {tables.FORECAST_LOG.relation}").fetchone()[0]
    first = forecasts.iloc[0] if len(forecasts) else None
    yield MaterializeResult(asset_key=FORECASTS, metadata={
        "rows": len(forecasts), "model_version": str(first["model_version"]) if first is not None else "",
        "mlflow_run_id": str(first["mlflow_run_id"]) if first is not None else "",
        "feature_snapshot": str(first["feature_snapshot"]) if first is not None else "",
        "rolled_back_from": rolled[0] if rolled else ""})
    yield MaterializeResult(asset_key=FORECAST_LOG, metadata={"rows": int(logged)})


@multi_asset(
    specs=[AssetSpec(REGISTRY, group_name=GROUP, deps=[CHAMPION, FORECASTS], kinds={"duckdb", "mlflow"},
                     description="Mirror of the MLflow model registry: every version of EVERY registered model, "
                                 "aliases, gate status, fingerprint, code version."),
           AssetSpec(REGISTRY_METRICS, group_name=GROUP, deps=[CHAMPION, FORECASTS], kinds={"duckdb", "mlflow"},
                     description="Run metrics of every registered model version (long format).")],
    name="model_registry_mirror",
)
def model_registry_mirror(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    versions, metrics = registry.mirror_frames()
    with warehouse.connect(context.run_id) as con:
        registry.write_mirror(con, versions, metrics)
    champions = versions.loc[versions["is_champion"], ["model_name", "model_version"]]
    yield MaterializeResult(asset_key=REGISTRY, metadata={
        "versions": len(versions), "models": int(versions["model_name"].nunique()),
        "champions": MetadataValue.json(dict(zip(champions["model_name"], champions["model_version"])))})
    yield MaterializeResult(asset_key=REGISTRY_METRICS, metadata={"rows": len(metrics)})
