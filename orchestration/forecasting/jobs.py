"""Jobs and the drift sensor of the forecasting assets."""
from dagster import (
    AssetSelection,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    define_asset_job,
)

from orchestration.forecasting.assets import CANDIDATE, CHAMPION, DRIFT, ROLLOUT_LOG

DRIFT_RETRAIN_DAYS = 91  # after drift, train on the recent regime only; the gate still judges it

# A person's rollback: the rollout step moves the champion back (and logs who), then re-score and republish
# everything downstream (kpis, mirror, monitoring). The CLI fills requested_by and checks there is a target.
forecast_rollback_job = define_asset_job(
    "forecast_rollback_job", selection=AssetSelection.assets(CHAMPION, ROLLOUT_LOG).downstream(),
    config={"ops": {"forecast_rollout": {"config": {"rollback": True, "requested_by": "forecast_rollback_job"}}}},
    description="Move the demand_forecaster champion alias back to the version it replaced, re-score, republish.")

# Retrain, gate, promote, rescore and republish; the feature table is read from the published warehouse.
forecast_retrain_job = define_asset_job(
    "forecast_retrain_job", selection=AssetSelection.assets(CANDIDATE).downstream(),
    description="Train a demand_forecaster candidate, gate it, decide the rollout (shadow / promotion / fallback), "
                "score and republish.")


@asset_sensor(asset_key=DRIFT, job=forecast_retrain_job, minimum_interval_seconds=300,
              description="Requests a retrain on a recent window when the monitoring run flagged feature drift.")
def forecast_drift_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    materialization = asset_event.asset_materialization
    meta = materialization.metadata if materialization else {}
    flagged = meta.get("feature_drift_detected")
    if not (flagged and flagged.value):
        return SkipReason("no feature drift in the latest monitoring run")
    return RunRequest(run_key=f"drift-{asset_event.run_id}", run_config={"ops": {
        "forecasting__demand_forecaster_candidate": {"config": {"train_days": DRIFT_RETRAIN_DAYS, "force": True}}}})
