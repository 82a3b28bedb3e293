"""AP invoice reconciliation as a Dagster asset: between the dbt candidate model and the outcome model.

Reads intermediate.int_ap_recon__candidates from the run's candidate warehouse and the append-only review
decisions store, and runs smb_warehouse.reconciliation.workflow: the AP circuit breaker's guards (input contract,
drift, reversal KPI), the invoice_match_scorer (trained only when the data or the labels changed, else the
registered version is reused), its gate against the rule-only baseline on held-out labels, and the serving
choice (candidate, else champion, else rules only). Writes reconciliation.{candidate_scores, review_decisions,
scoring_state}; dbt's fct_ap_invoice_outcomes turns those into one outcome per invoice (no auto-match while
the breaker is open). Evidently reports of the run (smb_warehouse.reconciliation.monitoring: the serving scorer's
quality on the held-out labels, feature and score drift) are linked from candidate_scores' metadata as URLs
that `make ui` serves.

A refused candidate or an open breaker never fails the run: they show as WARN checks
(scorer_beats_rule_baseline, ap_breaker_closed), an alert (core.notify) and a row of ml.workflow_run_outcomes
(kpi_ml__workflow_health).

`apply_review_decisions_job` re-runs just this asset, the dbt models downstream of it and publish, so decisions
recorded with `python -m smb_warehouse.reconciliation.review` take effect without reloading anything.

No `from __future__ import annotations` here (Dagster checks the `context` annotation by identity).
"""
from collections.abc import Iterator
from typing import Union

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
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
from orchestration.lib.report_links import outcome_links
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core.reports import guarded
from smb_warehouse.reconciliation import decisions as decision_store
from smb_warehouse.reconciliation import monitoring, tables, workflow
from smb_warehouse.reconciliation.config import GateConfig, MatchRules

GROUP = "reconciliation"
CANDIDATE_SCORES = AssetKey(tables.CANDIDATE_SCORES.asset_key)  # as declared in models/sources/_reconciliation__sources.yml
REVIEW_DECISIONS = AssetKey(tables.REVIEW_DECISIONS.asset_key)
SCORING_STATE = AssetKey(tables.SCORING_STATE.asset_key)
INPUT_KEYS = [get_asset_key_for_model([warehouse_dbt_models], model) for model in (tables.CANDIDATES_MODEL, tables.AUDIT_MODEL)]
GATE_CHECK = "scorer_beats_rule_baseline"
BREAKER_CHECK = "ap_breaker_closed"


@multi_asset(
    specs=[
        AssetSpec(CANDIDATE_SCORES, group_name=GROUP, deps=INPUT_KEYS, kinds={"duckdb", "python", "scikitlearn"},
                  description="invoice_match_scorer probability for every candidate (invoice, PO) pair, with what "
                              "served (version, or baseline:rules_only) and whether that was a fallback."),
        AssetSpec(REVIEW_DECISIONS, group_name=GROUP, kinds={"duckdb", "python"},
                  description="Copy of the append-only review decisions log (who, when, why) as of this run."),
        AssetSpec(SCORING_STATE, group_name=GROUP, deps=INPUT_KEYS, kinds={"duckdb", "python"},
                  description="The run's serving choice, gate verdict and AP circuit-breaker mode (one row)."),
    ],
    check_specs=[
        AssetCheckSpec("every_candidate_scored", asset=CANDIDATE_SCORES, blocking=True,
                       description="One score in [0, 1] per candidate pair, nothing else."),
        AssetCheckSpec(GATE_CHECK, asset=CANDIDATE_SCORES, description=(
            "The candidate scorer beats the rule-only baseline by the configured margin on held-out labels (and is "
            "not worse than the champion). Warns only: a refused candidate falls back to the champion or rules only.")),
        AssetCheckSpec(BREAKER_CHECK, asset=SCORING_STATE, description=(
            "Warns while the AP circuit breaker is open: no auto-match, every invoice goes to review.")),
    ],
    name="ap_reconciliation",
)
def ap_reconciliation_assets(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    decisions = decision_store.load()
    with warehouse.connect(context.run_id) as con:
        result = workflow.run(con, decisions, context.run_id)
        n_pairs, bad = con.execute(
            f"SELECT (SELECT count(*) FROM {tables.candidates_relation()}), "
            f"(SELECT count(*) FROM {tables.CANDIDATE_SCORES.relation} WHERE match_score NOT BETWEEN 0 AND 1)"
        ).fetchone()
        # same rows in the same order (invoice_id, po_number) as result.scores, which were built from them
        candidates, dates = tables.read_candidates(con), monitoring.invoice_dates(con)
    quality = guarded("match_quality", lambda: monitoring.match_quality(
        result.serving, context.run_id, MatchRules.from_dbt_project(), GateConfig()))
    drift = guarded("drift", lambda: monitoring.drift(
        candidates, result.scores["match_score"].to_numpy(), dates, context.run_id))

    serving, gate, breaker = result.serving, result.serving.gate, result.breaker
    yield MaterializeResult(asset_key=CANDIDATE_SCORES, metadata={
        "pairs": result.n_pairs, "invoices": result.n_invoices,
        "pairs_per_invoice": round(result.n_pairs / result.n_invoices, 3) if result.n_invoices else 0.0,
        "serving": serving.label, "is_fallback": serving.is_fallback,
        "candidate_version": serving.candidate.version, "candidate_reused": serving.candidate.reused,
        "fit_seconds": round(result.timings["serving"], 2), "scoring_seconds": round(result.timings["scoring"], 2),
        "training": MetadataValue.json(serving.candidate.metrics),
        **outcome_links(quality), "match_quality": MetadataValue.json({"note": quality.note, **(quality.figures or {})}),
        **outcome_links(drift), "drift": MetadataValue.json({"note": drift.note, **(drift.figures or {})}),
    })
    yield MaterializeResult(asset_key=REVIEW_DECISIONS, metadata={
        "decisions": len(decisions), "decided_invoices": int(decisions["invoice_id"].nunique()),
        "store": str(decision_store.store_path()),
    })
    yield MaterializeResult(asset_key=SCORING_STATE, metadata={
        "breaker_state": breaker.state, "mode": result.state["mode"].iloc[0], "guards": result.guards.summary(),
        "guard_figures": MetadataValue.json(result.guards.figures), "guard_notes": MetadataValue.json(result.guards.notes),
    })
    yield AssetCheckResult(check_name="every_candidate_scored", asset_key=CANDIDATE_SCORES,
                           passed=n_pairs == len(result.scores) and bad == 0,
                           metadata={"candidate_pairs": int(n_pairs), "scored": len(result.scores), "out_of_range": int(bad)})
    yield AssetCheckResult(check_name=GATE_CHECK, asset_key=CANDIDATE_SCORES, passed=gate.passed,
                           severity=AssetCheckSeverity.WARN, description=f"{serving.detail}; serving {serving.label}",
                           metadata={k: round(v, 6) for k, v in gate.metrics().items()})
    yield AssetCheckResult(check_name=BREAKER_CHECK, asset_key=SCORING_STATE, passed=not breaker.is_open,
                           severity=AssetCheckSeverity.WARN,
                           description=(f"open since {breaker.changed_at:%Y-%m-%d %H:%M} UTC by {breaker.changed_by}: "
                                        f"{breaker.reason}" if breaker.is_open else "closed"),
                           metadata={"state": breaker.state, "mode": breaker.mode})


# Decisions take effect on this run: the scorer (retrained with them as labels), the dbt models downstream of it
# (outcomes, review queue, KPIs) and publish. Upstream tables come from the published warehouse copy.
apply_review_decisions_job = define_asset_job(
    "apply_review_decisions_job",
    selection=AssetSelection.assets(CANDIDATE_SCORES, REVIEW_DECISIONS, SCORING_STATE).downstream(),
    description="Apply AP review decisions: rescore, rebuild invoice outcomes / review queue / KPIs, publish.",
)
