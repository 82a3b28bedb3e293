"""Entity resolution as Dagster assets: reads the int_er__* views from the run's candidate warehouse,
writes entity_resolution.{entity_map, match_evidence, review_queue} back into it.

Sits between two parts of the dbt graph (int models upstream, marts reading the tables as dbt sources
downstream); Dagster runs the subsettable dbt multi-asset in as many steps as that needs.

No `from __future__ import annotations` here: this Dagster build checks the `context` annotation by
identity and rejects the string a postponed annotation would be.
"""
import json
from collections.abc import Iterator
from typing import Union

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model

from orchestration.dbt.assets import warehouse_dbt_models
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core.dbt_manifest import relation
from smb_warehouse.entity_resolution import tables
from smb_warehouse.entity_resolution.matching import resolve, rule_counts
from smb_warehouse.entity_resolution.specs import SPECS

GROUP = "entity_resolution"
# Keys of the tables this asset writes: as declared in models/sources/_entity_resolution__sources.yml.
ENTITY_MAP = AssetKey(tables.ENTITY_MAP.asset_key)
MATCH_EVIDENCE = AssetKey(tables.MATCH_EVIDENCE.asset_key)
REVIEW_QUEUE = AssetKey(tables.REVIEW_QUEUE.asset_key)
INPUT_KEYS = [get_asset_key_for_model([warehouse_dbt_models], spec.model) for spec in SPECS]


def mapped_once_sql() -> str:
    """Every source record exactly once, and nothing else: marts join on this map, so a gap or a
    duplicate would silently drop or double facts. Compared against the int models it was built from."""
    expected = " UNION ALL ".join(
        f"SELECT '{spec.entity_type}' AS entity_type, record_key FROM {relation(spec.model)}" for spec in SPECS)
    return f"""
WITH expected AS ({expected}),
mapped AS (SELECT entity_type, record_key, count(*) AS n FROM {tables.ENTITY_MAP.relation} GROUP BY ALL)
SELECT
    (SELECT count(*) FROM expected e ANTI JOIN mapped m USING (entity_type, record_key)) AS unmapped,
    (SELECT count(*) FROM mapped WHERE n > 1) AS duplicated,
    (SELECT count(*) FROM mapped m ANTI JOIN expected e USING (entity_type, record_key)) AS unknown
"""
REVIEW_WARN_SHARE = 0.05  # more than 5% of records waiting for a human means the model needs attention

_DESCRIPTIONS = {
    ENTITY_MAP: "One row per customer / supplier / product source record -> stable unified id "
                "(CUS-/SUP-/PRD-), with the model or rule that linked it. PK (entity_type, record_key).",
    MATCH_EVIDENCE: "Every accepted matched pair and why: 'splink' with probability, weight and per-field evidence "
                    "(organisations; model estimated on the run's own data), or 'rule:<name>' with the shared key "
                    "exactly one cluster holds (people) or the SKU / name rule (product mentions).",
    REVIEW_QUEUE: "Only the ambiguous pairs, each with its evidence and reason: model pairs just below the merge "
                  "threshold chosen from the model's weights, a person's key held by two organisations, product "
                  "mentions that fit several SKUs; never merged automatically.",
}


@multi_asset(
    specs=[AssetSpec(key, group_name=GROUP, deps=INPUT_KEYS, kinds={"duckdb", "python"}, description=text)
           for key, text in _DESCRIPTIONS.items()],
    check_specs=[
        AssetCheckSpec("every_record_mapped_once", asset=ENTITY_MAP, blocking=True,
                       description="Each int_er__* record appears exactly once in entity_map, and nothing else does."),
        AssetCheckSpec("review_queue_size", asset=REVIEW_QUEUE,
                       description=f"Pending review pairs <= {REVIEW_WARN_SHARE:.0%} of resolved records (warning)."),
    ],
    name="entity_resolution",
)
def entity_resolution_assets(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    with warehouse.connect(context.run_id) as con:
        resolution = resolve(con, context.run_id)
        tables.write(con, resolution)
        unmapped, duplicated, unknown = con.execute(mapped_once_sql()).fetchone()
    for note in resolution.notes:  # what was skipped, defaulted or chosen, and why
        context.log.info(f"entity resolution: {note}")

    entity_map, queue = resolution.entity_map, resolution.review_queue
    clusters = entity_map.groupby("entity_type")["unified_id"].nunique().to_dict()
    yield MaterializeResult(asset_key=ENTITY_MAP, metadata={
        "records": len(entity_map),
        "unified_entities": MetadataValue.json({k: int(v) for k, v in clusters.items()}),
        "records_by_rule": MetadataValue.json(rule_counts(resolution)),
        "model": MetadataValue.json(json.loads(json.dumps(resolution.model, default=str))),
        "notes": MetadataValue.md("\n".join(f"- {n}" for n in resolution.notes)),
    })
    yield MaterializeResult(asset_key=MATCH_EVIDENCE, metadata={
        "pairs": len(resolution.match_evidence),
        "pairs_by_decider": MetadataValue.json(resolution.match_evidence["decided_by"].value_counts().to_dict()),
    })
    yield MaterializeResult(asset_key=REVIEW_QUEUE, metadata={
        "pending": len(queue), "pending_by_type": MetadataValue.json(queue["entity_type"].value_counts().to_dict()),
        "pending_by_reason": MetadataValue.json(queue["reason"].value_counts().to_dict()),
    })
    yield AssetCheckResult(
        check_name="every_record_mapped_once", asset_key=ENTITY_MAP,
        passed=unmapped == 0 and duplicated == 0 and unknown == 0,
        metadata={"unmapped_records": int(unmapped), "duplicated_records": int(duplicated), "unknown_records": int(unknown)},
    )
    share = len(queue) / len(entity_map) if len(entity_map) else 0.0
    yield AssetCheckResult(
        check_name="review_queue_size", asset_key=REVIEW_QUEUE, passed=share <= REVIEW_WARN_SHARE,
        severity=AssetCheckSeverity.WARN, metadata={"pending": len(queue), "share_of_records": round(share, 4)},
    )
