"""Assembles the code location. Nothing is defined here; each integration lives in its own folder."""
from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_PROJECT, warehouse_dbt_models
from orchestration.entity_resolution.assets import entity_resolution_assets
from orchestration.ingestion.assets import build_ingestion_assets
from orchestration.ingestion.audit import ingestion_ledger
from orchestration.ingestion.sensors import landing_zone_sensor
from orchestration.lib.config import disable_telemetry
from orchestration.lib.warehouse import WarehouseResource
from orchestration.publish.assets import published_warehouse

disable_telemetry()

# Every asset, in dependency order; this is what `make demo` runs.
warehouse_job = define_asset_job("warehouse_job", selection=AssetSelection.all(), description="Load, model, check and publish the warehouse.")

defs = Definitions(
    assets=[*build_ingestion_assets(), ingestion_ledger, warehouse_dbt_models, entity_resolution_assets,
            published_warehouse],
    jobs=[warehouse_job],
    sensors=[landing_zone_sensor],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE), "warehouse": WarehouseResource()},
    # One process: DuckDB allows a single writer per file, and every step writes the same candidate.
    executor=in_process_executor,
)
