"""Demand forecasting: candidate, gate, rollout (breaker, shadow, promotion, rollback), scoring, registry mirror,
monitoring; rollback/retrain jobs."""
from dagster import Definitions

from orchestration.forecasting.assets import (
    demand_forecaster_candidate,
    forecast_rollout,
    forecast_scoring,
    model_registry_mirror,
)
from orchestration.forecasting.jobs import forecast_drift_sensor, forecast_retrain_job, forecast_rollback_job
from orchestration.forecasting.monitoring import forecast_monitoring

defs = Definitions(
    assets=[demand_forecaster_candidate, forecast_rollout, forecast_scoring, model_registry_mirror,
            forecast_monitoring],
    jobs=[forecast_rollback_job, forecast_retrain_job],
    sensors=[forecast_drift_sensor],
)
