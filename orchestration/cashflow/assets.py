"""Cash-flow monitoring as Dagster assets.

  cashflow/bank_txn_scores      reads intermediate.int_cashflow__bank_txn_features (dbt), scores every bank line
                                (smb_warehouse/cashflow/anomaly.py), writes cashflow.bank_txn_scores, which dbt reads
                                back as a source (fct_bank_txn_anomaly_scores, fct_cash_alerts).
  cashflow/alert_notifications  reads marts.fct_cash_alerts (dbt), sends them through
                                smb_warehouse/core/notify.py (log by default, webhook from env), records the
                                deliveries; its WARN check `no_open_cash_alerts` fails while alerts exist.

No `from __future__ import annotations` here: Dagster checks the `context` annotation by identity.
"""
from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    Output,
    asset,
)
from dagster_dbt import get_asset_key_for_model

from orchestration.dbt.assets import warehouse_dbt_models
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.cashflow import tables
from smb_warehouse.cashflow.anomaly import ScoringConfig, score
from smb_warehouse.core.notify import Notifier

GROUP = "cashflow"
FEATURES_KEY = get_asset_key_for_model([warehouse_dbt_models], tables.FEATURES_MODEL)
ALERTS_KEY = get_asset_key_for_model([warehouse_dbt_models], tables.ALERTS_MODEL)
SCORES_KEY = AssetKey(tables.SCORES.asset_key)          # as declared in models/sources/_cashflow__sources.yml
NOTIFICATIONS_KEY = AssetKey(tables.DELIVERIES.asset_key)
SCORER_MODEL_NAME = "bank_txn_anomaly_scorer"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _register(scored, config: ScoringConfig, n_lines: int, n_flagged: int) -> str:
    """The fitted forest as a model version in MLflow; scoring never fails because tracking did."""
    if scored.forest is None:
        return "untracked"
    try:
        from smb_warehouse.core.model_versions import log_model_version

        return log_model_version("cashflow_anomalies", SCORER_MODEL_NAME, scored.forest,
                                 params=config.__dict__, metrics={"lines": n_lines, "rule_or_forest_flagged": n_flagged},
                                 trusted_types=["sklearn.tree._tree.Tree"])
    except Exception as exc:
        return f"untracked ({type(exc).__name__})"


@asset(key=SCORES_KEY, group_name=GROUP, deps=[FEATURES_KEY], kinds={"duckdb", "python", "scikitlearn"},
       description="Anomaly score 0..1 per bank line: median/MAD amount z-score per counterparty, rules "
                   "(duplicate, weekend, new payee, no payment document) and an IsolationForest.")
def bank_txn_scores(context: AssetExecutionContext, warehouse: WarehouseResource) -> Output[None]:
    config = ScoringConfig()
    with warehouse.connect(context.run_id) as con:
        features = tables.read_features(con)
    scored = score(features, config)
    frame = scored.scores
    flagged = int((frame["anomaly_score"] >= 0.7).sum()) if len(frame) else 0
    frame = frame.assign(model_version=_register(scored, config, len(frame), flagged), scored_at=_now(), run_id=context.run_id)
    with warehouse.connect(context.run_id) as con:
        tables.write_scores(con, frame)
    reasons = frame["anomaly_reason"].dropna().str.split(", ").explode().value_counts().to_dict() if len(frame) else {}
    return Output(None, metadata={"lines_scored": len(frame), "score_at_least_0_7": flagged,
                                  "model_version": str(frame["model_version"].iloc[0]) if len(frame) else "none",
                                  "reasons": MetadataValue.json({k: int(v) for k, v in reasons.items()})})


@asset(key=NOTIFICATIONS_KEY, group_name=GROUP, deps=[ALERTS_KEY], kinds={"python"},
       check_specs=[AssetCheckSpec("no_open_cash_alerts", asset=NOTIFICATIONS_KEY,
                                   description="Warns while the dbt model fct_cash_alerts holds any alert.")],
       description="Sends fct_cash_alerts (dbt) through the configured channel (log by default; "
                   "SMB_ALERT_WEBHOOK_URL enables a webhook) and records each delivery in cashflow.alert_deliveries.")
def alert_notifications(context: AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect(context.run_id) as con:
        alerts = tables.read_alerts(con)
    notifier = Notifier.from_env()
    records = alerts.astype(object).where(alerts.notna(), None).to_dict("records")
    delivery = notifier.send("SMB warehouse cash-flow alerts", records)
    deliveries = pd.DataFrame({"alert_id": alerts["alert_id"], "channel": delivery.channel, "target": delivery.target,
                               "delivered": delivery.delivered, "detail": delivery.detail, "notified_at": _now(),
                               "run_id": context.run_id})
    with warehouse.connect(context.run_id) as con:
        tables.record_deliveries(con, deliveries)
    by_type = alerts["alert_type"].value_counts().to_dict()
    yield Output(None, metadata={"alerts": len(alerts), "channel": delivery.channel, "delivered": delivery.delivered,
                                 "by_type": MetadataValue.json({k: int(v) for k, v in by_type.items()})})
    yield AssetCheckResult(check_name="no_open_cash_alerts", passed=alerts.empty, severity=AssetCheckSeverity.WARN,
                           metadata={"alerts": len(alerts),
                                     "by_type": MetadataValue.json({k: int(v) for k, v in by_type.items()})})
