"""Evidently (0.7 Report API) monitoring of the forecaster: feature drift (training reference window vs
the most recent window of the feature table), prediction drift (backtest predictions vs the current
forecast) and regression quality (backtest, and matured forecasts once actuals arrive). Every report is
saved as HTML under reports_dir()/forecasting (served by `make ui`, linked by URL: core.reports) and flattened
into rows for ml.drift_metrics / ml.forecast_quality.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from smb_warehouse.core import reports

# Demand-behaviour features watched for drift: what the model learns the series' level and weekly
# profile from. Calendar / promotion columns move by design and would only add noise.
DRIFT_COLUMNS = ("quantity", "hist_mean_7d", "hist_mean_28d", "hist_nonzero_share_28d", "hist_weekend_share_28d")
CURRENT_DAYS = 28
REFERENCE_DAYS = 182
NUM_METHOD = "wasserstein"   # fixed method: Evidently's default switches to K-S below 1000 rows
NUM_THRESHOLD = 0.1          # Wasserstein distance in units of the reference std
DATASET_DRIFT_SHARE = 0.4    # dataset drift when at least this share of watched columns drifted...
STRONG_DRIFT = 0.3           # ...or any one of them moved by >= 0.3 std. A regime change can move one
                             # behaviour (e.g. the weekly profile: 0.6 std at tiny scale) while levels that
                             # go up for some series and down for others barely move the pooled distribution.
                             # On stable simulator data at tiny scale seasonal level shifts reach 0.1-0.3 std
                             # (the share rule then trips: a retrain request, which the gate makes harmless);
                             # the circuit breaker's drift guard (Guards.breaker_drift_score) is the strict one.


def _evidently():
    """(evidently, DataDriftPreset, RegressionPreset), through the shared import (core.reports.evidently)."""
    reports.evidently()
    import evidently
    from evidently.presets import DataDriftPreset, RegressionPreset

    return evidently, DataDriftPreset, RegressionPreset


def report_dir() -> Path:
    """reports_dir()/forecasting, created (core.reports.workflow_dir)."""
    return reports.workflow_dir("forecasting")


@dataclass
class DriftOutcome:
    rows: pd.DataFrame            # one row per column + one '__dataset__' verdict row
    detected: bool
    drifted_share: float
    report_path: Path


def _drift_rows(snapshot_dict: dict, kind: str) -> list[dict]:
    out = []
    for metric in snapshot_dict["metrics"]:
        cfg = metric.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        method, threshold, score = cfg.get("method"), cfg.get("threshold"), metric.get("value")
        score = float(score) if score is not None else float("nan")
        p_value = "p_value" in str(method)
        drifted = bool(score < threshold) if p_value else bool(score >= threshold)
        out.append({"drift_kind": kind, "column_name": cfg["column"], "method": method, "drift_score": score,
                    "threshold": float(threshold) if threshold is not None else None, "drifted": drifted})
    return out


def _run_drift(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], kind: str, html: Path):
    evidently, DataDriftPreset, _ = _evidently()
    report = evidently.Report([DataDriftPreset(columns=columns, num_method=NUM_METHOD, num_threshold=NUM_THRESHOLD)])
    snapshot = report.run(current[columns], reference[columns])
    snapshot.save_html(str(html))
    return _drift_rows(snapshot.dict(), kind)


def feature_drift(features: pd.DataFrame, tag: str) -> DriftOutcome:
    actual = features[~features["is_future"].astype(bool)]
    end = pd.Timestamp(actual["demand_date"].max())
    cur_start = end - pd.Timedelta(days=CURRENT_DAYS - 1)
    ref_start, ref_end = cur_start - pd.Timedelta(days=REFERENCE_DAYS), cur_start - pd.Timedelta(days=1)
    dates = pd.to_datetime(actual["demand_date"])
    current, reference = actual[dates >= cur_start], actual[(dates >= ref_start) & (dates <= ref_end)]
    html = report_dir() / f"feature_drift_{tag}.html"
    rows = _run_drift(reference, current, list(DRIFT_COLUMNS), "feature", html)
    share = float(np.mean([r["drifted"] for r in rows])) if rows else 0.0
    strongest = max((r["drift_score"] for r in rows if r["drift_score"] == r["drift_score"]), default=0.0)
    detected = share >= DATASET_DRIFT_SHARE or strongest >= STRONG_DRIFT
    rows.append({"drift_kind": "feature", "column_name": "__dataset__",
                 "method": f"drifted share >= {DATASET_DRIFT_SHARE} or any column score >= {STRONG_DRIFT}",
                 "drift_score": share, "threshold": DATASET_DRIFT_SHARE, "drifted": detected})
    frame = pd.DataFrame(rows)
    frame["reference_start"], frame["reference_end"] = ref_start.date(), ref_end.date()
    frame["current_start"], frame["current_end"] = cur_start.date(), end.date()
    frame["report_path"] = str(html)
    return DriftOutcome(frame, detected, share, html)


def prediction_drift(reference_predictions: pd.Series, forecasts: pd.DataFrame, tag: str) -> DriftOutcome:
    """Distribution of the current forecast vs the champion's out-of-sample backtest predictions."""
    html = report_dir() / f"prediction_drift_{tag}.html"
    ref = pd.DataFrame({"prediction": reference_predictions.astype(float).to_numpy()})
    cur = pd.DataFrame({"prediction": forecasts["prediction"].astype(float).to_numpy()})
    rows = _run_drift(ref, cur, ["prediction"], "prediction", html)
    frame = pd.DataFrame(rows)
    fd = pd.to_datetime(forecasts["forecast_date"])
    frame["reference_start"], frame["reference_end"] = None, None
    frame["current_start"], frame["current_end"] = fd.min().date(), fd.max().date()
    frame["report_path"] = str(html)
    detected = bool(frame["drifted"].any())
    return DriftOutcome(frame, detected, float(frame["drifted"].mean()), html)


def regression_quality(evaluated: pd.DataFrame, source: str, tag: str) -> tuple[pd.DataFrame, Path | None]:
    """evaluated: actual, prediction (lower, upper optional), forecast_date. Our metrics (WAPE, bias,
    coverage) plus Evidently's regression report (MAE, RMSE, R2...) saved as HTML."""
    from smb_warehouse.forecasting.backtest import coverage, point_metrics

    if evaluated.empty:
        return pd.DataFrame(columns=["evaluation_source", "metric_name", "metric_value", "n_points", "window_start",
                                     "window_end", "report_path"]), None
    evidently, _, RegressionPreset = _evidently()
    data = evaluated[["actual", "prediction"]].astype(float).reset_index(drop=True)
    definition = evidently.DataDefinition(regression=[evidently.Regression(target="actual", prediction="prediction")],
                                          numerical_columns=["actual", "prediction"])
    html = report_dir() / f"regression_{source}_{tag}.html"
    snapshot = evidently.Report([RegressionPreset()]).run(evidently.Dataset.from_pandas(data, data_definition=definition), None)
    snapshot.save_html(str(html))
    metrics = point_metrics(data["actual"], data["prediction"])
    if {"lower", "upper"} <= set(evaluated.columns):
        metrics["interval_coverage"] = coverage(evaluated["actual"].to_numpy(), evaluated["lower"].to_numpy(),
                                                evaluated["upper"].to_numpy())
    for metric in snapshot.dict()["metrics"]:
        name = metric.get("metric_name", "").split("(")[0].lower()
        value = metric.get("value")
        value = value.get("mean") if isinstance(value, dict) else value
        if name in ("rmse", "r2score") and value is not None:
            metrics[name] = float(value)
    fd = pd.to_datetime(evaluated["forecast_date"])
    return pd.DataFrame([{"evaluation_source": source, "metric_name": k, "metric_value": v, "n_points": len(data),
                          "window_start": fd.min().date(), "window_end": fd.max().date(), "report_path": str(html)}
                         for k, v in metrics.items()]), html
