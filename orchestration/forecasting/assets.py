"""Demand forecasting as governed assets that degrade safely: train and gate a candidate (a WARN check: a
refused candidate never stops the run), decide the rollout (circuit breaker, rollback, challenger in shadow,
promotion; smb_warehouse/forecasting/rollout.py), score what may serve (the champion, or the best baseline)
and the challenger in shadow, mirror the model registry.

Graph: intermediate/int_forecasting__demand_features (dbt) -> forecasting/demand_forecaster_candidate [gate,
WARN] -> forecasting/demand_forecaster_champion (+ ml/model_rollout_log) -> ml/demand_forecasts (+ log, shadow
log) -> ml/model_registry (+ metrics), ml/drift_metrics + ml/forecast_quality, ml/workflow_safe_mode_log ->
dbt marts kpi_forecasting__accuracy / kpi_ml__model_health / kpi_ml__workflow_health -> publish.

Dagster cannot make a check block one downstream asset and not the others, so the gate check only warns and
the promotion decision lives inside demand_forecaster_champion: the rest of the warehouse always publishes.

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
from smb_warehouse.core import python_tables, registry, safe_mode
from smb_warehouse.forecasting import baselines, rollout, scoring, tables
from smb_warehouse.forecasting.config import MODEL_NAME, WORKFLOW, BacktestPlan, ForecastSpec, Guards, TrainingConfig
from smb_warehouse.forecasting.dataset import FEATURES_MODEL, load_features
from smb_warehouse.forecasting.training import train_candidate

GROUP = "forecasting"
FEATURES = get_asset_key_for_model([warehouse_dbt_models], FEATURES_MODEL)
LOAD_AUDIT = get_asset_key_for_model([warehouse_dbt_models], rollout.LOAD_AUDIT_MODEL)  # the breaker's input-contract guard
CANDIDATE = AssetKey([GROUP, "demand_forecaster_candidate"])
CHAMPION = AssetKey([GROUP, "demand_forecaster_champion"])
# Keys of the ml.* tables these assets write: as declared in models/sources/_ml__sources.yml.
FORECASTS = AssetKey(tables.FORECASTS.asset_key)
FORECAST_LOG = AssetKey(tables.FORECAST_LOG.asset_key)
SHADOW_LOG = AssetKey(tables.SHADOW_LOG.asset_key)
ROLLOUT_LOG = AssetKey(tables.ROLLOUT_LOG.asset_key)
REGISTRY, REGISTRY_METRICS = (AssetKey(python_tables.table(name).asset_key) for name in registry.MIRROR_TABLES)
DRIFT = AssetKey(tables.DRIFT.asset_key)
QUALITY = AssetKey(tables.QUALITY.asset_key)
GATE_CHECK = "beats_baselines_and_champion"
SERVING_CHECK = "serving_without_fallback"
_DEFAULT = ForecastSpec()


class TrainingRunConfig(Config):
    """Knobs a run may change (the drift sensor shortens the window); the rest is ForecastSpec's default."""

    horizon: int = _DEFAULT.horizon
    train_days: int = _DEFAULT.train_days
    max_iter: int = _DEFAULT.max_iter
    learning_rate: float = _DEFAULT.learning_rate
    point: str = _DEFAULT.point  # median (what WAPE rewards) or mean (expected units); see ForecastSpec
    n_folds: int = 2
    force: bool = False  # retrain even when data and spec equal the champion's


class RolloutRunConfig(Config):
    """A person's rollback (the forecast_rollback_job sets it): move `champion` back to the version it replaced."""

    rollback: bool = False
    requested_by: str = "unknown"


def _features(warehouse: WarehouseResource, run_id: str) -> pd.DataFrame:
    with warehouse.connect(run_id) as con:
        return load_features(con)


def _this_run(context: AssetExecutionContext, key: AssetKey):
    """Metadata of ``key``'s materialization in THIS run, or None."""
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.run_id != context.run_id:
        return None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


@asset(
    key=CANDIDATE, group_name=GROUP, deps=[FEATURES], kinds={"mlflow", "scikitlearn"},
    description="Trains a demand-forecaster candidate on int_forecasting__demand_features, backtests it (rolling origin) "
                "against the seasonal-naive, moving-average and zero baselines and the champion's spec on the same "
                f"folds, logs the run and registers a version of `{MODEL_NAME}` in MLflow (gate_status passed / refused).",
    check_specs=[AssetCheckSpec(GATE_CHECK, asset=CANDIDATE, blocking=False,
                                description="Candidate backtest WAPE beats every baseline (seasonal naive, 28-day moving "
                                            "average, zero) by the configured margin and is not worse than the champion "
                                            "(same folds). WARN only: a refused candidate is never promoted, the champion "
                                            "or the best baseline keeps serving and the warehouse still publishes.")],
)
def demand_forecaster_candidate(context: AssetExecutionContext, config: TrainingRunConfig,
                                warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    spec = ForecastSpec(horizon=config.horizon, train_days=config.train_days, max_iter=config.max_iter,
                        learning_rate=config.learning_rate, point=config.point)
    try:
        candidate = train_candidate(_features(warehouse, context.run_id),
                                    TrainingConfig(spec=spec, plan=BacktestPlan(n_folds=config.n_folds)),
                                    force=config.force, guards=Guards.from_env())
    except ValueError as exc:  # no actuals, history too short for the folds: no candidate, never a halt
        reason = f"no candidate trained: {exc}"
        context.log.warning(f"{MODEL_NAME}: {reason}")
        yield MaterializeResult(metadata={"model_version": "", "gate_passed": False, "gate_reason": reason,
                                          "reused_champion": False})
        yield AssetCheckResult(check_name=GATE_CHECK, asset_key=CANDIDATE, passed=False, severity=AssetCheckSeverity.WARN,
                               description=reason)
        return
    d = candidate.decision
    context.log.info(f"{MODEL_NAME} v{candidate.version}: gate {'PASS' if d.passed else 'FAIL'} - {d.reason}")
    yield MaterializeResult(metadata={
        "model_version": candidate.version, "mlflow_run_id": candidate.run_id, "data_fingerprint": candidate.fingerprint,
        "reused_champion": candidate.reused_champion, "gate_passed": d.passed, "gate_reason": d.reason,
        "backtest_wape": MetadataValue.float(float(d.candidate_wape)),
        "baseline_wape": MetadataValue.float(float(d.baseline_wape)),
        "baseline_wapes": MetadataValue.json({k: round(float(v), 5) for k, v in d.baseline_wapes.items()}),
        "metrics": MetadataValue.json({k: round(float(v), 5) for k, v in candidate.metrics.items()}),
    })
    yield AssetCheckResult(check_name=GATE_CHECK, asset_key=CANDIDATE, passed=d.passed,
                           severity=AssetCheckSeverity.WARN, description=d.reason, metadata={
                               "candidate_version": candidate.version, "candidate_wape": float(d.candidate_wape),
                               "baseline_wapes": MetadataValue.json({k: float(v) for k, v in d.baseline_wapes.items()}),
                               "best_baseline": d.best_baseline,
                               "champion_wape": float(d.champion_wape) if d.champion_wape is not None else -1.0,
                               "champion_version": d.champion_version or ""})


@multi_asset(
    specs=[AssetSpec(CHAMPION, group_name=GROUP, deps=[CANDIDATE, FEATURES, LOAD_AUDIT], kinds={"mlflow"},
                     description=f"The rollout decision of `{MODEL_NAME}` for this run: circuit breaker (input contract, "
                                 "drift, live KPI), automatic or requested rollback, challenger in shadow, promotion "
                                 "(live KPI at least as good, optional named approver), and what serves: the champion or "
                                 "the best baseline."),
           AssetSpec(ROLLOUT_LOG, group_name=GROUP, deps=[CANDIDATE], kinds={"duckdb", "sqlite"},
                     description="Every rollout decision (append-only store, copied whole).")],
    check_specs=[AssetCheckSpec(SERVING_CHECK, asset=CHAMPION, description=(
        "Warns when the forecast is served by a fallback: a baseline (no champion, or the champion's live KPI "
        "breached), the circuit breaker's safe mode, or the champion kept after a refused candidate."))],
    name="forecast_rollout",
)
def forecast_rollout(context: AssetExecutionContext, config: RolloutRunConfig,
                     warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    meta = None if config.rollback else _this_run(context, CANDIDATE)
    candidate = None
    if meta is not None:
        candidate = rollout.CandidateInfo(version=str(meta.get("model_version") or "none"), passed=bool(meta["gate_passed"]),
                                          reused_champion=bool(meta.get("reused_champion")), reason=str(meta["gate_reason"]),
                                          wape=meta.get("backtest_wape"), best_baseline_wape=meta.get("baseline_wape"))
    with warehouse.connect(context.run_id) as con:
        outcome = rollout.decide_and_apply(con, load_features(con), context.run_id, candidate=candidate,
                                           manual_rollback_by=config.requested_by if config.rollback else None)
        logged = rollout.write_log(con)
    for e in outcome.events:
        context.log.info(f"{e['event']} v{e['model_version']}: {e['reason']}")
    live = outcome.champion_live
    yield MaterializeResult(asset_key=CHAMPION, metadata={
        "serving_version": outcome.serving_version, "serving": outcome.serving,
        "champion_version": outcome.champion or "", "challenger_version": outcome.challenger or "",
        "breaker_state": outcome.breaker.state, "breaker_mode": outcome.breaker.mode,
        "breaker_reason": outcome.breaker.reason, "findings": MetadataValue.json(outcome.findings),
        "gate_passed": "" if outcome.gate_passed is None else outcome.gate_passed, "degraded": outcome.degraded,
        "rolled_back_from": outcome.rolled_back[0] if outcome.rolled_back else "",
        "champion_live_wape": MetadataValue.float(float(live.wape)) if live is not None and live.points else
        MetadataValue.float(float("nan")),
        "events": MetadataValue.json([{k: e[k] for k in ("event", "model_version", "reason", "other_version")}
                                      for e in outcome.events]),
        "detail": outcome.detail()})
    yield MaterializeResult(asset_key=ROLLOUT_LOG, metadata={"events": logged, "this_run": len(outcome.events)})
    yield AssetCheckResult(check_name=SERVING_CHECK, asset_key=CHAMPION, passed=not outcome.degraded,
                           severity=AssetCheckSeverity.WARN, description=outcome.detail(),
                           metadata={"serving": outcome.serving, "breaker_state": outcome.breaker.state})


@multi_asset(
    specs=[AssetSpec(FORECASTS, group_name=GROUP, deps=[CHAMPION, FEATURES], kinds={"duckdb", "mlflow"},
                     description="Current forecast per sku / location / day from what serves: the champion version "
                                 "(registry only), or the best baseline (model_version baseline:<name>)."),
           AssetSpec(FORECAST_LOG, group_name=GROUP, deps=[CHAMPION, FEATURES], kinds={"duckdb"},
                     description="Append-only log of every served forecast (accuracy once actuals arrive)."),
           AssetSpec(SHADOW_LOG, group_name=GROUP, deps=[CHAMPION, FEATURES], kinds={"duckdb", "mlflow"},
                     description="Forecasts of the challenger in shadow, from the same origin: logged, never served.")],
    name="forecast_scoring",
)
def forecast_scoring(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    decision = _this_run(context, CHAMPION)
    if decision is None:
        raise RuntimeError(f"{CHAMPION.to_user_string()} was not materialized in this run: nothing says what may serve")
    serving, challenger = str(decision["serving_version"]), str(decision["challenger_version"] or "")
    with warehouse.connect(context.run_id) as con:
        features = load_features(con)
        if serving == rollout.NOTHING:
            forecasts = scoring.empty()
        elif baselines.is_baseline(serving):
            fit = rollout.best_baseline(features, MODEL_NAME, serving.removeprefix(baselines.PREFIX))
            forecasts = scoring.score_baseline(features, fit)
        else:
            forecasts = scoring.score(features, MODEL_NAME, serving)
        scoring.write(con, forecasts)
        shadow = scoring.score(features, MODEL_NAME, challenger) if challenger else None
        if shadow is not None:
            tables.write_shadow(con, shadow)
        logged = con.execute(f"SELECT count(*) FROM {tables.FORECAST_LOG.relation}").fetchone()[0]
        shadowed = con.execute(f"SELECT count(*) FROM {tables.SHADOW_LOG.relation}").fetchone()[0]
    safe_mode.record_run(WORKFLOW, context.run_id, serving=str(decision["serving"]), degraded=bool(decision["degraded"]),
                         gate_passed=None if decision["gate_passed"] == "" else bool(decision["gate_passed"]),
                         detail=str(decision["detail"]))
    first = forecasts.iloc[0] if len(forecasts) else None
    yield MaterializeResult(asset_key=FORECASTS, metadata={
        "rows": len(forecasts), "model_version": str(first["model_version"]) if first is not None else "",
        "mlflow_run_id": str(first["mlflow_run_id"]) if first is not None else "",
        "feature_snapshot": str(first["feature_snapshot"]) if first is not None else "",
        "serving": str(decision["serving"]), "rolled_back_from": str(decision["rolled_back_from"])})
    yield MaterializeResult(asset_key=FORECAST_LOG, metadata={"rows": int(logged)})
    yield MaterializeResult(asset_key=SHADOW_LOG, metadata={
        "rows": int(shadowed), "challenger_version": challenger, "this_run": 0 if shadow is None else len(shadow)})


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
