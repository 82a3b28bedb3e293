"""Support triage as one Dagster multi-asset: reads intermediate.int_triage__ticket_inputs and the KB
(staging.stg_support__kb_articles) and runs smb_warehouse.triage.workflow: the category / priority classifiers
trained on the desk's labels and registered in MLflow, their gate against the majority baselines (and the
champion) on held-out desk labels, the serving choice (candidate, else champion, else every ticket to a person)
and the triage circuit breaker. Writes triage.{ticket_predictions, kb_suggestions, triage_state}, which the
triage marts read back as dbt sources. Low-confidence tickets get route = 'human_review' and are never
auto-acted; with the breaker open, or with no model to serve, none is.

Evidently reports of the run (smb_warehouse.triage.monitoring: category and priority quality of what served on
the held-out desk labels, input and prediction drift) are linked from ticket_predictions' metadata as URLs that
`make ui` serves.

A refused candidate or an open breaker never fails the run: WARN checks (classifier_beats_majority_baseline,
triage_breaker_closed), an alert, and a row of ml.workflow_run_outcomes (kpi_ml__workflow_health).

No `from __future__ import annotations` here: Dagster checks the `context` annotation by identity.
"""
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
from orchestration.lib.report_links import outcome_links
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core.reports import guarded
from smb_warehouse.triage import monitoring, tables, workflow
from smb_warehouse.triage.model import TriageConfig

GROUP = "triage"
PREDICTIONS = AssetKey(tables.PREDICTIONS.asset_key)        # as declared in models/sources/_triage__sources.yml
KB_SUGGESTIONS = AssetKey(tables.KB_SUGGESTIONS.asset_key)
TRIAGE_STATE = AssetKey(tables.TRIAGE_STATE.asset_key)
INPUTS = [get_asset_key_for_model([warehouse_dbt_models], model)
          for model in (tables.TICKETS_MODEL, tables.ARTICLES_MODEL, tables.AUDIT_MODEL)]
CATEGORY_MODEL = workflow.CATEGORY_MODEL
PRIORITY_MODEL = workflow.PRIORITY_MODEL
GATE_CHECK = "classifier_beats_majority_baseline"
BREAKER_CHECK = "triage_breaker_closed"


@multi_asset(
    specs=[
        AssetSpec(PREDICTIONS, group_name=GROUP, deps=INPUTS, kinds={"duckdb", "python", "scikitlearn"},
                  description="Predicted category / priority with confidences, suggested team, and route "
                              "(team, or human_review below the confidence threshold, in safe mode or without a "
                              "model) per ticket, with the model versions that served (or baseline:all_to_person)."),
        AssetSpec(KB_SUGGESTIONS, group_name=GROUP, deps=INPUTS, kinds={"duckdb", "python"},
                  description="Top-3 knowledge-base articles per ticket (TF-IDF cosine)."),
        AssetSpec(TRIAGE_STATE, group_name=GROUP, deps=INPUTS, kinds={"duckdb", "python"},
                  description="The run's serving choice, gate verdict and triage circuit-breaker mode (one row)."),
    ],
    check_specs=[
        AssetCheckSpec(GATE_CHECK, asset=PREDICTIONS, description=(
            "Held-out category accuracy (desk labels) beats always predicting the most common category by the "
            "configured margin, priority beats its majority baseline, and the candidate is not worse than the "
            "champion. Warns only: a refused candidate falls back to the champion, or every ticket to a person.")),
        AssetCheckSpec(BREAKER_CHECK, asset=TRIAGE_STATE, description=(
            "Warns while the triage circuit breaker is open: every ticket goes to a person.")),
    ],
    name="ticket_triage",
)
def ticket_triage(context: AssetExecutionContext,
                  warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    config = TriageConfig()
    with warehouse.connect(context.run_id) as con:
        tickets, articles = tables.read_inputs(con)
        result = workflow.run(con, tickets, articles, context.run_id, config)
    predictions, m, candidate = result.predictions, result.metrics, result.candidate_metrics
    by_model = result.serving != workflow.BASELINE
    outcomes = [guarded(f"{target}_quality", lambda target=target: monitoring.quality(
                    predictions, result.serving, by_model, target, context.run_id, config))
                for target in ("category", "priority")]
    outcomes.append(guarded("drift", lambda: monitoring.drift(tickets, predictions, context.run_id)))
    report_meta = {}
    for outcome in outcomes:
        report_meta.update(outcome_links(outcome))
        report_meta[outcome.kind] = MetadataValue.json({"note": outcome.note, **(outcome.figures or {})})
    routes = predictions["route"].value_counts().to_dict()
    yield MaterializeResult(asset_key=PREDICTIONS, metadata={
        "tickets": len(predictions), "routes": MetadataValue.json({k: int(v) for k, v in routes.items()}),
        "category_model_version": str(predictions["category_model_version"].iloc[0]) if len(predictions) else "none",
        "serving": result.serving, "is_fallback": result.is_fallback,
        **{k: round(v, 4) for k, v in m.items()}, **report_meta,
    })
    yield MaterializeResult(asset_key=KB_SUGGESTIONS, metadata={"suggestions": len(result.suggestions)})
    yield MaterializeResult(asset_key=TRIAGE_STATE, metadata={
        "breaker_state": result.breaker.state, "mode": result.state["mode"].iloc[0],
        "guards": result.state["guard_summary"].iloc[0], "notes": MetadataValue.json(result.notes)})
    yield AssetCheckResult(check_name=GATE_CHECK, asset_key=PREDICTIONS, passed=result.gate.passed,
                           severity=AssetCheckSeverity.WARN, description=f"{result.gate.reason}; serving {result.serving}",
                           metadata={"holdout_accuracy": candidate["holdout_category_accuracy"],
                                     "majority_baseline": candidate["holdout_majority_baseline"],
                                     "priority_accuracy": candidate["holdout_priority_accuracy"],
                                     "priority_majority_baseline": candidate["holdout_priority_majority_baseline"],
                                     "holdout_tickets": int(candidate["holdout_tickets"]),
                                     "margin": config.gate_margin})
    breaker = result.breaker
    yield AssetCheckResult(check_name=BREAKER_CHECK, asset_key=TRIAGE_STATE, passed=not breaker.is_open,
                           severity=AssetCheckSeverity.WARN,
                           description=(f"open since {breaker.changed_at:%Y-%m-%d %H:%M} UTC by {breaker.changed_by}: "
                                        f"{breaker.reason}" if breaker.is_open else "closed"),
                           metadata={"state": breaker.state, "mode": breaker.mode})
