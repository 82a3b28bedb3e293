"""Assembles the code location. Nothing is defined here; each integration lives in its own folder."""
from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from orchestration.cashflow.assets import alert_notifications, bank_txn_scores
from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_PROJECT, warehouse_dbt_models
from orchestration.entity_resolution.assets import entity_resolution_assets
from orchestration.forecasting.assets import (demand_forecaster_candidate, demand_forecaster_champion,
                                              forecast_scoring, model_registry_mirror)
from orchestration.forecasting.jobs import forecast_drift_sensor, forecast_retrain_job, forecast_rollback_job
from orchestration.forecasting.monitoring import forecast_monitoring
from orchestration.ingestion.assets import build_ingestion_assets
from orchestration.ingestion.audit import ingestion_ledger
from orchestration.ingestion.sensors import landing_zone_sensor
from orchestration.lib.config import disable_telemetry
from orchestration.lib.warehouse import WarehouseResource
from orchestration.publish.assets import published_warehouse
from orchestration.reconciliation.assets import ap_reconciliation_assets, apply_review_decisions_job
from orchestration.triage.assets import ticket_triage

disable_telemetry()

# Every asset, in dependency order; this is what `make demo` runs.
warehouse_job = define_asset_job("warehouse_job", selection=AssetSelection.all(), description="Load, model, check and publish the warehouse.")

defs = Definitions(
    assets=[*build_ingestion_assets(), ingestion_ledger, warehouse_dbt_models, entity_resolution_assets,
            published_warehouse, bank_txn_scores, alert_notifications, ticket_triage,
            ap_reconciliation_assets, demand_forecaster_candidate, demand_forecaster_champion, forecast_scoring,
            model_registry_mirror, forecast_monitoring],
    jobs=[warehouse_job, apply_review_decisions_job, forecast_rollback_job, forecast_retrain_job],
    sensors=[landing_zone_sensor, forecast_drift_sensor],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE), "warehouse": WarehouseResource()},
    # One process: DuckDB allows a single writer per file, and every step writes the same candidate.
    executor=in_process_executor,
)
