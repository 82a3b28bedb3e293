"""Support triage as one Dagster multi-asset: reads intermediate.int_triage__ticket_inputs and the KB
(staging.stg_support__kb_articles), trains the category / priority classifiers on the desk's labels,
records them in MLflow, and writes triage.{ticket_predictions, kb_suggestions}, which the triage marts
read back as dbt sources. Low-confidence tickets get route = 'human_review' and are never auto-acted.

No `from __future__ import annotations` here: Dagster checks the `context` annotation by identity.
"""
from collections.abc import Iterator
from datetime import UTC, datetime
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
from smb_warehouse.triage import tables
from smb_warehouse.triage.model import TriageConfig, triage

GROUP = "triage"
PREDICTIONS = AssetKey(tables.PREDICTIONS.asset_key)        # as declared in models/sources/_triage__sources.yml
KB_SUGGESTIONS = AssetKey(tables.KB_SUGGESTIONS.asset_key)
INPUTS = [get_asset_key_for_model([warehouse_dbt_models], model) for model in (tables.TICKETS_MODEL, tables.ARTICLES_MODEL)]
CATEGORY_MODEL = "ticket_category_classifier"
PRIORITY_MODEL = "ticket_priority_classifier"


def _register(name: str, model, config: TriageConfig, metrics: dict) -> str:
    if model is None:
        return "untrained"
    try:
        from smb_warehouse.core.model_versions import log_model_version

        return log_model_version("support_triage", name, model, params=config.__dict__, metrics=metrics)
    except Exception as exc:
        return f"untracked ({type(exc).__name__})"


@multi_asset(
    specs=[
        AssetSpec(PREDICTIONS, group_name=GROUP, deps=INPUTS, kinds={"duckdb", "python", "scikitlearn"},
                  description="Predicted category / priority with confidences, suggested team, and route "
                              "(team, or human_review below the confidence threshold) per ticket."),
        AssetSpec(KB_SUGGESTIONS, group_name=GROUP, deps=INPUTS, kinds={"duckdb", "python"},
                  description="Top-3 knowledge-base articles per ticket (TF-IDF cosine)."),
    ],
    check_specs=[AssetCheckSpec("classifier_beats_majority_baseline", asset=PREDICTIONS,
                                description="Holdout accuracy (desk labels) above always predicting the most common category.")],
    name="ticket_triage",
)
def ticket_triage(context: AssetExecutionContext,
                  warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    config = TriageConfig()
    with warehouse.connect(context.run_id) as con:
        tickets, articles = tables.read_inputs(con)
    result = triage(tickets, articles, config)
    now = datetime.now(UTC).replace(tzinfo=None)
    predictions = result.predictions.assign(
        category_model_version=_register(CATEGORY_MODEL, result.category_model, config, result.metrics),
        priority_model_version=_register(PRIORITY_MODEL, result.priority_model, config, result.metrics),
        predicted_at=now, run_id=context.run_id)
    suggestions = result.kb_suggestions.assign(run_id=context.run_id)
    with warehouse.connect(context.run_id) as con:
        tables.write(con, predictions, suggestions)
    m = result.metrics
    routes = predictions["route"].value_counts().to_dict()
    yield MaterializeResult(asset_key=PREDICTIONS, metadata={
        "tickets": len(predictions), "routes": MetadataValue.json({k: int(v) for k, v in routes.items()}),
        "category_model_version": str(predictions["category_model_version"].iloc[0]) if len(predictions) else "none",
        **{k: round(v, 4) for k, v in m.items()},
    })
    yield MaterializeResult(asset_key=KB_SUGGESTIONS, metadata={"suggestions": len(suggestions)})
    yield AssetCheckResult(check_name="classifier_beats_majority_baseline", asset_key=PREDICTIONS,
                           passed=m["holdout_category_accuracy"] > m["holdout_majority_baseline"],
                           severity=AssetCheckSeverity.WARN,
                           metadata={"holdout_accuracy": m["holdout_category_accuracy"],
                                     "majority_baseline": m["holdout_majority_baseline"],
                                     "holdout_tickets": int(m["holdout_tickets"])})
