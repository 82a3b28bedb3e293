"""The code location: merges each domain folder's ``definitions.py`` and adds what is cross-cutting
(resources, the main job, the executor). Nothing else is defined here."""
from __future__ import annotations

from dagster import AssetSelection, Definitions, colored_console_logger, define_asset_job, in_process_executor

from orchestration.cashflow import definitions as cashflow
from orchestration.dbt import definitions as dbt
from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_PROJECT, WarehouseDbtCliResource
from orchestration.entity_resolution import definitions as entity_resolution
from orchestration.events import definitions as event_intake
from orchestration.forecasting import definitions as forecasting
from orchestration.ingestion import definitions as ingestion
from orchestration.lib.resources import WarehouseResource
from orchestration.lib.run_console import run_log_file, step_progress
from orchestration.operations import definitions as operations
from orchestration.publish import definitions as publish
from orchestration.publish.postgres import POSTGRES_KEY
from orchestration.reconciliation import definitions as reconciliation
from orchestration.safe_mode import definitions as safe_mode
from orchestration.triage import definitions as triage
from smb_warehouse.core.config import disable_telemetry

disable_telemetry()

# Every asset, in dependency order; this is what `make demo` runs. PostgreSQL's publish follows it as a job of
# its own (orchestration/publish/postgres.py: opt-in, and its failure must not fail the DuckDB publish).
warehouse_job = define_asset_job("warehouse_job", selection=AssetSelection.all() - AssetSelection.assets(POSTGRES_KEY),
                                 description="Load, model, check and publish the warehouse.")

defs = Definitions.merge(
    # each domain's definitions module (modules, not their Definitions objects: Dagster loads this module and
    # accepts exactly one Definitions at its top level)
    *(m.defs for m in (ingestion, dbt, entity_resolution, forecasting, reconciliation, cashflow, triage, safe_mode,
                       publish, event_intake, operations)),
    Definitions(
        jobs=[warehouse_job],
        resources={"dbt": WarehouseDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE),
                   "warehouse": WarehouseResource()},
        # One process: DuckDB allows a single writer per file, and every step writes the same candidate.
        executor=in_process_executor,
        # console: Dagster's default; the other two make the quiet terminal of `make demo` (run_console.py)
        loggers={"console": colored_console_logger, "step_progress": step_progress, "run_log_file": run_log_file},
    ),
)
