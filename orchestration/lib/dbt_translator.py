"""How dbt resources appear in Dagster: keys, groups, and the link from dbt sources to ingestion assets.

Models are keyed ``<schema>/<model>`` (``staging/stg_erp__customers``) so the layer is visible in the
key; groups come from the folder under models/ (the layer). Sources carry their Dagster key in
``meta.dagster.asset_key`` (set in the sources yml), which dagster-dbt honours by default; that is what
joins ingestion and dbt into one lineage graph.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        meta_key = dbt_resource_props.get("meta", {}).get("dagster", {}).get("asset_key")
        if dbt_resource_props["resource_type"] == "source" or meta_key:
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        name = dbt_resource_props["name"]
        version = dbt_resource_props.get("version")
        # Versioned models (dim_customer v1/v2) are separate relations and separate assets.
        return AssetKey([schema, f"{name}_v{version}" if version is not None else name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else "dbt"


TRANSLATOR = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
