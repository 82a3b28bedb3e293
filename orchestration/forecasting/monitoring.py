"""Monitoring asset: Evidently drift and quality for what served (the champion, or a baseline), flattened
into ml.drift_metrics and ml.forecast_quality (HTML reports linked from the materialization as URLs that `make ui`
serves: orchestration.lib.report_links). Drift is a WARN check, not a
blocker: the warehouse still publishes, and forecast_drift_sensor asks for a retrain.

No `from __future__ import annotations` here (Dagster checks the `context` annotation by identity).
"""
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Union

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from orchestration.forecasting.assets import DRIFT, FEATURES, FORECASTS, GROUP, QUALITY
from orchestration.lib.report_links import report_links
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core import reports, tracking
from smb_warehouse.forecasting import baselines, monitoring, tables
from smb_warehouse.forecasting.backtest import coverage, point_metrics
from smb_warehouse.forecasting.config import MODEL_NAME
from smb_warehouse.forecasting.dataset import features_relation, load_features


def matured_sql() -> str:
    """Logged forecasts of one model version (params: model_name, model_version) whose actuals have arrived."""
    return f"""
SELECT log.forecast_date, log.prediction, log.lower, log.upper, f.quantity AS actual
FROM {tables.FORECAST_LOG.relation} AS log
JOIN {features_relation()} AS f
  ON f.sku = log.sku AND f.location_id = log.location_id AND f.demand_date = log.forecast_date AND NOT f.is_future
WHERE log.model_name = ? AND log.model_version = ?
"""


def _backtest_predictions(run_id: str) -> pd.DataFrame:
    tracking.configure()
    import mlflow.artifacts

    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="evaluation/backtest_predictions.csv")
    return pd.read_csv(path, parse_dates=["forecast_date"])


def _baseline_backtest(features: pd.DataFrame, version: str) -> pd.DataFrame:
    """A serving baseline's rolling-origin backtest in the shape of a model's (prediction, lower, upper)."""
    from smb_warehouse.forecasting import rollout
    from smb_warehouse.forecasting.model import intervals

    fit = rollout.best_baseline(features, MODEL_NAME, version.removeprefix(baselines.PREFIX))
    preds = fit.backtest.copy()
    preds["prediction"] = preds[f"baseline_{fit.name}"]
    preds["lower"], preds["upper"] = intervals(preds["horizon"].to_numpy(), preds["prediction"].to_numpy(), fit.quantiles)
    preds["forecast_date"] = pd.to_datetime(preds["forecast_date"])
    return preds


def _fold_quality(preds: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, fold in preds.groupby("fold"):
        m = point_metrics(fold["actual"], fold["prediction"])
        m["interval_coverage"] = coverage(fold["actual"].to_numpy(), fold["lower"].to_numpy(), fold["upper"].to_numpy())
        rows += [{"evaluation_source": "backtest", "metric_name": k, "metric_value": v, "n_points": len(fold),
                  "window_start": fold["forecast_date"].min().date(), "window_end": fold["forecast_date"].max().date(),
                  "report_path": None} for k, v in m.items()]
    return pd.DataFrame(rows)


@multi_asset(
    specs=[AssetSpec(DRIFT, group_name=GROUP, deps=[FORECASTS, FEATURES], kinds={"evidently", "duckdb"},
                     description="Evidently feature drift (training reference vs last 28 days) and prediction drift "
                                 "(backtest vs current forecast) of the champion, one row per column."),
           AssetSpec(QUALITY, group_name=GROUP, deps=[FORECASTS, FEATURES], kinds={"evidently", "duckdb"},
                     description="Champion forecast quality: backtest per fold, and matured forecasts vs actuals.")],
    check_specs=[
        AssetCheckSpec("feature_drift", asset=DRIFT, description=(
            f"Warns when >= {monitoring.DATASET_DRIFT_SHARE:.0%} of watched demand features drifted "
            f"(Wasserstein > {monitoring.NUM_THRESHOLD} std) or any one moved >= {monitoring.STRONG_DRIFT} std; "
            "the drift sensor then requests a retrain.")),
        AssetCheckSpec("prediction_drift", asset=DRIFT, description="Warns when the forecast distribution drifted "
                                                                    "from the champion's backtest predictions."),
    ],
    name="forecast_monitoring",
)
def forecast_monitoring(context: AssetExecutionContext,
                        warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    with warehouse.connect(context.run_id) as con:
        features = load_features(con)
        forecasts = con.execute(f"SELECT * FROM {tables.FORECASTS.relation}").df()
    tag = reports.run_tag(context.run_id)
    feature = monitoring.feature_drift(features, tag)
    if forecasts.empty:  # nothing served this run (the rollout said why): feature drift only
        version, backtest, prediction = "", pd.DataFrame(), None
        pooled, regression_html = pd.DataFrame(columns=["metric_name", "metric_value"]), None
    else:
        version, run_id = str(forecasts["model_version"].iloc[0]), str(forecasts["mlflow_run_id"].iloc[0])
        backtest = (_baseline_backtest(features, version) if baselines.is_baseline(version)
                    else _backtest_predictions(run_id))
        prediction = monitoring.prediction_drift(backtest["prediction"], forecasts, tag)
        pooled, regression_html = monitoring.regression_quality(backtest, "backtest_pooled", tag)
    with warehouse.connect(context.run_id) as con:
        matured_rows = con.execute(matured_sql(), [MODEL_NAME, version]).df()
        matured, matured_html = monitoring.regression_quality(matured_rows, "matured", tag)
        now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
        drift = pd.concat([feature.rows] + ([prediction.rows] if prediction is not None else []), ignore_index=True)
        quality = pd.concat(([_fold_quality(backtest)] if len(backtest) else []) + [matured], ignore_index=True)
        for frame in (drift, quality):
            frame["computed_at"], frame["dagster_run_id"] = now, context.run_id
            frame["model_name"], frame["model_version"] = MODEL_NAME, version or None
        tables.write_monitoring(con, drift, quality, context.run_id)

    yield MaterializeResult(asset_key=DRIFT, metadata={
        "model_version": version, "feature_drift_detected": feature.detected,
        "drifted_feature_share": MetadataValue.float(feature.drifted_share),
        "prediction_drift_detected": bool(prediction is not None and prediction.detected),
        **report_links("feature_drift", feature.report_path),
        **report_links("prediction_drift", prediction.report_path if prediction is not None else None,
                       "no forecast served this run")})
    pooled_wape = pooled.loc[pooled["metric_name"] == "wape", "metric_value"]
    yield MaterializeResult(asset_key=QUALITY, metadata={
        "model_version": version,
        "backtest_wape": MetadataValue.float(float(pooled_wape.iloc[0]) if len(pooled_wape) else float("nan")),
        "matured_points": len(matured_rows),
        **report_links("backtest_regression", regression_html, "no forecast served this run"),
        **report_links("matured_regression", matured_html, "no matured forecasts yet")})
    scores = feature.rows.set_index("column_name")["drift_score"].round(4).to_dict()
    yield AssetCheckResult(check_name="feature_drift", asset_key=DRIFT, passed=not feature.detected,
                           severity=AssetCheckSeverity.WARN,
                           metadata={"drifted_share": feature.drifted_share, "scores": MetadataValue.json(scores)})
    yield AssetCheckResult(check_name="prediction_drift", asset_key=DRIFT,
                           passed=not (prediction is not None and prediction.detected), severity=AssetCheckSeverity.WARN,
                           description="no forecast served this run" if prediction is None else None,
                           metadata={"score": float(prediction.rows["drift_score"].iloc[0])
                                     if prediction is not None and len(prediction.rows) else -1.0})
