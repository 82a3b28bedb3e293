"""Every dbt model, seed and snapshot as assets; dbt tests as asset checks."""
from dagster import Definitions

from orchestration.dbt.assets import warehouse_dbt_models

defs = Definitions(assets=[warehouse_dbt_models])
