"""How dbt resources appear in Dagster: keys, groups, and the link from dbt sources to ingestion assets.

Models are keyed ``<schema>/<model>`` (``staging/stg_erp__customers``) so the layer is visible in the
key; groups come from the folder under models/ (the layer). Sources carry their Dagster key in
``meta.dagster.asset_key`` (set in the sources yml), which dagster-dbt honours by default; that is what
joins ingestion and dbt into one lineage graph.

Extra edges, so that a run starts fewer dbt processes (each costs about 3 s of start-up). Dagster splits the one
dbt asset definition into a step per colour (``_attempt_resolve_node_cycles``): a node's colour is the greatest
number of asset-definition boundaries on any path to it from a root, and a dbt node that no other dbt node shares
its colour with gets a dbt step of its own. Seeds (roots, colour 0: nothing else of dbt is) therefore depend on the
ingestion ledger, which gives them the staging models' colour; a model can name asset keys it is built after in
``meta.dagster.build_after`` (``fct_cash_alert_deliveries`` names the workflow run outcomes, which gives it the
platform marts' colour). The edges carry no data, but they are real dependencies to Dagster: a failed upstream
skips the node (a failed AI workflow now skips the alert delivery log's rebuild: the published one stays), and
selections that follow the graph grow (``.downstream()`` of a forecasting, reconciliation or triage asset now
includes ``fct_cash_alert_deliveries``; the UI shows the ingestion assets upstream of the seeds).

Every public model (``access: public``: what the BI copy holds) carries a Dagster freshness policy: it fails when
the model was last built more than the SLA ago (var ``pipeline_freshness_sla_hours``, 26 h) and warns at
``FRESHNESS_WARN_SHARE`` of it. The daemon that ``make ui`` starts evaluates the policies; the asset that says how
old what BI reads is, is ``published_warehouse`` (same policy), since a mart built by a run that failed later is
not published.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dagster import AssetKey, AssetSpec, FreshnessPolicy
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from smb_warehouse.core.dbt_project import freshness_sla_hours

# the ingestion ledger's asset (orchestration/ingestion/audit.py), with its blocking rows_conserved check
LEDGER_KEY = AssetKey(["raw", "ingestion", "load_audit"])
FRESHNESS_WARN_SHARE = 0.9  # warn once this share of the SLA has passed since the last build


def published_freshness_policy() -> FreshnessPolicy:
    """The freshness policy of the published marts and of ``published_warehouse``: fail after the SLA hours (var
    ``pipeline_freshness_sla_hours``), warn after ``FRESHNESS_WARN_SHARE`` of it. Raises ``KeyError`` when
    dbt_project.yml lacks the var."""
    sla = timedelta(hours=freshness_sla_hours())
    return FreshnessPolicy.time_window(fail_window=sla, warn_window=sla * FRESHNESS_WARN_SHARE)


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

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest.get("nodes", {}).get(unique_id, {})
        if node.get("resource_type") == "seed":
            return spec.merge_attributes(deps=[LEDGER_KEY])
        if node.get("resource_type") != "model":
            return spec
        after = node.get("meta", {}).get("dagster", {}).get("build_after", [])
        if after:
            if not isinstance(after, list) or not all(isinstance(k, str) and "/" in k for k in after):
                raise ValueError(f"{unique_id}: meta.dagster.build_after must be a list of asset keys written "
                                 f"'<prefix>/<name>', got {after!r}")
            spec = spec.merge_attributes(deps=[AssetKey.from_user_string(k) for k in after])
        if self._reads_loaded_exports(manifest, node):
            spec = spec.merge_attributes(deps=[LEDGER_KEY])
        if node.get("access") == "public":
            spec = spec.replace_attributes(freshness_policy=published_freshness_policy())
        return spec

    def _reads_loaded_exports(self, manifest: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
        """Does the model read a raw table the loader writes (a source keyed ``raw/<system>/<entity>``, not the
        ledger itself)? Such a model depends on the ingestion ledger too, whose blocking ``rows_conserved``
        check then stands between a landing that lost or doubled rows and everything built from it. It also
        lets Dagster run staging and the ledger's own staging models in one dbt step instead of two."""
        sources = manifest.get("sources", {})
        keys = (self.get_asset_key(sources[uid]) for uid in node.get("depends_on", {}).get("nodes", [])
                if uid in sources)
        return any(key.path[0] == "raw" and key.path[1] != LEDGER_KEY.path[1] for key in keys)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else "dbt"


TRANSLATOR = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
