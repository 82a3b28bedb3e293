"""AP invoice reconciliation as a Dagster asset: between the dbt candidate model and the outcome model.

Reads intermediate.int_ap_recon__candidates from the run's candidate warehouse and the append-only review
decisions store, trains the invoice_match_scorer (bootstrap weak labels + every human decision so far; the
version is registered in MLflow), scores every candidate pair and writes reconciliation.{candidate_scores,
review_decisions}. dbt's fct_ap_invoice_outcomes turns those into one outcome per invoice.

`apply_review_decisions_job` re-runs just this asset, the dbt models downstream of it and publish, so decisions
recorded with `python -m smb_warehouse.reconciliation.review` take effect without reloading anything.

No `from __future__ import annotations` here (Dagster checks the `context` annotation by identity).
"""
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Union

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    define_asset_job,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model

from orchestration.dbt.assets import warehouse_dbt_models
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.reconciliation import decisions as decision_store
from smb_warehouse.reconciliation import scorer, tables

GROUP = "reconciliation"
CANDIDATE_SCORES = AssetKey(tables.CANDIDATE_SCORES.asset_key)  # as declared in models/sources/_reconciliation__sources.yml
REVIEW_DECISIONS = AssetKey(tables.REVIEW_DECISIONS.asset_key)
INPUT_KEYS = [get_asset_key_for_model([warehouse_dbt_models], tables.CANDIDATES_MODEL)]


@multi_asset(
    specs=[
        AssetSpec(CANDIDATE_SCORES, group_name=GROUP, deps=INPUT_KEYS, kinds={"duckdb", "python", "scikitlearn"},
                  description="invoice_match_scorer probability for every candidate (invoice, PO) pair, with the "
                              "registered model version that produced it."),
        AssetSpec(REVIEW_DECISIONS, group_name=GROUP, kinds={"duckdb", "python"},
                  description="Copy of the append-only review decisions log (who, when, why) as of this run."),
    ],
    check_specs=[AssetCheckSpec("every_candidate_scored", asset=CANDIDATE_SCORES, blocking=True,
                                description="One score in [0, 1] per candidate pair, nothing else.")],
    name="ap_reconciliation",
)
def ap_reconciliation_assets(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    decisions = decision_store.load()
    with warehouse.connect(context.run_id) as con:
        candidates = tables.read_candidates(con)
        trained = scorer.train_and_register(candidates, decisions, run_label=context.run_id[:8])
        scores = candidates[["invoice_id", "po_number"]].assign(
            match_score=trained.score(candidates), model_name=scorer.MODEL_NAME, model_version=trained.version,
            scored_at=datetime.now(UTC).replace(tzinfo=None), recon_run_id=context.run_id,
        )
        tables.write(con, {"candidate_scores": scores, "review_decisions": decisions})
        n_pairs, bad = con.execute(
            f"SELECT (SELECT count(*) FROM {tables.candidates_relation()}), "
            f"(SELECT count(*) FROM {tables.CANDIDATE_SCORES.relation} WHERE match_score NOT BETWEEN 0 AND 1)"
        ).fetchone()

    yield MaterializeResult(asset_key=CANDIDATE_SCORES, metadata={
        "pairs": len(scores), "invoices": int(candidates["invoice_id"].nunique()),
        "model_version": trained.version, "training": MetadataValue.json(trained.metrics),
    })
    yield MaterializeResult(asset_key=REVIEW_DECISIONS, metadata={
        "decisions": len(decisions), "decided_invoices": int(decisions["invoice_id"].nunique()),
        "store": str(decision_store.store_path()),
    })
    yield AssetCheckResult(check_name="every_candidate_scored", asset_key=CANDIDATE_SCORES,
                           passed=n_pairs == len(scores) and bad == 0,
                           metadata={"candidate_pairs": int(n_pairs), "scored": len(scores), "out_of_range": int(bad)})


# Decisions take effect on this run: the scorer (retrained with them as labels), the dbt models downstream of it
# (outcomes, review queue, KPIs) and publish. Upstream tables come from the published warehouse copy.
apply_review_decisions_job = define_asset_job(
    "apply_review_decisions_job",
    selection=AssetSelection.assets(CANDIDATE_SCORES, REVIEW_DECISIONS).downstream(),
    description="Apply AP review decisions: rescore, rebuild invoice outcomes / review queue / KPIs, publish.",
)
