"""Every dbt model, seed and snapshot as assets; dbt tests as asset checks; and the pipeline-history tables the
dbt steps write as a by-product (orchestration/dbt/results.py), declared as external assets so the lineage graph
shows them, in group ops, upstream of kpi_platform__pipeline_health."""
from dagster import AssetSpec, Definitions

from orchestration.dbt.assets import warehouse_dbt_models
from orchestration.dbt.results import NODE_RESULTS, PIPELINE_RUNS
from smb_warehouse.core.python_tables import table

PIPELINE_HISTORY = [
    AssetSpec(key=list(table(name).asset_key), group_name="ops", kinds={"duckdb"},
              description=f"{name}: pipeline history written by every dbt step (orchestration/dbt/results.py), "
                          "declared in models/sources/_ops__sources.yml.")
    for name in (NODE_RESULTS, PIPELINE_RUNS)]

defs = Definitions(assets=[warehouse_dbt_models, *PIPELINE_HISTORY])
